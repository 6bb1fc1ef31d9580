"""Shared fixtures: a private MMCORR_HOME per test and tiny seeded data."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def mmcorr_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh, private data home; no worker is auto-started unless a test asks for one."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("MMCORR_HOME", str(home))
    monkeypatch.setenv("MMCORR_AUTOSTART_WORKER", "0")
    yield home


@pytest.fixture(scope="session")
def numba_cache() -> Path:
    """One numba cache shared by every process the tests start (and by later sessions): UMAP's JIT
    compiles once, not once per process. Compiled code is keyed by source and signature, so sharing is
    safe."""
    path = Path(os.environ.get("NUMBA_CACHE_DIR") or Path(tempfile.gettempdir()) / "mmcorr-test-numba-cache")
    path.mkdir(parents=True, exist_ok=True)
    return path
