"""Issue 16, honest headlines: components ordered by validation, the memorisation gap, prediction
against its baseline, and one label per number. Each test fails on the code before the issue."""

from __future__ import annotations

import numpy as np
import pytest

from mmcorr._validation import MmcorrError
from mmcorr.analysis import canonical_correlation_test, prediction_r2
from mmcorr.config import AnalysisConfig
from mmcorr.runs import (
    MEMORISATION_RATIO,
    CanonicalCorrelations,
    Direction,
    FitGap,
    Pair,
    RunMetrics,
    SummaryMetric,
    fit_gap,
    prediction_notes,
)
from mmcorr.runs.metrics import LatentSet, MetricResults, compute_metrics

RHO = np.array([0.1, 0.3, 0.5, 0.7, 0.9])  # true per-direction correlation of new pairs


def _pairs(n: int, rho: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((n, rho.size))
    b = rho * a + np.sqrt(1 - rho**2) * rng.standard_normal((n, rho.size))
    return a, b


def _swapped(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """New pairs whose shared directions are paired in reverse order: a network that memorised
    training pairs a ~ b learned nothing that carries over, so only a fit on new pairs finds them."""
    a, b = _pairs(n, RHO, seed)
    return a, b[:, ::-1]


def _memorised(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Training latents of a network that memorised its pairs: every direction correlates ~1."""
    a = np.random.default_rng(seed).standard_normal((n, RHO.size))
    return a, a + 1e-3 * np.random.default_rng(seed + 1).standard_normal(a.shape)


def test_cc1_is_the_best_validation_direction_not_the_training_order() -> None:
    ta, tb = _memorised(400, 0)
    ea, eb = _pairs(2000, RHO, 1)
    va, vb = _pairs(2000, RHO, 2)
    old = canonical_correlation_test(ta, tb, ea, eb, permutations=0)
    # the training order is arbitrary: the old CC1 is far from the best held-out direction
    assert old.correlations[0] < old.correlations.max() - 0.1
    new = canonical_correlation_test(ta, tb, ea, eb, val_a=va, val_b=vb, permutations=0)
    assert new.ordered_by == "validation" and new.fit_on == "train"
    assert new.correlations[0] > new.correlations.max() - 0.03  # the best, up to noise
    assert np.all(np.diff(new.correlations) < 0.03)  # descending up to noise
    assert new.total == pytest.approx(old.total)  # reordering alone keeps the total
    assert new.train_correlations is not None and new.train_correlations.sum() > 4.9


def test_alignment_fitted_on_validation_finds_the_shared_directions() -> None:
    ta, tb = _memorised(400, 0)
    ea, eb = _pairs(2000, RHO, 1)
    va, vb = _pairs(2000, RHO, 2)
    res = canonical_correlation_test(ta, tb, ea, eb, val_a=va, val_b=vb, fit_on="validation", permutations=0)
    assert res.fit_on == "validation"
    np.testing.assert_allclose(res.correlations, RHO[::-1], atol=0.06)
    assert res.val_correlations is not None and res.train_correlations is not None
    assert res.train_correlations.sum() > 4.9 > res.total + 2  # the memorisation gap is recorded


def test_fit_on_must_name_train_or_validation() -> None:
    a, b = _pairs(50, RHO, 0)
    with pytest.raises(
        MmcorrError, match=r"'fit_on' parameter must be one of \['train', 'validation', 'auto'\]. Got 'test'"
    ):
        canonical_correlation_test(a, b, a, b, val_a=a, val_b=b, fit_on="test")  # type: ignore[arg-type]


def test_validation_latents_come_in_pairs() -> None:
    a, b = _pairs(50, RHO, 0)
    with pytest.raises(MmcorrError, match="'val_a' and 'val_b' parameters must be given together"):
        canonical_correlation_test(a, b, a, b, val_a=a)


def test_fitting_on_validation_needs_validation_latents() -> None:
    a, b = _pairs(50, RHO, 0)
    with pytest.raises(MmcorrError, match="'fit_on' parameter 'validation' needs 'val_a' and 'val_b'"):
        canonical_correlation_test(a, b, a, b, fit_on="validation")


def test_fitting_on_validation_needs_three_validation_pairs() -> None:
    a, b = _pairs(50, RHO, 0)
    with pytest.raises(MmcorrError, match=r"needs at least 3 validation samples .* Got 2"):
        canonical_correlation_test(a, b, a, b, val_a=a[:2], val_b=b[:2], fit_on="validation")


def test_variance_weighted_r2_is_not_dragged_by_a_near_constant_feature() -> None:
    rng = np.random.default_rng(0)
    y = rng.standard_normal((200, 3))
    y[:, 2] = 0.0
    y[0, 2] = 1e-3  # a border pixel: almost always 0 in the test rows
    mean = np.tile(np.r_[y[:, :2].mean(axis=0), 0.01], (200, 1))  # the training mean of the pixel: 0.01
    assert prediction_r2(y, mean)[0] < -1000  # the uniform mean: one pixel makes it meaningless
    assert prediction_r2(y, mean, weighting="variance")[0] == pytest.approx(0.0, abs=1e-3)


def test_r2_weighting_must_be_uniform_or_variance() -> None:
    y = np.eye(3)
    with pytest.raises(
        MmcorrError, match=r"'weighting' parameter must be 'uniform' or 'variance'\. Got 'mean'"
    ):
        prediction_r2(y, y, weighting="mean")  # type: ignore[arg-type]


def _sets(seed: int = 0) -> tuple[LatentSet, LatentSet, LatentSet]:
    names = ["a", "b"]
    ta, tb = _memorised(300, seed)
    ea, eb = _swapped(300, seed + 1)
    va, vb = _swapped(300, seed + 2)

    def mk(a: np.ndarray, b: np.ndarray) -> LatentSet:
        return LatentSet(names, {"a": a, "b": b, "joint": (a + b) / 2})

    return mk(ta, tb), mk(ea, eb), mk(va, vb)


def test_compute_metrics_fits_on_validation_and_records_the_three_totals() -> None:
    train, test, val = _sets()
    res = compute_metrics(train, test, AnalysisConfig(permutations=0), val=val)
    cc = res.canonical[Pair("a", "b")]
    assert cc.fit_on == "validation" and cc.ordered_by == "validation"
    assert cc.cc1 == pytest.approx(max(cc.correlations))
    assert cc.train_total is not None and cc.val_total is not None
    assert cc.train_total > 4.9 and cc.val_total > cc.total - 0.5 and cc.total > 2.0
    summary = res.held_out({}).summary
    assert summary.canonical_train_total == pytest.approx(cc.train_total)
    assert summary.canonical_val_total == pytest.approx(cc.val_total)


def test_too_few_validation_pairs_keep_the_training_fit() -> None:
    train, test, val = _sets()
    small = type(val)(val.names, {k: v[:20] for k, v in val.latents.items()})  # < 5 per dimension
    cc = compute_metrics(train, test, AnalysisConfig(permutations=0), val=small).canonical[Pair("a", "b")]
    assert cc.fit_on == "train" and cc.ordered_by == "validation"


def test_headline_r2_is_the_best_direction_not_a_mean_with_minus_68() -> None:
    ab, ba = Direction("a", "b"), Direction("b", "a")
    held = MetricResults().held_out({ab: 0.31, ba: -68.7}, baseline_r2={ab: -0.004, ba: -0.01})
    assert held.summary.prediction_r2_best == pytest.approx(0.31)
    assert held.summary.prediction_r2 is None  # the old averaged headline is no longer written
    assert SummaryMetric.PREDICTION_R2.value not in held.summary.to_json()
    notes = prediction_notes(held)
    assert list(notes) == [ba] and "below the -0.010 of predicting the training mean of a" in notes[ba]


def _metrics(train_total: float, held_out: float, k: int = 10) -> RunMetrics:
    from dataclasses import replace

    from mmcorr.runs import RunDetails

    corr = (held_out / k,) * k
    cc = CanonicalCorrelations(
        correlations=corr,
        total=held_out,
        p_values=(0.01,) * k,
        n_test=100,
        permutations=0,
        train_correlations=(train_total / k,) * k,
        val_correlations=corr,
    )
    res = MetricResults(canonical={Pair("a", "b"): cc}).held_out({})
    details = RunDetails("r", "ds", "dccae", k, 500, 300, 100, 100, 1.0, 10, 0)
    return RunMetrics(details, ("a", "b"), replace(res), "2026-01-01T00:00:00", "0")


def test_memorisation_is_flagged_with_the_issue_numbers() -> None:
    gap = fit_gap(_metrics(9.84, 2.30))
    assert isinstance(gap, FitGap) and gap.flagged
    message = gap.message()
    assert message is not None and message.startswith("training 9.84 / held-out 2.30: the model fits")
    assert "fewer epochs" in message


def test_a_held_out_total_near_the_training_total_is_not_flagged() -> None:
    gap = fit_gap(_metrics(8.0, 8.0 * MEMORISATION_RATIO + 0.1))
    assert gap is not None and not gap.flagged and gap.message() is None
    assert fit_gap(_metrics(8.0, 8.0 * MEMORISATION_RATIO - 0.1)).flagged  # type: ignore[union-attr]


def test_ridge_strength_is_chosen_on_validation_pairs() -> None:
    from mmcorr.models.heads import RIDGE_ALPHA, RIDGE_ALPHA_GRID, fit_ridge_tuned

    rng = np.random.default_rng(0)
    z, zv = rng.standard_normal((60, 10)), rng.standard_normal((200, 10))
    y, yv = rng.standard_normal((60, 5)), rng.standard_normal((200, 5))  # unrelated to z: noise
    _, coef, mean, alpha = fit_ridge_tuned(z, y, val=(zv, yv))
    assert alpha == max(RIDGE_ALPHA_GRID) and alpha != RIDGE_ALPHA  # shrunk to the training mean
    pred = (zv - z.mean(axis=0)) @ coef + mean
    baseline = np.tile(y.mean(axis=0), (200, 1))
    r2 = prediction_r2(yv, pred, weighting="variance")[0]
    assert r2 > prediction_r2(yv, baseline, weighting="variance")[0] - 0.01
    w = rng.standard_normal((10, 5))
    _, _, _, alpha = fit_ridge_tuned(z, z @ w, val=(zv, zv @ w))  # an exact linear map: little shrinkage
    assert alpha == min(RIDGE_ALPHA_GRID)


def test_auto_fits_on_validation_only_when_that_scores_higher_out_of_sample() -> None:
    ea, eb = _swapped(2000, 1)
    va, vb = _swapped(600, 2)
    ta, tb = _memorised(400, 0)  # the training fit pairs the wrong directions: the validation fit wins
    res = canonical_correlation_test(ta, tb, ea, eb, val_a=va, val_b=vb, fit_on="auto", permutations=0)
    assert res.fit_on == "validation"
    ta, tb = _swapped(3000, 3)  # training pairs like new ones: the larger training fit wins
    va, vb = va[:60], vb[:60]  # few new pairs: a fit on half of them is the noisier one
    res = canonical_correlation_test(ta, tb, ea, eb, val_a=va, val_b=vb, fit_on="auto", permutations=0)
    assert res.fit_on == "train" and res.ordered_by == "validation"
