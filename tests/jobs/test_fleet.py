"""The worker fleet without servers: worker list, stale-heartbeat recovery, names, schema v1 -> v2,
progress kept through a job-store outage. The real multi-worker runs are in tests/services."""

from __future__ import annotations

import contextlib
import itertools
import json
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from mmcorr._validation import MmcorrError
from mmcorr.cli import main
from mmcorr.config import JobSpec
from mmcorr.jobs import WORKER_LOST, JobState, WorkerState, get_store, list_workers
from mmcorr.jobs.backends import ServiceUnavailable, check_worker_name, host_name
from mmcorr.jobs.fleet import heartbeat_stale_seconds, recover_stale_jobs
from mmcorr.jobs.outage import BufferedProgress, StoreOutage, retry_store
from mmcorr.jobs.sqlite_store import SQLiteJobStore
from mmcorr.jobs.states import HOST_ENV, STALE_ENV
from mmcorr.jobs.store import SCHEMA_VERSION
from mmcorr.paths import home

SPEC = JobSpec(dataset_id="ds").to_json()


@pytest.fixture
def store(jobs_home: Path) -> Any:
    return get_store()


def _beat(store: Any, name: str, host: str, pid: int, age: float, state: str = "running") -> None:
    store.heartbeat(pid, host, time.time() - 100, 1, state, name)
    # Backdate: the heartbeat was written ``age`` seconds ago (straight in the home's SQLite file;
    # the store has no reason to offer a way to write the past).
    with contextlib.closing(sqlite3.connect(home() / "state" / "jobs.db", isolation_level=None)) as conn:
        conn.execute(
            "UPDATE workers SET heartbeat = ? WHERE host = ? AND pid = ?", (time.time() - age, host, pid)
        )


def test_list_workers_states_and_current_jobs(store: Any) -> None:
    _beat(store, "gpu-1", "node-a", 10, age=0.5)
    _beat(store, "gpu-2", "node-b", 20, age=1.0)
    _beat(store, "dead", "node-c", 30, age=60.0)
    _beat(store, "done", "node-d", 40, age=2.0, state="stopped")
    store.add_job("j1", SPEC, "", 5, None)
    assert store.claim("j1", 11, "node-a", "gpu-1")
    workers = {w.name: w for w in list_workers()}
    assert set(workers) == {"gpu-1", "gpu-2", "dead"}  # stopped ones only on request
    assert (workers["gpu-1"].state, workers["gpu-1"].job_id, workers["gpu-1"].host) == (
        WorkerState.BUSY,
        "j1",
        "node-a",
    )
    assert (workers["gpu-2"].state, workers["gpu-2"].job_id) == (WorkerState.IDLE, None)
    assert workers["dead"].state is WorkerState.STALE and workers["dead"].heartbeat_age >= 59
    assert {w.name for w in list_workers(include_stopped=True)} == {"gpu-1", "gpu-2", "dead", "done"}
    assert [w.name for w in list_workers(forget_after=30)] == ["gpu-1", "gpu-2"]
    assert json.loads(json.dumps(workers["gpu-1"].to_dict()))["state"] == "busy"
    assert store.get("j1").worker == "gpu-1"


def test_a_stale_worker_s_job_is_marked_lost_a_fresh_one_is_not(store: Any) -> None:
    _beat(store, "alive", "node-a", 10, age=1.0)
    _beat(store, "dead", "node-b", 20, age=60.0)
    for job_id, pid, worker in (("ok", 11, "alive"), ("gone", 21, "dead"), ("ghost", 31, "never-beat")):
        store.add_job(job_id, SPEC, "", 5, None)
        store.claim(job_id, pid, "elsewhere", worker)
    assert sorted(recover_stale_jobs(store)) == ["ghost", "gone"]
    assert store.get("ok").state is JobState.RUNNING
    gone = store.get("gone")
    assert gone.state is JobState.FAILED and gone.message.startswith(WORKER_LOST)
    assert "worker dead on node-b stopped sending heartbeats 60 s ago" in gone.message
    assert "has never sent a heartbeat" in store.get("ghost").message


