"""dccae's linear CCA fallback (mmcorr.models.linear_start, issue 15 goal 1): it reproduces linear
CCA exactly, switches on and off, and models saved before it existed load unchanged."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from model_testdata import small_paired

from mmcorr.config import ModelConfig
from mmcorr.models import DeepCCAE, LinearCCA


def _views(n: int = 120, seed: int = 0) -> list[np.ndarray]:
    ds = small_paired(n=n, seed=seed)
    return [ds.values[name].astype(np.float64) for name in ds.names]


def _model(cls: type, k: int = 3) -> torch.nn.Module:
    torch.manual_seed(0)
    cfg = ModelConfig(model=cls.name, latent_dim=k, hidden=(16,))
    return cls(["a", "b"], {"a": 6, "b": 4}, cfg)


def _encode(model: torch.nn.Module, views: list[np.ndarray]) -> dict[str, np.ndarray]:
    xs = {n: torch.as_tensor(v, dtype=torch.float32) for n, v in zip(["a", "b"], views, strict=True)}
    model.eval()
    with torch.no_grad():
        return {n: z.numpy() for n, z in model.encode(xs).items()}


def test_the_fallback_is_exactly_linear_cca_and_switches_back_to_the_network() -> None:
    views = _views()
    cca = _model(LinearCCA)
    cca.fit_closed_form(views)
    dccae = _model(DeepCCAE)
    deep = _encode(dccae, views)
    assert dccae.initialise_from(views) is None
    np.testing.assert_allclose(_encode(dccae, views)["a"], deep["a"])  # fitted, not yet used
    assert dccae.use_linear_start(True)
    lin, ref = _encode(dccae, views), _encode(cca, views)
    for n in ("a", "b"):
        np.testing.assert_allclose(lin[n], ref[n], atol=1e-4)
    assert dccae.use_linear_start(False)
    np.testing.assert_allclose(_encode(dccae, views)["b"], deep["b"])


def test_without_a_fitted_fallback_there_is_nothing_to_switch_to() -> None:
    dccae = _model(DeepCCAE)
    before = _encode(dccae, _views())
    assert not dccae.use_linear_start(True)
    np.testing.assert_array_equal(_encode(dccae, _views())["a"], before["a"])


def test_a_state_dict_saved_before_the_fallback_loads_and_encodes_as_before() -> None:
    old = _model(DeepCCAE)
    expected = _encode(old, _views())
    state = {k: v for k, v in old.state_dict().items() if not k.startswith("start.")}
    fresh = _model(DeepCCAE)
    with torch.no_grad():
        for p in fresh.parameters():
            p.add_(1.0)  # different weights, so the load must really restore them
    fresh.load_state_dict(state)
    np.testing.assert_array_equal(_encode(fresh, _views())["a"], expected["a"])


def test_a_model_saved_with_its_fallback_in_use_restores_it() -> None:
    views = _views()
    saved = _model(DeepCCAE)
    saved.initialise_from(views)
    saved.use_linear_start(True)
    fresh = _model(DeepCCAE)
    fresh.load_state_dict(saved.state_dict())
    np.testing.assert_allclose(_encode(fresh, views)["b"], _encode(saved, views)["b"])


def test_the_estimator_keeps_linear_cca_when_the_network_scores_lower_on_validation(tmp_path: Path) -> None:
    """A network that could not learn (a learning rate of 1e-6 for one epoch) scores below linear
    CCA on the validation pairs: the fitted dccae then answers with linear CCA, says so in its
    history, and saves and loads that choice."""
    from mmcorr.estimator import CorrelationModel

    ds = small_paired(n=300, seed=1)
    stuck = CorrelationModel("dccae", latent_dim=2, epochs=1, lr=1e-6, seed=0, hidden=(16,)).fit(ds)
    assert any("kept linear CCA" in str(r.get("note", "")) for r in stuck.history_)
    cca = CorrelationModel("cca", latent_dim=2, seed=0).fit(ds)
    assert stuck.score(ds) >= cca.score(ds) - 0.05
    again = CorrelationModel.load(stuck.save(tmp_path / "m"))
    np.testing.assert_allclose(again.transform(ds)["a"], stuck.transform(ds)["a"], atol=1e-5)
    learnt = CorrelationModel("dccae", latent_dim=2, epochs=30, seed=0, hidden=(16,)).fit(ds)
    notes = " ".join(str(r.get("note", "")) for r in learnt.history_)
    assert "kept linear CCA" not in notes or learnt.score(ds) >= cca.score(ds) - 0.05
