"""The closed-form heads: the in-place alignment and the per-chunk centred ridge equal their
whole-array formulas."""

from __future__ import annotations

import numpy as np

from mmcorr.models.heads import LinearHeads, fit_ridge_tuned


def test_aligned_in_place_equals_a_fresh_result() -> None:
    rng = np.random.default_rng(0)
    z = rng.normal(size=(1000, 4)) + 3.0
    mean, weight = z.mean(axis=0), rng.normal(size=(4, 4))
    heads = LinearHeads(align={"a": (mean, weight)})
    expected = (z - mean) @ weight
    np.testing.assert_allclose(heads.aligned("a", z), expected, rtol=1e-12)
    out = heads.aligned("a", z, inplace=True)
    assert out is z
    np.testing.assert_allclose(z, expected, rtol=1e-12)
    assert heads.aligned("b", z) is z  # no alignment for b: unchanged


def test_ridge_centred_per_chunk_equals_the_closed_form() -> None:
    rng = np.random.default_rng(1)
    z = rng.normal(size=(500, 3)) + 2.0
    y = (z @ rng.normal(size=(3, 5)) + 0.1 * rng.normal(size=(500, 5))).astype(np.float32)
    mz, coef, my, alpha = fit_ridge_tuned(z, y)
    zc, yc = z - z.mean(axis=0), y - y.astype(np.float64).mean(axis=0)
    expected = np.linalg.solve(zc.T @ zc + alpha * 500 * np.eye(3), zc.T @ yc)
    np.testing.assert_allclose(coef, expected, rtol=1e-9)
    np.testing.assert_allclose(mz, z.mean(axis=0))
    np.testing.assert_allclose(my, y.astype(np.float64).mean(axis=0), rtol=1e-12)
