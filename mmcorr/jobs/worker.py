"""The ``mmcorr worker`` process: huey's consumer (process mode, one worker) plus heartbeats.

Start-up: take ``state/worker.lock`` (one worker per home), write the pid file and a first
heartbeat, mark jobs left RUNNING by a dead worker as FAILED 'worker lost', re-enqueue QUEUED jobs
the queue lost, then run the consumer. Its single child process warms torch and UMAP's numba JIT
(cached under the home) before taking the first job, so the first user does not wait for compilation.

Signals: SIGTERM or Ctrl-C stops gracefully: the running job stops at its next epoch end and is
re-queued at the front to resume from its checkpoint; a second signal kills the child (its job is
then marked 'worker lost'). The child dies with the worker (PR_SET_PDEATHSIG) so a SIGKILLed worker
leaves no orphan training unseen.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
from types import FrameType
from typing import Any

from mmcorr._io import atomic_write_text
from mmcorr.jobs import runner
from mmcorr.jobs.autostart import file_lock, pid_alive, pid_file, recover_lost_jobs
from mmcorr.jobs.backends import ServiceUnavailable, host_name
from mmcorr.jobs.fleet import heartbeat_stale_seconds
from mmcorr.jobs.outage import StoreOutage
from mmcorr.jobs.states import HEARTBEAT_SECONDS, WARMUP_ENV, WORKER_THREADS_ENV
from mmcorr.jobs.store import get_store

__all__ = ["run_worker", "warm_up"]

log = logging.getLogger("mmcorr.worker")
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Linux: have the kernel SIGKILL this process when the worker process dies."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL("libc.so.6", use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def warm_up(threads: int) -> None:
    """Load torch with its thread limit and compile UMAP's JIT once (cached on disk)."""
    t0 = time.perf_counter()
    import torch

    torch.set_num_threads(threads)
    torch.nn.Linear(4, 2)(torch.zeros(8, 4)).sum().item()
    try:
        from mmcorr.analysis import warm_umap

        warm_umap()
    except ImportError as exc:
        log.warning("UMAP warm-up skipped: %s", exc)
    with contextlib.suppress(ImportError):
        import mmcorr.runs.pipeline  # noqa: F401  (loads the estimator and analyses before the first job)
    log.info("warm-up done in %.1f s (torch threads %d)", time.perf_counter() - t0, threads)


def _child_start(threads: int, warm: bool) -> None:
    """huey on_startup hook: runs in the worker child process before it takes a job."""
    _die_with_parent()
    # SIGTERM sent to the child directly: stop at the next epoch end, exactly like the worker's.
    signal.signal(signal.SIGTERM, lambda signum, frame: runner.request_stop())
    if warm:
        try:
            warm_up(threads)
        except Exception:
            log.exception("warm-up failed; jobs will compile on first use")


def _make_consumer(huey: Any, poll_interval: float) -> Any:
    from huey.consumer import Consumer, Scheduler

    class _Scheduler(Scheduler):  # type: ignore[misc]
        def initialize(self) -> None:
            _die_with_parent()

    class _Consumer(Consumer):  # type: ignore[misc]
        scheduler_class = _Scheduler
        _received_signal: bool

        def _set_signal_handlers(self) -> None:
            signal.signal(signal.SIGTERM, self._stop_gracefully)
            signal.signal(signal.SIGINT, self._stop_gracefully)
            signal.signal(signal.SIGHUP, signal.SIG_IGN)

        def _stop_gracefully(self, signum: int, frame: FrameType | None) -> None:
            if self._received_signal:  # second signal: do not wait for the epoch to end
                log.warning("second stop signal: killing the worker child")
                for _, proc in self.worker_threads:
                    with contextlib.suppress(Exception):
                        proc.kill()
            log.info("received %s: stopping after the running epoch", signal.Signals(signum).name)
            runner.request_stop()
            self._received_signal, self._graceful, self._restart = True, True, False

        def loop(self, health_check_ts: float | None = None) -> Any:
            # The child may be told to stop directly (SIGTERM to it): then stop the whole worker.
            if runner.stop_requested() and not self._received_signal:
                self._received_signal, self._graceful, self._restart = True, True, False
            return super().loop(health_check_ts)

    return _Consumer(
        huey,
        workers=1,
        worker_type="process",
        periodic=False,
        initial_delay=poll_interval,
        backoff=1.0,  # constant short polling: a job starts within ~poll_interval of submission
        max_delay=poll_interval,
        check_worker_health=True,
        health_check_interval=1.0,
    )


def _heartbeat_loop(stop: threading.Event, started: float, threads: int, name: str) -> None:
    # No lazy imports in this thread: huey forks the job child while it runs, and a module lock
    # held here at that moment would deadlock the child's first import of the same module.
    store, pid, host = get_store(), os.getpid(), host_name()
    stale = heartbeat_stale_seconds()
    # Retry at least three times per stale period, so an outage that ends does not leave this
    # worker looking dead to the others for long.
    outage = StoreOutage(f"worker {name} heartbeat", first=HEARTBEAT_SECONDS, cap=max(1.0, stale / 3))
    beats, delay = 0, HEARTBEAT_SECONDS
    while not stop.wait(delay):
        try:
            store.heartbeat(pid, host, started, threads, "running", name)
            outage.succeeded()
            beats, delay = beats + 1, HEARTBEAT_SECONDS
            if beats % 5 == 0:
                # A child killed by the system (e.g. out of memory) is replaced by huey; its job is
                # not. Other workers' heartbeats are judged only after ours have reached the store
                # for a whole stale period: right after an outage, theirs are old for the same reason.
                recover_lost_jobs(store, check_heartbeats=outage.healthy_for() >= stale)
        except ServiceUnavailable as exc:
            delay = outage.failed(exc)
        except Exception:
            log.exception("heartbeat failed")
            delay = HEARTBEAT_SECONDS


