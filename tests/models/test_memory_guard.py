"""The memory guard: a fit too large for the machine fails at once with the sizes, not an OOM kill."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from model_testdata import small_paired  # type: ignore[import-not-found]

from mmcorr import CorrelationModel, MmcorrError
from mmcorr._memory import ENV_LIMIT, available_bytes, check_fit_memory, estimate_fit_bytes
from mmcorr.data import PairedDataset
from mmcorr.data._chunks import CHUNK_BYTES, EVAL_ROWS, START_BYTES

TINY = {"hidden": (16,), "epochs": 1, "batch_size": 32, "device": "cpu"}
ARCH = {"pca_dim": None, "hidden": (256, 256), "latent_dim": 10, "ridge_heads": True}


def _broadcast(n: int, d: int) -> PairedDataset:
    """n x d per modality from zero-copy views: the data itself costs a single row."""
    row = np.zeros((1, d), dtype=np.float32)
    return PairedDataset(
        names=["a", "b"],
        values={m: np.broadcast_to(row, (n, d)) for m in ("a", "b")},
        features={m: [f"{m}{j}" for j in range(d)] for m in ("a", "b")},
        ids=np.broadcast_to(np.array(["x"], dtype=object), (n,)),
        mask=np.broadcast_to(np.array([[True, True]]), (n, 2)),
    )


def test_estimate_counts_the_batches_in_flight_model_heads_and_row_indices() -> None:
    n = 1_000_000
    est = estimate_fit_bytes(n, {"a": 100, "b": 100}, **ARCH)
    # Batches are preprocessed as they are read: one validation chunk and two float64 row chunks,
    # not a copy of the n rows.
    assert est.data == EVAL_ROWS * 200 * 4 + 2 * CHUNK_BYTES
    # 2 modalities x (encoder + decoder) of 100 -> 256 -> 256 -> 20, weights + grad + AdamW + best copy
    per_mlp = 100 * 256 + 256 + 256 * 256 + 256 + 256 * 20 + 20
    assert est.model == 5 * 4 * 2 * 2 * per_mlp
    # float64 latents per modality, the ridge's row chunks and its validation pairs
    assert est.heads == 8 * n * 10 * 2 * 2 + 6 * CHUNK_BYTES
    assert est.index == n * (4 * 8 + 2)
    assert est.total == est.data + est.model + est.heads + est.index + 256 * 2**20
    # The data part does not grow with n; a closed-form family takes its training rows whole.
    assert estimate_fit_bytes(10 * n, {"a": 100, "b": 100}, **ARCH).data == est.data
    whole = estimate_fit_bytes(n, {"a": 100, "b": 100}, **ARCH, closed_form=True)
    assert whole.data == 8 * n * 200
    # Up to 4,096 features dccae first fits its linear start on a bounded float64 subset.
    started = estimate_fit_bytes(n, {"a": 4000, "b": 4000}, **ARCH)
    assert started.data == 3 * START_BYTES // 2 > EVAL_ROWS * 8000 * 4 + 2 * CHUNK_BYTES


def test_pca_shrinks_the_estimate_and_counts_its_fit() -> None:
    wide = {"a": 10_000, "b": 100}
    full = estimate_fit_bytes(20_000, wide, **ARCH)
    pca = estimate_fit_bytes(20_000, wide, **{**ARCH, "pca_dim": 50})
    assert pca.data == EVAL_ROWS * (50 + 50) * 4 + 2 * CHUNK_BYTES and pca.data < full.data / 5
    assert pca.pca == 20_000 * 10_000 * 4  # wider than the covariance limit: one float32 copy
    assert estimate_fit_bytes(20_000, {"a": 1000, "b": 10}, **{**ARCH, "pca_dim": 50}).pca == 8 * 1000**2


def test_gaussianize_counts_its_bounded_quantile_subset() -> None:
    from mmcorr.data._fit_steps import QUANTILE_BYTES

    small = estimate_fit_bytes(1_000, {"a": 100, "b": 10}, **ARCH, gaussianize=True)
    assert small.pca == 2 * 8 * 1_000 * 100  # the rows themselves and numpy's sorted copy
    big = estimate_fit_bytes(1_000_000, {"a": 10_000, "b": 10}, **ARCH, gaussianize=True)
    assert big.pca == 2 * QUANTILE_BYTES  # bounded, whatever n and d are
    assert estimate_fit_bytes(1_000, {"a": 100, "b": 10}, **ARCH).pca == 0


def test_check_passes_with_room_and_raises_with_the_sizes_without() -> None:
    dims = {"rna": 2000, "atac": 500}
    est = check_fit_memory(100_000, dims, **ARCH, available=10 * 2**30)
    assert est.total < 10 * 2**30
    with pytest.raises(
        MmcorrError,
        match=r"Not enough memory to fit: 100,000 samples x \(rna 2,000 \+ atac 500\) features needs about "
        r"\d+\.\d GiB .* but only 0\.5 GiB is available\. To fit, set 'pca_dim' \(e\.g\. 100\).*fewer samples"
        r".*more memory",
    ):
        check_fit_memory(100_000, dims, **ARCH, available=2**29)


def test_env_var_caps_what_is_available(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_LIMIT, "12345")
    assert available_bytes() == 12345
    monkeypatch.setenv(ENV_LIMIT, str(2**62))
    real = available_bytes()
    assert real is not None and (Path("/proc/meminfo").exists() or real == 2**62)


@pytest.mark.parametrize("bad", ["lots", "-5", "0", "1.5e9"])
def test_env_var_must_be_a_positive_byte_count(monkeypatch: pytest.MonkeyPatch, bad: str) -> None:
    monkeypatch.setenv(ENV_LIMIT, bad)
    with pytest.raises(MmcorrError, match=rf"{ENV_LIMIT} must be a positive whole number of bytes.*Got '"):
        available_bytes()


def test_fit_refuses_before_any_work_when_the_limit_is_low(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_LIMIT, str(2**20))
    model = CorrelationModel("dccae", 2, **TINY)
    with pytest.raises(MmcorrError, match=r"Not enough memory to fit: 200 samples x \(a 6 \+ b 4\) features"):
        model.fit(small_paired())
    assert not hasattr(model, "module_")
    monkeypatch.setenv(ENV_LIMIT, str(2**40))
    assert CorrelationModel("dccae", 2, **TINY).fit(small_paired()).module_ is not None


def test_a_huge_dataset_of_views_fails_fast_without_allocating(monkeypatch: pytest.MonkeyPatch) -> None:
    # 400 GB as float32, 8 KB in memory. The fit never copies it (batches are preprocessed as they
    # are read), but its latents and row indices alone need ~5 GiB: more than this limit.
    monkeypatch.setenv(ENV_LIMIT, str(2 * 2**30))
    ds = _broadcast(50_000_000, 1000)
    tracemalloc.start()
    try:
        with pytest.raises(
            MmcorrError, match=r"50,000,000 samples x \(a 1,000 \+ b 1,000\) features needs about"
        ):
            CorrelationModel("dccae", 2, **TINY).fit(ds)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 * 2**20


def test_the_job_pipeline_fails_with_the_same_message(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from mmcorr.config import JobSpec, ModelConfig, TrainConfig
    from mmcorr.runs import pipeline

    spec = JobSpec(
        dataset_id="files",
        model=ModelConfig(model="dccae", latent_dim=2, hidden=(16,)),
        train=TrainConfig(epochs=1, batch_size=32, device="cpu", threads=1, seed=0),
        name="tiny",
    )
    monkeypatch.setenv(ENV_LIMIT, str(2**20))
    with pytest.raises(
        MmcorrError, match=r"Not enough memory to fit: \d+ samples x \(a 6 \+ b 4\).*split copies"
    ):
        pipeline.train_and_bundle(small_paired(), spec, tmp_path / "run")
    assert not (tmp_path / "run").exists() or not any((tmp_path / "run").iterdir())


def test_finiteness_is_checked_in_chunks_naming_the_first_bad_sample(monkeypatch: pytest.MonkeyPatch) -> None:
    import mmcorr.estimator as E

    ds = small_paired(missing_b=0.3)  # b absent in the first 60 rows
    ds.values["b"][5] = np.nan  # absent row: ignored
    E._check_dataset(ds, "train")
    ds.values["b"][150, 2] = np.inf
    with pytest.raises(
        MmcorrError,
        match=rf"modality 'b' of the 'train' data contains NaN or infinite values \(first at sample "
        rf"'{ds.ids[150]}'\)",
    ):
        E._check_dataset(ds, "train")


def test_finiteness_check_makes_no_copy_of_the_rows() -> None:
    import mmcorr.estimator as E

    n, d = 200_000, 100  # 80 MB per modality
    ds = PairedDataset(
        names=["a", "b"],
        values={m: np.ones((n, d), dtype=np.float32) for m in ("a", "b")},
        features={m: [f"{m}{j}" for j in range(d)] for m in ("a", "b")},
        ids=np.arange(n).astype(str).astype(object),
        mask=np.ones((n, 2), dtype=bool),
    )
    tracemalloc.start()
    try:
        E._check_dataset(ds, "train")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 40 * 2**20  # one chunk of booleans, not a copy of the 80 MB modality


def test_ridge_heads_read_their_target_in_chunks_and_match_the_closed_form(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from mmcorr.data import _chunks
    from mmcorr.models import heads

    rng = np.random.default_rng(0)
    z = rng.normal(size=(1000, 4))
    y = (z @ rng.normal(size=(4, 30)) + 0.1 * rng.normal(size=(1000, 30)) + 5.0).astype(np.float32)
    monkeypatch.setattr(_chunks, "CHUNK_BYTES", 8 * 30 * 64)  # 64 rows a chunk: 16 chunks
    rows = np.flatnonzero(rng.random(1000) < 0.7)  # partially paired: the targets are a subset
    for z_in, target_rows in ((z, None), (z[rows], rows)):
        mz, coef, my = heads.fit_ridge(z_in, y, target_rows)
        y64 = (y if target_rows is None else y[target_rows]).astype(np.float64)
        zc = z_in - z_in.mean(axis=0)
        gram = zc.T @ zc + heads.RIDGE_ALPHA * len(z_in) * np.eye(4)
        expected = np.linalg.solve(gram, zc.T @ (y64 - y64.mean(axis=0)))
        np.testing.assert_allclose(coef, expected, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(my, y64.mean(axis=0), rtol=1e-6)
        np.testing.assert_allclose(mz, z_in.mean(axis=0))
