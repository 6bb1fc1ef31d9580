"""Per-batch preprocessing: the trainer reads the caller's raw rows (dense or CSR) and preprocesses
each batch, with the numbers of the old whole-set path and without a whole preprocessed copy."""

from __future__ import annotations

import dataclasses
import tracemalloc
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from model_testdata import small_paired  # type: ignore[import-not-found]

from mmcorr import CorrelationModel
from mmcorr.config import ModelConfig, TrainConfig
from mmcorr.data import PairedDataset, _chunks
from mmcorr.data.preprocess import Preprocessor
from mmcorr.estimator import _data
from mmcorr.estimator._batches import RowBatches
from mmcorr.estimator._data import latents, to_tensors
from mmcorr.models import DeepCCAE, MultimodalVAE
from mmcorr.training import TensorData, Trainer

CPU = torch.device("cpu")


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    torch.set_num_threads(1)


def _counts(n: int = 300, d: int = 40, seed: int = 0, missing: float = 0.25) -> PairedDataset:
    """Counts (partly absent, with junk in the absent rows) beside a positive table: log1p-able."""
    rng = np.random.default_rng(seed)
    shared = rng.normal(size=(n, 2))
    counts = rng.poisson(np.exp(0.5 * shared @ rng.normal(size=(2, d)))).astype(np.float32)
    mask = np.ones((n, 2), dtype=bool)
    mask[rng.random(n) < missing, 0] = False
    counts[~mask[:, 0]] = -7.0  # never read: log1p would reject it
    table = np.exp(0.5 * shared @ rng.normal(size=(2, 5)) + 0.3 * rng.normal(size=(n, 5)))
    table = table.astype(np.float32)
    return PairedDataset(
        names=["c", "t"],
        values={"c": counts, "t": table},
        features={"c": [f"g{j}" for j in range(d)], "t": [f"t{j}" for j in range(5)]},
        ids=np.array([f"s{i}" for i in range(n)], dtype=object),
        mask=mask,
    )


def _fitted(ds: PairedDataset, rows: np.ndarray | None) -> Preprocessor:
    return Preprocessor(standardize=True, log1p=True, pca_dim=8).fit(ds, rows=rows)


