"""Exactly one local worker per data home: status, auto-start, stop, and recovery of lost jobs.

Liveness is a pid file plus a heartbeat in the job store plus a pid check; starts are serialised by
a file lock (the filelock package, on every platform) on ``state/autostart.lock`` so several
sessions starting at once make exactly one worker (the worker itself also holds
``state/worker.lock`` for as long as it runs).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from mmcorr._validation import MmcorrError
from mmcorr.jobs._sqlite import StateFileError
from mmcorr.jobs.backends import host_name, uses_server_queue
from mmcorr.jobs.fleet import heartbeat_stale_seconds, recover_stale_jobs, worker_states
from mmcorr.jobs.procs import is_worker_process
from mmcorr.jobs.records import WorkerState, WorkerStatus, iso
from mmcorr.jobs.states import AUTOSTART_ENV, WORKER_LOST
from mmcorr.jobs.store import JobStore, get_store
from mmcorr.paths import state_dir

__all__ = [
    "worker_status",
    "ensure_worker",
    "stop_worker",
    "recover_lost_jobs",
    "pid_alive",
    "pid_file",
    "read_pid_file",
    "log_file",
    "file_lock",
]

log = logging.getLogger("mmcorr.jobs")
# Worker processes this process spawned, polled so they do not linger as zombies.
_spawned: list[subprocess.Popen[bytes]] = []


def pid_file() -> Path:
    return state_dir() / "worker.pid"


def log_file() -> Path:
    return state_dir() / "worker.log"


@contextlib.contextmanager
def file_lock(name: str, *, blocking: bool = True) -> Iterator[bool]:
    """Hold an exclusive lock on ``state_dir()/name``; yields False when non-blocking and busy.

    The filelock package takes it (``flock`` on Linux and macOS, ``LockFileEx`` on Windows); each
    call opens the file anew, so two holders in one process exclude each other too.
    """
    lock = FileLock(state_dir() / name, mode=0o600, thread_local=False)
    try:
        lock.acquire(blocking=blocking)
    except Timeout:
        yield False
        return
    try:
        yield True
    finally:
        lock.release()


def pid_alive(pid: int | None) -> bool:
    """Whether process ``pid`` exists and is not a zombie."""
    for proc in list(_spawned):
        if proc.poll() is not None:
            _spawned.remove(proc)
    if not pid or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc (macOS): trust kill(0)
    return stat.rsplit(")", 1)[-1].split()[0] not in ("Z", "X")


def read_pid_file() -> dict[str, Any] | None:
    """What the local worker wrote in its pid file (pid, host, started, threads, name), or None."""
    try:
        data = json.loads(pid_file().read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _fleet_status() -> WorkerStatus:
    """With a server queue: the freshest live worker on any machine (alive if there is one)."""
    workers = worker_states(get_store())
    live = [w for w in workers if w.state in (WorkerState.IDLE, WorkerState.BUSY)]
    if not workers:
        return WorkerStatus(
            alive=False, pid=None, heartbeat=None, heartbeat_age=None, started=None, threads=None
        )
    best = (live or workers)[0]
    return WorkerStatus(
        alive=bool(live),
        pid=best.pid,
        heartbeat=best.heartbeat,
        heartbeat_age=best.heartbeat_age,
        started=best.started,
        threads=best.threads,
    )


def worker_status() -> WorkerStatus:
    """The local worker: alive when its pid exists and its heartbeat is fresh.

    With a server queue (workers on any machine) it describes the freshest live worker instead;
    :func:`mmcorr.jobs.list_workers` lists them all.
    """
    if uses_server_queue():
        return _fleet_status()
    info = read_pid_file() or {}
    row = get_store().worker()
    pid = info.get("pid") or (row or {}).get("pid")
    beat = None
    if row is not None and pid is not None and row.get("pid") == pid:
        beat = float(row["heartbeat"])
    age = None if beat is None else max(0.0, time.time() - beat)
    alive = bool(pid_alive(pid) and age is not None and age < heartbeat_stale_seconds())
    if row is not None and row.get("state") == "stopped" and row.get("pid") == pid:
        alive = alive and pid_alive(pid)
    started = info.get("started") or (row or {}).get("started")
    return WorkerStatus(
        alive=alive,
        pid=int(pid) if pid is not None else None,
        heartbeat=iso(beat),
        heartbeat_age=age,
        started=iso(float(started)) if started is not None else None,
        threads=info.get("threads") or (row or {}).get("threads"),
    )


def recover_lost_jobs(store: JobStore | None = None, *, check_heartbeats: bool = False) -> list[str]:
    """Mark every RUNNING job whose process on this host is gone as FAILED 'worker lost'.

    check_heartbeats: also mark jobs of workers on any machine whose heartbeat is stale
        (:func:`mmcorr.jobs.fleet.recover_stale_jobs`); only live workers pass True, and only once
        their own heartbeats have reached the store for a whole stale period.
    Returns the ids marked. Such a job can be resubmitted (:func:`mmcorr.jobs.resubmit`) and then
    resumes from its last checkpoint.
    """
    store = store or get_store()
    host = host_name()
    lost: list[str] = []
    for job_id, pid, job_host in store.running():
        if job_host not in (None, host) or pid_alive(pid):
            continue
        epoch = store.get(job_id).epoch
        message = (
            f"{WORKER_LOST}: the worker process (pid {pid}) stopped while this job was running "
            f"(last finished epoch {epoch}). Resubmit the job to resume from its last checkpoint."
        )
        if store.mark_lost(job_id, pid, message):
            lost.append(job_id)
    if check_heartbeats:
        lost += recover_stale_jobs(store)
    return lost


def _spawn_worker() -> subprocess.Popen[bytes]:
    env = os.environ.copy()
    # The worker must import this same mmcorr, installed or not.
    package_root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH", "")) if p)
    with open(log_file(), "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "mmcorr", "worker"],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,  # its own process group: stop_worker can end it and its children
            close_fds=True,
        )
    _spawned.append(proc)
    return proc


def ensure_worker(timeout: float = 60.0) -> WorkerStatus:
    """Start the local worker unless one is alive or ``MMCORR_AUTOSTART_WORKER=0``; return its status.

    timeout: seconds to wait for a new worker's first heartbeat.
    """
    # With a server queue (Redis) workers run on their own machines: never start one from here.
    if os.environ.get(AUTOSTART_ENV, "1").strip() == "0" or uses_server_queue():
        return worker_status()
    with file_lock("autostart.lock"):
        status = worker_status()
        if status.alive:
            return status
        recover_lost_jobs()
        proc = _spawn_worker()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = worker_status()
            if status.alive and status.pid == proc.pid:
                return status
            if proc.poll() is not None:
                raise MmcorrError(
                    f"The job worker exited at start with code {proc.returncode}; "
                    f"see its log at {log_file()}."
                )
            time.sleep(0.05)
    raise MmcorrError(
        f"The job worker (pid {proc.pid}) did not report a heartbeat within {timeout:.0f} s; "
        f"see its log at {log_file()}."
    )


def stop_worker(timeout: float = 120.0) -> WorkerStatus:
    """Stop the local worker cleanly (SIGTERM: the running job is re-queued at a safe point).

    timeout: seconds to wait (one epoch of the running job) before killing the worker outright; a
    killed job is then marked 'worker lost' and can be resubmitted.
    """
    if uses_server_queue():
        raise MmcorrError(
            "With a server queue (MMCORR_QUEUE_URL) workers run on their own machines: stop one where "
            "it runs (systemctl stop mmcorr-worker@N, or Ctrl-C / SIGTERM to its 'mmcorr worker' "
            "process). 'mmcorr jobs workers' lists them."
        )
    status = worker_status()
    pid = status.pid
    if pid is None or not pid_alive(pid) or not _verified_worker(pid, status):
        # Never signal a stranger: a pid file outlives its worker and the pid gets reused.
        _recover_quietly()
        return dataclasses.replace(status, pid=None, alive=False)
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if pid_alive(pid):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if os.getpgid(pid) == pid:  # our own session: take its children with it
                os.killpg(pid, signal.SIGKILL)
            else:
                os.kill(pid, signal.SIGKILL)
        while pid_alive(pid) and time.monotonic() < deadline + 10:
            time.sleep(0.05)
    _recover_quietly()
    return worker_status()


def _verified_worker(pid: int, status: WorkerStatus) -> bool:
    """Whether ``pid`` is this home's worker: its command line and start time where ``/proc`` tells
    (a worker whose store is unwritable still stops), else a fresh heartbeat of that pid."""
    info = read_pid_file() or {}
    started = info.get("started") if info.get("pid") == pid else None
    verdict = is_worker_process(pid, float(started) if isinstance(started, int | float) else None)
    return status.alive if verdict is None else verdict


def _recover_quietly() -> None:
    """Mark the stopped worker's jobs 'worker lost'; a store that cannot be written (a full disk)
    must not turn a finished stop into an error: the next worker start recovers them."""
    try:
        recover_lost_jobs()
    except StateFileError as exc:
        log.warning("could not mark the stopped worker's jobs: %s", exc)
