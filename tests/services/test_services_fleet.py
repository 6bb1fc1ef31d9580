"""Two ``mmcorr worker`` processes on "two machines" sharing real Redis + PostgreSQL.

Twelve jobs from two submitting processes run exactly once over both workers; a SIGKILLed worker's
job is found through its stale heartbeat and ends 'worker lost' (resubmitting resumes it) while
the other worker carries on; a PostgreSQL outage during training is reported plainly by the workers
and the API, and the job finishes once the database is back, with every progress row.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from svc_fleet import Fleet, cca_spec, long_spec, wait_for

from mmcorr.jobs.backends import ServiceUnavailable
from mmcorr.jobs.states import DB_URL_ENV, QUEUE_URL_ENV, STALE_ENV, JobState

pytestmark = pytest.mark.services

#: Short, so a dead worker is noticed within seconds (the default is 10 s).
STALE_S = "3"


@pytest.fixture
def fleet(
    redis_server, postgres_server, mmcorr_home: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[Fleet]:
    import tempfile

    from mmcorr.jobs.postgres_store import PostgresJobStore
    from mmcorr.jobs.queue import reset_queues

    numba = Path(tempfile.gettempdir()) / "mmcorr-test-numba-cache"  # shared with tests/jobs
    numba.mkdir(parents=True, exist_ok=True)
    for key, value in {
        QUEUE_URL_ENV: redis_server.url,
        DB_URL_ENV: postgres_server.url,
        STALE_ENV: STALE_S,
        "MMCORR_WORKER_THREADS": "1",
        "MMCORR_WORKER_WARMUP": "0",
        "NUMBA_CACHE_DIR": str(numba),
    }.items():
        monkeypatch.setenv(key, value)
    reset_queues()
    fleet = Fleet(tmp_path)
    try:
        yield fleet
    finally:
        fleet.close()
        reset_queues()
        for store in list(PostgresJobStore._instances.values()):
            store.close()
        PostgresJobStore._instances.clear()


@pytest.fixture
def dataset_id(mmcorr_home: Path) -> str:
    from mmcorr.data import DatasetRegistry, make_demo

    return str(DatasetRegistry().save(make_demo("synthetic", seed=0, n_samples=200), "synthetic-small"))


def _two_workers(fleet: Fleet) -> None:
    fleet.start_worker("w-a", "machine-a")
    fleet.start_worker("w-b", "machine-b")
    fleet.wait_ready("w-a", "w-b")


def _starts(job_id: str) -> int:
    from mmcorr.jobs import get_store

    return sum(text.startswith("started by") for _, _, text in get_store().events(job_id))


SUBMIT_SIX = """
import sys
from mmcorr.config import JobSpec
from mmcorr.jobs import submit
spec = JobSpec.from_json(open(sys.argv[1]).read())
for i in range(6):
    print(submit(spec, autostart=False), flush=True)
