"""Plain records handed out by the job API: one job, one worker. No I/O, no torch."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from mmcorr.config import JobSpec
from mmcorr.jobs.states import JobState

__all__ = ["JobRecord", "WorkerStatus", "WorkerInfo", "WorkerState", "iso"]


def iso(ts: float | None) -> str | None:
    """A POSIX timestamp as an ISO-8601 UTC string (seconds), or None."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, tz=UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class JobRecord:
    """One job as the store knows it.

    id: job id, also the run id (the bundle goes to ``runs_dir()/<id>``).
    state: see :class:`JobState`.
    spec: the job's :class:`JobSpec`.
    created / started / finished: ISO-8601 UTC strings (None until reached).
    epoch / epochs: last finished epoch (0 before the first) of the total planned.
    last: the last per-epoch progress record (epoch, epochs, train, val, val_corr, seconds) or None.
    message: a line fit for people (why it failed, how it was cancelled, where the run is).
    traceback: the Python traceback of a failure, for the log ("" otherwise).
    run_dir: the finished run bundle (SUCCEEDED jobs only).
    queue_position: 0-based place among queued jobs (None when not queued).
    eta_seconds: estimated seconds of training left (running jobs after their first epoch).
    cancel_requested: a running job was asked to stop and will end cancelled within one epoch.
    resume_from: id of the job whose checkpoint this one resumes from, or None.
    worker_pid: process running the job (running jobs).
    worker: name of the worker that ran (or runs) the job, e.g. ``gpu-node-3:0``; None before.
    """

    id: str
    state: JobState
    spec: JobSpec
    name: str
    created: str
    started: str | None
    finished: str | None
    epoch: int
    epochs: int
    last: dict[str, Any] | None
    message: str
    traceback: str
    run_dir: str | None
    queue_position: int | None
    eta_seconds: float | None
    cancel_requested: bool
    resume_from: str | None
    worker_pid: int | None
    worker: str | None = None

    @property
    def is_terminal(self) -> bool:
        return self.state.is_terminal

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types (the spec as a dict, the state as its string)."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        out["state"] = self.state.value
        out["spec"] = self.spec.to_dict()
        return out


@dataclass(frozen=True)
class WorkerStatus:
    """The local worker as seen from outside.

    alive: its process exists and its heartbeat is fresh.
    pid: its process id (None when none was ever started in this home).
    heartbeat: ISO time of its last heartbeat, or None.
    heartbeat_age: seconds since that heartbeat, or None.
    started: ISO time it started, or None.
    threads: torch threads it limits training to, or None.
    """

    alive: bool
    pid: int | None
    heartbeat: str | None
    heartbeat_age: float | None
    started: str | None
    threads: int | None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


class WorkerState(StrEnum):
    """What a worker of the fleet is doing, as judged from its heartbeat row and the running jobs."""

    IDLE = "idle"  # heartbeat fresh, no running job
    BUSY = "busy"  # heartbeat fresh, running a job
    STALE = "stale"  # heartbeat older than the stale limit: the worker or its machine died
    STOPPED = "stopped"  # stopped cleanly


@dataclass(frozen=True)
class WorkerInfo:
    """One worker of the fleet (any machine), for the dashboard's worker list and ``mmcorr jobs workers``.

    name: its name (``mmcorr worker --name``; default ``host:pid``).
    host / pid: where it runs.
    state: see :class:`WorkerState`.
    job_id: the job it is running (BUSY, or STALE with a job not yet marked lost), else None.
    heartbeat: ISO time of its last heartbeat; heartbeat_age: seconds since then (>= 0).
    started: ISO time it started. threads: torch threads per job, or None.
    """

    name: str
    host: str
    pid: int
    state: WorkerState
    job_id: str | None
    heartbeat: str | None
    heartbeat_age: float
    started: str | None
    threads: int | None

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["state"] = self.state.value
        return out
