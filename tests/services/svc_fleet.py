"""Real ``mmcorr worker`` processes against real Redis + PostgreSQL, for the fleet tests.

Each worker gets its own ``--name`` and its own ``MMCORR_HOST``: to the job store they are two
machines, so a dead one can only be found through its stale heartbeat, never by its process id.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from mmcorr.config import AnalysisConfig, DataConfig, JobSpec, ModelConfig, TrainConfig

ROOT = Path(__file__).resolve().parents[2]


def small_analysis() -> AnalysisConfig:
    return AnalysisConfig(permutations=3, umap_neighbors=5, max_umap_points=60, top_features=4)


def cca_spec(dataset_id: str, name: str = "") -> JobSpec:
    """A job that finishes in a second or two."""
    return JobSpec(
        dataset_id=dataset_id,
        name=name,
        model=ModelConfig(model="cca", latent_dim=2),
        train=TrainConfig(epochs=1, threads=1, device="cpu"),
        analysis=small_analysis(),
    )


def long_spec(dataset_id: str, epochs: int) -> JobSpec:
    """A tiny deep model with cheap epochs and a checkpoint after each one."""
    return JobSpec(
        dataset_id=dataset_id,
        model=ModelConfig(model="dccae", latent_dim=2, hidden=(8,)),
        train=TrainConfig(
            epochs=epochs, batch_size=64, patience=0, threads=1, device="cpu", checkpoint_every=1
        ),
        data=DataConfig(),
        analysis=small_analysis(),
    )


def wait_for(predicate: Callable[[], object], timeout: float, what: str) -> object:
    """Poll ``predicate`` until it returns something truthy (no fixed sleeps as assertions)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


class Fleet:
    """Worker processes a test started; each (with its process group) is killed at teardown."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.others: list[subprocess.Popen[bytes]] = []

    def env(self, **extra: str) -> dict[str, str]:
        env = os.environ.copy()  # MMCORR_HOME, the server URLs, threads... set by the fixture
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
        env.update(extra)
        return env

    def start_worker(self, name: str, host: str) -> subprocess.Popen[bytes]:
        log = open(self.tmp / f"worker-{name}.log", "wb")  # noqa: SIM115 - owned by the child
        proc = subprocess.Popen(
            [sys.executable, "-m", "mmcorr", "worker", "--name", name, "--no-warmup", "--threads", "1"],
            env=self.env(MMCORR_HOST=host),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self.procs[name] = proc
        return proc

    def wait_ready(self, *names: str, timeout: float = 60.0) -> None:
        from mmcorr.jobs import WorkerState, list_workers

        def ready() -> bool:
            states = {w.name: w.state for w in list_workers()}
            for name in names:
                if self.procs[name].poll() is not None:
                    raise AssertionError(f"worker {name} exited at start:\n{self.log(name)}")
            return all(states.get(n) is WorkerState.IDLE for n in names)

        wait_for(ready, timeout, f"workers {names} to send heartbeats")

    def run(self, *args: str) -> subprocess.Popen[bytes]:
        """Another process of this deployment (a second submitter)."""
        proc = subprocess.Popen(
            [sys.executable, *args],
            env=self.env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.others.append(proc)
        return proc

    def kill(self, name: str) -> None:
        """SIGKILL the worker and its child, as when its machine dies."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.procs[name].pid, signal.SIGKILL)
        self.procs[name].wait(10)

    def log(self, name: str) -> str:
        return (self.tmp / f"worker-{name}.log").read_text(errors="replace")

    def close(self) -> None:
        for proc in [*self.procs.values(), *self.others]:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
        for proc in [*self.procs.values(), *self.others]:
            with contextlib.suppress(Exception):
                proc.wait(timeout=10)
            if proc.stdout is not None:
                proc.stdout.close()
