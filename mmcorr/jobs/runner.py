"""The task body: run one job from the store through a run function (by default the run pipeline).

:class:`JobRunner` claims the job (so a job runs at most once), writes one progress row per epoch,
stops within one epoch when the job is cancelled or the worker shuts down, and always leaves the
job in a definite state: SUCCEEDED with its run bundle, CANCELLED with its partial history, FAILED
with a message a person can act on (plus the traceback for the log), or QUEUED again after a worker
shutdown. Everything it works with (the job store, the run function, the stop flag, the queue's
re-enqueue, the folders) is handed to it, so a test passes fakes instead of patching this module.
Nothing here imports Streamlit; torch is only imported by the run pipeline, when the first job runs.
"""

from __future__ import annotations

import dataclasses
import errno
import logging
import os
import shutil
import traceback
from collections.abc import Callable, Sequence
from enum import StrEnum
from functools import partial
from pathlib import Path
from typing import Any, Protocol

from mmcorr._validation import MmcorrError
from mmcorr.config import JobSpec
from mmcorr.jobs.backends import host_name
from mmcorr.jobs.outage import BufferedProgress, StoreOutage, retry_store
from mmcorr.jobs.reserve import DiskReserve
from mmcorr.jobs.states import WORKER_LOST, WORKER_THREADS_ENV, EventLevel, JobState
from mmcorr.jobs.store import JobStore, get_store
from mmcorr.paths import runs_dir, state_dir

__all__ = [
    "JobRunner",
    "ProgressCallback",
    "RunFunction",
    "StopFlag",
    "StopReason",
    "checkpoints_dir",
    "default_runner",
    "describe_failure",
    "run_pipeline",
    "worker_threads",
]

log = logging.getLogger("mmcorr.jobs")


class StopFlag(Protocol):
    """A worker-wide 'shutting down' flag: a ``threading.Event``, or the worker's shared flag."""

    def is_set(self) -> bool: ...

    def set(self) -> None: ...


class RunFunction(Protocol):
    """What runs one job: :func:`mmcorr.runs.pipeline.run_spec`'s signature; returns the run folder."""

    def __call__(
        self,
        spec: JobSpec,
        run_dir: Path,
        *,
        callbacks: Sequence[Any] = (),
        checkpoint_dir: Path | None = None,
        resume: bool = False,
    ) -> Path: ...


def run_pipeline(
    spec: JobSpec,
    run_dir: Path,
    *,
    callbacks: Sequence[Any] = (),
    checkpoint_dir: Path | None = None,
    resume: bool = False,
) -> Path:
    """The default run function: :func:`mmcorr.runs.pipeline.run_spec`, imported on the first job.

    The import is deferred so that a process that only submits or supervises never loads the
    estimator (and torch) behind it.
    """
    from mmcorr.runs.pipeline import run_spec

    return run_spec(spec, run_dir, callbacks=callbacks, checkpoint_dir=checkpoint_dir, resume=resume)


def worker_threads() -> int:
    """Torch threads a job may use: ``MMCORR_WORKER_THREADS`` or, by default, all cores but one.

    Leaving one core free keeps the dashboard responsive on a small machine while the worker trains.
    """
    raw = os.environ.get(WORKER_THREADS_ENV, "").strip()
    if not raw:
        return max(1, (os.cpu_count() or 1) - 1)
    if raw.isdigit() and 1 <= int(raw) <= 256:
        return int(raw)
    raise MmcorrError(
        f"The {WORKER_THREADS_ENV} environment variable must be an int in [1, 256]. Got {raw!r} instead."
    )


def checkpoints_dir() -> Path:
    """Resumable training checkpoints of this data home: one folder per job id."""
    path = state_dir() / "checkpoints"
    path.mkdir(parents=True, exist_ok=True)
    return path


class StopReason(StrEnum):
    """Why the progress callback asked training to stop."""

    CANCEL = "cancel"
    SHUTDOWN = "shutdown"
    ORPHAN = "orphan"


