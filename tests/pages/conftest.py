"""Fixtures of the dashboard tests: the app under AppTest and tiny fixture run bundles."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "app.py"


@pytest.fixture(autouse=True)
def _repo_on_path(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # `streamlit run` puts the app's folder on sys.path (pages import pages._ui); AppTest does not.
    monkeypatch.syspath_prepend(str(ROOT))
    monkeypatch.delenv("MMCORR_PASSWORD", raising=False)
    import streamlit as st

    st.cache_data.clear()  # cached loaders are keyed by path: each test has its own home
    yield


@pytest.fixture
def app(mmcorr_home: Path) -> Any:
    """The whole dashboard under AppTest, in a private MMCORR_HOME, on its Home page."""
    from streamlit.testing.v1 import AppTest

    return AppTest.from_file(str(APP), default_timeout=60)
