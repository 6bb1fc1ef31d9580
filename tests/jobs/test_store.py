"""The SQLite job store: state transitions are atomic and conditional; schema is versioned."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from mmcorr._validation import MmcorrError
from mmcorr.config import JobSpec
from mmcorr.jobs.sqlite_store import SQLiteJobStore
from mmcorr.jobs.states import TERMINAL_STATES, EventLevel, JobState
from mmcorr.jobs.store import SCHEMA_VERSION, JobStore, get_store

SPEC = JobSpec(dataset_id="ds-1").to_json()


@pytest.fixture
def store(tmp_path: Path) -> SQLiteJobStore:
    return SQLiteJobStore(tmp_path / "jobs.db")


def test_states_are_lowercase_strings_and_terminal_set() -> None:
    assert [s.value for s in JobState] == ["queued", "running", "succeeded", "failed", "cancelled"]
    assert JobState("running") is JobState.RUNNING
    assert {JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED} == TERMINAL_STATES
    assert not JobState.QUEUED.is_terminal and JobState.FAILED.is_terminal


def test_store_meets_the_protocol_and_uses_wal(store: SQLiteJobStore) -> None:
    assert isinstance(store, JobStore)
    store.add_job("a", SPEC, "", 5, None)
    mode = sqlite3.connect(store.path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_lifecycle_queued_running_succeeded(store: SQLiteJobStore) -> None:
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
    texts = [t for _, _, t in store.events("a")]
    assert texts[0].startswith("submitted") and texts[-1] == "succeeded: done"


def test_progress_rows_are_upserted_by_epoch(store: SQLiteJobStore) -> None:
    store.add_job("a", SPEC, "", 3, None)
    store.claim("a", 1, "h")
    store.record_epoch("a", {"epoch": 1, "seconds": 1.0, "val_corr": 0.1})
    store.record_epoch("a", {"epoch": 1, "seconds": 1.0, "val_corr": 0.9})  # a resumed run redoes epoch 1
    assert [r["val_corr"] for r in store.progress_rows("a")] == [0.9]


def test_cancel_queued_is_immediate_and_running_is_flagged(store: SQLiteJobStore) -> None:
    store.add_job("q", SPEC, "", 3, None)
    store.add_job("r", SPEC, "", 3, None)
    store.claim("r", 1, "h")
    assert store.request_cancel("q") is JobState.CANCELLED
    assert not store.claim("q", 1, "h")  # a cancelled queued job never starts
    assert store.request_cancel("r") is JobState.RUNNING
    assert store.get("r").cancel_requested
    assert store.record_epoch("r", {"epoch": 1}) is True  # the callback learns of it at epoch end


def test_cancel_unknown_job_names_it(store: SQLiteJobStore) -> None:
    with pytest.raises(MmcorrError, match="no job with id 'nope'"):
        store.request_cancel("nope")


def test_cancel_finished_job_says_only_queued_or_running(store: SQLiteJobStore) -> None:
    store.add_job("a", SPEC, "", 3, None)
    store.request_cancel("a")
    with pytest.raises(MmcorrError, match="already cancelled; only queued or running"):
        store.request_cancel("a")


def test_get_unknown_job_names_it(store: SQLiteJobStore) -> None:
    with pytest.raises(MmcorrError, match="no job with id 'missing'"):
        store.get("missing")


def test_requeue_and_mark_lost(store: SQLiteJobStore) -> None:
    store.add_job("a", SPEC, "", 3, None)
    store.claim("a", 11, "h")
    assert store.requeue("a", "worker shutdown")
    a = store.get("a")
    assert a.state is JobState.QUEUED and a.resume_from == "a" and a.worker_pid is None
    store.claim("a", 12, "h")
    assert not store.mark_lost("a", 99, "worker lost")  # another process runs it now
    assert store.mark_lost("a", 12, "worker lost: gone")
    assert store.get("a").state is JobState.FAILED
    assert store.events("a")[-1][1] is EventLevel.ERROR


def test_concurrent_claims_run_a_job_exactly_once(store: SQLiteJobStore) -> None:
    for i in range(20):
        store.add_job(f"j{i}", SPEC, "", 1, None)
    wins: list[tuple[int, str]] = []
    lock = threading.Lock()

    def claimer(k: int) -> None:
        for i in range(20):
            if store.claim(f"j{i}", k, "h"):
                with lock:
                    wins.append((k, f"j{i}"))

    threads = [threading.Thread(target=claimer, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(j for _, j in wins) == sorted(f"j{i}" for i in range(20))


def test_newer_schema_is_refused_with_both_versions(tmp_path: Path) -> None:
    SQLiteJobStore(tmp_path / "jobs.db").add_job("a", SPEC, "", 1, None)
    sqlite3.connect(tmp_path / "jobs.db").execute(
        "UPDATE schema_version SET version = 99"
    ).connection.commit()
    with pytest.raises(
        MmcorrError, match=rf"schema version 99, newer than this mmcorr supports \({SCHEMA_VERSION}\)"
    ):
        SQLiteJobStore(tmp_path / "jobs.db").get("a")


def test_worker_heartbeat_row(store: SQLiteJobStore) -> None:
    assert store.worker() is None
    store.heartbeat(42, "h", 100.0, 2, "running")
    store.heartbeat(42, "h", 100.0, 2, "stopped")
    row = store.worker()
    assert row is not None and row["pid"] == 42 and row["state"] == "stopped" and row["threads"] == 2


def test_get_store_rejects_an_unknown_db_url(monkeypatch: pytest.MonkeyPatch, mmcorr_home: Path) -> None:
    monkeypatch.setenv("MMCORR_DB_URL", "mysql://x")
    with pytest.raises(MmcorrError, match="MMCORR_DB_URL"):
        get_store()