class ProgressCallback:
    """Estimator callback: one progress row per epoch; returns True to stop training.

    It stops when the job was cancelled, ``stop`` is set (the worker is shutting down), or the
    process that started this one has gone (``parent_pid()`` changed: an orphan must not keep
    training unseen). While the job store is unreachable, training goes on and the rows are
    written, in order, once it is back.
    """

    def __init__(
        self, store: JobStore, job_id: str, stop: StopFlag, parent_pid: Callable[[], int] = os.getppid
    ) -> None:
        self.store = store
        self.job_id = job_id
        self.stop = stop
        self.reason: StopReason | None = None
        self.epoch = 0
        self._parent_pid = parent_pid
        self._parent = parent_pid()
        self.progress = BufferedProgress(store, job_id)

    def on_epoch_end(self, record: dict[str, Any]) -> bool:
        self.epoch = int(record.get("epoch", self.epoch))
        cancelled = self.progress.add(record)
        if cancelled:
            self.reason = StopReason.CANCEL
        elif self.stop.is_set():
            self.reason = StopReason.SHUTDOWN
        elif self._parent_pid() != self._parent:
            self.reason = StopReason.ORPHAN
        return self.reason is not None


def describe_failure(exc: BaseException) -> str:
    """One line a person can act on, for a job that failed with ``exc``."""
    text = str(exc)
    if isinstance(exc, MmcorrError):
        return text
    if isinstance(exc, MemoryError) or type(exc).__name__ == "OutOfMemoryError" or "out of memory" in text:
        return (
            f"Out of memory: {text or type(exc).__name__}. Lower batch_size, the hidden sizes or pca_dim, "
            "or train on a machine with more memory."
        )
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return f"Disk full while writing the run: {text}. Free space under MMCORR_HOME and resubmit."
    if isinstance(exc, ImportError) and "mmcorr.runs.pipeline" in text:
        return f"The training pipeline is not available in this installation ({text})."
    return f"{type(exc).__name__}: {text}"


