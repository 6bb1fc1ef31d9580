"""Issue 14 item 6: a truncated, empty or garbage ``jobs.db`` / ``queue.db``.

Every command says which file is damaged and how to recover, in one line, and the bad file is
left in place for recovery: never overwritten, never silently recreated (an empty ``jobs.db`` used
to be, losing the job history). ``jobs submit`` with a damaged queue saves no job.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from mmcorr.cli import main
from mmcorr.jobs import get_store
from mmcorr.jobs.queue import reset_queues

GARBAGE = b"this is not a database, it is a shopping list\n" * 100
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def state(mmcorr_home: Path) -> Iterator[Path]:
    reset_queues()
    path = mmcorr_home / "state"
    path.mkdir(mode=0o700)
    yield path
    reset_queues()


def _one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err, err
    return err


def test_a_garbage_job_store_is_named_and_kept(state: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (state / "jobs.db").write_bytes(GARBAGE)
    assert main(["jobs", "list"]) == 1
    err = _one_line_error(capsys)
    assert "The job store" in err and "jobs.db is not an SQLite database" in err
    assert "mv " in err and "jobs.db.bad" in err
    assert (state / "jobs.db").read_bytes() == GARBAGE


def test_an_empty_job_store_is_refused_not_recreated(state: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (state / "jobs.db").write_bytes(b"")
    assert main(["jobs", "list"]) == 1
    assert "jobs.db is not an SQLite database (it is empty)" in _one_line_error(capsys)
    assert (state / "jobs.db").stat().st_size == 0


def test_a_truncated_job_store_is_named(state: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = get_store()
    for i in range(200):
        store.add_job(f"job-{i}", '{"pad": "' + "x" * 800 + '"}', "n", 1, None)
    store.close()  # the next command opens the file again, as a new process would
    conn = sqlite3.connect(state / "jobs.db")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    size = (state / "jobs.db").stat().st_size
    os.truncate(state / "jobs.db", size // 3)
    assert main(["jobs", "list"]) == 1
    err = _one_line_error(capsys)
    assert "jobs.db is damaged (database disk image is malformed)" in err
    assert (state / "jobs.db").stat().st_size == size // 3


def test_submit_with_a_damaged_queue_saves_no_job(state: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = pytest.importorskip("mmcorr.data")
    dataset_id = str(data.DatasetRegistry().save(data.make_demo("synthetic", seed=0, n_samples=60), "s"))
    (state / "queue.db").write_bytes(GARBAGE)
    assert main(["jobs", "submit", "--dataset", dataset_id, "--model", "cca", "--no-worker"]) == 1
    err = _one_line_error(capsys)
    assert "The queue" in err and "queue.db is not an SQLite database" in err and "re-queues" in err
    assert get_store().list_jobs(10) == []
    assert (state / "queue.db").read_bytes() == GARBAGE


def test_doctor_names_the_damaged_job_store(state: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (state / "jobs.db").write_bytes(GARBAGE)
    assert main(["doctor"]) == 1
    out = capsys.readouterr().out
    assert "FAIL  job store: The job store" in out and "jobs.db.bad" in out


@pytest.mark.parametrize("name", ["jobs.db", "queue.db"])
def test_the_worker_refuses_a_damaged_state_file_in_one_line(state: Path, name: str) -> None:
    (state / name).write_bytes(GARBAGE)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "mmcorr", "worker", "--no-warmup", "--threads", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    errors = [line for line in done.stderr.splitlines() if line.startswith("mmcorr: error:")]
    assert "Traceback" not in done.stderr and len(errors) == 1, done.stderr
    assert f"{name} is not an SQLite database" in errors[0]
    assert (state / name).read_bytes() == GARBAGE
