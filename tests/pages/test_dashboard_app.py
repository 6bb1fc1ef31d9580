"""The router: every page renders on an empty home, and the optional password gate."""

from __future__ import annotations

from typing import Any

import pytest
from dashboard_helpers import no_exceptions, page

PAGES = ["pages/home.py", "pages/data.py", "pages/train.py", "pages/explore.py", "pages/compare.py"]


@pytest.mark.parametrize("path", PAGES)
def test_every_page_renders_on_a_fresh_home(app: Any, path: str) -> None:
    page(app, path)
    no_exceptions(app)
    assert [e.value for e in app.error] == []
    assert len(app.title) == 1


def test_home_offers_demos_and_says_there_are_no_runs(app: Any) -> None:
    app.run()
    no_exceptions(app)
    assert app.title[0].value == "mmcorr"
    assert any(b.label.startswith("Load the ") for b in app.button)
    assert any("No runs yet" in i.value for i in app.info)


def test_password_gate_blocks_every_page_until_the_right_password(
    app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MMCORR_PASSWORD", "s3cret")
    app.run()
    no_exceptions(app)
    assert [t.value for t in app.title] == ["mmcorr"]
    assert [b.label for b in app.button] == ["Sign in"]  # no page content, only the sign-in form
    assert len(app.info) == 0
    app.text_input[0].input("wrong")
    app.button[0].click().run()
    assert [e.value for e in app.error] == ["Wrong password."]
    app.text_input[0].input("s3cret")
    app.button[0].click().run()
    no_exceptions(app)
    assert [e.value for e in app.error] == []
    assert any(b.label.startswith("Load the ") for b in app.button)


def test_home_demo_button_registers_the_demo_and_opens_train(app: Any) -> None:
    app.run()
    app.button(key="demo_synthetic").click().run()
    no_exceptions(app)
    from mmcorr.data import DatasetRegistry

    datasets = DatasetRegistry().list()
    assert len(datasets) == 1 and len(datasets[0].modalities) == 3
    assert app.session_state["mmcorr_dataset_id"] == datasets[0].id
    assert app.title[0].value == "Train"
    assert app.selectbox(key="dataset").value == datasets[0].id


def test_password_gate_also_guards_a_page_opened_directly(
    app: Any, monkeypatch: pytest.MonkeyPatch, mmcorr_home: Any
) -> None:
    # A page URL opened first after a server start runs in Streamlit's legacy pages/ mode, which
    # would skip app.py; pages route themselves through app.py, so the gate still applies.
    from dashboard_helpers import write_run

    write_run(mmcorr_home, "run-a")
    monkeypatch.setenv("MMCORR_PASSWORD", "s3cret")
    page(app, "pages/explore.py")
    no_exceptions(app)
    assert [t.value for t in app.title] == ["mmcorr"]
    assert len(app.metric) == 0 and len(app.get("plotly_chart")) == 0
