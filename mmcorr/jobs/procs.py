"""Is process ``pid`` really our worker? Checked before any signal is sent to it.

A pid file outlives its worker (SIGKILL, a reboot), and the system hands its number to the next
process; ``kill(pid, 0)`` then finds a stranger alive. Before ``mmcorr worker --stop`` signals a
pid, :func:`is_worker_process` checks, where Linux's ``/proc`` tells, that the process runs
``mmcorr worker`` and was created no later than the worker recorded its start (a reused pid
belongs to a process created after the worker died). Without ``/proc`` it answers None and the
caller falls back to the worker's heartbeat. psutil is not needed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ProcessInfo", "process_info", "is_worker_process", "START_SLACK_S"]

#: Seconds a process's creation may follow the start time its worker recorded (``/proc``'s boot time
#: is whole seconds; the worker records its start after it has imported itself, i.e. later).
START_SLACK_S = 2.0


@dataclass(frozen=True)
class ProcessInfo:
    """What ``/proc`` says about a live process: its arguments and its creation time (epoch s)."""

    argv: tuple[str, ...]
    created: float


def _boot_time(proc: Path) -> float | None:
    try:
        for line in (proc / "stat").read_text().splitlines():
            if line.startswith("btime "):
                return float(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def process_info(pid: int, proc: Path = Path("/proc")) -> ProcessInfo | None:
    """``pid``'s arguments and creation time from ``/proc`` (Linux), or None when it cannot tell."""
    boot = _boot_time(proc)
    try:
        raw_argv = (proc / str(pid) / "cmdline").read_bytes()
        stat = (proc / str(pid) / "stat").read_text()
        ticks = os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, AttributeError):
        return None
    fields = stat.rsplit(")", 1)[-1].split()
    if boot is None or len(fields) < 20:
        return None
    # Field 22 of /proc/PID/stat (index 19 after the command name): start time in clock ticks.
    created = boot + int(fields[19]) / ticks
    argv = tuple(a.decode("utf-8", "replace") for a in raw_argv.split(b"\0") if a)
    return ProcessInfo(argv=argv, created=created)


def _runs_mmcorr_worker(argv: tuple[str, ...]) -> bool:
    """``python -m mmcorr worker ...`` or the ``mmcorr worker`` console script."""
    for i, arg in enumerate(argv[:-1]):
        if (arg == "mmcorr" or Path(arg).name in ("mmcorr", "__main__.py")) and argv[i + 1] == "worker":
            return True
    return False


def is_worker_process(pid: int, started: float | None, proc: Path = Path("/proc")) -> bool | None:
    """Whether ``pid`` is the ``mmcorr worker`` that recorded ``started`` (epoch s) as its start.

    True / False where ``/proc`` tells; None where it cannot (no ``/proc``, or the process is gone).
    """
    info = process_info(pid, proc)
    if info is None:
        return None
    if not _runs_mmcorr_worker(info.argv):
        return False
    return started is None or info.created <= float(started) + START_SLACK_S
