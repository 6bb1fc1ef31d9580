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


# ---- chunked statistics and transform (memory: no float64 copy of the data) -------------------


def _wide(n: int = 300, d: int = 12, seed: int = 1, offset: float = 0.0) -> PairedDataset:
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, 3))
    a = (z @ rng.normal(size=(3, d)) + 0.1 * rng.normal(size=(n, d)) + offset).astype(np.float32)
    b = (rng.poisson(3.0, size=(n, 5))).astype(np.float32)
    mask = np.ones((n, 2), dtype=bool)
    mask[::7, 0] = False
    a[::7] = 0.0
    return PairedDataset(
        names=["a", "b"],
        values={"a": a, "b": b},
        features={"a": [f"a{i}" for i in range(d)], "b": [f"b{i}" for i in range(5)]},
        ids=np.array([f"s{i}" for i in range(n)], dtype=object),
        mask=mask,
    )


def test_statistics_are_exact_with_a_large_offset_and_tiny_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    ds = _wide(offset=1e4)
    present = ds.values["a"][ds.mask[:, 0]].astype(np.float64)
    monkeypatch.setattr("mmcorr.data._chunks.CHUNK_BYTES", 8 * 12 * 5)  # 5-row chunks
    pre = Preprocessor().fit(ds)
    np.testing.assert_allclose(pre.params_["a"]["mean"], present.mean(0), rtol=1e-12)
    np.testing.assert_allclose(pre.params_["a"]["scale"], present.std(0), rtol=1e-9)
    z = pre.transform(ds).values["a"][ds.mask[:, 0]]
    np.testing.assert_allclose(z.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(z.std(0), 1, atol=1e-5)


@pytest.mark.parametrize("kw", [{}, {"log1p": True, "pca_dim": 4}, {"standardize": False, "pca_dim": 3}])
def test_chunk_size_does_not_change_the_result(
    monkeypatch: pytest.MonkeyPatch, kw: dict[str, object]
) -> None:
    ds = _wide()
    ds.values["a"] = np.abs(ds.values["a"])
    big = Preprocessor(**kw).fit(ds)  # type: ignore[arg-type]
    ref = big.transform(ds)
    monkeypatch.setattr("mmcorr.data._chunks.CHUNK_BYTES", 8 * 12 * 7)
    small = Preprocessor(**kw).fit(ds)  # type: ignore[arg-type]
    for k, v in big.params_["a"].items():
        np.testing.assert_allclose(small.params_["a"][k], v, rtol=1e-9, atol=1e-12)
    for n in ds.names:
        np.testing.assert_allclose(small.transform(ds).values[n], ref.values[n], rtol=1e-6, atol=1e-6)


def test_rows_fit_and_transform_equal_the_subset_without_copying_it() -> None:
    ds = _wide()
    rows = np.sort(np.random.default_rng(0).permutation(ds.n_samples)[:200])
    via_rows = Preprocessor(pca_dim=4).fit(ds, rows=rows)
    via_subset = Preprocessor(pca_dim=4).fit(ds.subset(rows))
    for n in ds.names:
        for k, v in via_subset.params_[n].items():
            np.testing.assert_allclose(via_rows.params_[n][k], v, rtol=1e-10, atol=1e-12)
    out, ref = via_rows.transform(ds, rows=rows), via_subset.transform(ds.subset(rows))
    assert list(out.ids) == list(ref.ids) and (out.mask == ref.mask).all()
    for n in ds.names:
        np.testing.assert_allclose(out.values[n], ref.values[n], rtol=1e-6, atol=1e-6)
        assert (out.values[n][~out.mask[:, ds.names.index(n)]] == 0).all()
    assert out.features["a"] == ["pc1", "pc2", "pc3", "pc4"]
    mask_rows = np.zeros(ds.n_samples, dtype=bool)
    mask_rows[rows] = True  # a boolean mask selects the same rows
    np.testing.assert_array_equal(via_rows.transform(ds, rows=mask_rows).values["a"], out.values["a"])


def test_pca_matches_the_svd_on_both_paths(monkeypatch: pytest.MonkeyPatch) -> None:
    ds = _wide(d=30)
    x = ds.values["a"][ds.mask[:, 0]].astype(np.float64)
    xs = (x - x.mean(0)) / x.std(0)
    vt = np.linalg.svd(xs - xs.mean(0), full_matrices=False)[2][:3]
    cov = Preprocessor(pca_dim=3).fit(ds).params_["a"]["components"]  # d x d scatter matrix path
    monkeypatch.setattr("mmcorr.data._fit_steps.PCA_COV_MAX_D", 10)  # the copy + randomized SVD path
    wide = Preprocessor(pca_dim=3).fit(ds).params_["a"]["components"]
    for comps in (cov, wide):
        assert comps.shape == (3, 30)
        np.testing.assert_allclose(np.abs(np.sum(comps * vt, axis=1)), 1.0, atol=1e-4)
        top = np.argmax(np.abs(comps), axis=1)
        assert (comps[np.arange(3), top] > 0).all()  # the sign convention holds


def test_transform_needs_only_the_output_and_a_few_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    import tracemalloc

    monkeypatch.setattr("mmcorr.data._chunks.CHUNK_BYTES", 2**20)
    ds = _wide(n=40_000, d=100)  # a: 16 MB float32; a float64 copy alone would be 32 MB
    before = {n: v.copy() for n, v in ds.values.items()}
    pre = Preprocessor(log1p=False).fit(ds)
    tracemalloc.start()
    try:
        out = pre.transform(ds)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    size = sum(v.nbytes for v in out.values.values())
    assert all(v.dtype == np.float32 for v in out.values.values())
    assert peak < size + 8 * 2**20
    for n in ds.names:  # the input is never modified
        np.testing.assert_array_equal(ds.values[n], before[n])


def test_log1p_negative_value_in_a_late_chunk(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("mmcorr.data._chunks.CHUNK_BYTES", 8 * 6 * 4)
    ds = _ds()
    ds.values["a"][37, 2] = -1.5
    with pytest.raises(DataError, match=r"modality 'a' feature 'a2' has -1\.5"):
        Preprocessor(log1p=True).fit(ds)
    pre = Preprocessor(log1p=True).fit(_ds())
    with pytest.raises(DataError, match=r"log1p needs non-negative values, but modality 'a' feature 'a2'"):
        pre.transform(ds)
