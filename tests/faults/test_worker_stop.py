"""Issue 14 item 4: ``mmcorr worker --stop`` with a stale pid file whose pid now belongs to a
stranger must not signal it; only a process verified as this home's worker is signalled."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mmcorr.cli import main
from mmcorr.jobs import get_store, stop_worker, worker_status
from mmcorr.jobs.autostart import pid_file
from mmcorr.jobs.procs import is_worker_process

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")


@pytest.fixture
def stranger(mmcorr_home: Path) -> Iterator[subprocess.Popen[bytes]]:
    """An unrelated long-running process (a reused pid)."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    yield proc
    proc.kill()
    proc.wait(timeout=10)


def _stale_pid_file(pid: int, started: float) -> None:
    payload = {"pid": pid, "host": socket.gethostname(), "started": started, "threads": 1, "name": "w"}
    pid_file().write_text(json.dumps(payload))


def test_stop_does_not_signal_a_stranger_behind_a_stale_pid_file(
    stranger: subprocess.Popen[bytes], capsys: pytest.CaptureFixture[str]
) -> None:
    _stale_pid_file(stranger.pid, time.time() - 3600)
    assert main(["worker", "--stop"]) == 0
    assert capsys.readouterr().out.strip() == "no worker was running"
    with pytest.raises(subprocess.TimeoutExpired):
        stranger.wait(timeout=0.5)  # still running: no SIGTERM reached it


def test_stop_does_not_signal_a_stranger_even_with_a_forged_fresh_heartbeat(
    stranger: subprocess.Popen[bytes],
) -> None:
    started = time.time() - 3600
    _stale_pid_file(stranger.pid, started)
    get_store().heartbeat(stranger.pid, socket.gethostname(), started, 1, "running", "w")
    assert worker_status().alive  # the heartbeat alone would call it our worker
    status = stop_worker(timeout=2)
    assert status.pid is None and not status.alive
    assert stranger.poll() is None


def test_a_process_created_after_the_recorded_start_is_not_the_worker(mmcorr_home: Path) -> None:
    # Its command line reads like a worker's ('... mmcorr worker'), but it was created after the
    # start its pid file records: the pid was reused.
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "mmcorr", "worker"])
    try:
        assert is_worker_process(proc.pid, started=time.time() - 600) is False
        assert is_worker_process(proc.pid, started=time.time()) is True
    finally:
        proc.kill()
        proc.wait(timeout=10)


def test_a_live_process_with_another_command_line_is_not_the_worker(
    stranger: subprocess.Popen[bytes],
) -> None:
    assert is_worker_process(stranger.pid, started=time.time()) is False