def test_stale_limit_comes_from_the_environment(store: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    _beat(store, "slow", "node-a", 10, age=20.0)
    store.add_job("j", SPEC, "", 5, None)
    store.claim("j", 11, "node-a", "slow")
    monkeypatch.setenv(STALE_ENV, "30")
    assert heartbeat_stale_seconds() == 30.0 and recover_stale_jobs(store) == []
    assert list_workers()[0].state is WorkerState.BUSY
    monkeypatch.setenv(STALE_ENV, "15")
    assert recover_stale_jobs(store) == ["j"]


@pytest.mark.parametrize("raw", ["abc", "1", "0", "-5", "nan", "5000"])
def test_bad_stale_seconds_is_refused(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv(STALE_ENV, raw)
    with pytest.raises(MmcorrError, match=r"MMCORR_HEARTBEAT_STALE_SECONDS .* in \[2, 3600\]"):
        heartbeat_stale_seconds()


def test_host_override_and_its_bad_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(HOST_ENV, "gpu-node-3")
    assert host_name() == "gpu-node-3"
    monkeypatch.setenv(HOST_ENV, "two words")
    with pytest.raises(MmcorrError, match="MMCORR_HOST environment variable must be"):
        host_name()


@pytest.mark.parametrize("name", ["", "has space", "x" * 129, "tab\there"])
def test_bad_worker_name_is_refused(name: str) -> None:
    with pytest.raises(MmcorrError, match="'--name' parameter"):
        check_worker_name(name)


def test_cli_worker_bad_name_is_one_clear_line(jobs_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["worker", "--name", "a b"]) == 1
    assert "'--name' parameter" in capsys.readouterr().err


def test_a_live_worker_s_name_cannot_be_taken(store: Any, capsys: pytest.CaptureFixture[str]) -> None:
    from mmcorr.jobs.worker import run_worker

    _beat(store, "gpu-1", "other-node", 99, age=0.5)
    assert run_worker(name="gpu-1") == 1
    assert "worker 'gpu-1' is already running on other-node (pid 99)" in capsys.readouterr().err


def test_cli_jobs_workers(store: Any, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["jobs", "workers"]) == 0 and "no workers" in capsys.readouterr().out
    _beat(store, "gpu-1", "node-a", 10, age=0.5)
    assert main(["jobs", "workers"]) == 0
    out = capsys.readouterr().out
    assert "gpu-1" in out and "node-a" in out and "idle" in out
    assert main(["jobs", "workers", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["name"] == "gpu-1"


def test_a_version_1_sqlite_store_is_migrated(tmp_path: Path) -> None:
    db = tmp_path / "jobs.db"
    conn = sqlite3.connect(db)
    conn.executescript(
        """CREATE TABLE schema_version (version INTEGER NOT NULL); INSERT INTO schema_version VALUES (1);
        CREATE TABLE workers (pid INTEGER NOT NULL, host TEXT NOT NULL, started DOUBLE PRECISION NOT NULL,
          heartbeat DOUBLE PRECISION NOT NULL, state TEXT NOT NULL, threads INTEGER, PRIMARY KEY (host, pid));
        INSERT INTO workers VALUES (7, 'old-host', 1.0, 2.0, 'stopped', 1);"""
    )
    conn.commit()
    conn.close()
    store = SQLiteJobStore(db)
    assert store.workers()[0]["name"] is None and store.workers()[0]["host"] == "old-host"
    store.add_job("j", SPEC, "", 1, None)
    assert store.claim("j", 1, "h", "w") and store.get("j").worker == "w"
    assert sqlite3.connect(db).execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]


class _FlakyStore:
    """A store whose record_epoch fails while ``down`` (as PostgreSQL does during an outage)."""

    def __init__(self) -> None:
        self.down, self.rows, self.cancel = False, [], False  # type: ignore[var-annotated]

    def record_epoch(self, job_id: str, record: dict[str, Any]) -> bool:
        if self.down:
            raise ServiceUnavailable("Cannot reach the PostgreSQL job store at postgresql://x (refused)")
        self.rows.append(record["epoch"])
        return self.cancel


def test_progress_is_kept_during_an_outage_and_written_in_order(caplog: pytest.LogCaptureFixture) -> None:
    flaky = _FlakyStore()
    progress = BufferedProgress(flaky, "job-1")  # type: ignore[arg-type]
    progress.outage.first = 0.0  # retry at every epoch in this test
    assert progress.add({"epoch": 1}) is False
    flaky.down = True
    assert [progress.add({"epoch": e}) for e in (2, 3)] == [False, False]  # training goes on
    assert "job-1: job store unreachable: Cannot reach the PostgreSQL job store" in caplog.text
    flaky.down, flaky.cancel = False, True
    assert progress.add({"epoch": 4}) is True  # a cancel made during the outage arrives afterwards
    assert flaky.rows == [1, 2, 3, 4] and "job store reachable again" in caplog.text


def test_retry_store_backs_off_then_gives_up_after_its_patience() -> None:
    calls: list[float] = []

    def failing() -> None:
        calls.append(time.monotonic())
        raise ServiceUnavailable("down")

    outage = StoreOutage("test", first=0.05, cap=0.2)
    with pytest.raises(ServiceUnavailable, match="down"):
        retry_store(failing, outage, patience=0.5)
    gaps = [b - a for a, b in itertools.pairwise(calls)]
    assert len(calls) >= 3 and gaps[1] > gaps[0]  # exponential backoff
    assert outage.down and outage.healthy_for() == 0.0
    assert retry_store(lambda: 42, outage) == 42 and not outage.down


def test_with_a_server_queue_worker_status_reports_the_fleet(
    store: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mmcorr.jobs import stop_worker, worker_status

    monkeypatch.setenv("MMCORR_QUEUE_URL", "redis://127.0.0.1:1/0")  # never contacted here
    assert worker_status().alive is False and worker_status().pid is None
    _beat(store, "dead", "node-b", 20, age=60.0)
    assert worker_status().alive is False and worker_status().pid == 20
    _beat(store, "gpu-1", "node-a", 10, age=0.5)
    status = worker_status()
    assert status.alive and status.pid == 10 and status.heartbeat_age is not None
    with pytest.raises(MmcorrError, match="stop one where it runs"):
        stop_worker()
