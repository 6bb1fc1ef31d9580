"""Opening runs by id and the artifacts the dashboard downloads (no path building in the pages)."""

from __future__ import annotations

import io
import shutil
import zipfile
from pathlib import Path

import pytest

from mmcorr._validation import MmcorrError
from mmcorr.runs import BundleFile, find_run, list_runs, open_run

LEGACY = Path(__file__).resolve().parents[1] / "fixtures" / "bundle_v1"


@pytest.fixture
def runs_root(mmcorr_home: Path) -> Path:
    root = mmcorr_home / "runs"
    root.mkdir(exist_ok=True)
    shutil.copytree(LEGACY, root / "r1")
    return root


def test_find_run_by_id_under_the_home(runs_root: Path) -> None:
    run = find_run("r1")
    assert run.run_id == "r1" and run.path == runs_root / "r1"
    assert [r.run_id for r in list_runs()] == ["r1"] and list_runs()[0].open() == run


@pytest.mark.parametrize("bad", ["../r1", "", "a/b", ".hidden"])
def test_find_run_rejects_what_is_not_an_id(runs_root: Path, bad: str) -> None:
    with pytest.raises(MmcorrError, match=r"The 'run_id' parameter must be a run id"):
        find_run(bad)


def test_find_run_unknown_id(runs_root: Path) -> None:
    with pytest.raises(MmcorrError, match=r"no finished run with id 'r2'"):
        find_run("r2")


def test_open_run_requires_a_finished_run(tmp_path: Path) -> None:
    with pytest.raises(MmcorrError, match=r"not a finished mmcorr run"):
        open_run(tmp_path)


def test_artifact_bytes_and_zip(runs_root: Path) -> None:
    run = find_run("r1")
    assert run.file_bytes(BundleFile.METRICS) == (LEGACY / "metrics.json").read_bytes()
    assert not run.has(BundleFile.REPORT)
    with pytest.raises(MmcorrError, match=r"has no report\.html"):
        run.file_bytes(BundleFile.REPORT)
    with zipfile.ZipFile(io.BytesIO(run.zip_bytes())) as zf:
        names = set(zf.namelist())
        assert f"r1/{BundleFile.METRICS.value}" in names and f"r1/{BundleFile.MODEL.value}" in names
        assert zf.read("r1/history.jsonl") == (LEGACY / "history.jsonl").read_bytes()