def _name_taken(store: Any, name: str, host: str, pid: int) -> str | None:
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


def _requeue_missing(store: Any) -> None:
    """QUEUED jobs the queue does not hold (a crash between store and queue) go back on it."""
    from mmcorr.jobs.queue import enqueue_job, pending_job_ids

    # Under the submitters' lock: a job added to the store but not yet enqueued is not missing.
    with file_lock("submit.lock"):
        pending = set(pending_job_ids())
        for job_id in store.queued_ids():
            if job_id not in pending:
                log.warning("job %s was queued in the store but not in the queue; re-enqueued", job_id)
                enqueue_job(job_id)


def run_worker(
    *,
    threads: int | None = None,
    poll_interval: float = 0.1,
    warm: bool | None = None,
    name: str | None = None,
) -> int:
    """Serve jobs until stopped; returns the process exit code (0 clean, 1 another worker runs).

    name: this worker's name in the heartbeat table and on its jobs, unique among the workers
        sharing the job store (default ``host:pid``; e.g. ``gpu-node-3:0`` for one per GPU).
    threads: torch threads per job (default ``MMCORR_WORKER_THREADS`` or cores - 1), 1-256.
    poll_interval: seconds between queue polls when idle, 0.05-1 (0.1 starts a job within ~0.1 s).
    warm: warm up torch and UMAP at start (default: unless ``MMCORR_WORKER_WARMUP=0``).
    """
    from mmcorr.jobs.backends import check_worker_name, default_worker_name, host_name
    from mmcorr.jobs.queue import get_huey
    from mmcorr.paths import state_dir

    name = default_worker_name() if name is None else check_worker_name(name)

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(processName)s %(levelname)s %(name)s: %(message)s"
    )
    if threads is not None:
        os.environ[WORKER_THREADS_ENV] = str(threads)
    threads = runner.worker_threads()
    if warm is None:
        warm = os.environ.get(WARMUP_ENV, "1").strip() != "0"
    # Before anything forks or imports numba / torch: cache compiled UMAP code under the home and
    # cap BLAS / OpenMP pools so the dashboard keeps a core.
    os.environ.setdefault("NUMBA_CACHE_DIR", str(state_dir() / "numba_cache"))
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS"):
        os.environ[var] = str(threads)

    from mmcorr.jobs.backends import uses_server_queue

    # One worker per home with the embedded queue; with a server queue any number of workers, on
    # any machines, share one (network) home, so each takes a lock of its own.
    lock_name = f"worker-{host_name()}-{os.getpid()}.lock" if uses_server_queue() else "worker.lock"
    with file_lock(lock_name, blocking=False) as locked:
        if not locked:
            print(f"mmcorr worker: another worker already serves {state_dir()}", file=sys.stderr)
            return 1
        store, pid, host, started = get_store(), os.getpid(), host_name(), time.time()
        taken = _name_taken(store, name, host, pid)
        if taken:
            print(f"mmcorr worker: {taken}; give this one another --name", file=sys.stderr)
            return 1
        payload = {"pid": pid, "host": host, "started": started, "threads": threads, "name": name}
        if not uses_server_queue():  # the pid file describes the one local worker of this home
            atomic_write_text(pid_file(), json.dumps(payload))
        store.heartbeat(pid, host, started, threads, "running", name)
        lost = recover_lost_jobs(store)
        if lost:
            log.warning("marked %d job(s) of a dead worker as failed: %s", len(lost), ", ".join(lost))
        huey = get_huey()
        _requeue_missing(store)
        huey.storage.close()  # an sqlite connection must not cross the fork into the child

        runner.set_stop_event(multiprocessing.get_context("fork").Event())
        runner.set_worker_name(name)
        huey._startup.clear()
        huey.on_startup(name="mmcorr-child-start")(lambda: _child_start(threads, warm))
        beat_stop = threading.Event()
        beat = threading.Thread(target=_heartbeat_loop, args=(beat_stop, started, threads, name), daemon=True)
        beat.start()
        log.info(
            "worker %s (pid %d on %s) serving %s with %d torch thread(s)",
            name,
            pid,
            host,
            state_dir(),
            threads,
        )
        try:
            _make_consumer(huey, poll_interval).run()
        finally:
            beat_stop.set()
            beat.join(timeout=5)
            try:
                recover_lost_jobs(store)
                store.heartbeat(pid, host, started, threads, "stopped", name)
            except Exception as exc:  # the store may be down: the others see our heartbeat go stale
                log.warning("could not record the stop in the job store: %s", exc)
            if not uses_server_queue():
                with contextlib.suppress(FileNotFoundError):
                    pid_file().unlink()
            log.info("worker %s (pid %d) stopped", name, pid)
    return 0
