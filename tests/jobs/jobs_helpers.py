"""Helpers shared by the job tests (specs, polling, process control)."""

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


def cca_spec(dataset_id: str) -> JobSpec:
    """A job that finishes in a couple of seconds."""
    return JobSpec(
        dataset_id=dataset_id,
        model=ModelConfig(model="cca", latent_dim=2),
        train=TrainConfig(epochs=1, threads=1, device="cpu"),
        analysis=small_analysis(),
    )


def long_spec(dataset_id: str, epochs: int = 300) -> JobSpec:
    """A tiny deep model with many cheap epochs: still running when the test acts on it."""
    return JobSpec(
        dataset_id=dataset_id,
        model=ModelConfig(model="dccae", latent_dim=2, hidden=(8,)),
        train=TrainConfig(
            epochs=epochs, batch_size=64, patience=0, threads=1, device="cpu", checkpoint_every=1
        ),
        data=DataConfig(),
        analysis=small_analysis(),
    )


def wait_for(predicate: Callable[[], object], timeout: float = 60.0, what: str = "condition") -> object:
    """Poll ``predicate`` until it returns something truthy (no fixed sleeps as assertions)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def _env(home: Path) -> dict[str, str]:
    env = os.environ.copy()
    env["MMCORR_HOME"] = str(home)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    return env


def kill_group(proc: subprocess.Popen[bytes], sig: int = signal.SIGKILL) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


class Processes:
    """Processes a test started; every one (and its process group) is killed at teardown."""

    def __init__(self, home: Path, tmp: Path) -> None:
        self.home, self.tmp, self.procs = home, tmp, []  # type: ignore[var-annotated]

    def start(self, *args: str) -> subprocess.Popen[bytes]:
        log = open(self.tmp / f"proc-{len(self.procs)}.log", "wb")  # noqa: SIM115 - closed at teardown
        proc = subprocess.Popen(
            [sys.executable, "-m", "mmcorr", *args],
            env=_env(self.home),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self.procs.append(proc)
        return proc

    def worker(self) -> subprocess.Popen[bytes]:
        from mmcorr.jobs import worker_status

        proc = self.start("worker", "--no-warmup", "--threads", "1")
        wait_for(lambda: worker_status().alive and worker_status().pid == proc.pid, 60, "worker heartbeat")
        return proc

    def log(self, i: int = 0) -> str:
        return (self.tmp / f"proc-{i}.log").read_text(errors="replace")

    def close(self) -> None:
        from mmcorr.jobs.autostart import read_pid_file

        info = read_pid_file() or {}
        pids = {p.pid for p in self.procs} | ({int(info["pid"])} if info.get("pid") else set())
        for pid in pids:  # auto-started workers are session leaders too
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
        for proc in self.procs:
            with contextlib.suppress(Exception):
                proc.wait(timeout=10)
