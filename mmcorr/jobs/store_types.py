"""What every job store shares: the :class:`JobStore` contract, the worker row, the schema version.

The backends (:mod:`mmcorr.jobs.sqlite_store`, :mod:`mmcorr.jobs.postgres_store`) and the shared
SQL (:mod:`mmcorr.jobs.sql_store`) import this module; the factory :func:`mmcorr.jobs.store.get_store`
imports them. Nothing here imports a backend, so the store modules form no cycle.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from mmcorr.jobs.records import JobRecord
from mmcorr.jobs.states import EventLevel, JobState

__all__ = ["JobStore", "WorkerRow", "WORKER_KEYS", "SCHEMA_VERSION"]

#: Version of the job store's tables (:mod:`mmcorr.jobs.sql_schema`); a store written by a newer
#: mmcorr is refused with a clear message.
#: 1: jobs, progress, events, workers. 2: workers.name and jobs.worker_name, so a running job can be
#: matched to the heartbeat of the worker that claimed it (stale-heartbeat detection across machines).
SCHEMA_VERSION = 2

#: A worker row: keys pid, host, name, started, heartbeat (POSIX seconds), state, threads.
WorkerRow = dict[str, Any]
#: Keys of a :data:`WorkerRow`, in the column order both stores select them.
WORKER_KEYS = ("pid", "host", "name", "started", "heartbeat", "state", "threads")


@runtime_checkable
class JobStore(Protocol):
    """What the API, the worker and the task body need from a job store.

    Every state change is one atomic conditional update (e.g. ``claim`` only moves a job that is
    still queued), so concurrent processes never run a job twice or lose a cancel.
    """

    def add_job(self, job_id: str, spec_json: str, name: str, epochs: int, resume_from: str | None) -> int:
        """Insert a QUEUED job; return its submission sequence number (1, 2, ...)."""
        ...

    def get(self, job_id: str) -> JobRecord:
        """The job, or MmcorrError naming the unknown id."""
        ...

    def list_jobs(self, limit: int = 50, states: tuple[JobState, ...] | None = None) -> list[JobRecord]:
        """Newest first."""
        ...

    def claim(self, job_id: str, pid: int, host: str, worker: str | None = None) -> bool:
        """QUEUED -> RUNNING for this process of the worker named ``worker``; False when no longer queued."""
        ...

    def record_epoch(self, job_id: str, record: dict[str, Any]) -> bool:
        """Store one progress row (upsert by epoch); return True when a cancel was requested."""
        ...

    def finish(
        self, job_id: str, state: JobState, message: str, traceback: str = "", run_dir: str | None = None
    ) -> bool:
        """RUNNING -> a terminal state; False when the job was not running."""
        ...

    def requeue(self, job_id: str, message: str) -> bool:
        """RUNNING -> QUEUED (worker shutdown), marked to resume from its own checkpoint."""
        ...

    def request_cancel(self, job_id: str) -> JobState:
        """QUEUED -> CANCELLED at once; RUNNING -> flagged. Returns the state after the call."""
        ...

    def mark_lost(self, job_id: str, pid: int | None, message: str) -> bool:
        """RUNNING (by ``pid``) -> FAILED with ``message``; False when something else changed it."""
        ...

    def running(self) -> list[tuple[str, int | None, str | None]]:
        """(job id, worker pid, worker host) of every RUNNING job."""
        ...

    def running_workers(self) -> list[tuple[str, int | None, str | None]]:
        """(job id, process pid, worker name) of every RUNNING job (name None for older rows)."""
        ...

    def queued_ids(self) -> list[str]:
        """Ids of QUEUED jobs in submission order."""
        ...

    def progress_rows(self, job_id: str) -> list[dict[str, Any]]:
        """The job's progress records, by epoch."""
        ...

    def add_event(self, job_id: str, level: EventLevel, text: str) -> None: ...

    def events(self, job_id: str) -> list[tuple[float, EventLevel, str]]:
        """(POSIX time, level, text) lines of the job's log, oldest first."""
        ...

    def heartbeat(
        self, pid: int, host: str, started: float, threads: int | None, state: str, name: str | None = None
    ) -> None:
        """Record that the worker ``pid`` on ``host`` (called ``name``) is alive now."""
        ...

    def worker(self) -> WorkerRow | None:
        """The most recent worker row, or None when no worker ever ran."""
        ...

    def workers(self) -> list[WorkerRow]:
        """Every worker that ever sent a heartbeat, most recent heartbeat first."""
        ...
