"""The worker's job process and the loop that keeps it alive (huey's public API only).

The worker starts one job process, a fresh interpreter (multiprocessing's "spawn"), not a fork: a
forked child inherits SQLite's per-process lock bookkeeping and mutexes for the files the worker's
heartbeat thread has open, so it could hang on its first open, or read a stale snapshot and find
a queued job "no longer queued" (the SQLite manual: never carry a connection across fork(); its
library state goes along with it). It runs the warm-up it was given (the CLI's loads torch and
compiles UMAP's numba JIT, cached under the home), binds a :class:`~mmcorr.jobs.runner.JobRunner`
to the queue, then takes
job ids one at a time with ``huey.dequeue()`` and runs each with ``huey.execute()``. The worker
process itself only supervises: it replaces a job process that died (e.g. killed for memory; its
job is then marked 'worker lost' by the heartbeat's recovery) and, once asked to stop, sets the
shared stop flag and waits for the job process, whose running job stops at its next epoch end
and is re-queued at the front to resume from its checkpoint. A second stop signal kills it.

Every collaborator arrives in one frozen :class:`WorkerContext`, built by
:func:`mmcorr.jobs.worker.run_worker`; a test builds its own with a fake run function. The context
is pickled into the job process, so its functions are module-level ones (importable by name).
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import multiprocessing
import os
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.process import BaseProcess
from pathlib import Path
from types import FrameType
from typing import Any

from mmcorr.jobs.messages import BadMessage
from mmcorr.jobs.queue import bind_runner, enqueue_front, get_huey
from mmcorr.jobs.reserve import DiskReserve
from mmcorr.jobs.runner import JobRunner, RunFunction, StopFlag
from mmcorr.jobs.store import JobStore

__all__ = ["SharedFlag", "Supervisor", "WorkerContext", "job_process"]

log = logging.getLogger("mmcorr.worker")
_PR_SET_PDEATHSIG = 1
#: Seconds between the supervisor's looks at the stop request and the job process.
SUPERVISE_INTERVAL_S = 0.1
#: After the stop flag is set, how long a job process holding no job (from when it was first seen so)
#: gets to leave by itself before it is ended.
IDLE_GRACE_S = 0.5
#: Shortest time between two starts of the job process (one that dies at start is not restarted
#: in a tight loop).
RESTART_AFTER_S = 1.0


@dataclass(frozen=True)
class WorkerContext:
    """Everything a worker and its job process work with, resolved once by the entry point.

    name / host: this worker's name in the fleet and its machine (recorded on claimed jobs).
    threads: torch threads per job, 1-256.
    warm_up: called with ``threads`` in the job process before its first job (the CLI's loads torch
        and compiles UMAP's JIT, so the first user does not wait for it); None skips it.
    poll_interval: seconds between queue polls when idle (SQLite queue; Redis blocks instead).
    stop: the shutdown flag shared with the job process (a :class:`SharedFlag`).
    open_store: returns the job store; called in each process (connections never cross processes).
    run: the run function of each job. runs_dir / checkpoints_dir: run bundles and checkpoints.
    busy: set by the job process while it takes or runs a job; while it is clear (warming up or
        waiting for work) a stopping worker ends the job process at once instead of waiting.
    reserve: disk space a job releases when the disk fills, to record its end (None: none).
    """

    name: str
    host: str
    threads: int
    warm_up: Callable[[int], None] | None
    poll_interval: float
    stop: StopFlag
    open_store: Callable[[], JobStore]
    run: RunFunction
    runs_dir: Path
    checkpoints_dir: Path
    busy: SharedFlag = field(default_factory=lambda: SharedFlag())
    reserve: DiskReserve | None = None


#: How the job process starts: a fresh interpreter (see the module docstring for why not fork).
_START = multiprocessing.get_context("spawn")


class SharedFlag:
    """The worker's stop flag: one byte of shared memory that the job process sees.

    It takes no lock, unlike a ``multiprocessing.Event``: setting it from a signal handler, or a
    process killed (e.g. for memory) while reading it, can never leave the other one blocked. It
    reaches the job process as one of its start arguments (shared memory is passed only then).
    """

    def __init__(self) -> None:
        self._value = _START.RawValue(ctypes.c_bool, False)

    def set(self) -> None:
        self._value.value = True

    def clear(self) -> None:
        self._value.value = False

    def is_set(self) -> bool:
        return bool(self._value.value)


def _die_with_parent() -> None:
    """Linux: have the kernel SIGKILL this process when the worker process dies."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL("libc.so.6", use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def _take_one(huey: Any, poll_interval: float, busy: SharedFlag) -> None:
    """Run the next queued task, or wait ``poll_interval`` when there is none. ``busy`` is set by the
    caller before the dequeue and cleared here once no task is held."""
    try:
        task = huey.dequeue()
    except BadMessage as exc:
        # Already removed from the queue by the dequeue: dropped, never executed. A job it named
        # that is still queued in the store is re-queued at the worker's next start.
        busy.clear()
        log.warning("dropped a queue message that is not a job message: %s", exc)
        return
    except Exception:
        busy.clear()
        log.exception("error reading from the queue")
        time.sleep(poll_interval)
        return
    if task is None:
        busy.clear()
        if not huey.storage.blocking:  # a blocking (Redis) dequeue has already waited
            time.sleep(poll_interval)
        return
    try:
        huey.execute(task)
    except Exception:
        log.exception("unhandled error running task %s", task.id)
    finally:
        busy.clear()


def _log_like_the_worker() -> None:
    """A spawned interpreter starts without the worker's logging set-up: the same lines, same file."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(processName)s %(levelname)s %(name)s: %(message)s"
    )


def job_process(ctx: WorkerContext) -> None:
    """The body of the job process: run queued jobs until ``ctx.stop`` is set."""
    _die_with_parent()
    _log_like_the_worker()
    # Ctrl-C reaches the whole process group: the worker decides what happens, not this process.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    # SIGTERM sent to this process directly: stop at the next epoch end, exactly like the worker's.
    signal.signal(signal.SIGTERM, lambda signum, frame: ctx.stop.set())
    if ctx.warm_up is not None:
        try:
            ctx.warm_up(ctx.threads)
        except Exception:
            log.exception("warm-up failed; jobs will compile on first use")
    runner = JobRunner(
        store=ctx.open_store(),
        enqueue_front=enqueue_front,
        run=ctx.run,
        stop=ctx.stop,
        runs_dir=ctx.runs_dir,
        checkpoints_dir=ctx.checkpoints_dir,
        threads=ctx.threads,
        host=ctx.host,
        worker_name=ctx.name,
        reserve=ctx.reserve,
    )
    bind_runner(runner)
    huey = get_huey()
    while not ctx.stop.is_set():
        # Busy before the stop check and the dequeue: the supervisor sets the stop flag before it
        # looks at busy, so it never kills this process while it holds a dequeued job.
        ctx.busy.set()
        if ctx.stop.is_set():
            ctx.busy.clear()
            break
        _take_one(huey, ctx.poll_interval, ctx.busy)
        if ctx.reserve is not None:
            ctx.reserve.ensure()  # made again once a full disk has room (a stat when it exists)


def _start_job_process(target: Callable[[WorkerContext], None], ctx: WorkerContext) -> None:
    """Run ``target(ctx)`` in the new process, then leave at once: an interpreter's usual shutdown
    (finalizers, torch and numba teardown) can outlast the supervisor's idle grace after a stop."""
    code = 0
    try:
        target(ctx)
    except BaseException:
        log.exception("the job process failed")
        code = 1
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


class Supervisor:
    """Keeps one job process running until the worker stops; its :meth:`on_signal` handles stops."""

    def __init__(self, ctx: WorkerContext, target: Callable[[WorkerContext], None] = job_process) -> None:
        self.ctx = ctx
        self.target = target
        self.signals = 0
        self.child: BaseProcess | None = None

    def on_signal(self, signum: int, frame: FrameType | None) -> None:
        """SIGTERM / SIGINT: stop after the running epoch; a second one kills the job process.

        Only a counter and a kill here: the loop sets the stop flag, so that a flag that takes a
        lock (a ``multiprocessing.Event`` handed in) is never set from a handler that
        interrupted a wait on it, which would deadlock.
        """
        self.signals += 1
        if self.signals == 1:
            log.info("received %s: stopping after the running epoch", signal.Signals(signum).name)
            return
        log.warning("second stop signal: killing the worker child")
        child = self.child
        if child is not None and child.pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child.pid, signal.SIGKILL)

    def stopping(self) -> bool:
        """Whether the worker is stopping (a signal arrived or the job process was told to stop)."""
        if self.signals and not self.ctx.stop.is_set():
            self.ctx.stop.set()
        return self.ctx.stop.is_set()

    def _spawn(self) -> BaseProcess:
        proc = _START.Process(
            target=_start_job_process, args=(self.target, self.ctx), name="Worker-1", daemon=True
        )
        proc.start()
        return proc

    def serve(self) -> None:
        """Start the job process, replace it if it dies, and return once stopped and it has exited."""
        child = self.child = self._spawn()
        started = time.monotonic()
        while not self.stopping():
            time.sleep(SUPERVISE_INTERVAL_S)
            if child.is_alive() or self.stopping() or time.monotonic() - started < RESTART_AFTER_S:
                continue
            log.warning("the job process (pid %s) died with exit code %s; starting another",
                        child.pid, child.exitcode)  # fmt: skip
            child = self.child = self._spawn()
            started = time.monotonic()
        idle_since: float | None = None  # when the job process was last seen holding no job
        while child.is_alive():  # the running job stops at its next epoch end
            child.join(SUPERVISE_INTERVAL_S)
            now = time.monotonic()
            # The grace runs from when it holds no job, not from the stop: a job that ends after
            # the grace gets its own to leave by itself (exit code 0), not an immediate kill.
            idle_since = None if self.ctx.busy.is_set() else (now if idle_since is None else idle_since)
            idle = idle_since is not None and now - idle_since >= IDLE_GRACE_S
            if idle and child.is_alive() and child.pid is not None:
                # Warming up or waiting for work: nothing to save, so no waiting for a compile.
                log.info("the job process holds no job: ending it now")
                with contextlib.suppress(ProcessLookupError):
                    os.kill(child.pid, signal.SIGKILL)
                child.join()
