"""model auto's choice of inputs (issue 15 goal 2): with ``gaussianize="auto"`` it maps the features
through their rank-Gaussian transform when that lifts linear CCA's cross-validated correlation, and
says so in the run's notes; an explicit on / off is left as given."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mmcorr.data import PairedDataset
from mmcorr.estimator import CorrelationModel

FAST = {"latent_dim": 2, "epochs": 2, "hidden": (16,), "seed": 0, "checkpoint_every": 0}


def _pair(warp: bool, n: int = 600) -> PairedDataset:
    """Two views of 2 shared factors; ``warp`` bends every feature by an increasing map."""
    rng = np.random.default_rng(3)
    z = rng.standard_normal((n, 2))
    a = z @ rng.standard_normal((2, 5)) + 0.5 * rng.standard_normal((n, 5))
    b = z @ rng.standard_normal((2, 4)) + 0.5 * rng.standard_normal((n, 4))
    if warp:
        a, b = np.exp(a), b**3
    values = {"a": a.astype(np.float32), "b": b.astype(np.float32)}
    return PairedDataset(
        names=["a", "b"],
        values=values,
        features={k: [f"{k}{i}" for i in range(v.shape[1])] for k, v in values.items()},
        ids=np.array([f"s{i}" for i in range(n)], dtype=object),
        mask=np.ones((n, 2), dtype=bool),
    )


def _notes(est: CorrelationModel) -> str:
    return " ".join(str(r.get("note", "")) for r in est.history_)


def test_auto_maps_warped_features_and_says_so() -> None:
    est = CorrelationModel("auto", auto_budget_s=0, **FAST).fit(_pair(warp=True))
    assert "rank-Gaussian inputs on" in _notes(est), _notes(est)
    assert est.get_configs()[2].gaussianize == "auto"  # the parameter as given (scikit-learn)
    assert est.configs_[2].gaussianize == "on"  # the fitted model's: saved and loaded with it


def test_auto_leaves_linear_gaussian_features_alone() -> None:
    est = CorrelationModel("auto", auto_budget_s=0, **FAST).fit(_pair(warp=False))
    assert "rank-Gaussian inputs off" in _notes(est), _notes(est)
    assert est.configs_[2].gaussianize == "off"


@pytest.mark.parametrize("given", ["on", "off"])
def test_an_explicit_setting_is_kept_without_asking(given: str) -> None:
    est = CorrelationModel("auto", auto_budget_s=0, gaussianize=given, **FAST).fit(_pair(warp=True))
    assert "rank-Gaussian inputs" not in _notes(est)
    assert est.configs_[2].gaussianize == given


def test_too_few_training_rows_for_fine_quantiles_keep_it_off() -> None:
    est = CorrelationModel("auto", auto_budget_s=0, **FAST).fit(_pair(warp=True, n=60))
    assert "rank-Gaussian inputs" not in _notes(est)
    assert est.configs_[2].gaussianize == "off"


def test_a_run_says_which_inputs_auto_chose(mmcorr_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The choice is in the terminal summary and the report, not only in the run's notes."""
    from mmcorr.cli import main

    ds = _pair(warp=True)
    paths = []
    for name in ds.names:
        path = mmcorr_home / f"{name}.csv"
        frame = pd.DataFrame(ds.values[name], index=pd.Index(ds.ids, name="id"), columns=ds.features[name])
        frame.to_csv(path)
        paths += ["--modality", f"{name}={path}"]
    out = mmcorr_home / "run"
    args = ["--latent-dim", "2", "--epochs", "2", "--hidden", "16", "--auto-budget-s", "0"]
    code = main(["train", *paths, *args, "--umap", "off", "--permutations", "0", "--out", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "  inputs: rank-Gaussian inputs on: linear CCA's 5-fold cross-validated" in printed, printed
    assert "rank-Gaussian inputs on: linear CCA" in (out / "report.html").read_text(encoding="utf-8")
