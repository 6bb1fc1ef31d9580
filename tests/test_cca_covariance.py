"""The covariance form of linear CCA (row-chunked sums, no copy of the data) gives the thin-SVD
form's fit: equal weights, means and correlations within 1e-6, two views and MCCA."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from mmcorr._cca import cca_moments, fit_cca
from mmcorr._validation import MmcorrError


def _views(n: int, dims: tuple[int, ...], seed: int) -> list[np.ndarray]:
    """Views sharing 2 latent signals, mixed linearly, with offsets (centring must not lose digits)."""
    rng = np.random.default_rng(seed)
    shared = rng.standard_normal((n, 2))
    out = []
    for i, d in enumerate(dims):
        x = rng.standard_normal((n, d))
        x[:, :2] += shared
        out.append(x @ (rng.standard_normal((d, d)) + 3 * np.eye(d)) + 5.0 * (i + 1))
    return out


def _assert_same(views: list[np.ndarray], k: int, reg: float) -> None:
    cov = fit_cca(views, k, reg=reg, solver="covariance")
    svd = fit_cca(views, k, reg=reg, solver="svd")
    np.testing.assert_allclose(cov.correlations, svd.correlations, atol=1e-6)
    for a, b in zip(cov.weights, svd.weights, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-6 * np.abs(b).max())
    for a, b in zip(cov.means, svd.means, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-9)


@pytest.mark.parametrize("dims", [(6, 5), (6, 5, 8), (4, 7, 5, 6)])
@pytest.mark.parametrize("reg", [0.0, 1e-3, 0.1])
def test_covariance_solver_matches_the_svd(dims: tuple[int, ...], reg: float) -> None:
    _assert_same(_views(1500, dims, seed=len(dims)), k=3, reg=reg)


def test_float32_input_and_rank_deficient_views_match() -> None:
    a, b = _views(400, (4, 4), seed=9)
    a = np.hstack([a, np.ones((400, 1)), 2 * a[:, :1]])  # a constant and a collinear feature
    _assert_same([a.astype(np.float32), b.astype(np.float32)], k=3, reg=0.0)
    _assert_same([a, b], k=3, reg=1e-3)


def test_auto_uses_the_covariance_for_tall_data_and_copies_nothing() -> None:
    # 300k x 2 x 16 float64 = 73 MiB of views: the SVD form's centred and whitened copies would
    # hold several times that; the covariance form holds one 32 MiB row chunk and (32, 32) sums.
    views = _views(300_000, (16, 16), seed=1)
    tracemalloc.start()
    try:
        fit = fit_cca(views, 4)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 0.7 * sum(v.nbytes for v in views)
    np.testing.assert_allclose(fit.correlations[:2], 0.5, atol=0.05)  # shared / (shared + noise)


def test_moments_are_the_covariance_of_the_stacked_views() -> None:
    views = _views(300, (3, 2), seed=2)
    means, cov = cca_moments(views)
    np.testing.assert_allclose(np.concatenate(means), np.hstack(views).mean(axis=0))
    np.testing.assert_allclose(cov, np.cov(np.hstack(views).T), rtol=1e-12, atol=1e-10)


def test_nan_is_named_by_either_solver() -> None:
    a, b = _views(50, (3, 3), seed=3)
    b[7, 1] = np.nan
    for solver in ("covariance", "svd"):
        with pytest.raises(MmcorrError, match=r"views\[1\] contains NaN"):
            fit_cca([a, b], 2, solver=solver)  # type: ignore[arg-type]


def test_bad_solver() -> None:
    a, b = _views(50, (3, 3), seed=4)
    with pytest.raises(MmcorrError, match="'solver' parameter must be one of 'auto', 'covariance', 'svd'"):
        fit_cca([a, b], 2, solver="qr")  # type: ignore[arg-type]
