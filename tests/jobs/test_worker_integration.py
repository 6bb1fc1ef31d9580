"""A real ``python -m mmcorr worker`` in a temporary MMCORR_HOME: the guarantees of the job system.

Every test kills the process groups it started (the ``procs`` fixture). Waits poll the store; no
fixed sleep is an assertion.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from jobs_helpers import ROOT, Processes, cca_spec, kill_group, long_spec, wait_for

from mmcorr.jobs import JobState, cancel, get_job, progress, resubmit, submit, worker_status
from mmcorr.jobs.states import WORKER_LOST

pytestmark = pytest.mark.slow


def _state(job_id: str) -> JobState:
    return get_job(job_id).state


def _epochs(job_id: str) -> list[int]:
    return [int(e) for e in progress(job_id)["epoch"]]


def test_jobs_run_report_progress_and_cancel(procs: Processes, dataset_id: str, jobs_home: Path) -> None:
    procs.worker()
    done = submit(cca_spec(dataset_id), autostart=False)
    wait_for(lambda: get_job(done).is_terminal, 240, "the cca job to end")
    job = get_job(done)
    assert job.state is JobState.SUCCEEDED, job.message + job.traceback
    assert job.run_dir == str(jobs_home / "runs" / done) and (Path(job.run_dir) / "metrics.json").exists()
    assert not list((jobs_home / "runs").glob(".*"))  # no half-written bundle left beside it

    running = submit(long_spec(dataset_id), autostart=False)
    queued = submit(long_spec(dataset_id), autostart=False)
    # Progress rows appear while the job is still running.
    wait_for(lambda: len(_epochs(running)) >= 2, 120, "two progress rows")
    live = get_job(running)
    assert live.state is JobState.RUNNING and live.epoch >= 2 and live.epochs == 300
    assert live.eta_seconds is not None and live.eta_seconds > 0 and live.last is not None
    assert get_job(queued).queue_position == 0
    assert cancel(queued) is JobState.CANCELLED
    assert cancel(running) is JobState.RUNNING
    wait_for(lambda: get_job(running).is_terminal, 60, "the running job to stop")
    stopped = get_job(running)
    assert stopped.state is JobState.CANCELLED, stopped.message
    epochs = _epochs(running)
    assert epochs == list(range(1, len(epochs) + 1)) and len(epochs) < 300  # partial history kept
    assert get_job(queued).started is None and _epochs(queued) == []  # a cancelled queued job never ran
    assert worker_status().alive  # the worker keeps serving


def test_sigkill_mid_job_then_restart_fails_it_as_worker_lost_and_resubmit_resumes(
    procs: Processes, dataset_id: str
) -> None:
    worker = procs.worker()
    job_id = submit(long_spec(dataset_id), autostart=False)
    wait_for(lambda: len(_epochs(job_id)) >= 3, 120, "three epochs")
    kill_group(worker, signal.SIGKILL)
    worker.wait(timeout=10)
    assert _state(job_id) in (JobState.RUNNING, JobState.FAILED)  # nobody is left to update it
    procs.worker()  # the next worker start recovers it
    job = wait_for(lambda: (j := get_job(job_id)).state is JobState.FAILED and j, 30, "worker lost")
    assert job.message.startswith(WORKER_LOST) and "Resubmit" in job.message  # type: ignore[attr-defined]
    last_epoch = max(_epochs(job_id))
    new_id = resubmit(job_id, autostart=False)
    wait_for(lambda: _epochs(new_id), 120, "the resumed job's first epoch")
    assert _epochs(new_id)[0] > 1  # resumed from the checkpoint, not from scratch
    # The trainer writes the checkpoint before the epoch's progress row, so a kill between the two
    # leaves the checkpoint one epoch ahead of the last row: resume at last_epoch + 1 or + 2.
    assert _epochs(new_id)[0] <= last_epoch + 2
    cancel(new_id)
    wait_for(lambda: get_job(new_id).is_terminal, 60, "the resumed job to stop")


def test_sigterm_requeues_the_running_job_and_the_next_worker_resumes_it(
    procs: Processes, dataset_id: str
) -> None:
    worker = procs.worker()
    job_id = submit(long_spec(dataset_id), autostart=False)
    wait_for(lambda: len(_epochs(job_id)) >= 2, 120, "two epochs")
    os.kill(worker.pid, signal.SIGTERM)
    assert worker.wait(timeout=60) == 0
    job = get_job(job_id)
    assert job.state is JobState.QUEUED and "worker shutdown" in job.message and job.resume_from == job_id
    interrupted_at = max(_epochs(job_id))
    procs.worker()
    wait_for(lambda: get_job(job_id).state is JobState.RUNNING and max(_epochs(job_id)) > interrupted_at,
             120, "the job to resume")  # fmt: skip
    cancel(job_id)
    wait_for(lambda: get_job(job_id).is_terminal, 60, "the job to stop")
    assert get_job(job_id).state is JobState.CANCELLED


_SUBMITTER = textwrap.dedent(
    """
    import json, sys
    sys.path.insert(0, {tests!r})
    from jobs_helpers import cca_spec
    from mmcorr.jobs import submit, worker_status
    ids = [submit(cca_spec({dataset!r})) for _ in range({n})]
    print(json.dumps({{"ids": ids, "pid": worker_status().pid}}))
    """
)


def test_three_processes_autostart_one_worker_and_ten_jobs_run_once_in_order(
    procs: Processes, dataset_id: str, jobs_home: Path
) -> None:
    import json

    env = {**os.environ, "MMCORR_AUTOSTART_WORKER": "1", "PYTHONPATH": str(ROOT)}
    subs = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                _SUBMITTER.format(tests=str(Path(__file__).parent), dataset=dataset_id, n=n),
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        for n in (4, 3, 3)
    ]
    procs.procs.extend(subs)  # type: ignore[arg-type]
    outs = [json.loads(p.communicate(timeout=120)[0]) for p in subs]
    assert len({o["pid"] for o in outs}) == 1  # every process found the same, single worker
    ids = [i for o in outs for i in o["ids"]]
    assert len(ids) == len(set(ids)) == 10
    wait_for(lambda: all(get_job(i).is_terminal for i in ids), 400, "ten jobs to end")
    assert all(get_job(i).state is JobState.SUCCEEDED for i in ids), [get_job(i).message for i in ids]
    rows = (
        sqlite3.connect(jobs_home / "state" / "jobs.db")
        .execute("SELECT seq, started, attempts FROM jobs ORDER BY seq")
        .fetchall()
    )
    assert [r[2] for r in rows] == [1] * 10  # each ran exactly once
    assert [r[1] for r in rows] == sorted(r[1] for r in rows)  # in submission order
    log = (jobs_home / "state" / "worker.log").read_text()
    assert log.count("serving") == 1 and "another worker already serves" not in log
