"""One contract, two backends: the SQLite and PostgreSQL job stores behave identically."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mmcorr._validation import MmcorrError
from mmcorr.config import JobSpec
from mmcorr.jobs.states import EventLevel, JobState

SPEC = JobSpec(dataset_id="ds-1").to_json()


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    if request.param == "sqlite":
        from mmcorr.jobs.sqlite_store import SQLiteJobStore

        yield SQLiteJobStore(tmp_path / "jobs.db")
        return
    server = request.getfixturevalue("postgres_server")
    from mmcorr.jobs.postgres_store import PostgresJobStore

    pg = PostgresJobStore(server.url)
    try:
        yield pg
    finally:
        pg.close()


def test_submission_order_and_queue_positions(store: Any) -> None:
    seqs = [store.add_job(f"j{i}", SPEC, f"job {i}", 5, None) for i in range(3)]
    assert seqs == [1, 2, 3]
    assert store.queued_ids() == ["j0", "j1", "j2"]
    assert [store.get(f"j{i}").queue_position for i in range(3)] == [0, 1, 2]
    assert [r.id for r in store.list_jobs(limit=2)] == ["j2", "j1"]
    assert store.get("j0").spec == JobSpec(dataset_id="ds-1")


def test_claim_is_exclusive_and_finish_needs_running(store: Any) -> None:
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


def test_concurrent_claims_give_each_job_to_exactly_one_claimer(store: Any) -> None:
    for i in range(6):
        store.add_job(f"j{i}", SPEC, "x", 1, None)
    wins: list[tuple[int, str]] = []
    lock = threading.Lock()

    def claimer(pid: int) -> None:
        for i in range(6):
            if store.claim(f"j{i}", pid, "h"):
                with lock:
                    wins.append((pid, f"j{i}"))

    threads = [threading.Thread(target=claimer, args=(p,)) for p in (1, 2, 3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(job for _, job in wins) == [f"j{i}" for i in range(6)]


def test_progress_upsert_eta_and_cancel_flag(store: Any) -> None:
    store.add_job("j", SPEC, "x", 4, None)
    store.claim("j", 1, "h")
    assert store.record_epoch("j", {"epoch": 1, "epochs": 4, "seconds": 2.0}) is False
    store.record_epoch("j", {"epoch": 1, "epochs": 4, "seconds": 4.0})  # same epoch: replaced
    assert [r["seconds"] for r in store.progress_rows("j")] == [4.0]
    rec = store.get("j")
    assert (rec.epoch, rec.eta_seconds, rec.last) == (1, 12.0, {"epoch": 1, "epochs": 4, "seconds": 4.0})
    assert store.request_cancel("j") is JobState.RUNNING
    assert store.get("j").cancel_requested is True
    assert store.record_epoch("j", {"epoch": 2, "epochs": 4, "seconds": 4.0}) is True


def test_cancel_queued_requeue_and_mark_lost(store: Any) -> None:
    store.add_job("q", SPEC, "x", 3, None)
    assert store.request_cancel("q") is JobState.CANCELLED
    with pytest.raises(MmcorrError, match="already cancelled"):
        store.request_cancel("q")
    store.add_job("r", SPEC, "x", 3, None)
    store.claim("r", 7, "h")
    assert store.requeue("r", "worker shutdown") is True
    rec = store.get("r")
    assert (rec.state, rec.resume_from, rec.worker_pid) == (JobState.QUEUED, "r", None)
    store.claim("r", 8, "h")
    assert store.mark_lost("r", 7, "worker lost: wrong pid") is False
    assert store.mark_lost("r", 8, "worker lost: gone") is True
    rec = store.get("r")
    assert (rec.state, rec.message) == (JobState.FAILED, "worker lost: gone")


def test_unknown_job_is_a_clear_error(store: Any) -> None:
    with pytest.raises(MmcorrError, match="no job with id 'nope'"):
        store.get("nope")
    with pytest.raises(MmcorrError, match="no job with id 'nope'"):
        store.request_cancel("nope")


def test_events_and_heartbeats(store: Any) -> None:
    store.add_job("j", SPEC, "x", 3, None)
    store.add_event("j", EventLevel.WARNING, "careful")
    texts = [(lvl, text) for _, lvl, text in store.events("j")]
    assert texts[0][1].startswith("submitted")
    assert texts[-1] == (EventLevel.WARNING, "careful")
    assert store.worker() is None
    store.heartbeat(10, "host-a", 100.0, 2, "idle")
    store.heartbeat(20, "host-b", 200.0, 1, "busy")
    store.heartbeat(10, "host-a", 100.0, 2, "busy")
    newest = store.worker()
    assert (newest["pid"], newest["host"], newest["state"]) == (20, "host-b", "busy")


def test_worker_names_on_heartbeats_and_claimed_jobs(store: Any) -> None:
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
