"""Where mmcorr keeps its files: the data home (``MMCORR_HOME``, default ``~/.mmcorr``)."""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

__all__ = ["home", "datasets_dir", "runs_dir", "state_dir", "make_private"]


def home() -> Path:
    """The data home, created if missing. ``MMCORR_HOME`` overrides ``~/.mmcorr``."""
    root = Path(os.environ.get("MMCORR_HOME") or Path.home() / ".mmcorr").expanduser()
    root.mkdir(parents=True, exist_ok=True)
    return root


def datasets_dir() -> Path:
    """Registered datasets: one folder per dataset id."""
    path = home() / "datasets"
    path.mkdir(parents=True, exist_ok=True)
    return path


def runs_dir() -> Path:
    """Finished run bundles: one folder per run id (== job id for jobs)."""
    path = home() / "runs"
    path.mkdir(parents=True, exist_ok=True)
    return path


def state_dir() -> Path:
    """The job store, the queue, worker pid / lock files and caches: private to its owner (0700).

    Whoever can write the queue or the job store decides what the worker runs, so the folder is
    created 0700; one created wider by an older mmcorr is tightened when its owner uses it.
    """
    path = home() / "state"
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    make_private(path, 0o700)
    return path


def make_private(path: Path, mode: int) -> None:
    """Set ``path`` to ``mode`` (0600 / 0700) if group or others may use it and this user owns it.

    Files made by an older mmcorr (0644 / 0755) are tightened; another user's file and systems
    without POSIX owners (Windows) are left alone.
    """
    getuid = getattr(os, "getuid", None)
    if getuid is None:
        return
    with contextlib.suppress(OSError):
        info = path.stat()
        if info.st_uid == getuid() and stat.S_IMODE(info.st_mode) & 0o077:
            os.chmod(path, mode)
