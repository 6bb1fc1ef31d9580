"""The job queue: huey, carrying job ids only (the job store holds everything else).

Kept behind a few functions (:func:`get_huey`, :func:`enqueue_job`, :func:`pending_job_ids`) so a
Redis-backed huey can replace the embedded SQLite one through ``MMCORR_QUEUE_URL`` (scale-out issue).
Jobs run in submission order: the SQLite queue pops by (priority desc, id), every submission has the
same priority, and only a job interrupted by a worker shutdown is put back at the front.

The queue does not know how a job runs: the process that executes tasks hands its job runner in with
:func:`bind_runner` (the worker's job process does). Only a process that executes tasks without
having bound one, i.e. huey's immediate mode in tests and debugging sessions, gets this data home's
default runner (:func:`mmcorr.jobs.runner.default_runner`).

Messages are JSON naming one job id (:mod:`mmcorr.jobs.messages`), never pickle: whoever can write
the queue file or the Redis server can at most queue a job id, not run code.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mmcorr._validation import MmcorrError
from mmcorr.jobs.messages import TASK_NAME, JobMessageSerializer, decoded_job_ids
from mmcorr.jobs.states import QUEUE_URL_ENV

if TYPE_CHECKING:
    from huey import Huey

__all__ = [
    "TASK_NAME",
    "FRONT_PRIORITY",
    "JobHandler",
    "bind_runner",
    "enqueue_job",
    "enqueue_front",
    "get_huey",
    "pending_job_ids",
    "reset_queues",
]

#: Priority of a job re-queued by a worker shutdown: it runs before later submissions.
FRONT_PRIORITY = 100
#: Runs one job by id (a :class:`mmcorr.jobs.runner.JobRunner`).
JobHandler = Callable[[str], object]


@dataclass
class _Entry:
    """One queue of this process: its huey, the registered task, and the runner bound to it."""

    huey: Huey
    task: Any = None
    handler: JobHandler | None = None


_lock = threading.Lock()
_hueys: dict[str, _Entry] = {}


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


def _redis_url() -> str | None:
    url = os.environ.get(QUEUE_URL_ENV, "").strip()
    return url if url.startswith(("redis://", "rediss://", "unix://")) else None


def _sqlite_huey(filename: str) -> Huey:
    from huey import SqliteHuey

    from mmcorr.jobs._sqlite import open_state_db

    # huey's own connection switches to WAL without waiting for a concurrent opener; WAL is a
    # property of the file, so switching it here first (retrying while another opener holds it)
    # leaves huey's switch nothing to do. It also creates the file 0600 and refuses a damaged one.
    open_state_db(filename, 30.0, "queue").close()
    # results=False: outcomes live in the job store; huey's result store would only grow.
    return SqliteHuey(
        name="mmcorr",
        filename=filename,
        results=False,
        utc=True,
        timeout=30,
        serializer=JobMessageSerializer(),
    )


@contextlib.contextmanager
def _named_errors() -> Iterator[None]:
    """A damaged or unwritable queue file becomes one line naming it (StateFileError)."""
    try:
        yield
    except sqlite3.Error as exc:
        from mmcorr.jobs._sqlite import describe_sqlite_error

        if _redis_url() is not None:
            raise
        error = describe_sqlite_error(_queue_path(), "queue", exc)
        if error is None:
            raise
        raise error from exc


def _new_entry(huey: Huey) -> _Entry:
    entry = _Entry(huey)

    # Defined here, in mmcorr.jobs.queue, under the same name as ever: huey names queued messages
    # by module and task name, so jobs queued by an earlier version still run.
    def _run_job_task(job_id: str) -> None:
        handler = entry.handler if entry.handler is not None else _default_handler()
        handler(job_id)

    entry.task = huey.task(name=TASK_NAME)(_run_job_task)
    return entry


def _default_handler() -> JobHandler:
    """The runner of a process that executes tasks without having bound one (immediate mode)."""
    from mmcorr.jobs.runner import default_runner

    return default_runner(enqueue_front, threading.Event())


def _entry() -> _Entry:
    redis_url = _redis_url()
    if redis_url is not None:  # scale-out: huey on Redis (mmcorr.jobs.redis_queue), lazy import
        from mmcorr.jobs.redis_queue import make_redis_huey

        with _lock:
            entry = _hueys.get(redis_url)
            if entry is None:
                entry = _hueys[redis_url] = _new_entry(make_redis_huey(redis_url, "mmcorr"))
            return entry
    path = _queue_path().resolve()
    key = str(path)
    with _lock, _named_errors():
        entry = _hueys.get(key)
        if entry is None:
            path.parent.mkdir(parents=True, exist_ok=True)
            entry = _hueys[key] = _new_entry(_sqlite_huey(key))
        return entry


def get_huey() -> Huey:
    """The huey instance of this data home (one per queue file and process)."""
    return _entry().huey


def bind_runner(handler: JobHandler | None) -> None:
    """Have this process run the jobs it takes from this data home's queue with ``handler``.

    The worker's job process binds its :class:`~mmcorr.jobs.runner.JobRunner` before taking a job;
    None unbinds it. The binding lasts until :func:`reset_queues`.
    """
    _entry().handler = handler


def enqueue_job(job_id: str, *, front: bool = False) -> None:
    """Put ``job_id`` on the queue (at the front when ``front``). In immediate mode it runs now."""
    with _named_errors():
        entry = _entry()
        entry.huey.enqueue(entry.task.s(job_id, priority=FRONT_PRIORITY if front else 0))


#: Put a job back at the front of the queue (a job interrupted by a worker shutdown).
enqueue_front: Callable[[str], None] = partial(enqueue_job, front=True)


def pending_job_ids() -> list[str]:
    """Job ids waiting in the queue, in the order they will run (messages that do not decode are
    left out, never unpickled)."""
    with _named_errors():
        return decoded_job_ids(get_huey())


def reset_queues() -> None:
    """Forget the cached huey instances and bound runners (tests switch MMCORR_HOME between cases)."""
    with _lock:
        for entry in _hueys.values():
            entry.huey.storage.close()
        _hueys.clear()
