"""One contract, two backends: the job store behaves the same on SQLite and on PostgreSQL.

Every test taking ``backend`` or ``store`` runs on both. SQLite always runs; PostgreSQL runs where
the initdb/postgres binaries and psycopg are installed (one throwaway server per module, a fresh
database per test), is skipped saying what is missing otherwise, and fails instead of skipping
under ``MMCORR_REQUIRE_SERVICES=1`` (CI).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import old_store_schema as old
import pytest

from mmcorr._validation import MmcorrError
from mmcorr.config import JobSpec
from mmcorr.jobs.postgres_store import PostgresJobStore
from mmcorr.jobs.sql_store import SQLJobStore
from mmcorr.jobs.sqlite_store import SQLiteJobStore
from mmcorr.jobs.states import TERMINAL_STATES, EventLevel, JobState
from mmcorr.jobs.store import SCHEMA_VERSION, JobStore, get_store

# The PostgreSQL server helpers live with the scale-out tests (tests/services has no __init__.py).
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "services"))
from svc_servers import PostgresServer, need_postgres

SPEC = JobSpec(dataset_id="ds-1").to_json()
_databases = itertools.count()


@dataclass
class Backend:
    """One empty database: ``open()`` gives a new store object on it (as another process would get),
    ``raw(sql, params)`` runs SQL outside the store, committed at once (``?`` parameters)."""

    name: str
    make: Callable[[], SQLJobStore]
    raw: Callable[..., list[tuple[Any, ...]]]
    opened: list[SQLJobStore] = field(default_factory=list)

    def open(self) -> SQLJobStore:
        store = self.make()
        self.opened.append(store)
        return store


@pytest.fixture(scope="module")
def pg_server() -> Iterator[PostgresServer]:
    need_postgres()
    server = PostgresServer()
    try:
        server.start()
        yield server
    finally:
        server.cleanup()


def _sqlite_backend(path: Path) -> Backend:
    def raw(sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with contextlib.closing(sqlite3.connect(path)) as conn:
            rows = conn.execute(sql, params).fetchall()
            conn.commit()
        return rows

    return Backend("sqlite", lambda: SQLiteJobStore(path), raw)


def _postgres_backend(server: PostgresServer) -> Backend:
    import psycopg

    name = f"contract_{next(_databases)}"
    with psycopg.connect(server.url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    url = f"{server.url.rsplit('/', 1)[0]}/{name}"

    def raw(sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with psycopg.connect(url, autocommit=True) as conn:
            cur = conn.execute(sql.replace("?", "%s"), params)
            return list(cur.fetchall()) if cur.description else []

    return Backend("postgres", lambda: PostgresJobStore(url), raw)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.services)])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "sqlite":
        made = _sqlite_backend(tmp_path / "jobs.db")
    else:
        made = _postgres_backend(request.getfixturevalue("pg_server"))
    try:
        yield made
    finally:
        for store in made.opened:
            store.close()


@pytest.fixture
def store(backend: Backend) -> SQLJobStore:
    return backend.open()


# -- the contract -----------------------------------------------------------------------------------


def test_states_are_lowercase_strings_and_terminal_set() -> None:
    assert [s.value for s in JobState] == ["queued", "running", "succeeded", "failed", "cancelled"]
    assert JobState("running") is JobState.RUNNING
    assert {JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED} == TERMINAL_STATES
    assert not JobState.QUEUED.is_terminal and JobState.FAILED.is_terminal


def test_a_fresh_store_meets_the_protocol_and_makes_its_schema_on_first_use(
    backend: Backend, store: SQLJobStore
) -> None:
    assert isinstance(store, JobStore)
    assert store.schema_version() == 0  # constructing and asking migrate nothing
    assert store.queued_ids() == []
    assert store.schema_version() == SCHEMA_VERSION
    assert backend.raw("SELECT version FROM schema_version") == [(SCHEMA_VERSION,)]


def test_the_sqlite_store_uses_wal(tmp_path: Path) -> None:
    store = SQLiteJobStore(tmp_path / "jobs.db")
    store.add_job("a", SPEC, "", 5, None)
    assert sqlite3.connect(store.path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_lifecycle_queued_running_succeeded(store: SQLJobStore) -> None:
    assert store.add_job("a", SPEC, "first", 3, None) == 1
    assert store.add_job("b", SPEC, "", 3, None) == 2
    a = store.get("a")
    assert a.state is JobState.QUEUED and a.queue_position == 0 and a.spec.dataset_id == "ds-1"
    assert store.get("b").queue_position == 1
    assert store.claim("a", 123, "host")
    assert not store.claim("a", 456, "host")  # a job runs at most once
    assert store.get("b").queue_position == 0
    for epoch in (1, 2):
        rec = {
            "epoch": epoch,
            "epochs": 3,
            "train": {"loss": 1.0 / epoch},
            "val": {},
            "val_corr": 0.5,
            "seconds": 2.0,
        }
        assert store.record_epoch("a", rec) is False
    running = store.get("a")
    assert running.state is JobState.RUNNING and running.epoch == 2 and running.worker_pid == 123
    assert running.last is not None and running.last["train"]["loss"] == 0.5
    assert running.eta_seconds == pytest.approx(2.0)  # one epoch left at 2 s each
    assert [r["epoch"] for r in store.progress_rows("a")] == [1, 2]
    assert store.finish("a", JobState.SUCCEEDED, "done", run_dir="/runs/a")
    assert not store.finish("a", JobState.FAILED, "late")  # terminal states never change
    done = store.get("a")
    assert done.state is JobState.SUCCEEDED and done.run_dir == "/runs/a" and done.finished
    assert [r.id for r in store.list_jobs()] == ["b", "a"]
    assert [r.id for r in store.list_jobs(states=(JobState.QUEUED,))] == ["b"]
    assert [r.id for r in store.list_jobs(states=(JobState.QUEUED, JobState.SUCCEEDED))] == ["b", "a"]
    texts = [t for _, _, t in store.events("a")]
    assert texts[0].startswith("submitted") and texts[-1] == "succeeded: done"


def test_submission_order_and_queue_positions(store: SQLJobStore) -> None:
    seqs = [store.add_job(f"j{i}", SPEC, f"job {i}", 5, None) for i in range(3)]
    assert seqs == [1, 2, 3]
    assert store.queued_ids() == ["j0", "j1", "j2"]
    assert [store.get(f"j{i}").queue_position for i in range(3)] == [0, 1, 2]
    assert [r.id for r in store.list_jobs(limit=2)] == ["j2", "j1"]
    assert store.get("j0").spec == JobSpec(dataset_id="ds-1")


def test_claim_is_exclusive_and_finish_needs_running(store: SQLJobStore) -> None:
    store.add_job("j", SPEC, "x", 5, None)
    assert store.finish("j", JobState.SUCCEEDED, "not yet") is False
    assert store.claim("j", 11, "host-a") is True
    assert store.claim("j", 12, "host-b") is False
    rec = store.get("j")
    assert (rec.state, rec.worker_pid, rec.queue_position) == (JobState.RUNNING, 11, None)
    assert store.running() == [("j", 11, "host-a")]
    assert store.finish("j", JobState.SUCCEEDED, "done", run_dir="/r/j") is True
    rec = store.get("j")
    assert (rec.state, rec.run_dir, rec.message) == (JobState.SUCCEEDED, "/r/j", "done")
    assert store.finish("j", JobState.FAILED, "again") is False


def test_concurrent_claims_give_each_job_to_exactly_one_claimer(store: SQLJobStore) -> None:
    for i in range(20):
        store.add_job(f"j{i}", SPEC, "x", 1, None)
    wins: list[tuple[int, str]] = []
    lock = threading.Lock()

    def claimer(pid: int) -> None:
        for i in range(20):
            if store.claim(f"j{i}", pid, "h"):
                with lock:
                    wins.append((pid, f"j{i}"))

    threads = [threading.Thread(target=claimer, args=(p,)) for p in (1, 2, 3, 4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(job for _, job in wins) == sorted(f"j{i}" for i in range(20))


def test_progress_upsert_eta_and_cancel_flag(store: SQLJobStore) -> None:
    store.add_job("j", SPEC, "x", 4, None)
    store.claim("j", 1, "h")
    assert store.record_epoch("j", {"epoch": 1, "epochs": 4, "seconds": 2.0}) is False
    store.record_epoch("j", {"epoch": 1, "epochs": 4, "seconds": 4.0})  # a resumed run redoes epoch 1
    assert [r["seconds"] for r in store.progress_rows("j")] == [4.0]
    rec = store.get("j")
    assert (rec.epoch, rec.eta_seconds, rec.last) == (1, 12.0, {"epoch": 1, "epochs": 4, "seconds": 4.0})
    assert store.request_cancel("j") is JobState.RUNNING
    assert store.get("j").cancel_requested is True
    assert store.record_epoch("j", {"epoch": 2, "epochs": 4, "seconds": 4.0}) is True


def test_cancel_queued_is_immediate_and_running_is_flagged(store: SQLJobStore) -> None:
    store.add_job("q", SPEC, "", 3, None)
    store.add_job("r", SPEC, "", 3, None)
    store.claim("r", 1, "h")
    assert store.request_cancel("q") is JobState.CANCELLED
    assert not store.claim("q", 1, "h")  # a cancelled queued job never starts
    assert store.request_cancel("r") is JobState.RUNNING
    assert store.get("r").cancel_requested
    assert store.record_epoch("r", {"epoch": 1}) is True  # the callback learns of it at epoch end


def test_cancel_finished_job_says_only_queued_or_running(store: SQLJobStore) -> None:
    store.add_job("a", SPEC, "", 3, None)
    store.request_cancel("a")
    with pytest.raises(MmcorrError, match="already cancelled; only queued or running"):
        store.request_cancel("a")


def test_unknown_job_is_a_clear_error(store: SQLJobStore) -> None:
    with pytest.raises(MmcorrError, match="no job with id 'nope'"):
        store.get("nope")
    with pytest.raises(MmcorrError, match="no job with id 'nope'"):
        store.request_cancel("nope")


def test_requeue_and_mark_lost(store: SQLJobStore) -> None:
    store.add_job("r", SPEC, "x", 3, None)
    store.claim("r", 7, "h")
    assert store.requeue("r", "worker shutdown") is True
    assert store.requeue("r", "twice") is False  # only a running job goes back to the queue
    rec = store.get("r")
    assert (rec.state, rec.resume_from, rec.worker_pid) == (JobState.QUEUED, "r", None)
    store.claim("r", 8, "h")
    assert store.mark_lost("r", 7, "worker lost: wrong pid") is False  # another process runs it now
    assert store.mark_lost("r", 8, "worker lost: gone") is True
    rec = store.get("r")
    assert (rec.state, rec.message) == (JobState.FAILED, "worker lost: gone")
    assert store.events("r")[-1][1] is EventLevel.ERROR


def test_events_and_heartbeats(store: SQLJobStore) -> None:
    store.add_job("j", SPEC, "x", 3, None)
    store.add_event("j", EventLevel.WARNING, "careful")
    texts = [(lvl, text) for _, lvl, text in store.events("j")]
    assert texts[0][1].startswith("submitted")
    assert texts[-1] == (EventLevel.WARNING, "careful")
    assert store.worker() is None
    store.heartbeat(10, "host-a", 100.0, 2, "idle")
    store.heartbeat(20, "host-b", 200.0, 1, "busy")
    store.heartbeat(10, "host-a", 100.0, 2, "stopped")
    newest = store.worker()
    assert newest is not None and (newest["pid"], newest["host"], newest["state"]) == (20, "host-b", "busy")
    rows = {r["pid"]: r for r in store.workers()}
    assert (rows[10]["state"], rows[10]["threads"], len(rows)) == ("stopped", 2, 2)  # one row per process


def test_worker_names_on_heartbeats_and_claimed_jobs(store: SQLJobStore) -> None:
    store.heartbeat(10, "host-a", 100.0, 2, "running", "gpu-a:0")
    store.heartbeat(10, "host-a", 100.0, 2, "running")  # a beat without the name keeps it
    store.heartbeat(20, "host-b", 200.0, 1, "running", "gpu-b:0")
    rows = {r["name"]: r for r in store.workers()}
    assert set(rows) == {"gpu-a:0", "gpu-b:0"}
    assert (rows["gpu-a:0"]["host"], rows["gpu-a:0"]["pid"], rows["gpu-a:0"]["threads"]) == ("host-a", 10, 2)
    assert store.workers()[0]["name"] == "gpu-b:0"  # most recent heartbeat first
    store.add_job("j", SPEC, "", 3, None)
    store.add_job("k", SPEC, "", 3, None)
    assert store.claim("j", 11, "host-a", "gpu-a:0")
    assert store.claim("k", 12, "host-b")  # a claim without a name (older workers)
    assert store.running_workers() == [("j", 11, "gpu-a:0"), ("k", 12, None)]
    assert store.get("j").worker == "gpu-a:0" and store.get("k").worker is None
    assert any("started by worker gpu-a:0 (pid 11 on host-a)" in t for _, _, t in store.events("j"))
    assert store.requeue("j", "shutdown") and store.get("j").worker is None


def test_two_store_objects_share_one_database(backend: Backend) -> None:
    first, second = backend.open(), backend.open()  # two processes, in effect
    assert first.add_job("a", SPEC, "", 1, None) == 1
    assert second.add_job("b", SPEC, "", 1, None) == 2
    assert second.claim("a", 1, "h") and not first.claim("a", 2, "h")
    assert first.get("a").worker_pid == 1 and first.queued_ids() == ["b"]


# -- schema versions and stores written by earlier mmcorr ----------------------------------------------


def _old_schema(backend: Backend, version: int) -> None:
    """The tables as mmcorr at 19e73bb made them, at ``version`` (1 or 2)."""
    if backend.name == "sqlite":
        statements = old.SQLITE_V1 + (old.SQLITE_V2 if version == 2 else ())
    else:
        statements = old.POSTGRES_STEPS[0] + (old.POSTGRES_STEPS[1] if version == 2 else ())
    for statement in statements:
        backend.raw(statement)
    backend.raw("INSERT INTO schema_version (version) VALUES (?)", (version,))


def _old_job(backend: Backend, job_id: str, seq: int, created: float) -> None:
    if backend.name == "sqlite":
        backend.raw(old.SQLITE_ADD_JOB, (job_id, seq, "old", "queued", SPEC, created, 5, None))
    else:
        assert backend.raw(old.POSTGRES_ADD_JOB, (job_id, "old", "queued", SPEC, created, 5, None)) == [
            (seq,)
        ]


def test_a_store_written_before_the_one_sql_store_opens(backend: Backend) -> None:
    _old_schema(backend, 2)
    now = time.time()
    _old_job(backend, "old-a", 1, now - 60)
    _old_job(backend, "old-b", 2, now - 30)
    backend.raw(old.EVENT, ("old-a", now - 60, "info", "submitted (position 1 in submission order)"))
    backend.raw(old.CLAIM, ("running", now - 50, 11, "host-a", "gpu-a:0", "old-a", "queued"))
    record = {"epoch": 1, "epochs": 5, "seconds": 3.0}
    backend.raw(old.PROGRESS, ("old-a", 1, json.dumps(record), now - 40))
    backend.raw(old.LAST_RECORD, (1, 5, json.dumps(record), "old-a"))
    backend.raw(old.HEARTBEAT, (11, "host-a", "gpu-a:0", now - 70, now - 1, "running", 2))
    store = backend.open()
    a = store.get("old-a")
    assert (a.state, a.worker_pid, a.worker, a.epoch, a.last) == (JobState.RUNNING, 11, "gpu-a:0", 1, record)
    assert a.eta_seconds == pytest.approx(12.0)
    assert store.get("old-b").queue_position == 0
    assert store.progress_rows("old-a") == [record]
    assert store.events("old-a")[0][2].startswith("submitted")
    assert store.workers()[0]["name"] == "gpu-a:0"
    assert store.add_job("new", SPEC, "", 3, None) == 3  # numbering goes on after the old jobs
    assert store.queued_ids() == ["old-b", "new"]
    assert store.finish("old-a", JobState.SUCCEEDED, "done")
    assert store.schema_version() == SCHEMA_VERSION


def test_a_version_1_store_is_migrated(backend: Backend) -> None:
    _old_schema(backend, 1)
    _old_job(backend, "j", 1, time.time())
    backend.raw(old.CLAIM_V1, ("running", time.time(), 7, "old-host", "j", "queued"))
    backend.raw(old.HEARTBEAT_V1, (7, "old-host", 1.0, 2.0, "stopped", 1))
    store = backend.open()
    assert store.schema_version() == 1  # nothing migrates before first use
    worker = store.workers()[0]
    assert (worker["name"], worker["host"]) == (None, "old-host")
    assert store.running_workers() == [("j", 7, None)] and store.get("j").worker is None
    store.add_job("k", SPEC, "", 1, None)
    assert store.claim("k", 1, "h", "w") and store.get("k").worker == "w"
    assert backend.raw("SELECT version FROM schema_version") == [(SCHEMA_VERSION,)]


def test_a_newer_schema_is_refused_naming_both_versions(backend: Backend) -> None:
    backend.open().add_job("a", SPEC, "", 1, None)
    backend.raw("UPDATE schema_version SET version = 99")
    later = backend.open()
    assert later.schema_version() == 99
    with pytest.raises(
        MmcorrError,
        match=rf"schema version 99, newer than this mmcorr supports \({SCHEMA_VERSION}\)\. Upgrade",
    ):
        later.get("a")


# -- choosing the backend ------------------------------------------------------------------------------


def test_get_store_picks_the_backend_from_the_db_url(
    monkeypatch: pytest.MonkeyPatch, mmcorr_home: Path
) -> None:
    default = get_store()
    assert isinstance(default, SQLiteJobStore) and default.path.parent.parent == mmcorr_home.resolve()
    monkeypatch.setenv("MMCORR_DB_URL", f"sqlite:///{mmcorr_home / 'other.db'}")
    other = get_store()
    assert isinstance(other, SQLiteJobStore) and other.path == (mmcorr_home / "other.db").resolve()
    monkeypatch.setenv("MMCORR_DB_URL", "postgresql://u:secret@db.example:5432/jobs")
    server = get_store()  # no connection is made until the store is used
    assert isinstance(server, PostgresJobStore) and server is get_store()
    assert server.where == "the PostgreSQL job store at postgresql://u:***@db.example:5432/jobs"


def test_get_store_rejects_an_unknown_db_url(monkeypatch: pytest.MonkeyPatch, mmcorr_home: Path) -> None:
    monkeypatch.setenv("MMCORR_DB_URL", "mysql://x")
    with pytest.raises(MmcorrError, match="MMCORR_DB_URL"):
        get_store()
