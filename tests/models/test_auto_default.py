"""``model="auto"`` is the default (issue 15 goal 5): its preferred family, its time budget, one
progress count across the candidates, and the note that carries the candidate table into the run."""

from __future__ import annotations

from typing import Any

import pytest

from mmcorr import CorrelationModel, MmcorrError
from mmcorr.config import AUTO, MODEL_GUIDE, MODEL_NAMES, PREFERRED_FAMILY, ModelConfig, TrainConfig
from mmcorr.config._models import describe_choice, parse_choice
from mmcorr.data import make_demo
from mmcorr.estimator._auto import AUTO_CANDIDATES, _skip, fit_auto
from mmcorr.models import MODEL_REGISTRY


def test_auto_is_the_default_model_of_the_configs_and_the_estimator() -> None:
    assert ModelConfig().model == AUTO
    assert CorrelationModel().get_configs()[0].model == AUTO


def test_the_preferred_family_runs_right_after_the_closed_form_ones() -> None:
    closed = [n for n in AUTO_CANDIDATES if MODEL_REGISTRY[n].fits_in_closed_form]
    assert AUTO_CANDIDATES[: len(closed) + 1] == (*closed, PREFERRED_FAMILY)
    assert sorted(AUTO_CANDIDATES) == sorted(MODEL_REGISTRY) and PREFERRED_FAMILY != AUTO


def test_every_model_name_has_its_guidance() -> None:
    assert set(MODEL_GUIDE) == set(MODEL_NAMES)
    assert all(g.summary and g.when for g in MODEL_GUIDE.values())
    assert all("|" not in g.when for g in MODEL_GUIDE.values())  # a cell of a Markdown table


@pytest.mark.parametrize("bad", [-1.0, 1e9, "fast"])
def test_a_bad_budget_names_the_parameter(bad: Any) -> None:
    with pytest.raises(MmcorrError, match=r"The 'auto_budget_s' parameter must be"):
        TrainConfig(auto_budget_s=bad)
    with pytest.raises(MmcorrError, match=r"The 'auto_budget_s' parameter must be"):
        CorrelationModel(auto_budget_s=bad).get_configs()


def test_a_candidate_is_skipped_when_the_budget_left_cannot_hold_it() -> None:
    assert _skip(600.0, left=500.0, slowest=30.0, closed_form=False) is None
    assert "about 30 s needed" in str(_skip(600.0, left=20.0, slowest=30.0, closed_form=False))
    assert _skip(600.0, left=20.0, slowest=30.0, closed_form=True) is None  # closed form is cheap
    assert "600 s budget was spent" in str(_skip(600.0, left=-1.0, slowest=0.0, closed_form=True))


class _Records:
    def __init__(self) -> None:
        self.rows: list[tuple[str, int, int]] = []

    def on_epoch_end(self, record: dict[str, Any]) -> None:
        self.rows.append((record["model"], record["epoch"], record["epochs"]))


def test_progress_counts_epochs_once_across_the_candidates() -> None:
    data = make_demo("synthetic", n_samples=150, seed=0).select(["a", "b"])
    seen = _Records()
    est = CorrelationModel(latent_dim=2, epochs=2, seed=0, hidden=(16,), patience=0)
    fit_auto(est, data, None, [seen], budget_s=1e9)
    epochs = [e for _, e, _ in seen.rows]
    assert epochs == sorted(set(epochs)) and epochs[-1] == seen.rows[0][2]  # one count, to the end
    assert [m for m in dict.fromkeys(m for m, _, _ in seen.rows)] == list(AUTO_CANDIDATES)
    assert est.history_[0]["epoch"] == 1  # the chosen fit's own history is untouched


def test_the_budget_is_an_estimator_parameter_that_survives_clone() -> None:
    from sklearn.base import clone

    data = make_demo("synthetic", n_samples=150, seed=0).select(["a", "b"])
    est = clone(CorrelationModel(latent_dim=2, hidden=(16,), epochs=1, auto_budget_s=0.0))
    assert est.get_params()["auto_budget_s"] == 0.0
    est.fit(data)
    assert [r["model"] for r in est.auto_ if r["val_corr_sum"] is not None] == [AUTO_CANDIDATES[0]]
    assert all("budget was spent" in r["note"] for r in est.auto_[1:])


def test_a_data_error_is_raised_once_not_per_candidate() -> None:
    with pytest.raises(MmcorrError, match="at least 2 modalities") as caught:
        CorrelationModel().fit(make_demo("synthetic", n_samples=60, seed=0).select(["a"]))
    assert "could not fit any candidate" not in str(caught.value)


def test_the_choice_note_reads_back_as_the_table() -> None:
    table = [
        {"model": "cca", "val_corr_sum": None, "seconds": 0.1, "chosen": False, "note": "not run: a; b | c"},
        {"model": "dccae", "val_corr_sum": 1.5, "seconds": 2.5, "chosen": True},
        {"model": "mvae", "val_corr_sum": None, "seconds": 0.0, "chosen": False, "note": "not tried: x"},
    ]
    note = describe_choice(table)
    assert ";" not in note and note.startswith("chose dccae by the validation canonical correlation sum")
    rows = parse_choice(f"{note}; dccae kept linear CCA")
    assert [(r["model"], r["val_corr_sum"], r["chosen"]) for r in rows] == [
        ("cca", None, False),
        ("dccae", 1.5, True),
        ("mvae", None, False),
    ]
    assert rows[0]["note"] == "not run: a, b / c" and rows[1]["seconds"] == 2.5
    assert parse_choice("dccae kept linear CCA") == []


def test_a_validation_set_too_small_to_compare_on_keeps_the_preferred_family() -> None:
    data = make_demo("synthetic", n_samples=60, seed=0).select(["a", "b"])
    est = CorrelationModel(latent_dim=5, hidden=(16,), epochs=1).fit(data)  # ~9 validation pairs < 25
    assert [r["model"] for r in est.auto_ if r["chosen"]] == [PREFERRED_FAMILY]
    assert est.configs_[0].model == PREFERRED_FAMILY  # model stays "auto": the configs are the choice
    others = [r for r in est.auto_ if not r["chosen"]]
    assert len(others) == len(AUTO_CANDIDATES) - 1
    assert all(r["val_corr_sum"] is None and r["note"].startswith("not compared: ") for r in others)
    assert parse_choice(describe_choice(est.auto_))[0]["note"].startswith("not compared: ")
