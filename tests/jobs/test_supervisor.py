"""The worker's supervision loop and its job process, handed their collaborators (no module patched).

Each test builds a :class:`WorkerContext` with a stand-in run function or job-process body and runs
:meth:`Supervisor.serve` in this process; the job process is a real spawned interpreter sharing a
real stop flag, so the stand-ins are module-level functions (the context is pickled into it). A
stand-in asks the worker to stop by sending its own process SIGTERM, as the job process's handler
sets the shared stop flag.
The real ``mmcorr worker`` (signals, heartbeats, pid file) is in test_worker_integration.py.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

from jobs_helpers import wait_for

from mmcorr.config import JobSpec
from mmcorr.jobs import JobState, get_job, get_store, progress, submit
from mmcorr.jobs.backends import host_name
from mmcorr.jobs.runner import RunFunction
from mmcorr.jobs.supervisor import SharedFlag, Supervisor, WorkerContext


def _context(home: Path, run: RunFunction, name: str = "w-1") -> WorkerContext:
    return WorkerContext(
        name=name,
        host=host_name(),
        threads=1,
        warm_up=None,
        poll_interval=0.05,
        stop=SharedFlag(),
        open_store=get_store,
        run=run,
        runs_dir=home / "runs",
        checkpoints_dir=home / "ckpt",
    )


def _serve(supervisor: Supervisor) -> None:
    """``supervisor.serve()``, with the stop flag set after two minutes should a broken job
    process never stop (the test then fails on its assertions instead of hanging)."""
    watchdog = threading.Timer(120.0, supervisor.ctx.stop.set)
    watchdog.start()
    try:
        supervisor.serve()
    finally:
        watchdog.cancel()


def _unused_run(spec: JobSpec, run_dir: Path, **kw: Any) -> Path:
    raise AssertionError("no job should run")


def _record_and_stop_after_last(
    spec: JobSpec, run_dir: Path, *, callbacks: Any = (), checkpoint_dir: Any = None, resume: bool = False
) -> Path:
    for cb in callbacks:
        cb.on_epoch_end({"epoch": 1, "epochs": 1, "train": {"total": 1.0}, "val_corr": 0.5, "seconds": 0.0})
    run_dir.mkdir(parents=True)
    (run_dir / "metrics.json").write_text("{}")
    if spec.name == "last":
        os.kill(os.getpid(), signal.SIGTERM)  # the worker is asked to stop once this job is done
    return run_dir


def test_the_job_process_runs_queued_jobs_with_the_given_run_function(
    jobs_home: Path, dataset_id: str
) -> None:
    ctx = _context(jobs_home, _record_and_stop_after_last)
    first = submit(JobSpec(dataset_id=dataset_id), autostart=False)
    last = submit(JobSpec(dataset_id=dataset_id, name="last"), autostart=False)
    _serve(Supervisor(ctx))  # returns once the stop flag is set and the job process has exited
    for job_id in (first, last):
        job = get_job(job_id)
        assert job.state is JobState.SUCCEEDED, job.message
        assert job.worker == "w-1" and job.run_dir == str(jobs_home / "runs" / job_id)
        assert list(progress(job_id)["epoch"]) == [1]
    assert get_store().queued_ids() == []


def _slow_warm_up(threads: int) -> None:
    time.sleep(3.0)  # like loading torch and compiling UMAP


def test_a_job_submitted_while_the_job_process_warms_up_runs_while_heartbeats_go_on(
    jobs_home: Path, dataset_id: str
) -> None:
    """The CI failure a forked job process showed: a job submitted during the warm-up, while the
    worker's heartbeat thread writes the store, was skipped as 'no longer queued' and the heartbeats
    stopped. The job process now starts fresh; the job must run and the heartbeats continue."""
    ctx = dataclasses.replace(_context(jobs_home, _record_and_stop_after_last), warm_up=_slow_warm_up)
    supervisor = Supervisor(ctx)
    store = get_store()
    beats: list[int] = []
    done = threading.Event()

    def heartbeat() -> None:  # what the worker's heartbeat thread does, in this process
        while not done.wait(0.02):
            store.heartbeat(os.getpid(), host_name(), time.time(), 1, "running", "w-1")
            beats.append(1)

    def submit_during_warm_up() -> None:
        wait_for(lambda: supervisor.child is not None and supervisor.child.is_alive(), 30, "the job process")
        time.sleep(1.0)
        box["job"] = submit(JobSpec(dataset_id=dataset_id, name="last"), autostart=False)

    box: dict[str, str] = {}
    threads = [threading.Thread(target=heartbeat), threading.Thread(target=submit_during_warm_up)]
    for t in threads:
        t.start()
    try:
        _serve(supervisor)
    finally:
        done.set()
        for t in threads:
            t.join()
    job = get_job(box["job"])
    assert job.state is JobState.SUCCEEDED, job.message
    assert len(beats) > 50  # the heartbeats never stalled for the whole run
    latest = [w for w in store.workers() if w.get("name") == "w-1"]
    assert latest and time.time() - float(latest[0]["heartbeat"]) < 5


def _dies_once(ctx: WorkerContext) -> None:
    marker = ctx.runs_dir / "starts"
    with marker.open("a") as f:
        f.write("x")
    if marker.read_text() == "x":
        os._exit(3)  # the first job process dies (as when the system kills it for memory)
    ctx.stop.set()


def test_a_job_process_that_dies_is_replaced(jobs_home: Path) -> None:
    ctx = _context(jobs_home, _unused_run)
    ctx.runs_dir.mkdir(parents=True, exist_ok=True)
    supervisor = Supervisor(ctx, target=_dies_once)
    _serve(supervisor)
    assert (ctx.runs_dir / "starts").read_text() == "xx"
    assert supervisor.child is not None and supervisor.child.exitcode == 0


def _stuck(ctx: WorkerContext) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    while True:  # a job that never reaches an epoch end
        threading.Event().wait(0.05)


def test_first_stop_signal_sets_the_stop_event_and_a_second_kills_the_job_process(jobs_home: Path) -> None:
    ctx = _context(jobs_home, _unused_run)
    supervisor = Supervisor(ctx, target=_stuck)

    def signal_twice() -> None:
        wait_for(lambda: supervisor.child is not None and supervisor.child.is_alive(), 30, "the job process")
        supervisor.on_signal(signal.SIGTERM, None)
        wait_for(ctx.stop.is_set, 30, "the stop flag")
        supervisor.on_signal(signal.SIGINT, None)

    sender = threading.Thread(target=signal_twice)
    sender.start()
    _serve(supervisor)
    sender.join()
    assert ctx.stop.is_set() and supervisor.signals == 2
    assert supervisor.child is not None and supervisor.child.exitcode == -signal.SIGKILL


def _endless_warm_up(threads: int) -> None:
    while True:  # a compile that would outlast any stop
        threading.Event().wait(0.05)


def test_a_stop_during_the_warm_up_ends_the_job_process_at_once(jobs_home: Path) -> None:
    ctx = dataclasses.replace(_context(jobs_home, _unused_run), warm_up=_endless_warm_up)
    supervisor = Supervisor(ctx)

    def signal_once() -> None:
        wait_for(lambda: supervisor.child is not None and supervisor.child.is_alive(), 30, "the job process")
        supervisor.on_signal(signal.SIGTERM, None)

    sender = threading.Thread(target=signal_once)
    sender.start()
    started = time.monotonic()
    _serve(supervisor)
    sender.join()
    assert supervisor.signals == 1  # one stop was enough: the idle job process was not waited for
    assert supervisor.child is not None and supervisor.child.exitcode == -signal.SIGKILL
    assert time.monotonic() - started < 60  # well before the two-minute watchdog


def _stop_mid_job(
    spec: JobSpec, run_dir: Path, *, callbacks: Any = (), checkpoint_dir: Any = None, resume: bool = False
) -> Path:
    os.kill(os.getpid(), signal.SIGTERM)  # the stop arrives mid-job ...
    time.sleep(1.5)  # ... and the job still finishes (longer than the idle grace)
    run_dir.mkdir(parents=True)
    (run_dir / "metrics.json").write_text("{}")
    return run_dir


def test_a_stop_while_a_job_runs_waits_for_it(jobs_home: Path, dataset_id: str) -> None:
    supervisor = Supervisor(_context(jobs_home, _stop_mid_job))
    job_id = submit(JobSpec(dataset_id=dataset_id), autostart=False)
    _serve(supervisor)
    assert get_job(job_id).state is JobState.SUCCEEDED
    assert supervisor.child is not None and supervisor.child.exitcode == 0
