"""`mmcorr umap`: a run's UMAP from its bundle, and `mmcorr train` handing its UMAP to it.

The real command (a child process) is what a user runs: it writes the bundle, then replaces its
process with `mmcorr umap`, so torch and umap-learn's compiler never share one process.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from mmcorr.cli import main
from mmcorr.runs import BundleFile
from mmcorr.runs import bundle as B
from mmcorr.runs.files import UMAP_NOTE

torch = pytest.importorskip("torch")
pytest.importorskip("umap")

N = 90  # write_paired_files' samples: above umap=auto's threshold, so a run embeds them


def _train_args(files: dict[str, Path], out: Path, *extra: str) -> list[str]:
    return [
        "train", "--modality", f"a={files['a']}", "--modality", f"b={files['b']}", "--model", "cca",
        "--latent-dim", "2", "--permutations", "0", "--device", "cpu", "--out", str(out), *extra,
    ]  # fmt: skip


def _umap_section(run: Path) -> str:
    """The report's UMAP section: a figure, or the note saying why there is none."""
    report = (run / BundleFile.REPORT.value).read_text(encoding="utf-8")
    return report.split("<h2>UMAP of the shared latent space</h2>")[1].split("<h2>")[0]


@pytest.fixture(scope="module")
def run_without_umap(
    tmp_path_factory: pytest.TempPathFactory, paired_files: Callable[..., dict[str, Path]]
) -> Path:
    """A cca run trained in this process with --umap off (no umap.parquet; a note says why)."""
    root = tmp_path_factory.mktemp("umap_cmd")
    run = root / "run"
    assert main(_train_args(paired_files(root / "data"), run, "--umap", "off")) == 0
    assert not (run / BundleFile.UMAP.value).exists()
    return run


@pytest.fixture
def run_copy(run_without_umap: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(run_without_umap, tmp_path / "run"))


@pytest.fixture
def shared_numba(monkeypatch: pytest.MonkeyPatch, numba_cache: Path) -> None:
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(numba_cache))


@pytest.mark.usefixtures("shared_numba")
def test_umap_embeds_a_run_trained_without_it(run_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert B.read_metrics(run_copy).run.notes[UMAP_NOTE].startswith("UMAP skipped")
    assert main(["umap", "--run", str(run_copy), "--umap-neighbors", "5", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    umap = B.read_umap(run_copy)
    assert result["points"] == len(umap) == 2 * N  # every sample in both modalities
    assert set(umap["modality"]) == {"a", "b"} and umap[["x", "y"]].notna().all().all()
    assert set(umap["split"]) == {"train", "val", "test"}
    spec = B.read_spec(run_copy).analysis  # the bundle says how it was embedded
    assert spec.umap_neighbors == 5 and spec.umap == "on"
    assert UMAP_NOTE not in B.read_metrics(run_copy).run.notes
    assert "plotly-graph-div" in _umap_section(run_copy)  # the report shows the embedding


def test_umap_bad_neighbours_names_the_option_and_writes_nothing(
    run_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = (run_copy / BundleFile.SPEC.value).read_bytes()
    assert main(["umap", "--run", str(run_copy), "--umap-neighbors", "1"]) == 1
    err = capsys.readouterr().err
    assert "umap_neighbors" in err and "[2, 200]" in err and "Traceback" not in err
    assert not (run_copy / BundleFile.UMAP.value).exists()
    assert (run_copy / BundleFile.SPEC.value).read_bytes() == spec


def test_umap_of_a_missing_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["umap", "--run", str(tmp_path / "nope")]) == 1
    assert "does not exist" in capsys.readouterr().err


def test_a_failed_umap_step_after_training_keeps_the_run_and_says_so(
    run_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    latents = run_copy / BundleFile.LATENTS.value
    pd.read_parquet(latents)[["id", "split"]].to_parquet(latents, index=False)  # latent columns lost
    metrics = (run_copy / BundleFile.METRICS.value).read_bytes()
    assert main(["umap", "--run", str(run_copy), "--after-train"]) == 1
    captured = capsys.readouterr()
    assert "UMAP step failed" in captured.err and "latents.parquet" in captured.err
    assert f"Wrote run bundle {run_copy}" in captured.out  # what train prints still comes
    assert (run_copy / BundleFile.METRICS.value).read_bytes() == metrics
    assert not (run_copy / BundleFile.UMAP.value).exists()


def test_the_train_command_embeds_in_a_fresh_process_after_the_bundle(
    tmp_path: Path, paired_files: Callable[..., dict[str, Path]], numba_cache: Path
) -> None:
    files, run = paired_files(tmp_path / "data"), tmp_path / "run"
    env = {**os.environ, "MMCORR_HOME": str(tmp_path / "home"), "NUMBA_CACHE_DIR": str(numba_cache)}
    proc = subprocess.run(
        [sys.executable, "-m", "mmcorr", *_train_args(files, run), "--json"],
        capture_output=True, text=True, timeout=300, check=False, env=env,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.splitlines()
    assert len(lines) == 1  # --json: one object on stdout, from the second process
    result = json.loads(lines[0])
    assert UMAP_NOTE not in result["metrics"]["run"]["notes"]  # read after the embedding
    err = proc.stderr
    assert err.index("writing the run bundle: done") < err.index("analysis UMAP: done")
    assert len(B.read_umap(run)) == 2 * N
    assert UMAP_NOTE not in B.read_metrics(run).run.notes
    assert "plotly-graph-div" in _umap_section(run)


@pytest.mark.usefixtures("shared_numba")
def test_recomputing_with_the_runs_own_options_reproduces_its_embedding(
    tmp_path: Path, paired_files: Callable[..., dict[str, Path]]
) -> None:
    run = tmp_path / "run"
    assert main(_train_args(paired_files(tmp_path / "data"), run)) == 0  # embeds in this process
    before = B.read_umap(run)
    assert main(["umap", "--run", str(run)]) == 0
    pd.testing.assert_frame_equal(B.read_umap(run), before)
