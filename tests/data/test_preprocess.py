"""Preprocessor: fitted on the given (training) rows only, invertible, saved without pickle."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mmcorr import DataConfig, DataError, MmcorrError
from mmcorr.data import PairedDataset, Preprocessor, make_demo, split_indices


def _ds(n: int = 40, seed: int = 0) -> PairedDataset:
    rng = np.random.default_rng(seed)
    a = rng.poisson(5.0, size=(n, 6)).astype(np.float32)
    b = (rng.normal(size=(n, 30)) * np.arange(1, 31) + 100).astype(np.float32)
    mask = np.ones((n, 2), dtype=bool)
    mask[:5, 1] = False
    b[:5] = 0.0
    return PairedDataset(
        names=["a", "b"],
        values={"a": a, "b": b},
        features={"a": [f"a{i}" for i in range(6)], "b": [f"b{i}" for i in range(30)]},
        ids=np.array([str(i) for i in range(n)], dtype=object),
        mask=mask,
    )


def test_standardise_uses_only_fit_rows_and_present_ones() -> None:
    ds = _ds()
    split = split_indices(ds.n_samples, seed=0)
    train = ds.subset(split.train)
    pre = Preprocessor().fit(train)
    present = train.mask[:, 1]
    np.testing.assert_allclose(pre.params_["b"]["mean"], train.values["b"][present].mean(0), rtol=1e-5)
    out = pre.transform(train)
    np.testing.assert_allclose(out.values["b"][present].mean(0), 0, atol=1e-4)
    np.testing.assert_allclose(out.values["b"][present].std(0), 1, atol=1e-4)
    assert (out.values["b"][~present] == 0).all()
    # the held-out rows are transformed with the training statistics, not their own
    test = pre.transform(ds.subset(split.test))
    assert abs(test.values["a"].mean()) > 1e-3


def test_log1p_and_inverse() -> None:
    ds = _ds()
    pre = Preprocessor(log1p=True).fit(ds)
    z = pre.transform(ds).values["a"]
    np.testing.assert_allclose(pre.inverse_transform("a", z), ds.values["a"], rtol=1e-4, atol=1e-4)


def test_pca_reduces_wide_modalities_and_reconstructs() -> None:
    ds = _ds(n=60)
    pre = Preprocessor(pca_dim=4).fit(ds)
    assert pre.out_dims == {"a": 4, "b": 4}
    out = pre.transform(ds)
    assert out.values["b"].shape == (60, 4) and out.features["b"] == ["pc1", "pc2", "pc3", "pc4"]
    full = Preprocessor(pca_dim=30).fit(ds)  # no reduction needed: identity after scaling
    assert full.out_dims["b"] == 30
    rec = Preprocessor(pca_dim=29).fit(ds)
    z = rec.transform(ds).values["b"]
    err = np.abs(rec.inverse_transform("b", z)[5:] - ds.values["b"][5:]).mean()
    assert err < 0.5 * np.abs(ds.values["b"][5:] - ds.values["b"][5:].mean(0)).mean()


def test_save_load_round_trip(tmp_path: Path) -> None:
    ds = make_demo("synthetic", n_samples=100)
    pre = Preprocessor(pca_dim=10).fit(ds)
    pre.save(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["preprocessing.json", "preprocessing.npz"]
    again = Preprocessor.load(tmp_path)
    assert again.out_dims == pre.out_dims
    for n in ds.names:
        np.testing.assert_array_equal(again.transform(ds).values[n], pre.transform(ds).values[n])


def test_from_config() -> None:
    pre = Preprocessor.from_config(DataConfig(standardize=False, log1p=True, pca_dim=5))
    assert (pre.standardize, pre.log1p, pre.pca_dim) == (False, True, 5)


def test_log1p_negative_values() -> None:
    ds = _ds()
    ds.values["b"][7, 3] = -2.0
    with pytest.raises(
        DataError, match=r"log1p needs non-negative values, but modality 'b' feature 'b3' has -2"
    ):
        Preprocessor(log1p=True).fit(ds)


def test_transform_before_fit() -> None:
    with pytest.raises(MmcorrError, match=r"not fitted yet"):
        Preprocessor().transform(_ds())


def test_transform_wrong_width() -> None:
    pre = Preprocessor().fit(_ds())
    with pytest.raises(
        DataError, match=r"Modality 'a' must have 6 features \(as in training\); got shape \(3, 2\)"
    ):
        pre.transform_values("a", np.zeros((3, 2)))


def test_bad_pca_dim() -> None:
    with pytest.raises(MmcorrError, match=r"The 'pca_dim' parameter must be an int in \[1, 100000\]\. Got 0"):
        Preprocessor(pca_dim=0)


def test_load_missing_files(tmp_path: Path) -> None:
    with pytest.raises(MmcorrError, match=r"missing preprocessing file preprocessing\.json"):
        Preprocessor.load(tmp_path)
