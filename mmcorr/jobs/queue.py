"""The job queue: huey, carrying job ids only (the job store holds everything else).

Kept behind three functions (:func:`get_huey`, :func:`enqueue_job`, :func:`pending_job_ids`) so a
Redis-backed huey can replace the embedded SQLite one through ``MMCORR_QUEUE_URL`` (scale-out issue).
Jobs run in submission order: the SQLite queue pops by (priority desc, id), every submission has the
same priority, and only a job interrupted by a worker shutdown is put back at the front.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mmcorr._validation import MmcorrError
from mmcorr.jobs.states import QUEUE_URL_ENV

if TYPE_CHECKING:
    from huey import Huey

__all__ = ["TASK_NAME", "FRONT_PRIORITY", "get_huey", "enqueue_job", "pending_job_ids", "reset_queues"]

#: huey's name for the task that runs one job.
TASK_NAME = "mmcorr.run_job"
#: Priority of a job re-queued by a worker shutdown: it runs before later submissions.
FRONT_PRIORITY = 100

_lock = threading.Lock()
_hueys: dict[str, tuple[Huey, Any]] = {}


def _queue_path() -> Path:
    from mmcorr.paths import state_dir

    url = os.environ.get(QUEUE_URL_ENV, "").strip()
    if not url:
        return state_dir() / "queue.db"
    if url.startswith("sqlite:///"):
        return Path(url[len("sqlite:///") :])
    raise MmcorrError(
        f"The {QUEUE_URL_ENV} environment variable must be empty or a 'sqlite:///<path>' URL. "
        f"Got {url!r} instead."
    )


def _run_job_task(job_id: str) -> None:
    # The task body lives in runner.py; imported here lazily so enqueueing never loads torch.
    from mmcorr.jobs.runner import execute_job

    execute_job(job_id)


def _redis_url() -> str | None:
    url = os.environ.get(QUEUE_URL_ENV, "").strip()
    return url if url.startswith(("redis://", "rediss://", "unix://")) else None


def _sqlite_huey(filename: str) -> Huey:
    from huey import SqliteHuey
    from huey.storage import SqliteStorage

    from mmcorr.jobs._sqlite import connect_wal

    class _Storage(SqliteStorage):  # type: ignore[misc]
        # huey's own connection switches to WAL without waiting for a concurrent opener.
        def _create_connection(self) -> Any:
            conn = connect_wal(self.filename, self._timeout, **self._conn_kwargs)
            conn.execute(f"pragma cache_size={-1000 * self._cache_mb}")
            conn.execute(f"pragma synchronous={2 if self._fsync else 0}")
            return conn

    class _Huey(SqliteHuey):  # type: ignore[misc]
        storage_class = _Storage

    # results=False: outcomes live in the job store; huey's result store would only grow.
    return _Huey(name="mmcorr", filename=filename, results=False, utc=True, timeout=30)


def _entry() -> tuple[Huey, Any]:
    redis_url = _redis_url()
    if redis_url is not None:  # scale-out: huey on Redis (mmcorr.jobs.redis_queue), lazy import
        from mmcorr.jobs.redis_queue import make_redis_huey

        with _lock:
            entry = _hueys.get(redis_url)
            if entry is None:
                huey = make_redis_huey(redis_url, "mmcorr")
                entry = _hueys[redis_url] = (huey, huey.task(name=TASK_NAME)(_run_job_task))
            return entry
    path = _queue_path().resolve()
    key = str(path)
    with _lock:
        entry = _hueys.get(key)
        if entry is None:
            path.parent.mkdir(parents=True, exist_ok=True)
            huey = _sqlite_huey(key)
            task = huey.task(name=TASK_NAME)(_run_job_task)
            entry = _hueys[key] = (huey, task)
        return entry


def get_huey() -> Huey:
    """The huey instance of this data home (one per queue file and process)."""
    return _entry()[0]


def enqueue_job(job_id: str, *, front: bool = False) -> None:
    """Put ``job_id`` on the queue (at the front when ``front``). In immediate mode it runs now."""
    huey, task = _entry()
    huey.enqueue(task.s(job_id, priority=FRONT_PRIORITY if front else 0))


def pending_job_ids() -> list[str]:
    """Job ids waiting in the queue, in the order they will run."""
    return [str(t.args[0]) for t in get_huey().pending() if t.args]


def reset_queues() -> None:
    """Forget the cached huey instances (tests switch MMCORR_HOME between cases)."""
    with _lock:
        for huey, _ in _hueys.values():
            huey.storage.close()
        _hueys.clear()
