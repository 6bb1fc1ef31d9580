"""Cross-modal prediction keeps the ridge map or the decoder, whichever predicts the validation
pairs better (issue 15 goal 6); the choice is saved, and models saved without it predict as before."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from model_testdata import small_paired

from mmcorr.data.types import PairedDataset
from mmcorr.estimator import CorrelationModel
from mmcorr.estimator._batches import RowBatches
from mmcorr.estimator._predict import (
    choose_path,
    choose_paths,
    predict_preprocessed,
    prediction_path,
    variance_r2,
)
from mmcorr.models.heads import DECODER, RIDGE, LinearHeads, PredictionChoice

SAVED_V1 = Path(__file__).parent / "saved_v1"


def _nonlinear(n: int = 1000, seed: int = 0) -> PairedDataset:
    """b depends on a's one signal s through s**2 and |s|: a decoder can bend, a linear map not."""
    rng = np.random.default_rng(seed)
    s = rng.uniform(-2, 2, size=(n, 1))
    a = np.hstack([s, -s, 0.5 * s]) + 0.05 * rng.normal(size=(n, 3))
    b = np.hstack([s**2, np.abs(s), s**2 - 1]) + 0.05 * rng.normal(size=(n, 3))
    return PairedDataset(
        names=["a", "b"],
        values={"a": a.astype(np.float32), "b": b.astype(np.float32)},
        features={"a": ["a0", "a1", "a2"], "b": ["b0", "b1", "b2"]},
        ids=np.array([f"s{i}" for i in range(n)], dtype=object),
        mask=np.ones((n, 2), dtype=bool),
    )


@pytest.fixture(scope="module")
def corrae() -> CorrelationModel:
    return CorrelationModel("corrae", 2, hidden=(32,), epochs=20, batch_size=64, seed=0, device="cpu").fit(
        _nonlinear()
    )


def test_the_decoder_is_chosen_only_when_its_validation_r2_is_higher() -> None:
    rng = np.random.default_rng(0)
    y = rng.normal(size=(100, 3))
    close, far = y + 0.1 * rng.normal(size=y.shape), y + rng.normal(size=y.shape)
    assert choose_path(y, ridge=far, decoder=close).path == DECODER
    picked = choose_path(y, ridge=close, decoder=far)
    assert picked.path == RIDGE
    assert picked.val_r2_ridge == pytest.approx(variance_r2(y, close)) and picked.val_r2_decoder < 0.5
    assert choose_path(y, ridge=close, decoder=close).path == RIDGE  # a tie keeps the linear map
    assert choose_path(y, ridge=close, decoder=np.full_like(y, np.nan)).path == RIDGE
    # Predicting the mean scores 0: the share of the target's variance explained.
    assert variance_r2(y, np.broadcast_to(y.mean(axis=0), y.shape)) == pytest.approx(0.0)


def test_a_fit_records_both_validation_r2s_and_keeps_the_better(corrae: CorrelationModel) -> None:
    assert set(corrae.prediction_choice_) == {("a", "b"), ("b", "a")}
    for choice in corrae.prediction_choice_.values():
        assert np.isfinite(choice.val_r2_ridge) and np.isfinite(choice.val_r2_decoder)
        better = DECODER if choice.val_r2_decoder > choice.val_r2_ridge else RIDGE
        assert choice.path == better
    # a determines b here: whichever path is kept explains most of b's variance.
    best = corrae.prediction_choice_[("a", "b")]
    assert max(best.val_r2_ridge, best.val_r2_decoder) > 0.8


def _sabotaged(model: CorrelationModel, ds: PairedDataset) -> dict[str, PredictionChoice]:
    """Re-run the choice on ``ds`` with the ridge map a->b replaced by the training mean, and with
    the decoder of b scaled to nonsense: the other path must win each time."""
    val = RowBatches(ds, model.preprocessor_, model.device_)
    out = {}
    mz, coef, my = model.heads_.ridge[("a", "b")]
    heads = LinearHeads(align=model.heads_.align, ridge={("a", "b"): (mz, np.zeros_like(coef), my)})
    choose_paths(model.module_, heads, model.preprocessor_, val)
    out["ridge broken"] = heads.choice[("a", "b")]
    heads = LinearHeads(align=model.heads_.align, ridge={("a", "b"): (mz, coef, my)})
    state = {k: v.clone() for k, v in model.module_.state_dict().items()}
    try:
        with torch.no_grad():
            for p in model.module_.decoders["b"].parameters():
                p.mul_(-50.0)
        choose_paths(model.module_, heads, model.preprocessor_, val)
    finally:
        model.module_.load_state_dict(state)
    out["decoder broken"] = heads.choice[("a", "b")]
    return out


def test_the_choice_follows_which_path_predicts_better(corrae: CorrelationModel) -> None:
    found = _sabotaged(corrae, _nonlinear(300, seed=1))
    assert found["ridge broken"].path == DECODER and found["ridge broken"].val_r2_ridge < 0.01
    assert found["decoder broken"].path == RIDGE and found["decoder broken"].val_r2_decoder < 0


def test_predict_follows_the_choice(corrae: CorrelationModel) -> None:
    ds = _nonlinear(50, seed=2)
    rows = RowBatches(ds, corrae.preprocessor_, corrae.device_)
    kept = dict(corrae.heads_.choice)
    try:
        for path in (RIDGE, DECODER):
            corrae.heads_.choice[("a", "b")] = PredictionChoice(path, 0.0, 0.0)
            y = predict_preprocessed(corrae.module_, corrae.heads_, rows, "a", "b", path)
            expected = corrae.preprocessor_.inverse_transform("b", y).astype(np.float32)
            np.testing.assert_allclose(corrae.predict(ds, "a", "b"), expected, rtol=1e-6)
    finally:
        corrae.heads_.choice = kept


def test_the_choice_survives_save_and_load(corrae: CorrelationModel, tmp_path: Path) -> None:
    loaded = CorrelationModel.load(corrae.save(tmp_path / "m"))
    assert loaded.prediction_choice_ == corrae.prediction_choice_
    ds = _nonlinear(50, seed=3)
    np.testing.assert_array_equal(loaded.predict(ds, "b", "a"), corrae.predict(ds, "b", "a"))


@pytest.mark.parametrize(("name", "path"), [("dccae", RIDGE), ("mvae", DECODER)])
def test_models_saved_without_a_choice_keep_their_familys_path(name: str, path: str) -> None:
    model = CorrelationModel.load(SAVED_V1 / name)
    assert model.prediction_choice_ == {}
    expected = np.load(SAVED_V1 / "expected.npz", allow_pickle=False)[f"{name}_b_from_a"]
    np.testing.assert_array_equal(model.predict(small_paired(), "a", "b"), expected)
    assert prediction_path(model.module_, model.heads_, "a", "b") == path


def test_the_closed_form_family_has_only_the_ridge() -> None:
    model = CorrelationModel("cca", 2, seed=0).fit(small_paired())
    assert model.prediction_choice_ == {} and ("a", "b") in model.heads_.ridge
