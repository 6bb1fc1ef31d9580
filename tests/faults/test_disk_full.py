"""Issue 14 item 5: ``MMCORR_HOME`` on a full file system.

A job used to stay ``running`` for ever (its end could not be written to the job store) while the
worker logged a traceback every second, and ``worker --stop`` / ``data save`` ended in tracebacks.
Here the file system is real: a 8 MiB tmpfs, which needs root (skipped otherwise).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from mmcorr.cli import main
from mmcorr.jobs import JobState, get_job, submit
from mmcorr.jobs.queue import reset_queues

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "jobs"))
from jobs_helpers import Processes, long_spec, wait_for


def _fill(disk: Path) -> None:
    """Write a filler file until the file system says it is full (already full: nothing to do; on
    a full tmpfs even creating the file can fail, as it once did in CI)."""
    with contextlib.suppress(OSError), open(disk / "filler", "wb") as fh:
        while True:
            fh.write(b"\0" * 65536)
            fh.flush()


@pytest.fixture
def disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """MMCORR_HOME on a fresh 8 MiB tmpfs (unmounted afterwards)."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        pytest.skip("mounting a size-limited tmpfs needs root")
    mnt = tmp_path / "disk"
    mnt.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mnt)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode(errors='replace').strip()}")
    home = mnt / "home"
    home.mkdir()
    cache = Path(os.environ.get("NUMBA_CACHE_DIR") or Path(tempfile.gettempdir()) / "mmcorr-test-numba-cache")
    for key, value in {
        "MMCORR_HOME": str(home),
        "MMCORR_AUTOSTART_WORKER": "0",
        "MMCORR_WORKER_THREADS": "1",
        "MMCORR_WORKER_WARMUP": "0",
        "NUMBA_CACHE_DIR": str(cache),
    }.items():
        monkeypatch.setenv(key, value)
    reset_queues()
    try:
        yield mnt
    finally:
        reset_queues()
        subprocess.run(["umount", "-l", str(mnt)], check=False)


@pytest.mark.slow
def test_a_job_that_fills_the_disk_fails_with_the_reason(
    disk: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = pytest.importorskip("mmcorr.data")
    dataset_id = str(data.DatasetRegistry().save(data.make_demo("synthetic", seed=0, n_samples=200), "s"))
    procs = Processes(disk / "home", tmp_path)
    try:
        procs.worker()
        job_id = submit(long_spec(dataset_id, epochs=5000), autostart=False)
        wait_for(lambda: get_job(job_id).epoch >= 2, 120, "the job's second epoch")
        _fill(disk)
        wait_for(lambda: get_job(job_id).is_terminal, 120, "the job to end")
        job = get_job(job_id)
        assert job.state is JobState.FAILED
        assert "Free space under MMCORR_HOME" in job.message or "Free space on the disk" in job.message
        assert "heartbeat failed" not in procs.log(0)  # no traceback per beat
        capsys.readouterr()
        assert main(["worker", "--stop"]) == 0
        captured = capsys.readouterr()
        assert captured.out.startswith("worker stopped") and "Traceback" not in captured.err
    finally:
        procs.close()


def test_data_save_on_a_full_disk_is_one_line_and_leaves_nothing(
    disk: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "csv"
    assert main(["data", "demo", "synthetic", "--out", str(out)]) == 0
    (disk / "home" / "datasets").mkdir()
    _fill(disk)
    capsys.readouterr()
    pairs = [f"{p.stem}={p}" for p in sorted(out.glob("*.csv"))]
    assert main(["data", "save", *pairs, "--name", "full"]) == 1
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err
    assert "the disk is full" in err or "cannot be written" in err
    assert list((disk / "home" / "datasets").iterdir()) == []


def test_commands_on_a_full_disk_say_what_to_do_in_one_line(
    disk: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _fill(disk)
    assert main(["jobs", "list"]) == 1
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "jobs.db cannot be written" in err and "Free space" in err
