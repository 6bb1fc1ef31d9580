"""Issue 14 item 11: a process killed while writing a run leaves ``runs/.<job>.<rand>.tmp/`` for
ever, and staged uploads were never deleted. The worker removes both at start once older than a
grace period (a write in progress and a fresh upload are kept); ``mmcorr doctor`` reports them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mmcorr.cli import main
from mmcorr.jobs.leftovers import TMP_GRACE_S, UPLOAD_GRACE_S, clean_leftovers, find_leftovers
from mmcorr.jobs.queue import reset_queues
from mmcorr.paths import runs_dir, state_dir

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "jobs"))
from jobs_helpers import ROOT, Processes, wait_for

_KILLED_WHILE_WRITING = """
import os, signal, sys
from mmcorr._io import atomic_dir
with atomic_dir(sys.argv[1]) as tmp:
    (tmp / "model.pt").write_bytes(b"half a model")
    os.kill(os.getpid(), signal.SIGKILL)
"""


@pytest.fixture
def home(mmcorr_home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("MMCORR_WORKER_WARMUP", "0")
    reset_queues()
    yield mmcorr_home
    reset_queues()


def _killed_run_write(job_id: str) -> Path:
    """A real process SIGKILLed inside the bundle's atomic write; returns the folder it left."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", _KILLED_WHILE_WRITING, str(runs_dir() / job_id)], env=env)
    assert done.returncode == -signal.SIGKILL
    (left,) = [p for p in runs_dir().iterdir() if p.name.startswith(f".{job_id}.")]
    return left


def _age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    for p in [path, *path.rglob("*")]:
        os.utime(p, (then, then))


def _upload(name: str) -> Path:
    folder = state_dir() / "uploads" / name
    folder.mkdir(parents=True)
    (folder / "rna.csv").write_text("id,a\ns1,1\n")
    return folder


def test_old_leftovers_are_found_and_fresh_writes_are_not(home: Path) -> None:
    old_run, fresh_run = _killed_run_write("job-old"), _killed_run_write("job-now")
    old_upload, fresh_upload = _upload("aaaa"), _upload("bbbb")
    _age(old_run, TMP_GRACE_S + 60)
    _age(old_upload, UPLOAD_GRACE_S + 60)
    found = find_leftovers()
    assert found.paths == tuple(sorted([old_run, old_upload]))
    assert found.size == len(b"half a model") + len("id,a\ns1,1\n")
    assert clean_leftovers().paths == found.paths
    assert not old_run.exists() and not old_upload.exists()
    assert fresh_run.exists() and fresh_upload.exists()


def test_doctor_reports_leftovers(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    left = _killed_run_write("job-1")
    _age(left, TMP_GRACE_S + 60)
    main(["doctor"])
    (line,) = [x for x in capsys.readouterr().out.splitlines() if x.startswith("OK    leftovers:")]
    assert "1 leftover(s)" in line and str(left) in line
    assert left.exists()  # doctor only reports


@pytest.mark.slow
def test_the_worker_removes_old_leftovers_at_start(home: Path, tmp_path: Path) -> None:
    old_run, fresh_run = _killed_run_write("job-old"), _killed_run_write("job-now")
    old_upload = _upload("cccc")
    _age(old_run, TMP_GRACE_S + 60)
    _age(old_upload, UPLOAD_GRACE_S + 60)
    procs = Processes(home, tmp_path)
    try:
        procs.worker()
        wait_for(lambda: "removed 2 leftover(s)" in procs.log(0), 60, "the worker's clean-up")
        assert not old_run.exists() and not old_upload.exists()
        assert fresh_run.exists()
    finally:
        procs.close()
