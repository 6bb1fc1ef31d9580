"""Riding out a job-store outage (PostgreSQL restarting, a network blip) inside the worker.

A training job must not die because the database was away for a minute: progress rows are kept in
memory and written when the store is back, and the state changes that must happen (claim, finish)
are retried with exponential backoff. Each outage is logged once when it starts (with the store's
own message, which names the server) and once when it ends, plus one line per retry, so a worker's
log says plainly what happened. The SQLite store never raises
:class:`~mmcorr.jobs.backends.ServiceUnavailable`, so nothing changes for one machine.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

from mmcorr.jobs._sqlite import StateFileError
from mmcorr.jobs.backends import ServiceUnavailable
from mmcorr.jobs.store import JobStore

__all__ = ["StoreOutage", "retry_store", "BufferedProgress", "STORE_PATIENCE_S"]

log = logging.getLogger("mmcorr.worker")
T = TypeVar("T")

#: How long a worker keeps retrying a state change it must make before giving up (one hour).
STORE_PATIENCE_S = 3600.0


class StoreOutage:
    """Whether the job store answers this process, with exponential backoff between retries.

    what: who is calling, for the log ("heartbeat", "job 2025...").
    first / cap: first and longest pause between attempts in seconds (first 0.5-5, cap >= first).
    """

    def __init__(self, what: str, *, first: float = 1.0, cap: float = 30.0) -> None:
        self.what = what
        self.first, self.cap = first, max(cap, first)
        self.down_since: float | None = None
        self.healthy_since = time.monotonic()
        self.delay = first
        self.next_try = 0.0

    @property
    def down(self) -> bool:
        return self.down_since is not None

    def due(self) -> bool:
        """Whether the next attempt may be made now (always true while the store is up)."""
        return not self.down or time.monotonic() >= self.next_try

    def healthy_for(self) -> float:
        """Seconds the store has answered without interruption (0 while it is down)."""
        return 0.0 if self.down else time.monotonic() - self.healthy_since

    def failed(self, exc: BaseException) -> float:
        """Record a failed attempt; return the seconds to wait before the next one."""
        now = time.monotonic()
        if self.down_since is None:
            self.down_since, self.delay = now, self.first
            log.warning("%s: job store unreachable: %s (retrying in %.1f s)", self.what, exc, self.delay)
        else:
            self.delay = min(self.cap, self.delay * 2.0)
            log.warning(
                "%s: job store still unreachable after %.0f s; retrying in %.1f s",
                self.what,
                now - self.down_since,
                self.delay,
            )
        self.next_try = now + self.delay
        return self.delay

    def succeeded(self) -> None:
        """Record a successful call; logs the end of an outage."""
        if self.down_since is not None:
            now = time.monotonic()
            log.warning("%s: job store reachable again after %.0f s", self.what, now - self.down_since)
            self.down_since, self.healthy_since, self.delay = None, now, self.first


def retry_store(
    call: Callable[[], T],
    outage: StoreOutage,
    *,
    patience: float = STORE_PATIENCE_S,
    relief: Callable[[], bool] | None = None,
) -> T:
    """``call()``, retried with backoff while the store is unreachable or its disk is full, for up to
    ``patience`` seconds.

    relief: called when the disk is full; True when it freed space (the worker's disk reserve,
        :class:`~mmcorr.jobs.reserve.DiskReserve`), and the call is retried at once.
    Raises the last error when the store stayed away longer than that.
    """
    start = time.monotonic()
    while True:
        try:
            result = call()
        except (ServiceUnavailable, StateFileError) as exc:
            if isinstance(exc, StateFileError) and not exc.full:
                raise  # a damaged file: no retry mends it
            if isinstance(exc, StateFileError) and relief is not None and relief():
                continue
            delay = outage.failed(exc)
            if time.monotonic() - start + delay > patience:
                raise
            time.sleep(delay)
            continue
        outage.succeeded()
        return result


class BufferedProgress:
    """Progress rows of one job, written now when the store answers, later (in order) when not.

    ``add(record)`` returns whether a cancel was requested (False while the store is away: a
    cancel then takes effect once it is back). ``flush()`` waits, with backoff, until every row
    is written (end of training).
    """

    def __init__(self, store: JobStore, job_id: str) -> None:
        self.store, self.job_id = store, job_id
        self.pending: list[dict[str, Any]] = []
        self.outage = StoreOutage(f"job {job_id}")
        self.cancelled = False

    def _write_pending(self) -> None:
        while self.pending:
            self.cancelled = self.store.record_epoch(self.job_id, self.pending[0]) or self.cancelled
            self.pending.pop(0)

    def add(self, record: dict[str, Any]) -> bool:
        self.pending.append(record)
        if not self.outage.due():
            return False
        try:
            self._write_pending()
        except ServiceUnavailable as exc:
            self.outage.failed(exc)
            log.warning("job %s: %d progress row(s) kept until it is back", self.job_id, len(self.pending))
            return False
        self.outage.succeeded()
        return self.cancelled

    def flush(self, patience: float = STORE_PATIENCE_S) -> None:
        if self.pending:
            retry_store(self._write_pending, self.outage, patience=patience)