def test_columns_read_what_the_whole_set_transform_writes() -> None:
    ds = _counts()
    rows = np.flatnonzero(np.arange(ds.n_samples) % 4 != 1)
    pre = _fitted(ds, rows)
    whole = pre.transform(ds, rows=rows)
    lazy = RowBatches(ds, pre, CPU, rows)
    assert lazy.n == len(rows) and lazy.values["c"].shape == (len(rows), 8)
    np.testing.assert_array_equal(lazy.present, whole.mask)
    pick = np.array([5, 0, 17, 3, 3, len(rows) - 1])
    for name in ds.names:
        col, ref = lazy.values[name], whole.values[name]
        for key in (pick, slice(10, 60, 3), np.arange(len(rows)) % 3 == 0):
            np.testing.assert_allclose(col[key], ref[key], rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(col.to_float64(), ref.astype(np.float64), rtol=1e-6, atol=1e-6)
    absent = ~lazy.present[:, 0]
    assert absent.any() and not lazy.values["c"][absent].any()  # absent rows read as zeros
    with pytest.raises(TypeError, match="slice or a 1-d index array"):
        lazy.values["c"][np.zeros((2, 2), dtype=np.int64)]


def test_csr_rows_give_the_dense_rows_numbers() -> None:
    ds = _counts(missing=0.0)
    csr = dataclasses.replace(ds, values={**ds.values, "c": sp.csr_matrix(ds.values["c"])})
    pre = _fitted(ds, None)
    idx = torch.tensor([7, 2, 250, 2, 99])
    dense_b, sparse_b = RowBatches(ds, pre, CPU).batch(idx), RowBatches(csr, pre, CPU).batch(idx)
    for name in ds.names:
        torch.testing.assert_close(sparse_b.xs[name], dense_b.xs[name])
    assert dense_b.xs["c"].dtype == torch.float32 and dense_b.xs["c"].shape == (5, 8)


def _train(model_cls: type, data: Any, val: Any, dims: dict[str, int]) -> tuple[list[Any], Any]:
    torch.manual_seed(0)
    model = model_cls(["c", "t"], dims, ModelConfig(latent_dim=2, hidden=(16,)))
    cfg = TrainConfig(epochs=3, batch_size=32, patience=0, device="cpu", checkpoint_every=0, seed=3)
    history = Trainer(cfg).fit(model, data, val)
    return history, latents(model, val)


@pytest.mark.parametrize("model_cls", [DeepCCAE, MultimodalVAE])
def test_training_on_batches_matches_the_whole_set_path(model_cls: type) -> None:
    ds = _counts()
    order = np.random.default_rng(1).permutation(ds.n_samples)
    tr_rows, va_rows = np.sort(order[60:]), np.sort(order[:60])
    if model_cls is DeepCCAE:  # trains on full pairs only
        tr_rows, va_rows = tr_rows[ds.fully_paired[tr_rows]], va_rows[ds.fully_paired[va_rows]]
    pre = _fitted(ds, tr_rows)
    old_tr, old_va = (to_tensors(pre.transform(ds, rows=r), CPU) for r in (tr_rows, va_rows))
    new_tr, new_va = RowBatches(ds, pre, CPU, tr_rows), RowBatches(ds, pre, CPU, va_rows)
    old_hist, old_z = _train(model_cls, old_tr, old_va, pre.out_dims)
    new_hist, new_z = _train(model_cls, new_tr, new_va, pre.out_dims)
    for old, new in zip(old_hist, new_hist, strict=True):
        for part in ("train", "val"):
            assert old[part].keys() == new[part].keys()
            for k in old[part]:
                assert new[part][k] == pytest.approx(old[part][k], rel=1e-5, abs=1e-5)
    for name in ("c", "t"):
        np.testing.assert_allclose(new_z[name], old_z[name], rtol=1e-5, atol=1e-5)


def test_tensor_data_batches_take_indices_from_any_device() -> None:
    data = TensorData({"a": torch.arange(12.0).reshape(6, 2)}, torch.ones(6, 1, dtype=torch.bool))
    part = data.batch(torch.tensor([4, 1]))
    torch.testing.assert_close(part.xs["a"], torch.tensor([[8.0, 9.0], [2.0, 3.0]]))


def _sparse_dataset(n: int, d: int) -> tuple[PairedDataset, Any]:
    rng = np.random.default_rng(0)
    shared = rng.normal(size=(n, 2))
    counts: Any = sp.random(n, d, density=0.01, random_state=1, dtype=np.float32, format="csr")
    counts.data = np.rint(counts.data * 5 + 1)
    prot = (shared @ rng.normal(size=(2, 6))).astype(np.float32)
    ds = PairedDataset(
        names=["rna", "prot"],
        values={"rna": counts, "prot": prot},
        features={"rna": [f"g{j}" for j in range(d)], "prot": [f"p{j}" for j in range(6)]},
        ids=np.array([f"c{i}" for i in range(n)], dtype=object),
        mask=np.ones((n, 2), dtype=bool),
    )
    return ds, counts


def test_a_csr_modality_trains_without_being_densified_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    n, d = 4000, 1500
    ds, counts = _sparse_dataset(n, d)
    # Small chunks, so that "a chunk" and "the whole" differ at this size: 64-row float64 chunks
    # and 256-row encoding passes (the validation loss still takes its 600 rows at once).
    monkeypatch.setattr(_chunks, "CHUNK_BYTES", 8 * d * 64)
    monkeypatch.setattr(_data, "LATENT_BYTES", 2**20)
    densified: list[tuple[int, ...]] = []
    to_dense = sp.csr_matrix.toarray

    def spy(self: sp.csr_matrix, *a: Any, **kw: Any) -> np.ndarray:
        out = to_dense(self, *a, **kw)
        densified.append(out.shape)
        return out

    monkeypatch.setattr(sp.csr_matrix, "toarray", spy)
    seen: list[Any] = []
    fit = Trainer.fit

    def record(self: Trainer, model: Any, train: Any, val: Any = None) -> Any:
        seen.extend([train, val])
        return fit(self, model, train, val)

    monkeypatch.setattr(Trainer, "fit", record)
    model = CorrelationModel("dccae", 2, hidden=(16,), epochs=1, batch_size=64, device="cpu", seed=0)
    model.fit(small_paired())  # first fit: torch's lazy imports are not the fit's memory
    seen.clear()
    tracemalloc.start()
    try:
        model.fit(ds)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # The trainer got the caller's rows (no preprocessed copy), and a CSR block was only ever
    # densified a chunk at a time.
    assert all(isinstance(s, RowBatches) for s in seen) and sum(s.n for s in seen) == n
    assert densified and max(shape[0] for shape in densified) <= 64
    # The whole fit's numpy peak stays well under one dense float32 copy of the modality (24 MB;
    # the old path made one of train + validation, standardised).
    assert peak < n * d * 4 / 3
    assert model.transform(ds)["rna"].shape == (n, 2)
    assert counts.nnz == 60_000  # the caller's matrix, untouched


def test_a_closed_form_fit_on_batches_matches_the_dense_one() -> None:
    ds = small_paired(missing_b=0.0)
    sparse = dataclasses.replace(ds, values={**ds.values, "a": sp.csr_matrix(ds.values["a"])})
    dense = CorrelationModel("cca", 2, device="cpu", seed=0).fit(ds)
    lazy = CorrelationModel("cca", 2, device="cpu", seed=0).fit(sparse)
    for name in ("a", "b", "joint"):
        np.testing.assert_allclose(lazy.transform(ds)[name], dense.transform(ds)[name], rtol=1e-5, atol=1e-5)


def test_transform_encodes_the_callers_rows_without_copying_them() -> None:
    from mmcorr.estimator._data import conform

    ds = small_paired(missing_b=0.3)
    ds.values["b"][:10] = np.nan  # absent rows: never read
    model = CorrelationModel("dccae", 2, hidden=(16,), epochs=1, device="cpu", seed=0).fit(ds)
    use, full = conform(ds, model.names_, model.dims_, model.features_, ["a"])
    assert use == ["a"] and full.values["a"] is ds.values["a"]  # float32: the caller's array
    assert full.values["b"].strides == (0, 4) and not full.mask[:, 1].any()  # unused: one zero row
    z = model.transform(ds)
    assert np.isnan(z["b"][:60]).all() and np.isfinite(z["b"][60:]).all() and np.isfinite(z["joint"]).all()


def test_prefetched_batches_are_the_batches_in_order() -> None:
    ds = _counts()
    lazy = RowBatches(ds, _fitted(ds, None), CPU)
    order = list(
        torch.tensor_split(torch.randperm(ds.n_samples, generator=torch.Generator().manual_seed(0)), 7)
    )
    for idx, got in zip(order, lazy.batches(order), strict=True):
        want = lazy.batch(idx)
        for name in ds.names:
            torch.testing.assert_close(got.xs[name], want.xs[name], rtol=0, atol=0)
        assert torch.equal(got.mask, want.mask)
    assert [b.n for b in lazy.batches(order[:1])] == [len(order[0])]
