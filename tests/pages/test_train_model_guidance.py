"""The Train page starts at model "auto", says what each model is and when each family is the right
choice, and offers auto's time budget (issue 15 goals 1 and 5)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from dashboard_helpers import no_exceptions, page

from mmcorr.config import AUTO, MODEL_GUIDE

TRAIN = "pages/train.py"


@pytest.fixture
def dataset_id(mmcorr_home: Path) -> str:
    from mmcorr.data import DatasetRegistry, make_demo

    return DatasetRegistry().save(make_demo("synthetic", seed=0, n_samples=120), "tiny-synthetic")


def _markdown(app: Any) -> str:
    return "\n".join(m.value for m in app.markdown)


def test_the_model_selector_starts_at_auto_with_its_guidance(app: Any, dataset_id: str) -> None:
    page(app, TRAIN)
    no_exceptions(app)
    assert app.selectbox(key="model").value == AUTO
    text = _markdown(app)
    assert f"**{AUTO}**: {MODEL_GUIDE[AUTO].summary}" in text
    assert all(guide.when in text for guide in MODEL_GUIDE.values())  # the "Which model?" panel
    assert any(e.label == "Which model?" for e in app.expander)
    assert app.number_input(key="auto_budget_s").value == 600.0


def test_choosing_a_family_shows_what_it_is(app: Any, dataset_id: str) -> None:
    page(app, TRAIN)
    app.selectbox(key="model").set_value("mvae").run()
    no_exceptions(app)
    assert f"**mvae**: {MODEL_GUIDE['mvae'].summary}" in _markdown(app)