@dataclasses.dataclass(frozen=True)
class JobRunner:
    """Runs jobs by id with the collaborators it is given; callable, so it can be the queue's task body.

    store: the job store (opened in the process that runs the jobs: connections never cross processes).
    enqueue_front: puts a job id back at the front of the queue (a job interrupted by a shutdown).
    run: the run function (default for the entry points: :func:`run_pipeline`).
    stop: set when the worker is shutting down; the running job stops at its next epoch end.
    runs_dir / checkpoints_dir: where run bundles and resumable checkpoints go (one folder per job).
    threads: the most torch threads a job may use (the spec's own ``threads`` is capped by it).
    host / worker_name: recorded on each claimed job (the worker's machine and its fleet name).
    parent_pid: the parent process id now; a change means the worker died (default ``os.getppid``).
    reserve: disk space released when the disk fills, so the job's end can still be recorded
        (the worker's :class:`~mmcorr.jobs.reserve.DiskReserve`); None: no reserve.
    """

    store: JobStore
    enqueue_front: Callable[[str], object]
    run: RunFunction
    stop: StopFlag
    runs_dir: Path
    checkpoints_dir: Path
    threads: int
    host: str
    worker_name: str | None = None
    parent_pid: Callable[[], int] = os.getppid
    reserve: DiskReserve | None = None

    def _relief(self) -> bool:
        return self.reserve is not None and self.reserve.release()

    def __call__(self, job_id: str) -> JobState | None:
        return self.execute(job_id)

    def execute(self, job_id: str) -> JobState | None:
        """Run job ``job_id`` to a definite state; None when it was not claimable (already taken)."""
        if self.stop.is_set():
            # Dequeued while the worker is stopping: put it back untouched, at the front.
            self.enqueue_front(job_id)
            return None
        # The job id is out of the queue now: wait for an unreachable store rather than drop the job.
        outage = StoreOutage(f"job {job_id}")
        store = self.store
        relief = self._relief
        claim = partial(store.claim, job_id, os.getpid(), self.host, self.worker_name)
        if not retry_store(claim, outage, relief=relief):
            log.info("job %s is no longer queued (cancelled or already run); skipped", job_id)
            return None
        record = retry_store(lambda: store.get(job_id), outage, relief=relief)
        callback = ProgressCallback(store, job_id, self.stop, self.parent_pid)
        try:
            spec = _limit_threads(record.spec, self.threads)
            ckpt, resume = self._prepare_checkpoint(job_id, record.resume_from)
            if resume:
                store.add_event(job_id, EventLevel.INFO, f"resuming from the checkpoint in {ckpt}")
            out = self.run(
                spec, self.runs_dir / job_id, callbacks=[callback], checkpoint_dir=ckpt, resume=resume
            )
        except Exception as exc:
            callback.progress.flush()
            return self._after_failure(_RetryingStore(store, outage, relief), job_id, callback, exc)
        callback.progress.flush()
        shutil.rmtree(self.checkpoints_dir / job_id, ignore_errors=True)
        message = f"finished; run bundle at {out}"
        done = partial(store.finish, job_id, JobState.SUCCEEDED, message, run_dir=str(out))
        retry_store(done, outage, relief=relief)
        return JobState.SUCCEEDED

    def _prepare_checkpoint(self, job_id: str, resume_from: str | None) -> tuple[Path, bool]:
        """The job's checkpoint folder and whether to resume from it (copying a resubmitted job's)."""
        ckpt = self.checkpoints_dir / job_id
        if resume_from and resume_from != job_id and not ckpt.exists():
            src = self.checkpoints_dir / resume_from
            if src.is_dir():
                shutil.copytree(src, ckpt)
        resume = ckpt.is_dir() and any(ckpt.iterdir())
        return ckpt, resume

    def _after_failure(self, store: Any, job_id: str, callback: ProgressCallback, exc: Exception) -> JobState:
        epoch = callback.epoch
        if callback.reason is StopReason.CANCEL:
            store.finish(job_id, JobState.CANCELLED, f"cancelled at epoch {epoch}; its history is kept")
            return JobState.CANCELLED
        if callback.reason is StopReason.SHUTDOWN:
            store.requeue(job_id, f"interrupted by a worker shutdown at epoch {epoch}; it resumes on restart")
            self.enqueue_front(job_id)
            return JobState.QUEUED
        if callback.reason is StopReason.ORPHAN:
            store.mark_lost(
                job_id,
                os.getpid(),
                f"{WORKER_LOST}: the worker stopped during epoch {epoch + 1}. "
                "Resubmit the job to resume from its last checkpoint.",
            )
            return JobState.FAILED
        message = describe_failure(exc)
        log.error("job %s failed: %s", job_id, message)
        store.finish(job_id, JobState.FAILED, message, traceback=traceback.format_exc())
        return JobState.FAILED


def default_runner(
    enqueue_front: Callable[[str], object],
    stop: StopFlag,
    *,
    store: JobStore | None = None,
    run: RunFunction = run_pipeline,
    worker_name: str | None = None,
) -> JobRunner:
    """A runner for this data home: its job store, folders and thread limit, from the environment.

    For a process that runs queued jobs itself without a worker (huey's immediate mode, in tests
    and debugging sessions); the worker builds its runner from its own context.
    """
    return JobRunner(
        store=get_store() if store is None else store,
        enqueue_front=enqueue_front,
        run=run,
        stop=stop,
        runs_dir=runs_dir(),
        checkpoints_dir=checkpoints_dir(),
        threads=worker_threads(),
        host=host_name(),
        worker_name=worker_name,
    )


def _limit_threads(spec: JobSpec, limit: int) -> JobSpec:
    threads = min(spec.train.threads or limit, limit)
    return dataclasses.replace(spec, train=dataclasses.replace(spec.train, threads=threads))


class _RetryingStore:
    """The few store calls of a job's last step, each retried while the store is unreachable or
    its disk is full (``relief`` frees the worker's disk reserve first)."""

    def __init__(self, store: JobStore, outage: StoreOutage, relief: Callable[[], bool]) -> None:
        self.store, self.outage, self.relief = store, outage, relief

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.store, name)
        return lambda *a, **k: retry_store(lambda: method(*a, **k), self.outage, relief=self.relief)
