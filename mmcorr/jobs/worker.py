"""The ``mmcorr worker`` process: one job process (:mod:`mmcorr.jobs.supervisor`) plus heartbeats.

Start-up: take ``state/worker.lock`` (one worker per home), write the pid file and a first
heartbeat, mark jobs left RUNNING by a dead worker as FAILED 'worker lost', re-enqueue QUEUED jobs
the queue lost (or holds only in a message it cannot decode), remove leftovers of interrupted
writes and old staged uploads (:mod:`mmcorr.jobs.leftovers`), then start the job process (a fresh
interpreter, see :mod:`mmcorr.jobs.supervisor`). It runs the warm-up it is given (``mmcorr
worker``'s loads torch and compiles UMAP's numba JIT, cached under the home) before taking the
first job, so the first user does not wait for compilation.

Signals: SIGTERM or Ctrl-C stops gracefully: the running job stops at its next epoch end and is
re-queued at the front to resume from its checkpoint; a second signal kills the job process (its
job is then marked 'worker lost'). The job process dies with the worker (PR_SET_PDEATHSIG) so a
SIGKILLed worker leaves no orphan training unseen.

:func:`run_worker` is the entry point: it resolves every default (the job store, the run function,
the stop flag, threads, names, folders) once, into a :class:`~mmcorr.jobs.supervisor.WorkerContext`
that everything below receives.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable

from mmcorr._io import atomic_write_text
from mmcorr.jobs._sqlite import StateFileError
from mmcorr.jobs.autostart import file_lock, pid_alive, pid_file, recover_lost_jobs
from mmcorr.jobs.backends import (
    ServiceUnavailable,
    check_worker_name,
    default_worker_name,
    host_name,
    uses_server_queue,
)
from mmcorr.jobs.fleet import heartbeat_stale_seconds
from mmcorr.jobs.leftovers import clean_leftovers
from mmcorr.jobs.outage import StoreOutage
from mmcorr.jobs.queue import enqueue_job, pending_job_ids
from mmcorr.jobs.reserve import DiskReserve
from mmcorr.jobs.runner import RunFunction, StopFlag, checkpoints_dir, run_pipeline, worker_threads
from mmcorr.jobs.states import HEARTBEAT_SECONDS, WORKER_THREADS_ENV
from mmcorr.jobs.store import JobStore, get_store
from mmcorr.jobs.supervisor import SharedFlag, Supervisor, WorkerContext
from mmcorr.paths import runs_dir, state_dir

__all__ = ["run_worker"]

log = logging.getLogger("mmcorr.worker")
#: The disk reserve under the state folder (mmcorr.jobs.reserve).
RESERVE_FILE = "disk-reserve"
_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def _heartbeat_loop(stop: threading.Event, store: JobStore, started: float, ctx: WorkerContext) -> None:
    pid = os.getpid()
    stale = heartbeat_stale_seconds()
    # Retry at least three times per stale period, so an outage that ends does not leave this
    # worker looking dead to the others for long.
    outage = StoreOutage(f"worker {ctx.name} heartbeat", first=HEARTBEAT_SECONDS, cap=max(1.0, stale / 3))
    beats, delay = 0, HEARTBEAT_SECONDS
    while not stop.wait(delay):
        try:
            store.heartbeat(pid, ctx.host, started, ctx.threads, "running", ctx.name)
            outage.succeeded()
            beats, delay = beats + 1, HEARTBEAT_SECONDS
            if beats % 5 == 0:
                # A job process killed by the system (e.g. out of memory) is replaced; its job is
                # not. Other workers' heartbeats are judged only after ours have reached the store
                # for a whole stale period: right after an outage, theirs are old for the same reason.
                recover_lost_jobs(store, check_heartbeats=outage.healthy_for() >= stale)
        except (ServiceUnavailable, StateFileError) as exc:  # unreachable, full disk, damaged file
            delay = outage.failed(exc)
        except Exception:
            log.exception("heartbeat failed")
            delay = HEARTBEAT_SECONDS


def _name_taken(store: JobStore, name: str, host: str, pid: int) -> str | None:
    """Why ``name`` cannot be used (another live worker has it), or None."""
    stale = heartbeat_stale_seconds()
    for row in store.workers():
        if row.get("name") != name or (row["host"], row["pid"]) == (host, pid):
            continue
        if row.get("state") == "stopped" or time.time() - float(row["heartbeat"]) > stale:
            continue
        if row["host"] == host and not pid_alive(int(row["pid"])):
            continue  # a crashed predecessor on this machine (its jobs are recovered by pid)
        return f"worker {name!r} is already running on {row['host']} (pid {row['pid']})"
    return None


def _requeue_missing(store: JobStore) -> None:
    """QUEUED jobs the queue does not hold (a crash between store and queue) go back on it."""
    # Under the submitters' lock: a job added to the store but not yet enqueued is not missing.
    with file_lock("submit.lock"):
        pending = set(pending_job_ids())
        for job_id in store.queued_ids():
            if job_id not in pending:
                log.warning("job %s was queued in the store but not in the queue; re-enqueued", job_id)
                enqueue_job(job_id)


def _limit_process_threads(threads: int | None) -> int:
    """Resolve the torch thread count and cap BLAS / OpenMP / numba pools to it (the job process
    inherits the environment)."""
    if threads is not None:
        os.environ[WORKER_THREADS_ENV] = str(threads)
    resolved = worker_threads()
    # Before the job process starts or numba / torch load: cache compiled UMAP code under the home and
    # cap BLAS / OpenMP pools so the dashboard keeps a core.
    os.environ.setdefault("NUMBA_CACHE_DIR", str(state_dir() / "numba_cache"))
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS"):
        os.environ[var] = str(resolved)
    return resolved


def _start(ctx: WorkerContext, store: JobStore, started: float) -> None:
    """Announce this worker (pid file, first heartbeat) and put the queue and the store in order."""
    pid = os.getpid()
    if not uses_server_queue():  # the pid file describes the one local worker of this home
        payload = {"pid": pid, "host": ctx.host, "started": started, "threads": ctx.threads, "name": ctx.name}
        atomic_write_text(pid_file(), json.dumps(payload))
    store.heartbeat(pid, ctx.host, started, ctx.threads, "running", ctx.name)
    if ctx.reserve is not None and not ctx.reserve.ensure():
        log.warning("no room for the disk reserve under %s: a job that fills the disk may not be "
                    "marked failed until space is freed", state_dir())  # fmt: skip
    lost = recover_lost_jobs(store)
    if lost:
        log.warning("marked %d job(s) of a dead worker as failed: %s", len(lost), ", ".join(lost))
    _requeue_missing(store)
    try:
        removed = clean_leftovers()
    except OSError as exc:  # never a reason not to serve
        log.warning("could not look for leftovers of interrupted writes: %s", exc)
    else:
        if removed.paths:
            log.info("removed %s of interrupted writes and old uploads: %s",
                     removed.describe(), ", ".join(str(p) for p in removed.paths))  # fmt: skip


def _finish(ctx: WorkerContext, store: JobStore, started: float) -> None:
    """Record the stop: recover what the job process left, a last 'stopped' heartbeat, no pid file."""
    pid = os.getpid()
    try:
        recover_lost_jobs(store)
        store.heartbeat(pid, ctx.host, started, ctx.threads, "stopped", ctx.name)
    except Exception as exc:  # the store may be down: the others see our heartbeat go stale
        log.warning("could not record the stop in the job store: %s", exc)
    if not uses_server_queue():
        with contextlib.suppress(FileNotFoundError):
            pid_file().unlink()
    log.info("worker %s (pid %d) stopped", ctx.name, pid)


def _serve(ctx: WorkerContext) -> int:
    """Run the worker under its lock until stopped; 1 when another live worker has its name."""
    store, pid, started = ctx.open_store(), os.getpid(), time.time()
    taken = _name_taken(store, ctx.name, ctx.host, pid)
    if taken:
        print(f"mmcorr worker: {taken}; give this one another --name", file=sys.stderr)
        return 1
    _start(ctx, store, started)
    supervisor = Supervisor(ctx)
    previous = {sig: signal.signal(sig, supervisor.on_signal) for sig in _STOP_SIGNALS}
    previous[signal.SIGHUP] = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    beat_stop = threading.Event()
    beat = threading.Thread(target=_heartbeat_loop, args=(beat_stop, store, started, ctx), daemon=True)
    beat.start()
    log.info("worker %s (pid %d on %s) serving %s with %d torch thread(s)",
             ctx.name, pid, ctx.host, state_dir(), ctx.threads)  # fmt: skip
    try:
        supervisor.serve()
    finally:
        beat_stop.set()
        beat.join(timeout=5)
        _finish(ctx, store, started)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


def run_worker(
    *,
    threads: int | None = None,
    poll_interval: float = 0.1,
    warm_up: Callable[[int], None] | None = None,
    name: str | None = None,
    run: RunFunction = run_pipeline,
    open_store: Callable[[], JobStore] = get_store,
    stop: StopFlag | None = None,
) -> int:
    """Serve jobs until stopped; returns the process exit code (0 clean, 1 another worker runs).

    name: this worker's name in the heartbeat table and on its jobs, unique among the workers
        sharing the job store (default ``host:pid``; e.g. ``gpu-node-3:0`` for one per GPU).
    threads: torch threads per job (default ``MMCORR_WORKER_THREADS`` or cores - 1), 1-256.
    poll_interval: seconds between queue polls when idle, 0.05-1 (0.1 starts a job within ~0.1 s).
    warm_up: called with the thread count in the job process before its first job (``mmcorr
        worker`` passes its torch + UMAP warm-up unless ``--no-warmup`` or
        ``MMCORR_WORKER_WARMUP=0``); None (default) skips it.
    run: the run function of each job (default :func:`mmcorr.jobs.runner.run_pipeline`).
    open_store: returns the job store (default :func:`mmcorr.jobs.store.get_store`).
    stop: the shutdown flag shared with the job process (default: a new
        :class:`~mmcorr.jobs.supervisor.SharedFlag`).
    Must be called from the main thread (it installs the SIGTERM / SIGINT handlers).
    """
    name = default_worker_name() if name is None else check_worker_name(name)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(processName)s %(levelname)s %(name)s: %(message)s"
    )
    ctx = WorkerContext(
        name=name,
        host=host_name(),
        threads=_limit_process_threads(threads),
        warm_up=warm_up,
        poll_interval=poll_interval,
        stop=SharedFlag() if stop is None else stop,
        open_store=open_store,
        run=run,
        runs_dir=runs_dir(),
        checkpoints_dir=checkpoints_dir(),
        reserve=DiskReserve(state_dir() / RESERVE_FILE),
    )
    # One worker per home with the embedded queue; with a server queue any number of workers, on
    # any machines, share one (network) home, so each takes a lock of its own.
    lock_name = f"worker-{ctx.host}-{os.getpid()}.lock" if uses_server_queue() else "worker.lock"
    with file_lock(lock_name, blocking=False) as locked:
        if not locked:
            print(f"mmcorr worker: another worker already serves {state_dir()}", file=sys.stderr)
            return 1
        return _serve(ctx)
