"""Job states and the constants shared by the job store, the worker and the dashboard."""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "JobState",
    "TERMINAL_STATES",
    "ACTIVE_STATES",
    "EventLevel",
    "WORKER_LOST",
    "HEARTBEAT_SECONDS",
    "HEARTBEAT_STALE_SECONDS",
    "WORKER_THREADS_ENV",
    "AUTOSTART_ENV",
    "DB_URL_ENV",
    "QUEUE_URL_ENV",
    "WARMUP_ENV",
    "HOST_ENV",
    "STALE_ENV",
]


class JobState(StrEnum):
    """Where a job is in its life. Values are the lowercase strings stored in the job store."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_STATES


#: States a job never leaves.
TERMINAL_STATES: frozenset[JobState] = frozenset({JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED})
#: States where a job still holds a place in the queue or the worker.
ACTIVE_STATES: frozenset[JobState] = frozenset({JobState.QUEUED, JobState.RUNNING})


class EventLevel(StrEnum):
    """Severity of one line of a job's log."""

    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


#: The start of the message of a job whose worker process died under it.
WORKER_LOST = "worker lost"

#: How often the worker writes its heartbeat, in seconds.
HEARTBEAT_SECONDS = 1.0
#: A worker whose last heartbeat is older than this is considered dead (10 missed beats: the
#: heartbeat thread only stalls when the machine is badly overloaded). Override with
#: ``MMCORR_HEARTBEAT_STALE_SECONDS`` (mmcorr.jobs.fleet.heartbeat_stale_seconds).
HEARTBEAT_STALE_SECONDS = 10.0

#: Environment variables read by mmcorr.jobs.
WORKER_THREADS_ENV = "MMCORR_WORKER_THREADS"
AUTOSTART_ENV = "MMCORR_AUTOSTART_WORKER"
DB_URL_ENV = "MMCORR_DB_URL"
QUEUE_URL_ENV = "MMCORR_QUEUE_URL"
WARMUP_ENV = "MMCORR_WORKER_WARMUP"
#: The machine name mmcorr records for its processes (default: the hostname).
HOST_ENV = "MMCORR_HOST"
#: Seconds without a heartbeat after which a worker counts as dead.
STALE_ENV = "MMCORR_HEARTBEAT_STALE_SECONDS"
