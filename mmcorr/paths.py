"""Where mmcorr keeps its files: the data home (``MMCORR_HOME``, default ``~/.mmcorr``)."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["home", "datasets_dir", "runs_dir", "state_dir"]


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
    """The job store, the queue, worker pid / lock files and caches."""
    path = home() / "state"
    path.mkdir(parents=True, exist_ok=True)
    return path
