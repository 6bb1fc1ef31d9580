"""AnnData / MuData in and out through the Python API, in muon's conventions: cells paired by obs
name across modalities, a partially observed modality, latents in ``obsm["X_mmcorr"]``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scverse_data import N_CELLS, N_PROT, anndata, cite, mudata, sp  # type: ignore[import-not-found]

from mmcorr import CorrelationModel, DataError
from mmcorr.data import OBSM_KEY, load_file, load_paired, paired_from_scverse

TINY = {"epochs": 2, "batch_size": 32, "hidden": (16,), "device": "cpu", "seed": 0}


def test_mudata_becomes_a_paired_dataset_by_obs_name_with_a_presence_mask() -> None:
    mdata = cite()
    ds = paired_from_scverse(mdata, layers={"rna": "counts"})
    assert ds.names == ["rna", "prot"] and ds.n_samples == N_CELLS
    assert ds.features["prot"] == [f"CD{j}" for j in range(5)]
    assert int(ds.mask[:, 1].sum()) == N_PROT and ds.mask[:, 0].all()
    # Rows are matched by obs name, not position: prot's rows were stored in another order.
    row = list(ds.ids).index(str(mdata["prot"].obs_names[0]))
    np.testing.assert_array_equal(ds.values["prot"][row], mdata["prot"].X[0])
    # The counts layer was read (integers), not the log-normalised X, and it stays a float32 CSR
    # matrix: the estimator densifies it one row chunk at a time.
    rna = ds.values["rna"]
    assert sp.issparse(rna) and rna.dtype == np.float32
    np.testing.assert_array_equal(rna.toarray(), mdata["rna"].layers["counts"].toarray())
    # obs columns: the global ones bare, each modality's prefixed with its key (muon's convention).
    assert ds.metadata is not None and {"batch", "rna:celltype"} <= set(ds.metadata.columns)


def test_fit_and_transform_inplace_write_obsm_x_mmcorr() -> None:
    mdata = cite()
    model = CorrelationModel("mvae", 2, **TINY).fit(mdata, layers={"rna": "counts"})
    assert model.names_ == ["rna", "prot"] and model.layers_ == {"rna": "counts"}
    expected = model.transform(mdata)
    assert model.transform(mdata, inplace=True) is None
    z_rna, z_prot = mdata["rna"].obsm[OBSM_KEY], mdata["prot"].obsm[OBSM_KEY]
    assert z_rna.shape == (N_CELLS, 2) and z_prot.shape == (N_PROT, 2)
    assert mdata.obsm[OBSM_KEY].shape == (mdata.n_obs, 2)
    # Every latent row belongs to its own cell: compare by obs name with the returned dict.
    ids = list(paired_from_scverse(mdata).ids)
    prot_rows = [ids.index(c) for c in mdata["prot"].obs_names]
    np.testing.assert_allclose(z_prot, expected["prot"][prot_rows], rtol=1e-6)
    joint_rows = [ids.index(c) for c in mdata.obs_names]
    np.testing.assert_allclose(mdata.obsm[OBSM_KEY], expected["joint"][joint_rows], rtol=1e-6)
    assert np.isfinite(mdata.obsm[OBSM_KEY]).all() and np.isfinite(z_prot).all()


def test_a_dict_of_anndata_is_the_same_as_the_mudata() -> None:
    mdata = cite()
    model = CorrelationModel("cca", 2, device="cpu").fit(mdata)
    as_dict = {"rna": mdata["rna"], "prot": mdata["prot"]}
    a, b = model.transform(mdata), model.transform(as_dict)
    np.testing.assert_allclose(a["rna"], b["rna"])
    model.transform(as_dict, inplace=True)
    assert as_dict["prot"].obsm[OBSM_KEY].shape == (N_PROT, 2)


def test_h5mu_file_round_trip_keeps_the_users_data(tmp_path: Path) -> None:
    path = tmp_path / "cite.h5mu"
    cite().write(path)
    ds, _ = load_paired({"d": path}, how="outer", layers={"rna": "counts"}, label_column="rna:celltype")
    assert ds.names == ["d_rna", "d_prot"] and ds.label_column == "rna:celltype"
    assert set(np.unique(ds.labels.astype(str))) == {"T", "B"}  # type: ignore[union-attr]
    model = CorrelationModel("mvae", 2, **TINY).fit(ds)
    from mmcorr.data import write_back

    latents = model.transform(ds)
    where = write_back(path, latents, ds.ids, ds.info["scverse_keys"])
    assert where == ["mod['rna'].obsm['X_mmcorr']", "mod['prot'].obsm['X_mmcorr']", "obsm['X_mmcorr']"]
    back = mudata.read_h5mu(path)
    assert back["rna"].obsm[OBSM_KEY].shape == (N_CELLS, 2) and back["prot"].obsm[OBSM_KEY].shape == (
        N_PROT,
        2,
    )
    # The user's own data is kept: layers, annotations and values.
    original = cite()
    assert "counts" in back["rna"].layers
    assert back["rna"].obs["celltype"].tolist() == original["rna"].obs["celltype"].tolist()
    np.testing.assert_array_equal(back["prot"].X, original["prot"].X)
    assert not list(tmp_path.glob("*.tmp*"))  # the temporary file was renamed into place


def test_h5ad_reads_one_modality_from_a_layer_with_obs_and_var_names(tmp_path: Path) -> None:
    rna = cite()["rna"]
    rna.write_h5ad(tmp_path / "rna.h5ad")
    [mod] = load_file(tmp_path / "rna.h5ad", "rna", layers={"rna": "counts"})
    assert mod.features == [f"gene{j}" for j in range(12)] and mod.ids[0] == "cell0"
    assert sp.issparse(mod.values)  # a sparse layer stays CSR until the batches densify it
    np.testing.assert_array_equal(mod.values.toarray(), rna.layers["counts"].toarray())
    assert mod.obs is not None and mod.obs["celltype"].tolist() == rna.obs["celltype"].tolist()
    [x] = load_file(tmp_path / "rna.h5ad", "rna")  # no layer: X
    np.testing.assert_allclose(x.values.toarray(), rna.X.toarray())


# ---- bad input: one test each ---------------------------------------------------------------------


def test_h5ad_layer_that_does_not_exist(tmp_path: Path) -> None:
    cite()["rna"].write_h5ad(tmp_path / "rna.h5ad")
    with pytest.raises(DataError, match=r"rna\.h5ad: has no layer 'raw'\. Allowed: \['X', 'counts'\]"):
        load_file(tmp_path / "rna.h5ad", "rna", layers={"rna": "raw"})


def test_mudata_layer_that_does_not_exist() -> None:
    with pytest.raises(DataError, match=r"modality 'prot': has no layer 'counts'\. Allowed: \['X'\]"):
        paired_from_scverse(cite(), layers={"prot": "counts"})


def test_layer_for_a_modality_the_data_lacks() -> None:
    with pytest.raises(DataError, match=r"layers name modalities \['atac'\].*Allowed: \['rna', 'prot'\]"):
        paired_from_scverse(cite(), layers={"atac": "counts"})


def _disjoint() -> object:
    m = cite()
    prot = m["prot"].copy()
    prot.obs_names = [f"other{i}" for i in range(prot.n_obs)]
    return mudata.MuData({"rna": m["rna"].copy(), "prot": prot})


def test_mudata_whose_modalities_share_no_obs_names() -> None:
    with pytest.raises(DataError, match=r"The modalities share no obs names \(rna has \['cell0'.*prot has"):
        CorrelationModel("cca", 2, device="cpu").fit(_disjoint())


def test_h5mu_file_whose_modalities_share_no_obs_names(tmp_path: Path) -> None:
    _disjoint().write(tmp_path / "d.h5mu")  # type: ignore[attr-defined]
    with pytest.raises(DataError, match=r"The modalities share no obs names"):
        load_paired({"d": tmp_path / "d.h5mu"}, how="outer")


def test_label_column_not_in_obs() -> None:
    with pytest.raises(DataError, match=r"'label_column' must be one of the obs columns .*Got 'cluster'"):
        paired_from_scverse(cite(), label_column="cluster")


def test_inplace_without_a_mudata() -> None:
    model = CorrelationModel("cca", 2, device="cpu").fit(cite())
    ds = paired_from_scverse(cite())
    with pytest.raises(Exception, match=r"'inplace' parameter needs a MuData or a dict of AnnData"):
        model.transform(ds, inplace=True)


def test_anndata_obs_table_is_metadata_not_features() -> None:
    ds = paired_from_scverse({"rna": cite()["rna"], "prot": cite()["prot"]})
    assert "celltype" not in ds.features["rna"]
    assert isinstance(ds.metadata, pd.DataFrame) and "rna:celltype" in ds.metadata.columns
    assert anndata is not None


def test_a_sparse_modality_fits_like_its_dense_copy() -> None:
    m = cite()
    # The sparse modality partially observed: prot has cells 0-95, rna cells 10-109.
    rna, prot = m["rna"][10:110].copy(), m["prot"].copy()
    dense = rna.copy()
    dense.X = rna.X.toarray()
    sparse_model = CorrelationModel("cca", 2, device="cpu", pca_dim=6).fit({"rna": rna, "prot": prot})
    dense_model = CorrelationModel("cca", 2, device="cpu", pca_dim=6).fit({"rna": dense, "prot": prot})
    a = sparse_model.transform({"rna": rna, "prot": prot})
    b = dense_model.transform({"rna": dense, "prot": prot})
    assert a["rna"].shape == (110, 2) and int(np.isnan(a["rna"]).any(axis=1).sum()) == 10
    for key in ("rna", "prot", "joint"):
        np.testing.assert_allclose(a[key], b[key], rtol=1e-4, atol=1e-5)
