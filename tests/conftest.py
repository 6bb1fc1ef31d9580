"""Shared fixtures: a private MMCORR_HOME per test and tiny seeded data."""

from __future__ import annotations

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
