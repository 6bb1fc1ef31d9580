"""numba's compiled UMAP code is cached under the mmcorr home for every entry point (fresh processes)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

_PROBE = (
    "from mmcorr.analysis.embedding import _import_umap; _import_umap(); "
    "import numba; print(numba.config.CACHE_DIR)"
)


def _cache_dir(home: Path, **extra: str) -> str:
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env.update(MMCORR_HOME=str(home), **extra)
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, env=env, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout.strip().splitlines()[-1]


def test_umap_import_puts_numba_cache_under_the_home(tmp_path: Path) -> None:
    assert _cache_dir(tmp_path / "home") == str(tmp_path / "home" / "state" / "numba_cache")


def test_a_cache_dir_the_user_chose_is_kept(tmp_path: Path) -> None:
    mine = str(tmp_path / "mine")
    assert _cache_dir(tmp_path / "home", NUMBA_CACHE_DIR=mine) == mine


_HITS = (
    "from mmcorr.analysis.embedding import _UNCACHED, warm_umap; import umap.umap_ as U; warm_umap(); "
    "print(sum(sum(getattr(U, n).stats.cache_hits.values()) > 0 for n in _UNCACHED))"
)


def test_the_functions_umap_compiles_uncached_are_read_back_by_the_next_process(
    tmp_path: Path, numba_cache: Path
) -> None:
    """umap-learn jits smooth_knn_dist and compute_membership_strengths without cache=True; with
    their cache turned on, a second process loads them instead of compiling them (3.8 s)."""
    env = {**os.environ, "MMCORR_HOME": str(tmp_path / "home"), "NUMBA_CACHE_DIR": str(numba_cache)}
    hits = []
    for _ in range(2):  # the first may compile (a fresh cache), the second must read back
        proc = subprocess.run(
            [sys.executable, "-c", _HITS], capture_output=True, text=True, env=env, timeout=300, check=False
        )
        assert proc.returncode == 0, proc.stderr[-2000:]
        hits.append(int(proc.stdout.strip().splitlines()[-1]))
    assert hits[1] == 2
