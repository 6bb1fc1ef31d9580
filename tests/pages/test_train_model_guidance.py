"""The Train page starts at model "auto", says what each model is and when each family is the right
choice, and offers auto's time budget (issue 15 goals 1 and 5)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from dashboard_helpers import no_exceptions, page
from test_dashboard_train import immediate  # noqa: F401 (a fixture: huey runs each job in submit())

from mmcorr.config import AUTO, MODEL_GUIDE

TRAIN = "pages/train.py"


@pytest.fixture
def dataset_id(mmcorr_home: Path) -> str:
    from mmcorr.data import DatasetRegistry, make_demo

    return DatasetRegistry().save(make_demo("synthetic", seed=0, n_samples=200), "tiny-synthetic")


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
    assert app.selectbox(key="gaussianize").value == "auto"


def test_choosing_a_family_shows_what_it_is(app: Any, dataset_id: str) -> None:
    page(app, TRAIN)
    app.selectbox(key="model").set_value("mvae").run()
    no_exceptions(app)
    assert f"**mvae**: {MODEL_GUIDE['mvae'].summary}" in _markdown(app)


@pytest.mark.slow  # the real pipeline through huey's immediate mode: torch import, five tiny fits
@pytest.mark.usefixtures("immediate")
def test_a_finished_auto_job_shows_the_choice_and_every_candidate(app: Any, dataset_id: str) -> None:
    import torch

    from mmcorr.estimator._auto import AUTO_CANDIDATES
    from mmcorr.runs.choice import CHOICE_COLUMNS

    torch.set_num_threads(1)
    page(app, TRAIN)
    app.number_input(key="latent_dim").set_value(2)
    app.number_input(key="epochs").set_value(2)
    app.text_input(key="hidden").set_value("16")
    app.number_input(key="permutations").set_value(0)
    app.selectbox(key="umap").set_value("off")
    app.button(key="train").click().run(timeout=120)
    no_exceptions(app)
    assert [e.value for e in app.error] == []
    assert {m.label: m.value for m in app.metric}["State"] == "succeeded"
    assert any(m.value.startswith("**auto chose ") for m in app.markdown)
    # 200 samples leave auto over 100 training rows: it cross-validates the rank-Gaussian inputs
    assert any(c.value.startswith("Inputs: rank-Gaussian inputs o") for c in app.caption)
    family, chosen = CHOICE_COLUMNS["model"], CHOICE_COLUMNS["chosen"]
    table = next(d.value for d in app.dataframe if family in d.value.columns)
    assert list(table[family]) == list(AUTO_CANDIDATES) and int(table[chosen].sum()) == 1


def test_under_auto_the_learning_rate_says_each_family_keeps_its_tuned_rate(
    app: Any, dataset_id: str
) -> None:
    page(app, TRAIN)
    assert "own tuned rate" in app.number_input(key=f"lr_{AUTO}").help
    app.selectbox(key="model").set_value("mvae").run()
    assert "own tuned rate" not in app.number_input(key="lr_mvae").help
