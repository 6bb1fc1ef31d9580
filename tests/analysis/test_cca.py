"""Linear CCA in closed form: known correlations recovered, MCCA, d > n, shapes and bad input."""

from __future__ import annotations

import numpy as np
import pytest

from mmcorr._cca import CCAFit, canonical_correlations, cca_transform, fit_cca
from mmcorr._validation import MmcorrError

RHOS = np.array([0.9, 0.7, 0.4])


def _pair(n: int, d1: int, d2: int, rhos: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Views whose population canonical correlations are exactly ``rhos`` (then mixed linearly)."""
    rng = np.random.default_rng(seed)
    k = rhos.size
    a = rng.standard_normal((n, d1))
    b = rng.standard_normal((n, d2))
    # Pair column j of a with column j of b at correlation rhos[j]; the rest are independent.
    b[:, :k] = rhos * a[:, :k] + np.sqrt(1 - rhos**2) * b[:, :k]
    # CCA is invariant to invertible linear maps: mixing must not change the answer.
    ma = rng.standard_normal((d1, d1)) + 3 * np.eye(d1)
    mb = rng.standard_normal((d2, d2)) + 3 * np.eye(d2)
    return a @ ma + 5.0, b @ mb - 2.0


def test_two_view_recovers_known_correlations_on_train_and_test() -> None:
    xa, xb = _pair(4000, 8, 6, RHOS, seed=0)
    fit = fit_cca([xa[:3000], xb[:3000]], n_components=4, reg=1e-4)
    assert isinstance(fit, CCAFit)
    np.testing.assert_allclose(fit.correlations[:3], RHOS, atol=0.04)
    assert fit.correlations[3] < 0.1
    assert np.all(np.diff(fit.correlations) <= 1e-12)  # descending
    za, zb = cca_transform(fit, [xa[3000:], xb[3000:]])
    test_corr = canonical_correlations(za, zb)
    np.testing.assert_allclose(test_corr[:3], RHOS, atol=0.06)
    # The variates have unit variance on the training data and are uncorrelated with each other.
    ta, _ = cca_transform(fit, [xa[:3000], xb[:3000]])
    np.testing.assert_allclose(np.cov(ta.T), np.eye(4), atol=0.02)


def test_matches_sklearn_on_first_component() -> None:
    from sklearn.cross_decomposition import CCA

    xa, xb = _pair(1500, 5, 4, RHOS, seed=1)
    ours = fit_cca([xa, xb], n_components=1, reg=1e-6).correlations[0]
    sk = CCA(n_components=1, max_iter=2000).fit(xa, xb)
    u, v = sk.transform(xa, xb)
    theirs = abs(np.corrcoef(u[:, 0], v[:, 0])[0, 1])
    assert ours == pytest.approx(theirs, abs=1e-3)


def test_deterministic_and_signs_fixed() -> None:
    xa, xb = _pair(300, 5, 5, RHOS, seed=2)
    f1 = fit_cca([xa, xb], 3)
    f2 = fit_cca([xa.copy(), xb.copy()], 3)
    for w1, w2 in zip(f1.weights, f2.weights, strict=True):
        np.testing.assert_array_equal(w1, w2)
    # Paired variates correlate positively.
    za, zb = cca_transform(f1, [xa, xb])
    assert np.all(canonical_correlations(za, zb) > 0)


def test_mcca_three_views_shared_signal() -> None:
    rng = np.random.default_rng(3)
    n = 2000
    shared = rng.standard_normal((n, 2))
    views = []
    for d in (6, 5, 7):
        x = rng.standard_normal((n, d))
        x[:, :2] = 0.9 * shared + np.sqrt(1 - 0.81) * x[:, :2]
        views.append(x @ (rng.standard_normal((d, d)) + 3 * np.eye(d)))
    fit = fit_cca(views, n_components=3)
    assert fit.n_views == 3 and fit.n_components == 3
    assert [w.shape for w in fit.weights] == [(6, 3), (5, 3), (7, 3)]
    # Pairwise population correlation of the shared parts is 0.81 for both shared components.
    np.testing.assert_allclose(fit.correlations[:2], 0.81, atol=0.05)
    assert fit.correlations[2] < 0.15
    zs = cca_transform(fit, views)
    for i in range(3):
        for j in range(i + 1, 3):
            c = canonical_correlations(zs[i], zs[j])
            assert np.all(c[:2] > 0.75)
        np.testing.assert_allclose(zs[i].std(axis=0, ddof=1)[:2], 1.0, atol=0.05)


def test_two_view_mcca_agrees_with_classical() -> None:
    # MCCA's eigenvalue for two views is 1 + rho: the mapping reports rho.
    xa, xb = _pair(500, 4, 4, RHOS, seed=4)
    c2 = fit_cca([xa, xb], 3).correlations
    # A third view that is a copy of the first: the three-view answer differs, but stays in [0, 1].
    c3 = fit_cca([xa, xb, xa + 1e-3 * np.random.default_rng(0).standard_normal(xa.shape)], 3)
    assert np.all((c3.correlations >= 0) & (c3.correlations <= 1))
    assert c2[0] == pytest.approx(0.9, abs=0.05)


def test_ridge_handles_more_features_than_samples() -> None:
    rng = np.random.default_rng(5)
    n = 40
    xa = rng.standard_normal((n, 300)).astype(np.float32)
    xb = rng.standard_normal((n, 250)).astype(np.float32)
    fit = fit_cca([xa, xb], n_components=5, reg=1e-1)
    assert np.all(np.isfinite(fit.correlations))
    assert [w.shape for w in fit.weights] == [(300, 5), (250, 5)]
    # Training correlations overfit (random data, d > n) but the ridge keeps them below 1 ...
    assert np.all(fit.correlations < 1.0)
    # ... and on fresh data they collapse towards 0.
    za, zb = cca_transform(fit, [rng.standard_normal((500, 300)), rng.standard_normal((500, 250))])
    assert np.all(np.abs(canonical_correlations(za, zb)) < 0.25)


def test_constant_and_collinear_features_stay_finite() -> None:
    xa, xb = _pair(200, 4, 4, RHOS, seed=6)
    xa = np.hstack([xa, np.ones((200, 1)), xa[:, :1] * 2])
    fit = fit_cca([xa, xb], 3, reg=0.0)
    assert np.all(np.isfinite(fit.weights[0]))
    assert fit.correlations[0] == pytest.approx(0.9, abs=0.06)


def test_canonical_correlations_constant_column_is_zero() -> None:
    z = np.column_stack([np.arange(5.0), np.ones(5)])
    np.testing.assert_allclose(canonical_correlations(z, z), [1.0, 0.0])


@pytest.mark.parametrize(
    ("views", "k", "match"),
    [
        ([np.zeros((10, 3))], 1, "at least 2 arrays"),
        ([np.zeros((10, 3)), np.zeros((9, 3))], 1, "same number of rows"),
        ([np.zeros((10, 3)), np.zeros(10)], 1, r"views\[1\] must be a 2-D numeric array"),
        ([np.full((10, 3), np.nan), np.zeros((10, 3))], 1, r"views\[0\] contains NaN"),
        ([np.ones((10, 3)), np.ones((10, 2))], 3, "'n_components' parameter must be an int in \\[1, 2\\]"),
        ([np.ones((2, 3)), np.ones((2, 2))], 1, "at least 3 paired samples"),
    ],
)
def test_bad_input(views: list[np.ndarray], k: int, match: str) -> None:
    with pytest.raises(MmcorrError, match=match):
        fit_cca(views, k)


def test_bad_reg() -> None:
    with pytest.raises(MmcorrError, match="'reg' parameter"):
        fit_cca([np.ones((10, 2)), np.ones((10, 2))], 1, reg=-1.0)


def test_transform_wrong_width() -> None:
    xa, xb = _pair(100, 3, 3, RHOS, seed=7)
    fit = fit_cca([xa, xb], 2)
    with pytest.raises(MmcorrError, match=r"views\[1\] must have shape \(n, 3\)"):
        cca_transform(fit, [xa, xb[:, :2]])
    with pytest.raises(MmcorrError, match="list of 2 arrays"):
        cca_transform(fit, [xa])


def test_canonical_correlations_shape_mismatch() -> None:
    with pytest.raises(MmcorrError, match="same shape"):
        canonical_correlations(np.zeros((5, 2)), np.zeros((5, 3)))