"""


def test_twelve_jobs_from_two_processes_run_once_each_over_both_workers(
    fleet: Fleet, dataset_id: str, tmp_path: Path
) -> None:
    from mmcorr.jobs import get_job, get_store, submit, worker_status
    from mmcorr.jobs.health import CheckStatus, check_autostart
    from mmcorr.jobs.queue import pending_job_ids

    _two_workers(fleet)
    doctor = check_autostart()  # what `mmcorr doctor` says about the workers
    assert doctor.status is CheckStatus.OK and "2 live worker(s)" in doctor.detail
    assert "w-a on machine-a (idle)" in doctor.detail and "w-b on machine-b (idle)" in doctor.detail
    assert worker_status().alive  # the dashboard's "is a worker running" check, fleet-wide
    spec_file = tmp_path / "spec.json"
    spec_file.write_text(cca_spec(dataset_id, "other").to_json())
    other = fleet.run("-c", SUBMIT_SIX, str(spec_file))
    mine = [submit(cca_spec(dataset_id, "mine")) for _ in range(6)]  # while the other submits
    out, _ = other.communicate(timeout=60)
    assert other.returncode == 0, out.decode()
    theirs = out.decode().split()
    jobs = mine + theirs
    assert len(set(jobs)) == 12

    wait_for(lambda: all(get_job(j).is_terminal for j in jobs), 120, "twelve jobs to finish")
    records = [get_job(j) for j in jobs]
    assert [r.state for r in records] == [JobState.SUCCEEDED] * 12, [r.message for r in records]
    assert [_starts(j) for j in jobs] == [1] * 12  # each ran exactly once
    assert {r.worker for r in records} == {"w-a", "w-b"}  # spread over both workers
    assert all(Path(str(r.run_dir)).is_dir() for r in records)
    assert get_store().queued_ids() == [] and pending_job_ids() == []


def test_sigkilled_worker_is_found_by_its_stale_heartbeat_and_the_other_carries_on(
    fleet: Fleet, dataset_id: str
) -> None:
    from mmcorr.jobs import (
        WORKER_LOST,
        WorkerState,
        cancel,
        get_job,
        list_workers,
        progress,
        resubmit,
        submit,
    )

    _two_workers(fleet)
    job = submit(long_spec(dataset_id, epochs=400))
    running = wait_for(
        lambda: (r := get_job(job)).state is JobState.RUNNING and r.epoch >= 3 and r, 60, "training"
    )
    victim = running.worker  # type: ignore[union-attr]
    survivor = {"w-a", "w-b"} - {victim}
    assert victim in ("w-a", "w-b") and len(survivor) == 1
    fleet.kill(str(victim))

    # Each worker is on its own "machine" (MMCORR_HOST), so no process-id check can see the death:
    # only the stale heartbeat can.
    lost = wait_for(lambda: (r := get_job(job)).is_terminal and r, 40, "the lost job to be noticed")
    assert lost.state is JobState.FAILED  # type: ignore[union-attr]
    message = lost.message  # type: ignore[union-attr]
    assert message.startswith(WORKER_LOST) and f"worker {victim} on machine-" in message
    assert "stopped sending heartbeats" in message and "Resubmit" in message
    states = {w.name: w for w in list_workers()}
    assert states[str(victim)].state is WorkerState.STALE
    assert states[survivor.pop()].state in (WorkerState.IDLE, WorkerState.BUSY)

    # Resubmitted, it resumes from the dead worker's checkpoint on the surviving worker.
    again = resubmit(job)
    wait_for(lambda: len(progress(again)) >= 1, 60, "the resubmitted job's first epoch")
    record = get_job(again)
    assert record.worker != victim
    assert int(progress(again)["epoch"].min()) > 1  # it did not start over
    cancel(again)
    wait_for(lambda: get_job(again).is_terminal, 30, "the cancel")
    # ... and the survivor keeps taking new jobs.
    quick = submit(cca_spec(dataset_id))
    wait_for(lambda: get_job(quick).is_terminal, 60, "a new job on the surviving worker")
    assert get_job(quick).state is JobState.SUCCEEDED and get_job(quick).worker != victim


def test_postgres_outage_while_training_is_reported_and_the_job_finishes_when_it_returns(
    fleet: Fleet, dataset_id: str, postgres_server
) -> None:
    from mmcorr.jobs import WorkerState, get_job, list_workers, progress, submit

    fleet.start_worker("w-a", "machine-a")
    fleet.wait_ready("w-a")
    epochs = 150
    job = submit(long_spec(dataset_id, epochs=epochs))
    wait_for(lambda: get_job(job).epoch >= 2, 60, "training")
    postgres_server.stop()
    try:
        # The dashboard-facing API says plainly what is wrong.
        with pytest.raises(
            ServiceUnavailable, match="Cannot reach the PostgreSQL job store at postgresql://"
        ):
            get_job(job)
        with pytest.raises(ServiceUnavailable, match="Check that PostgreSQL is running"):
            list_workers()
        # So does the worker's log: its heartbeat and the training job both notice, and go on.
        wait_for(
            lambda: (
                "heartbeat: job store unreachable" in fleet.log("w-a")
                and f"job {job}: job store unreachable" in fleet.log("w-a")
            ),
            30,
            "the outage in the worker log",
        )
        assert "Cannot reach the PostgreSQL job store" in fleet.log("w-a")
        assert "progress row(s) kept until it is back" in fleet.log("w-a")
        time.sleep(1.0)  # a little more training with the database away
    finally:
        postgres_server.start()

    done = wait_for(lambda: (r := get_job(job)).is_terminal and r, 90, "the job to finish after the outage")
    assert done.state is JobState.SUCCEEDED, done.message  # type: ignore[union-attr]
    rows = progress(job)
    assert rows["epoch"].tolist() == list(range(1, epochs + 1))  # no row lost in the outage
    # The heartbeat says so on its next beat after the database is back, which a job that finishes
    # quickly can precede (a full local run, 2026-11-30: the job ended first, under load).
    wait_for(
        lambda: "heartbeat: job store reachable again" in fleet.log("w-a"),
        30,
        "the heartbeat's recovery line",
    )
    assert f"job {job}: job store reachable again" in fleet.log("w-a")
    wait_for(
        lambda: [w.state for w in list_workers()] == [WorkerState.IDLE], 20, "the worker to look healthy"
    )
    json.dumps([w.to_dict() for w in list_workers()])  # plain JSON for the dashboard
