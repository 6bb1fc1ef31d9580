"""Demo generators: shapes, determinism, the noisy-digits protocol and the synthetic ceiling."""

from __future__ import annotations

import numpy as np
import pytest

from mmcorr import MmcorrError
from mmcorr.data import DEMO_NAMES, DEMO_SPLIT_COLUMN, make_demo
from mmcorr.data.demos import synthetic_parts


def _cca_correlations(x: np.ndarray, y: np.ndarray, k: int, reg: float = 1e-6) -> np.ndarray:
    """Reference linear CCA (whitening + SVD), independent of the code under test."""
    x = x - x.mean(0)
    y = y - y.mean(0)
    n = len(x)

    def inv_sqrt(c: np.ndarray) -> np.ndarray:
        w, v = np.linalg.eigh(c + reg * np.eye(len(c)))
        return (v / np.sqrt(w)) @ v.T

    cxx, cyy, cxy = x.T @ x / n, y.T @ y / n, x.T @ y / n
    return np.linalg.svd(inv_sqrt(cxx) @ cxy @ inv_sqrt(cyy), compute_uv=False)[:k]


def test_demo_names() -> None:
    assert DEMO_NAMES == ("digits-media", "digits-noisy", "synthetic")


def test_synthetic_shape_and_determinism() -> None:
    a = make_demo("synthetic", seed=3, n_samples=200)
    b = make_demo("synthetic", seed=3, n_samples=200)
    c = make_demo("synthetic", seed=4, n_samples=200)
    assert a.names == ["a", "b", "c"] and a.n_samples == 200 and a.mask.all()
    assert all(a.values[n].dtype == np.float32 for n in a.names)
    np.testing.assert_array_equal(a.values["b"], b.values["b"])
    assert not np.array_equal(a.values["b"], c.values["b"])
    assert set(a.info["true_correlations"]) == {"a|b", "a|c", "b|c"}
    rho = np.array(a.info["true_correlations"]["a|b"])
    assert np.all(np.diff(rho) < 0) and np.all((rho > 0) & (rho < 1))


def test_synthetic_ceiling_matches_linear_cca_on_premap_views() -> None:
    _, linear, truth = synthetic_parts(seed=0, n=60000)
    for pair, rho in truth.items():
        a, b = pair.split("|")
        est = _cca_correlations(linear[a], linear[b], len(rho))
        np.testing.assert_allclose(est, rho, atol=0.02)


def test_synthetic_observed_views_are_nonlinear() -> None:
    observed, linear, _ = synthetic_parts(seed=0, n=2000)
    # An invertible elementwise map keeps the order of values but is not affine.
    x, y = linear["b"][:, 0], observed["b"][:, 0]
    np.testing.assert_array_equal(np.argsort(x), np.argsort(y))
    assert abs(np.corrcoef(x, y)[0, 1]) < 0.99


def test_digits_noisy_protocol() -> None:
    ds = make_demo("digits-noisy", seed=0)
    assert ds.names == ["view1", "view2"] and ds.n_samples == 1797 and ds.dims == {"view1": 64, "view2": 64}
    assert ds.label_column == "digit" and ds.labels is not None and set(ds.labels) == set(range(10))
    for n in ds.names:
        assert ds.values[n].min() >= 0.0 and ds.values[n].max() <= 1.0
    # view 2 is noisy: almost no pixel is exactly 0 (U(0,1) noise added, then clipped)
    assert (ds.values["view2"] == 0).mean() < 0.01
    # view 1 is a rotation: total ink is roughly kept (bilinear resampling, corners can clip)
    from sklearn.datasets import load_digits

    ink = load_digits().images.reshape(-1, 64).sum(1) / 16.0
    ratio = ds.values["view1"].sum(1) / ink
    assert 0.7 < np.median(ratio) < 1.1
    # same-class partners: view 2 correlates better with the class mean image of its own digit
    meta = ds.metadata
    assert meta is not None and set(meta[DEMO_SPLIT_COLUMN]) == {"train", "val", "test"}


def test_digits_noisy_subset_and_seed() -> None:
    a = make_demo("digits-noisy", seed=1, n_samples=100)
    b = make_demo("digits-noisy", seed=1, n_samples=100)
    assert a.n_samples == 100
    np.testing.assert_array_equal(a.values["view1"], b.values["view1"])


def test_unknown_demo() -> None:
    with pytest.raises(
        MmcorrError,
        match=r"The 'name' parameter must be one of 'digits-media', 'digits-noisy', 'synthetic'\. Got 'mnist'",
    ):
        make_demo("mnist")  # type: ignore[arg-type]


def test_demo_too_many_digits() -> None:
    with pytest.raises(MmcorrError, match=r"The 'n_samples' parameter must be an int in \[20, 1797\]"):
        make_demo("digits-noisy", n_samples=5000)
