"""The task body: run one job from the store through ``mmcorr.runs.pipeline.run_spec``.

It claims the job (so a job runs at most once), writes one progress row per epoch, stops within one
epoch when the job is cancelled or the worker shuts down, and always leaves the job in a definite
state: SUCCEEDED with its run bundle, CANCELLED with its partial history, FAILED with a message a
person can act on (plus the traceback for the log), or QUEUED again after a worker shutdown.
Nothing here imports Streamlit; torch is only imported by the pipeline.
"""

from __future__ import annotations

import dataclasses
import errno
import logging
import os
import shutil
import traceback
from enum import StrEnum
from pathlib import Path
from typing import Any

from mmcorr._validation import MmcorrError
from mmcorr.config import JobSpec
from mmcorr.jobs.states import WORKER_THREADS_ENV, JobState
from mmcorr.jobs.store import JobStore, get_store

__all__ = [
    "execute_job",
    "describe_failure",
    "worker_threads",
    "checkpoints_dir",
    "request_stop",
    "stop_requested",
    "set_stop_event",
    "set_worker_name",
    "ProgressCallback",
    "StopReason",
]

log = logging.getLogger("mmcorr.jobs")

# Shared with the worker's child processes through fork: set when the worker is shutting down.
_stop_event: Any = None
# The name of the worker this process serves (set before the fork; None outside a worker).
_worker_name: str | None = None


def set_worker_name(name: str | None) -> None:
    """Record the name of the worker whose jobs this process runs (claims carry it)."""
    global _worker_name
    _worker_name = name


def set_stop_event(event: Any) -> None:
    """Install the (multiprocessing) event that signals a worker shutdown to the running job."""
    global _stop_event
    _stop_event = event


def request_stop() -> None:
    if _stop_event is not None:
        _stop_event.set()


def stop_requested() -> bool:
    return bool(_stop_event is not None and _stop_event.is_set())


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
    """Resumable training checkpoints: one folder per job id."""
    from mmcorr.paths import state_dir

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

    It stops when the job was cancelled, the worker is shutting down, or the worker process that
    started this one has gone (an orphan must not keep training unseen). While the job store is
    unreachable, training goes on and the rows are written, in order, once it is back.
    """

    def __init__(self, store: JobStore, job_id: str) -> None:
        from mmcorr.jobs.outage import BufferedProgress

        self.store = store
        self.job_id = job_id
        self.reason: StopReason | None = None
        self.epoch = 0
        self._parent = os.getppid()
        self.progress = BufferedProgress(store, job_id)

    def on_epoch_end(self, record: dict[str, Any]) -> bool:
        self.epoch = int(record.get("epoch", self.epoch))
        cancelled = self.progress.add(record)
        if cancelled:
            self.reason = StopReason.CANCEL
        elif stop_requested():
            self.reason = StopReason.SHUTDOWN
        elif os.getppid() != self._parent:
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


def _limit_threads(spec: JobSpec) -> JobSpec:
    limit = worker_threads()
    threads = min(spec.train.threads or limit, limit)
    return dataclasses.replace(spec, train=dataclasses.replace(spec.train, threads=threads))


def _prepare_checkpoint(job_id: str, resume_from: str | None) -> tuple[Path, bool]:
    """The job's checkpoint folder and whether to resume from it (copying a resubmitted job's)."""
    root = checkpoints_dir()
    ckpt = root / job_id
    if resume_from and resume_from != job_id and not ckpt.exists():
        src = root / resume_from
        if src.is_dir():
            shutil.copytree(src, ckpt)
    resume = ckpt.is_dir() and any(ckpt.iterdir())
    return ckpt, resume


def execute_job(job_id: str) -> JobState | None:
    """Run job ``job_id`` to a definite state; None when it was not claimable (already taken)."""
    from mmcorr.jobs.backends import host_name
    from mmcorr.jobs.outage import StoreOutage, retry_store
    from mmcorr.jobs.queue import enqueue_job
    from mmcorr.paths import runs_dir

    store = get_store()
    if stop_requested():
        # Dequeued while the worker is stopping: put it back untouched, at the front.
        enqueue_job(job_id, front=True)
        return None
    # The job id is out of the queue now: wait for an unreachable store rather than drop the job.
    outage = StoreOutage(f"job {job_id}")
    host = host_name()
    if not retry_store(lambda: store.claim(job_id, os.getpid(), host, _worker_name), outage):
        log.info("job %s is no longer queued (cancelled or already run); skipped", job_id)
        return None
    record = retry_store(lambda: store.get(job_id), outage)
    callback = ProgressCallback(store, job_id)
    try:
        spec = _limit_threads(record.spec)
        ckpt, resume = _prepare_checkpoint(job_id, record.resume_from)
        if resume:
            store_event(store, job_id, f"resuming from the checkpoint in {ckpt}")
        from mmcorr.runs.pipeline import run_spec

        out = run_spec(spec, runs_dir() / job_id, callbacks=[callback], checkpoint_dir=ckpt, resume=resume)
    except Exception as exc:
        callback.progress.flush()
        return _after_failure(_RetryingStore(store, outage), job_id, callback, exc)
    callback.progress.flush()
    shutil.rmtree(checkpoints_dir() / job_id, ignore_errors=True)
    message = f"finished; run bundle at {out}"
    retry_store(lambda: store.finish(job_id, JobState.SUCCEEDED, message, run_dir=str(out)), outage)
    return JobState.SUCCEEDED


class _RetryingStore:
    """The few store calls of a job's last step, each retried while the store is unreachable."""

    def __init__(self, store: JobStore, outage: Any) -> None:
        self.store, self.outage = store, outage

    def __getattr__(self, name: str) -> Any:
        from mmcorr.jobs.outage import retry_store

        method = getattr(self.store, name)
        return lambda *a, **k: retry_store(lambda: method(*a, **k), self.outage)


def store_event(store: JobStore, job_id: str, text: str) -> None:
    from mmcorr.jobs.states import EventLevel

    store.add_event(job_id, EventLevel.INFO, text)


def _after_failure(store: Any, job_id: str, callback: ProgressCallback, exc: Exception) -> JobState:
    from mmcorr.jobs.queue import enqueue_job
    from mmcorr.jobs.states import WORKER_LOST

    epoch = callback.epoch
    if callback.reason is StopReason.CANCEL:
        store.finish(job_id, JobState.CANCELLED, f"cancelled at epoch {epoch}; its history is kept")
        return JobState.CANCELLED
    if callback.reason is StopReason.SHUTDOWN:
        store.requeue(job_id, f"interrupted by a worker shutdown at epoch {epoch}; it resumes on restart")
        enqueue_job(job_id, front=True)
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
