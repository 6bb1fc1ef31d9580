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
