"""Held-out canonical correlations and their permutation null, on latents with known truth."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mmcorr._validation import MmcorrError
from mmcorr.analysis import CanonicalResult, canonical_correlation_test

RHOS = np.array([0.95, 0.8, 0.5])


def _latents(n: int, rhos: np.ndarray, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(n, k) latent pairs whose population canonical correlations are ``rhos`` then 0, mixed."""
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((n, k))
    b = rng.standard_normal((n, k))
    b[:, : rhos.size] = rhos * a[:, : rhos.size] + np.sqrt(1 - rhos**2) * b[:, : rhos.size]
    mix = np.random.default_rng(99).standard_normal((k, k)) + 2 * np.eye(k)
    return (a @ mix).astype(np.float32), (b @ mix.T).astype(np.float32)


def test_test_correlations_match_truth_and_p_values_tiny() -> None:
    tra, trb = _latents(2000, RHOS, 5, seed=0)
    tea, teb = _latents(1000, RHOS, 5, seed=1)
    res = canonical_correlation_test(tra, trb, tea, teb, permutations=200, seed=0)
    assert isinstance(res, CanonicalResult)
    assert res.correlations.shape == (5,) and res.null.shape == (200, 5) and res.p_values.shape == (5,)
    np.testing.assert_allclose(res.correlations[:3], RHOS, atol=0.05)
    assert np.all(np.abs(res.correlations[3:]) < 0.1)
    assert res.total == pytest.approx(res.correlations.sum())
    # Real signal beats every shuffle: the smallest attainable p-value.
    np.testing.assert_allclose(res.p_values[:3], 1 / 201)
    # The null is centred on 0 with spread ~ 1/sqrt(n_test).
    assert abs(res.null.mean()) < 0.01
    assert res.null.std() == pytest.approx(1 / np.sqrt(1000), rel=0.25)


def test_shuffled_pairs_give_large_p_values() -> None:
    tra, trb = _latents(600, RHOS, 4, seed=2)
    tea, teb = _latents(400, RHOS, 4, seed=3)
    rng = np.random.default_rng(0)
    res = canonical_correlation_test(tra, trb, tea, teb[rng.permutation(400)], permutations=200)
    assert np.all(np.abs(res.correlations) < 0.2)
    # Under the null, p-values are ~uniform: with 4 components none should be tiny on this seed,
    # and their mean is near 0.5.
    assert res.p_values.min() > 0.01
    assert 0.2 < res.p_values.mean() < 0.8


def test_seeded_and_n_components() -> None:
    tra, trb = _latents(300, RHOS, 4, seed=4)
    tea, teb = _latents(200, RHOS, 4, seed=5)
    r1 = canonical_correlation_test(tra, trb, tea, teb, n_components=2, permutations=30, seed=7)
    r2 = canonical_correlation_test(tra, trb, tea, teb, n_components=2, permutations=30, seed=7)
    r3 = canonical_correlation_test(tra, trb, tea, teb, n_components=2, permutations=30, seed=8)
    assert r1.correlations.shape == (2,)
    np.testing.assert_array_equal(r1.null, r2.null)
    assert not np.array_equal(r1.null, r3.null)


def test_nan_rows_skipped_and_to_dict_is_json() -> None:
    tra, trb = _latents(300, RHOS, 3, seed=6)
    tea, teb = _latents(200, RHOS, 3, seed=7)
    tea[:10] = np.nan
    trb[:5] = np.nan
    res = canonical_correlation_test(tra, trb, tea, teb, permutations=0)
    assert res.n_train == 295 and res.n_test == 190
    assert np.all(np.isnan(res.p_values))
    d = json.loads(json.dumps(res.to_dict()))
    assert d["p_values"] == [None, None, None]
    assert d["permutations"] == 0 and len(d["correlations"]) == 3
    res2 = canonical_correlation_test(tra, trb, tea, teb, permutations=20)
    d2 = res2.to_dict()
    assert len(d2["null"]) == 20 and len(d2["null_q95"]) == 3
    assert all(lo <= hi for lo, hi in zip(d2["null_q05"], d2["null_q95"], strict=True))


def test_different_latent_widths() -> None:
    rng = np.random.default_rng(8)
    s = rng.standard_normal((500, 2))
    a = np.hstack([s, rng.standard_normal((500, 3))])
    b = np.hstack([s + 0.1 * rng.standard_normal((500, 2)), rng.standard_normal((500, 1))])
    res = canonical_correlation_test(a[:300], b[:300], a[300:], b[300:], permutations=10)
    assert res.correlations.shape == (3,)
    assert np.all(res.correlations[:2] > 0.95)


def test_bad_shapes() -> None:
    a = np.zeros((50, 3))
    with pytest.raises(MmcorrError, match="'train_b' parameter must have 50 rows"):
        canonical_correlation_test(a, np.zeros((40, 3)), a, a)
    with pytest.raises(MmcorrError, match="'test_a' parameter must have 3 columns"):
        canonical_correlation_test(a, a, np.zeros((50, 2)), a)
    with pytest.raises(MmcorrError, match="'test_b' parameter must be a 2-D numeric array"):
        canonical_correlation_test(a, a, a, np.zeros(50))


def test_bad_parameters() -> None:
    tra, trb = _latents(100, RHOS, 3, seed=9)
    with pytest.raises(MmcorrError, match=r"'n_components' parameter must be an int in \[1, 3\]"):
        canonical_correlation_test(tra, trb, tra, trb, n_components=4)
    with pytest.raises(MmcorrError, match="'permutations' parameter"):
        canonical_correlation_test(tra, trb, tra, trb, permutations=-1)
    with pytest.raises(MmcorrError, match="'reg' parameter"):
        canonical_correlation_test(tra, trb, tra, trb, reg=2.0)


def test_too_few_test_samples() -> None:
    tra, trb = _latents(100, RHOS, 3, seed=10)
    tea = tra[:5].copy()
    tea[2:] = np.nan
    with pytest.raises(MmcorrError, match=r"at least 3 test samples present in both modalities\. Got 2"):
        canonical_correlation_test(tra, trb, tea, trb[:5])
