"""The task body: every ending of a job leaves a definite state.

The runner is handed its collaborators: the real SQLite job store of a temporary home, the real
queue, a ``threading.Event`` as the stop flag, and small stand-in run functions that call the
callbacks the way the estimator does, so each branch (success, cancel, shutdown, orphan, failures)
is exercised without training and without patching any module.
"""

from __future__ import annotations

import errno
import itertools
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mmcorr._validation import MmcorrError
from mmcorr.config import JobSpec
from mmcorr.jobs import JobState, JobStore, cancel, get_job, get_store, job_logs, progress, resubmit, submit
from mmcorr.jobs.queue import bind_runner, enqueue_front, get_huey, pending_job_ids
from mmcorr.jobs.runner import JobRunner, RunFunction, describe_failure, worker_threads
from mmcorr.jobs.states import WORKER_LOST


class Cancelled(Exception):
    """Stands in for mmcorr.training.TrainingCancelled."""


class FakeRun:
    """A run function: ``epochs`` epochs through the callbacks, failing with ``fail`` at epoch ``at``."""

    def __init__(
        self, epochs: int, *, fail: BaseException | None = None, at: int = 0, extra: Any = None
    ) -> None:
        self.epochs, self.fail, self.at, self.extra = epochs, fail, at, extra
        self.calls: dict[str, Any] = {}

    def __call__(self, spec: JobSpec, run_dir: Path, *, callbacks: Any = (), checkpoint_dir: Any = None,
                 resume: bool = False) -> Path:  # fmt: skip
        self.calls.update(spec=spec, checkpoint_dir=checkpoint_dir, resume=resume)
        callbacks = [*callbacks, *([self.extra] if self.extra is not None else [])]
        for epoch in range(1, self.epochs + 1):
            if self.fail is not None and epoch == self.at:
                raise self.fail
            record = {"epoch": epoch, "epochs": self.epochs, "train": {"recon": 1.0 / epoch, "corr": -0.5},
                      "val": {"recon": 1.1 / epoch}, "val_corr": 0.4, "seconds": 0.01}  # fmt: skip
            if any(cb.on_epoch_end(record) for cb in callbacks):
                raise Cancelled(f"cancelled at epoch {epoch}")
        run_dir.mkdir(parents=True)
        (run_dir / "metrics.json").write_text("{}")
        return run_dir


@pytest.fixture
def store(jobs_home: Path) -> JobStore:
    return get_store()


@pytest.fixture
def make_runner(store: JobStore, jobs_home: Path) -> Callable[..., JobRunner]:
    def make(run: RunFunction, stop: threading.Event | None = None, **kw: Any) -> JobRunner:
        return JobRunner(
            store=store,
            enqueue_front=enqueue_front,
            run=run,
            stop=threading.Event() if stop is None else stop,
            runs_dir=jobs_home / "runs",
            checkpoints_dir=jobs_home / "ckpt",
            threads=1,
            host="test-host",
            worker_name="w-test",
            **kw,
        )

    return make


@pytest.fixture
def serve(immediate: None, make_runner: Callable[..., JobRunner]) -> Callable[..., JobRunner]:
    """Bind a runner to the queue: in immediate mode, submit() then runs the job with it (the
    binding ends with the test's queue, see ``jobs_home``)."""

    def bind(run: RunFunction, **kw: Any) -> JobRunner:
        runner = make_runner(run, **kw)
        bind_runner(runner)
        return runner

    return bind


def test_successful_job_writes_progress_and_run_dir(
    serve: Callable[..., JobRunner], dataset_id: str, jobs_home: Path
) -> None:
    fake = FakeRun(3)
    serve(fake)
    job_id = submit(JobSpec(dataset_id=dataset_id), autostart=False)
    job = get_job(job_id)
    assert job.state is JobState.SUCCEEDED, job.message
    assert job.run_dir == str(jobs_home / "runs" / job_id) and Path(job.run_dir, "metrics.json").exists()
    assert job.worker == "w-test"  # the claim carries the worker's name
    frame = progress(job_id)
    assert list(frame["epoch"]) == [1, 2, 3]
    assert {"train_recon", "train_corr", "val_recon", "val_corr", "seconds"} <= set(frame.columns)
    assert fake.calls["spec"].train.threads == 1  # the runner's thread limit caps the job
    assert fake.calls["resume"] is False
    assert "succeeded" in job_logs(job_id)


def test_cancel_flag_stops_training_and_keeps_history(
    serve: Callable[..., JobRunner], dataset_id: str
) -> None:
    class Canceller:  # asks for the cancel from "outside" after epoch 2, as a user would
        def on_epoch_end(self, record: dict[str, Any]) -> None:
            if record["epoch"] == 2:
                cancel(get_store().list_jobs(1)[0].id)

    serve(FakeRun(50, extra=Canceller()))
    job = get_job(submit(JobSpec(dataset_id=dataset_id), autostart=False))
    assert job.state is JobState.CANCELLED and "cancelled at epoch 3" in job.message
    assert list(progress(job.id)["epoch"]) == [1, 2, 3]  # stopped within one epoch, history kept


