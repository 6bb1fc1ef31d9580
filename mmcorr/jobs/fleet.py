"""The fleet of workers across machines: the worker list and stale-heartbeat recovery.

Every ``mmcorr worker`` writes a heartbeat row (name, host, pid) every ``HEARTBEAT_SECONDS``, and
every job it claims records the worker's name. A worker on another machine cannot be checked by
process id, so a RUNNING job whose worker's heartbeat is older than
:func:`heartbeat_stale_seconds` is taken as lost: the worker (or its machine) died. Staleness
compares times written by different machines, so run NTP on all of them. Nothing here imports torch.
"""

from __future__ import annotations

import logging
import os
import time

from mmcorr._validation import MmcorrError
from mmcorr.jobs.records import WorkerInfo, WorkerState, iso
from mmcorr.jobs.states import HEARTBEAT_STALE_SECONDS, STALE_ENV, WORKER_LOST
from mmcorr.jobs.store import JobStore, WorkerRow, get_store

__all__ = ["heartbeat_stale_seconds", "list_workers", "recover_stale_jobs", "worker_states"]

log = logging.getLogger("mmcorr.jobs")

#: Workers whose last heartbeat is older than this are left out of the list (a day).
FORGET_AFTER_S = 86400.0


def heartbeat_stale_seconds() -> float:
    """Seconds without a heartbeat after which a worker counts as dead: ``MMCORR_HEARTBEAT_STALE_SECONDS``.

    Default 10 (ten missed beats). Range 2-3600: raise it where machines are slow to schedule the
    heartbeat thread or clocks drift; lower means lost jobs are noticed sooner.
    """
    raw = os.environ.get(STALE_ENV, "").strip()
    if not raw:
        return HEARTBEAT_STALE_SECONDS
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if 2.0 <= value <= 3600.0:
        return value
    raise MmcorrError(
        f"The {STALE_ENV} environment variable must be a number of seconds in [2, 3600]. Got {raw!r} instead."
    )


def _row_state(row: WorkerRow, busy: bool, now: float, stale: float) -> WorkerState:
    if row.get("state") == "stopped":
        return WorkerState.STOPPED
    if now - float(row["heartbeat"]) > stale:
        return WorkerState.STALE
    return WorkerState.BUSY if busy else WorkerState.IDLE


def _row_name(row: WorkerRow) -> str:
    return str(row.get("name") or f"{row['host']}:{row['pid']}")


def worker_states(store: JobStore, now: float | None = None) -> list[WorkerInfo]:
    """Every worker row of ``store`` judged at time ``now`` (default: now), newest heartbeat first."""
    now = time.time() if now is None else now
    stale = heartbeat_stale_seconds()
    jobs_by_worker: dict[str, str] = {}
    for running_id, _pid, worker in store.running_workers():
        if worker:
            jobs_by_worker.setdefault(worker, running_id)
    out: list[WorkerInfo] = []
    seen: set[str] = set()
    for row in store.workers():  # newest heartbeat first: a restarted name shows its live row only
        name = _row_name(row)
        if name in seen:
            continue
        seen.add(name)
        job_id = jobs_by_worker.get(name)
        state = _row_state(row, job_id is not None, now, stale)
        beat = float(row["heartbeat"])
        out.append(
            WorkerInfo(
                name=name,
                host=str(row["host"]),
                pid=int(row["pid"]),
                state=state,
                job_id=job_id if state is not WorkerState.STOPPED else None,
                heartbeat=iso(beat),
                heartbeat_age=max(0.0, now - beat),
                started=iso(float(row["started"])) if row.get("started") is not None else None,
                threads=int(row["threads"]) if row.get("threads") is not None else None,
            )
        )
    return out


def list_workers(*, include_stopped: bool = False, forget_after: float = FORGET_AFTER_S) -> list[WorkerInfo]:
    """Every worker on every machine sharing this job store: name, host, pid, state, current job.

    include_stopped: also list workers that stopped cleanly.
    forget_after: leave out workers silent for longer than this many seconds (default one day).
    Raises :class:`~mmcorr.jobs.backends.ServiceUnavailable` (a clear message) while the job
    store cannot be reached.
    """
    if not isinstance(forget_after, int | float) or isinstance(forget_after, bool) or forget_after <= 0:
        raise MmcorrError(f"The 'forget_after' parameter must be seconds > 0. Got {forget_after!r} instead.")
    infos = worker_states(get_store())
    return [
        w
        for w in infos
        if w.heartbeat_age <= forget_after and (include_stopped or w.state is not WorkerState.STOPPED)
    ]


def recover_stale_jobs(store: JobStore, now: float | None = None) -> list[str]:
    """Mark RUNNING jobs whose worker's heartbeat is stale (or stopped) as FAILED 'worker lost'.

    Only jobs that record their worker's name are judged (older rows are left to the same-host
    process check). Returns the ids marked; each can be resubmitted and resumes from its checkpoint.
    Call it only from a process whose own heartbeats are known to be reaching the store (a live
    worker), so a store outage is never mistaken for dead workers.
    """
    now = time.time() if now is None else now
    stale = heartbeat_stale_seconds()
    running = [(j, pid, name) for j, pid, name in store.running_workers() if name]
    if not running:
        return []
    rows: dict[str, WorkerRow] = {}
    for any_row in store.workers():  # newest heartbeat first: keep the freshest row of each name
        rows.setdefault(_row_name(any_row), any_row)
    lost = []
    for job_id, pid, worker in running:
        name = str(worker)
        row = rows.get(name)
        if row is not None and row.get("state") != "stopped" and now - float(row["heartbeat"]) <= stale:
            continue
        if row is None:
            why = "has never sent a heartbeat"
        elif row.get("state") == "stopped":
            why = "stopped"
        else:
            why = f"stopped sending heartbeats {now - float(row['heartbeat']):.0f} s ago"
        host = f" on {row['host']}" if row is not None else ""
        epoch = store.get(job_id).epoch
        message = (
            f"{WORKER_LOST}: worker {name}{host} {why} while this job was running (last finished "
            f"epoch {epoch}). Resubmit the job to resume from its last checkpoint."
        )
        if store.mark_lost(job_id, pid, message):
            log.warning("job %s: %s", job_id, message)
            lost.append(job_id)
    return lost
