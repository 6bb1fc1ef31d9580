"""``model="auto"`` (issue 15 goal 5): every candidate family on one split, the best on validation
kept, the table of candidates reported; through the API, the saved model and a run's notes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone

from mmcorr.data import PairedDataset, make_demo
from mmcorr.estimator import CorrelationModel
from mmcorr.estimator._auto import AUTO_CANDIDATES, fit_auto


@pytest.fixture(scope="module")
def data() -> PairedDataset:
    return make_demo("synthetic", n_samples=300, seed=0)


@pytest.fixture(scope="module")
def auto(data: PairedDataset) -> CorrelationModel:
    return CorrelationModel("auto", latent_dim=3, epochs=3, seed=0, hidden=(32,)).fit(data)


def test_auto_keeps_the_best_candidate_on_validation(auto: CorrelationModel) -> None:
    table = auto.auto_
    assert [r["model"] for r in table] == list(AUTO_CANDIDATES)
    scored = [r for r in table if r["val_corr_sum"] is not None]
    assert len(scored) == len(AUTO_CANDIDATES)
    chosen = [r for r in table if r["chosen"]]
    assert len(chosen) == 1 and chosen[0]["val_corr_sum"] == max(r["val_corr_sum"] for r in scored)
    assert auto.configs_[0].model == chosen[0]["model"]
    assert auto.model == "auto" and clone(auto).get_params()["model"] == "auto"  # the parameter stays
    assert "chose " + chosen[0]["model"] in auto.history_[0]["note"]


def test_an_auto_model_saves_and_loads_as_the_chosen_family(
    auto: CorrelationModel, data: PairedDataset, tmp_path: Path
) -> None:
    again = CorrelationModel.load(auto.save(tmp_path / "m"))
    assert again.configs_[0].model == auto.configs_[0].model
    np.testing.assert_allclose(again.transform(data)["a"], auto.transform(data)["a"], atol=1e-5)


def test_a_spent_budget_stops_adding_candidates(data: PairedDataset) -> None:
    est = CorrelationModel("auto", latent_dim=3, epochs=1, seed=0, hidden=(16,))
    fit_auto(est, data, None, (), budget_s=0.0)
    tried = [r["model"] for r in est.auto_ if r["val_corr_sum"] is not None]
    assert tried == ["cca"] and all("budget" in r["note"] for r in est.auto_[1:])


def test_a_family_that_cannot_fit_is_listed_with_why() -> None:
    narrow = make_demo("synthetic", n_samples=900, seed=0).select(["a", "b"])
    k = min(narrow.dims.values()) + 1  # above the narrowest modality: linear CCA cannot fit it
    # enough validation pairs (5 per latent dimension) for auto to compare families at this k
    assert 0.15 * narrow.n_samples >= 5 * k
    est = CorrelationModel("auto", latent_dim=k, epochs=1, seed=0, hidden=(16,))
    fit_auto(est, narrow, None, (), budget_s=1e9)
    cca = est.auto_[0]
    assert cca["model"] == "cca" and cca["val_corr_sum"] is None and "not run" in cca["note"]
    assert est.configs_[0].model != "cca"


def test_a_run_with_model_auto_names_the_choice(mmcorr_home: Path) -> None:
    from mmcorr.config import build_job_spec
    from mmcorr.data import DatasetRegistry
    from mmcorr.runs import read_metrics
    from mmcorr.runs.pipeline import run_spec

    reg = DatasetRegistry()
    dataset_id = reg.save(make_demo("synthetic", n_samples=200, seed=1).select(["a", "b"]), "s")
    spec = build_job_spec(dataset_id, model="auto", latent_dim=2, epochs=2, permutations=0, umap="off")
    run = read_metrics(run_spec(spec, mmcorr_home / "runs" / "auto", registry=reg)).run
    assert run.model in AUTO_CANDIDATES
    assert run.notes["model"].startswith(f"chose {run.model} by the validation canonical correlation sum")


def test_an_interrupted_auto_fit_resumes_each_candidate_from_its_checkpoint(
    data: PairedDataset, tmp_path: Path
) -> None:
    from mmcorr.training import TrainingCancelled

    def est() -> CorrelationModel:
        return CorrelationModel("auto", latent_dim=3, epochs=4, seed=0, hidden=(16,), checkpoint_every=1)

    last = AUTO_CANDIDATES[-1]  # a gradient family: the interruption comes during its fit

    class Log:
        def __init__(self, stop_in: str | None = None) -> None:
            self.stop_in, self.seen = stop_in, []

        def on_epoch_end(self, record: dict) -> bool:
            self.seen.append((record["model"], record["epoch"]))
            return record["model"] == self.stop_in

    with pytest.raises(TrainingCancelled):
        est().fit(data, callbacks=[Log(last)], checkpoint_dir=tmp_path)
    trained = [f for f in AUTO_CANDIDATES if f != "cca"]
    assert all((tmp_path / f / "checkpoint.pt").is_file() for f in trained)

    log = Log()
    resumed = est().fit(data, callbacks=[log], checkpoint_dir=tmp_path, resume=True)
    straight = est().fit(data)
    # Each candidate went on from its checkpoint (the finished ones ran no epoch again) ...
    assert not [m for m, _ in log.seen if m in trained and m != last]
    assert [r["model"] for r in resumed.auto_] == [r["model"] for r in straight.auto_]
    # ... and the result is the uninterrupted fit's.
    for a, b in zip(resumed.auto_, straight.auto_, strict=True):
        assert a["val_corr_sum"] == pytest.approx(b["val_corr_sum"], abs=1e-4)
    np.testing.assert_allclose(resumed.transform(data)["a"], straight.transform(data)["a"], atol=1e-4)