def test_failure_message_is_readable_and_traceback_kept(
    serve: Callable[..., JobRunner], dataset_id: str
) -> None:
    serve(FakeRun(5, fail=MmcorrError("Dataset 'x' has NaN in 'rna'."), at=2))
    job = get_job(submit(JobSpec(dataset_id=dataset_id), autostart=False))
    assert job.state is JobState.FAILED and job.message == "Dataset 'x' has NaN in 'rna'."
    assert "Traceback" in job.traceback and "MmcorrError" in job_logs(job.id)
    assert list(progress(job.id)["epoch"]) == [1]


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (MemoryError("no room"), "Out of memory: no room"),
        (RuntimeError("CUDA out of memory. Tried to allocate 2 GiB"), "Out of memory: CUDA out of memory"),
        (OSError(errno.ENOSPC, "No space left on device"), "Disk full while writing the run"),
        (KeyError("boom"), "KeyError: 'boom'"),
    ],
)
def test_describe_failure(exc: BaseException, expected: str) -> None:
    assert describe_failure(exc).startswith(expected)


def test_worker_keeps_serving_after_a_failed_job(serve: Callable[..., JobRunner], dataset_id: str) -> None:
    serve(FakeRun(2, fail=MemoryError("big"), at=1))
    first = submit(JobSpec(dataset_id=dataset_id), autostart=False)
    serve(FakeRun(2))
    second = submit(JobSpec(dataset_id=dataset_id), autostart=False)
    assert get_job(first).state is JobState.FAILED and get_job(first).message.startswith("Out of memory")
    assert get_job(second).state is JobState.SUCCEEDED


def _pop(job_id: str) -> str:
    """Take the next id off the queue, as the job process does, checking it is ``job_id``."""
    task = get_huey().dequeue()
    assert task is not None and task.args == (job_id,)
    return job_id


def test_shutdown_requeues_at_the_front_then_resumes(
    make_runner: Callable[..., JobRunner], dataset_id: str, jobs_home: Path
) -> None:
    stop = threading.Event()
    job_id = submit(JobSpec(dataset_id=dataset_id), autostart=False)
    later = submit(JobSpec(dataset_id=dataset_id), autostart=False)

    def sigterm_in_epoch_1(spec: JobSpec, run_dir: Path, **kw: Any) -> Path:
        stop.set()  # the worker got SIGTERM during epoch 1
        return FakeRun(5)(spec, run_dir, **kw)

    stopping = make_runner(sigterm_in_epoch_1, stop)
    assert stopping.execute(_pop(job_id)) is JobState.QUEUED
    job = get_job(job_id)
    assert job.state is JobState.QUEUED and "worker shutdown at epoch 1" in job.message
    assert pending_job_ids() == [job_id, later]  # back at the front, before later submissions
    # A stopping worker that dequeues it again puts it straight back, untouched.
    assert stopping.execute(_pop(job_id)) is None and pending_job_ids()[0] == job_id
    ckpt = jobs_home / "ckpt" / job_id
    ckpt.mkdir(parents=True, exist_ok=True)
    (ckpt / "checkpoint.pt").write_bytes(b"x")
    fake = FakeRun(2)
    assert make_runner(fake).execute(_pop(job_id)) is JobState.SUCCEEDED
    assert fake.calls["resume"] is True and fake.calls["checkpoint_dir"] == ckpt
    assert not ckpt.exists()  # removed once the run is complete


def test_a_job_no_longer_queued_is_not_run(make_runner: Callable[..., JobRunner], dataset_id: str) -> None:
    job_id = submit(JobSpec(dataset_id=dataset_id), autostart=False)
    assert cancel(job_id) is JobState.CANCELLED
    fake = FakeRun(1)
    assert make_runner(fake).execute(_pop(job_id)) is None
    assert fake.calls == {} and get_job(job_id).state is JobState.CANCELLED


def test_orphaned_child_marks_its_job_worker_lost(serve: Callable[..., JobRunner], dataset_id: str) -> None:
    parents = itertools.chain([1000], itertools.repeat(1))  # the parent changes after the first epoch
    serve(FakeRun(5), parent_pid=lambda: next(parents))
    job = get_job(submit(JobSpec(dataset_id=dataset_id), autostart=False))
    assert job.state is JobState.FAILED and job.message.startswith(WORKER_LOST)
    assert list(progress(job.id)["epoch"]) == [1]


def test_resubmit_copies_the_checkpoint_and_resumes(
    serve: Callable[..., JobRunner], dataset_id: str, jobs_home: Path
) -> None:
    serve(FakeRun(3, fail=MemoryError("x"), at=3))
    old = submit(JobSpec(dataset_id=dataset_id), autostart=False)
    (jobs_home / "ckpt" / old).mkdir(parents=True, exist_ok=True)
    (jobs_home / "ckpt" / old / "checkpoint.pt").write_bytes(b"state")
    fake = FakeRun(3)
    serve(fake)
    new = resubmit(old, autostart=False)
    assert new != old and get_job(new).resume_from == old and get_job(new).state is JobState.SUCCEEDED
    assert fake.calls["resume"] is True and fake.calls["checkpoint_dir"] == jobs_home / "ckpt" / new
    assert (jobs_home / "ckpt" / old / "checkpoint.pt").exists()  # the old job's checkpoint is kept


def test_resubmit_of_a_succeeded_job_is_refused(serve: Callable[..., JobRunner], dataset_id: str) -> None:
    serve(FakeRun(1))
    job_id = submit(JobSpec(dataset_id=dataset_id), autostart=False)
    with pytest.raises(MmcorrError, match="is succeeded; only failed or cancelled jobs can be resubmitted"):
        resubmit(job_id, autostart=False)


def test_bad_worker_threads_env_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MMCORR_WORKER_THREADS", "many")
    with pytest.raises(MmcorrError, match="MMCORR_WORKER_THREADS environment variable must be an int"):
        worker_threads()
