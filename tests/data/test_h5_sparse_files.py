""".h5ad / .h5mu files with a sparse matrix stay sparse (CSR) from the reader to the run bundle (issue 12)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

anndata = pytest.importorskip("anndata")
mudata = pytest.importorskip("mudata")
sp = pytest.importorskip("scipy.sparse")

from mmcorr import DataError  # noqa: E402
from mmcorr.cli import main  # noqa: E402
from mmcorr.data import DatasetRegistry, dense_rows, load_file, load_modality, load_paired  # noqa: E402
from mmcorr.data.split import stack_given_splits  # noqa: E402
from mmcorr.runs.bundle import read_latents  # noqa: E402

N, GENES, PROT = 120, 12, 5


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)


def _data(seed: int = 0) -> tuple[np.ndarray, pd.DataFrame]:
    """(counts (N, GENES) float32 with ~half zeros, prot table with sample_id); a shared 2-d signal."""
    rng = np.random.default_rng(seed)
    shared = rng.normal(size=(N, 2))
    rate = np.exp(0.8 * np.tanh(shared @ rng.normal(size=(2, GENES)))) - 0.6
    counts = rng.poisson(np.clip(rate, 0.05, None)).astype(np.float32)
    counts[0] += 1  # no constant feature
    prot = pd.DataFrame(shared @ rng.normal(size=(2, PROT)) + 0.3 * rng.normal(size=(N, PROT)))
    prot.columns = [f"CD{j}" for j in range(PROT)]
    prot.insert(0, "sample_id", [f"cell{i}" for i in range(N)])
    return counts, prot


def _adata(counts: np.ndarray, sparse: bool) -> Any:
    """X log-normalised, layer ``counts``; both CSR (sparse) or numpy (dense)."""
    wrap = sp.csr_matrix if sparse else np.asarray
    adata = anndata.AnnData(wrap(np.log1p(counts)))
    adata.layers["counts"] = wrap(counts)
    adata.obs_names = [f"cell{i}" for i in range(N)]
    adata.var_names = [f"gene{j}" for j in range(GENES)]
    return adata


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """rna_sparse.h5ad, rna_dense.h5ad (same values), prot.csv and cite.h5mu (sparse rna + dense prot)."""
    root = tmp_path_factory.mktemp("h5_sparse")
    counts, prot = _data()
    _adata(counts, sparse=True).write_h5ad(root / "rna_sparse.h5ad")
    _adata(counts, sparse=False).write_h5ad(root / "rna_dense.h5ad")
    prot.to_csv(root / "prot.csv", index=False)
    p = anndata.AnnData(prot.iloc[:, 1:].to_numpy(np.float32))
    p.obs_names, p.var_names = prot["sample_id"].tolist(), list(prot.columns[1:])
    mudata.MuData({"rna": _adata(counts, sparse=True), "prot": p}).write(root / "cite.h5mu")
    return {
        "sparse": root / "rna_sparse.h5ad",
        "dense": root / "rna_dense.h5ad",
        "prot": root / "prot.csv",
        "h5mu": root / "cite.h5mu",
    }


def test_an_h5ad_sparse_layer_loads_as_float32_csr(files: dict[str, Path]) -> None:
    mod = load_modality(files["sparse"], "rna", layers={"rna": "counts"})
    assert sp.issparse(mod.values) and mod.values.format == "csr" and mod.values.dtype == np.float32
    np.testing.assert_array_equal(mod.values.toarray(), _data()[0])
    assert mod.notes == ["values from layer 'counts'"] and mod.id_column == "obs_names"


def test_an_h5mu_sparse_modality_stays_sparse_beside_a_dense_one(files: dict[str, Path]) -> None:
    mods = {m.name: m for m in load_file(files["h5mu"], None)}
    assert sp.issparse(mods["rna"].values) and isinstance(mods["prot"].values, np.ndarray)
    np.testing.assert_allclose(mods["rna"].values.toarray(), np.log1p(_data()[0]), rtol=1e-6)


def test_load_paired_keeps_the_csr_modality(files: dict[str, Path]) -> None:
    ds, report = load_paired({"rna": files["sparse"], "prot": files["prot"]}, layers={"rna": "counts"})
    assert sp.issparse(ds.values["rna"]) and ds.n_samples == N
    rows = np.flatnonzero(ds.ids == "cell7")
    np.testing.assert_array_equal(dense_rows(ds.values["rna"], rows), _data()[0][[7]])
    assert report.n_paired == N


def test_nan_impute_densifies_a_sparse_matrix_and_says_why(files: dict[str, Path]) -> None:
    mod = load_modality(files["sparse"], "rna", nan="impute")
    assert isinstance(mod.values, np.ndarray) and mod.values.shape == (N, GENES)
    assert any("densified" in n and "nan='impute'" in n for n in mod.notes)


def test_a_sparse_file_with_duplicate_obs_names_is_refused_like_a_table(tmp_path: Path) -> None:
    adata = _adata(_data()[0], sparse=True)
    adata.obs_names = ["cell0", "cell0", *adata.obs_names[2:]]
    path = tmp_path / "dup.h5ad"
    adata.write_h5ad(path)
    with pytest.raises(DataError, match=r"dup\.h5ad.*1 duplicate sample id\(s\), e\.g\. \['cell0'\]"):
        load_modality(path, "rna")


def test_dense_rows_picks_rows_then_columns_of_csr_and_ndarray() -> None:
    x = np.arange(20, dtype=np.float32).reshape(4, 5)
    for values in (x, sp.csr_matrix(x)):
        np.testing.assert_array_equal(
            dense_rows(values, np.array([2, 0]), np.array([4, 1])), x[[2, 0]][:, [4, 1]]
        )
        np.testing.assert_array_equal(dense_rows(values, slice(0, 2), slice(0, 3)), x[:2, :3])
        np.testing.assert_array_equal(dense_rows(values), x)


def test_given_validation_rows_stack_onto_a_csr_modality(files: dict[str, Path]) -> None:
    from mmcorr.config import DataConfig

    ds, _ = load_paired({"rna": files["sparse"], "prot": files["prot"]}, layers={"rna": "counts"})
    train, val = ds.subset(np.arange(100)), ds.subset(np.arange(100, N))
    val.values["rna"] = dense_rows(val.values["rna"])  # a dense part joins a sparse one
    stacked, split = stack_given_splits(train, val, None, DataConfig(test_fraction=0.2))
    assert sp.issparse(stacked.values["rna"]) and stacked.values["rna"].shape == (N, GENES)
    np.testing.assert_array_equal(stacked.values["rna"].toarray(), _data()[0])
    np.testing.assert_array_equal(split.val, np.arange(100, N))


def test_a_registered_csr_dataset_stays_csr_on_disk_and_in_memory(
    files: dict[str, Path], mmcorr_home: Path
) -> None:
    ds, report = load_paired({"rna": files["sparse"], "prot": files["prot"]}, layers={"rna": "counts"})
    reg = DatasetRegistry()
    dataset_id = reg.save(ds, "sparse", report)
    folder = mmcorr_home / "datasets" / dataset_id
    assert (folder / "rna.npz").is_file() and not (folder / "rna.parquet").exists()
    back = reg.load(dataset_id)  # the fingerprint check passes on the CSR content
    assert sp.issparse(back.values["rna"]) and back.values["rna"].shape == (N, GENES)
    np.testing.assert_array_equal(back.values["rna"].toarray(), _data()[0])
    assert back.features["rna"] == ds.features["rna"]
    assert reg.feature_names(dataset_id, "rna") == ds.features["rna"]
    gene = ds.features["rna"][3]
    column = reg.feature_values(dataset_id, "rna", gene)
    np.testing.assert_array_equal(column.to_numpy(), _data()[0][:, 3])
    assert reg.save(ds, "sparse", report) == dataset_id  # same content: same id, nothing written


def test_a_registered_csr_modality_keeps_absent_samples_empty(
    files: dict[str, Path], mmcorr_home: Path
) -> None:
    ds, _ = load_paired({"rna": files["sparse"], "prot": files["prot"]}, layers={"rna": "counts"})
    ds.mask[::3, ds.names.index("rna")] = False  # every third sample lacks rna
    ds.values["rna"] = ds.values["rna"].multiply(ds.mask[:, [0]]).tocsr()
    reg = DatasetRegistry()
    back = reg.load(reg.save(ds, "partial"))
    np.testing.assert_array_equal(back.mask, ds.mask)
    np.testing.assert_array_equal(back.values["rna"].toarray(), ds.values["rna"].toarray())


def test_a_damaged_sparse_modality_file_names_the_file(files: dict[str, Path], mmcorr_home: Path) -> None:
    ds, _ = load_paired({"rna": files["sparse"], "prot": files["prot"]}, layers={"rna": "counts"})
    reg = DatasetRegistry()
    dataset_id = reg.save(ds, "damaged")
    (mmcorr_home / "datasets" / dataset_id / "rna.npz").write_bytes(b"not an npz")
    with pytest.raises(DataError, match=r"rna\.npz: not a readable sparse modality file"):
        reg.load(dataset_id)


def _train(rna: Path, prot: Path, out: Path, *extra: str) -> None:
    args = ["train", "--modality", f"rna={rna}", "--modality", f"prot={prot}", "--layer", "rna=counts"]
    args += ["--latent-dim", "2", "--permutations", "0", "--out", str(out), *extra]
    assert main(args) == 0


@pytest.fixture(scope="module")
def cca_runs(files: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("h5_sparse_runs")
    runs = {kind: root / kind for kind in ("sparse", "dense")}
    for kind, out in runs.items():
        _train(files[kind], files["prot"], out, "--model", "cca")
    return runs


def test_train_cca_on_a_csr_h5ad_matches_the_dense_file(cca_runs: dict[str, Path]) -> None:
    a, b = read_latents(cca_runs["sparse"]), read_latents(cca_runs["dense"])
    cols = [c for c in a.columns if c.startswith(("rna_", "prot_", "joint_"))]
    assert len(cols) == 6 and list(a["id"]) == list(b["id"])
    np.testing.assert_allclose(a[cols].to_numpy(), b[cols].to_numpy(), atol=1e-5)
    fa = pd.read_parquet(cca_runs["sparse"] / "feature_correlation.parquet")
    fb = pd.read_parquet(cca_runs["dense"] / "feature_correlation.parquet")
    assert len(fa) > 0 and fa.iloc[:, :3].equals(fb.iloc[:, :3])


def test_a_job_on_a_registered_csr_dataset_matches_training_on_the_file(
    files: dict[str, Path], cca_runs: dict[str, Path], mmcorr_home: Path, tmp_path: Path
) -> None:
    ds, _ = load_paired({"rna": files["sparse"], "prot": files["prot"]}, layers={"rna": "counts"})
    dataset_id = DatasetRegistry().save(ds, "sparse-job")
    args = ["train", "--dataset", dataset_id, "--model", "cca", "--latent-dim", "2", "--permutations", "0"]
    assert main([*args, "--out", str(tmp_path / "run")]) == 0
    a, b = read_latents(tmp_path / "run"), read_latents(cca_runs["sparse"])
    cols = [c for c in a.columns if c.startswith(("rna_", "prot_", "joint_"))]
    assert len(cols) == 6 and list(a["id"]) == list(b["id"])
    np.testing.assert_allclose(a[cols].to_numpy(), b[cols].to_numpy(), atol=1e-5)


def test_encode_a_csr_h5ad_with_a_run(
    files: dict[str, Path], cca_runs: dict[str, Path], tmp_path: Path
) -> None:
    out = {kind: tmp_path / kind for kind in ("sparse", "dense")}
    for kind, folder in out.items():
        args = ["encode", "--run", str(cca_runs["sparse"]), "--modality", f"rna={files[kind]}"]
        args += ["--modality", f"prot={files['prot']}", "--layer", "rna=counts", "--out", str(folder)]
        assert main(args) == 0
    z = np.load(out["sparse"] / "rna.npy")
    assert z.shape == (N, 2) and np.isfinite(z).all()
    np.testing.assert_allclose(z, np.load(out["dense"] / "rna.npy"), atol=1e-5)


def test_train_a_short_dccae_on_a_csr_h5ad(files: dict[str, Path], tmp_path: Path) -> None:
    _train(files["sparse"], files["prot"], tmp_path / "run", "--model", "dccae", "--epochs", "2")
    frame = read_latents(tmp_path / "run")
    assert (
        len(frame) == N and np.isfinite(frame[[c for c in frame.columns if c.startswith("rna_")]]).all().all()
    )


def test_evaluate_a_csr_h5ad_like_the_dense_file(
    files: dict[str, Path], cca_runs: dict[str, Path], tmp_path: Path
) -> None:
    import json

    got = {}
    for kind in ("sparse", "dense"):
        args = ["evaluate", "--run", str(cca_runs["sparse"]), "--modality", f"rna={files[kind]}"]
        args += ["--modality", f"prot={files['prot']}", "--layer", "rna=counts", "--permutations", "0"]
        assert main([*args, "--out", str(tmp_path / f"{kind}.json")]) == 0
        got[kind] = json.loads((tmp_path / f"{kind}.json").read_text())
    r2 = got["sparse"]["prediction_r2"]
    assert set(r2) == {"prot->rna", "rna->prot"} and all(np.isfinite(v) for v in r2.values())
    for key, value in r2.items():
        assert value == pytest.approx(got["dense"]["prediction_r2"][key], abs=1e-5)


def test_bench_file_case_runs_at_tiny_sizes(mmcorr_home: Path) -> None:
    import json
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "MMCORR_HOME": str(mmcorr_home), "MMCORR_AUTOSTART_WORKER": "0"}
    proc = subprocess.run(
        [sys.executable, "bench/sparse_memory.py", "--file", "--smoke"],
        cwd=root, capture_output=True, text=True, timeout=300, env=env, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = json.loads((root / "bench" / "out" / "sparse_memory_file_smoke.json").read_text())["rows"]
    assert [r["mode"] for r in rows] == ["file-sparse", "file-densified"]
    assert all(r["peak_above_baseline_mib"] > 0 and "split + fit" in r["stage_peaks_mib"] for r in rows)
