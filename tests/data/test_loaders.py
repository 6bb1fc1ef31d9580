"""Loaders: every format, id detection, and one test per bad input."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mmcorr import DataError, MmcorrError
from mmcorr.data import load_file, load_modality, sanitize_name

CSV = "sample_id,a,b\ns1,1.5,2\ns2,3,4\ns3,5,7\n"


def test_csv_with_id_column(write_csv: Callable[..., Path]) -> None:
    m = load_modality(write_csv(CSV, "rna counts.csv"))
    assert m.name == "rna_counts"
    assert m.values.dtype == np.float32 and m.values.shape == (3, 2)
    assert m.ids.tolist() == ["s1", "s2", "s3"] and m.id_column == "sample_id"
    assert m.features == ["a", "b"]
    np.testing.assert_allclose(m.values[:, 0], [1.5, 3, 5])


def test_tsv_without_ids_uses_row_numbers(write_csv: Callable[..., Path]) -> None:
    m = load_modality(write_csv("a\tb\n1\t2\n3\t5\n4\t1\n", "t.tsv"), "prot")
    assert m.name == "prot" and m.id_column is None
    assert m.ids.tolist() == ["0", "1", "2"]


def test_first_text_column_is_ids_and_keeps_leading_zeros(write_csv: Callable[..., Path]) -> None:
    m = load_modality(write_csv("gene,x,y\ng001,1,2\ng002,3,4\n"))
    assert m.id_column == "gene" and m.ids.tolist() == ["g001", "g002"]
    m2 = load_modality(write_csv("id,x,y\n001,1,2\n002,3,4\n", "z.csv"))
    assert m2.ids.tolist() == ["001", "002"]


def test_explicit_id_column(write_csv: Callable[..., Path]) -> None:
    m = load_modality(write_csv("a,key,b\n1,k1,2\n3,k2,5\n"), id_column="key")
    assert m.ids.tolist() == ["k1", "k2"] and m.features == ["a", "b"]


def test_pandas_index_column_is_ids(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    pd.DataFrame({"a": [1.0, 2.0, 4.0], "b": [3.0, 1.0, 0.0]}).to_csv(path)
    m = load_modality(path)
    assert m.ids.tolist() == ["0", "1", "2"] and m.features == ["a", "b"]


def test_gzipped_csv(tmp_path: Path) -> None:
    path = tmp_path / "g.csv.gz"
    pd.DataFrame({"id": ["a", "b"], "x": [1.0, 2.0]}).to_csv(path, index=False)
    m = load_modality(path)
    assert m.name == "g" and m.ids.tolist() == ["a", "b"]


def test_parquet(tmp_path: Path) -> None:
    path = tmp_path / "img.parquet"
    pd.DataFrame({"barcode": ["a", "b", "c"], "x": [1, 2, 3], "y": [0.5, 0.1, 0.2]}).to_parquet(path)
    m = load_modality(path)
    assert m.id_column == "barcode" and m.features == ["x", "y"] and m.values.dtype == np.float32


def test_npy_and_npz(tmp_path: Path) -> None:
    x = np.arange(12, dtype=np.float64).reshape(4, 3) ** 2
    np.save(tmp_path / "v.npy", x)
    np.savez(tmp_path / "w.npz", only=x)
    for f in ("v.npy", "w.npz"):
        m = load_modality(tmp_path / f)
        np.testing.assert_allclose(m.values, x)
        assert m.features == ["f0", "f1", "f2"] and m.ids.tolist() == ["0", "1", "2", "3"]


def test_text_column_dropped_with_reason(write_csv: Callable[..., Path]) -> None:
    m = load_modality(write_csv("id,a,kind,b\ns1,1,x,2\ns2,2,y,5\ns3,3,z,1\n"))
    assert m.features == ["a", "b"]
    assert m.dropped["kind"].startswith("not numeric")


def test_constant_feature_dropped_with_warning(write_csv: Callable[..., Path]) -> None:
    m = load_modality(write_csv("id,a,c,b\ns1,1,7,2\ns2,2,7,5\n"))
    assert m.features == ["a", "b"] and "constant" in m.dropped["c"]


def test_nan_impute_fills_means_and_reports(write_csv: Callable[..., Path]) -> None:
    m = load_modality(write_csv("id,a,b\ns1,1,2\ns2,,4\ns3,3,inf\n"), nan="impute")
    np.testing.assert_allclose(m.values[:, 0], [1, 2, 3])
    np.testing.assert_allclose(m.values[:, 1], [2, 4, 3])
    assert any("imputed 2" in n for n in m.notes)


def test_sanitize_name() -> None:
    assert sanitize_name("RNA counts.v2") == "RNA_counts_v2"
    assert sanitize_name("1abc") == "m_1abc"
    assert sanitize_name("***") == "modality"


def test_h5mu_one_modality_per_mudata_modality(tmp_path: Path) -> None:
    mudata = pytest.importorskip("mudata")
    anndata = pytest.importorskip("anndata")
    rng = np.random.default_rng(0)
    obs = [f"cell{i}" for i in range(12)]
    rna = anndata.AnnData(rng.normal(size=(12, 5)).astype(np.float32))
    rna.obs_names, rna.var_names = obs, [f"g{i}" for i in range(5)]
    prot = anndata.AnnData(rng.normal(size=(12, 3)).astype(np.float32))
    prot.obs_names, prot.var_names = obs, ["p0", "p1", "p2"]
    path = tmp_path / "cite.h5mu"
    mudata.MuData({"rna": rna, "prot": prot}).write(path)
    mods = load_file(path)
    assert [m.name for m in mods] == ["rna", "prot"]
    assert mods[0].values.shape == (12, 5) and mods[1].ids.tolist() == obs
    assert load_modality(path, "prot").features == ["p0", "p1", "p2"]


# ---- bad input: one test each -------------------------------------------------------------


def test_empty_file(write_csv: Callable[..., Path]) -> None:
    with pytest.raises(DataError, match=r"x\.csv: the file is empty"):
        load_modality(write_csv(""))


def test_header_only(write_csv: Callable[..., Path]) -> None:
    with pytest.raises(DataError, match=r"x\.csv: has column names but no data rows"):
        load_modality(write_csv("id,a,b\n"))


def test_no_numeric_columns(write_csv: Callable[..., Path]) -> None:
    with pytest.raises(DataError, match=r"x\.csv: no numeric feature columns.*'kind'"):
        load_modality(write_csv("id,kind\ns1,x\ns2,y\n"))


def test_non_numeric_cell_names_column_and_row(write_csv: Callable[..., Path]) -> None:
    text = "id,a,b\n" + "".join(f"s{i},{i},{i * 2}\n" for i in range(6)) + "s6,7,oops\ns7,8,9\n"
    with pytest.raises(DataError, match=r"x\.csv: column 'b' row 7 holds 'oops', which is not a number"):
        load_modality(write_csv(text))


def test_a_value_beyond_float32_names_its_cell_without_a_numpy_warning(tmp_path: Path) -> None:
    path = tmp_path / "big.parquet"
    pd.DataFrame({"id": ["s1", "s2", "s3"], "a": [1.0, 2.0, 3.0], "b": [0.5, 1e39, 0.2]}).to_parquet(path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(DataError, match=r"big\.parquet: column 'b' row 2 holds .*beyond float32's range"):
            load_modality(path)


def test_nan_is_an_error_by_default(write_csv: Callable[..., Path]) -> None:
    with pytest.raises(DataError, match=r"column 'b' row 2 holds a missing value \(NaN\).*nan='impute'"):
        load_modality(write_csv("id,a,b\ns1,1,2\ns2,2,\ns3,3,1\n"))


def test_inf_is_an_error_by_default(write_csv: Callable[..., Path]) -> None:
    with pytest.raises(DataError, match=r"column 'a' row 1 holds an infinite value"):
        load_modality(write_csv("id,a,b\ns1,inf,2\ns2,2,3\n"))


def test_all_constant(write_csv: Callable[..., Path]) -> None:
    with pytest.raises(DataError, match=r"no usable features: every feature is constant"):
        load_modality(write_csv("id,a,b\ns1,1,2\ns2,1,2\n"))


def test_duplicate_sample_ids(write_csv: Callable[..., Path]) -> None:
    with pytest.raises(DataError, match=r"x\.csv: 1 duplicate sample id\(s\), e\.g\. \['s1'\]"):
        load_modality(write_csv("id,a\ns1,1\ns2,2\ns1,3\n"))


def test_duplicate_feature_names(write_csv: Callable[..., Path]) -> None:
    with pytest.raises(DataError, match=r"x\.csv: duplicate feature names \['a'\]"):
        load_modality(write_csv("id,a,a\ns1,1,2\ns2,2,3\n"))


def test_unknown_id_column(write_csv: Callable[..., Path]) -> None:
    with pytest.raises(DataError, match=r"the id column 'key' is not in the file\. Columns: 'id', 'a'"):
        load_modality(write_csv("id,a\ns1,1\ns2,2\n"), id_column="key")


def test_ragged_rows(write_csv: Callable[..., Path]) -> None:
    with pytest.raises(DataError, match=r"x\.csv: cannot parse the table .*Expected 3 columns"):
        load_modality(write_csv("id,a,b\ns1,1,2\ns2,2\n"))


def test_unsupported_extension(write_csv: Callable[..., Path]) -> None:
    with pytest.raises(DataError, match=r"data\.xlsx: unsupported file type '\.xlsx'\. Supported: \.csv"):
        load_modality(write_csv("a", "data.xlsx"))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"nope\.csv: file not found"):
        load_modality(tmp_path / "nope.csv")


def test_npz_with_several_arrays(tmp_path: Path) -> None:
    np.savez(tmp_path / "two.npz", a=np.ones((3, 2)), b=np.zeros((3, 2)))
    with pytest.raises(
        DataError, match=r"two\.npz: a \.npz must hold exactly one array; it holds 2: \['a', 'b'\]"
    ):
        load_modality(tmp_path / "two.npz")


def test_object_array_is_never_unpickled(tmp_path: Path) -> None:
    np.save(tmp_path / "obj.npy", np.array([{"x": 1}, None], dtype=object), allow_pickle=True)
    with pytest.raises(DataError, match=r"obj\.npy: holds Python objects .*never unpickles"):
        load_modality(tmp_path / "obj.npy")


def test_pickled_array_in_npz(tmp_path: Path) -> None:
    np.savez(tmp_path / "obj.npz", x=np.array([[1, "a"]], dtype=object))
    with pytest.raises(DataError, match=r"obj\.npz: holds Python objects"):
        load_modality(tmp_path / "obj.npz")


def test_string_array(tmp_path: Path) -> None:
    np.save(tmp_path / "s.npy", np.array([["a", "b"]]))
    with pytest.raises(DataError, match=r"s\.npy: the array must be numeric .*got dtype <U1"):
        load_modality(tmp_path / "s.npy")


def test_one_dimensional_array(tmp_path: Path) -> None:
    np.save(tmp_path / "v.npy", np.arange(5.0))
    with pytest.raises(
        DataError, match=r"v\.npy: the array must be 2-D \(n_samples, n_features\); got shape \(5,\)"
    ):
        load_modality(tmp_path / "v.npy")


def test_corrupt_npy(write_csv: Callable[..., Path]) -> None:
    with pytest.raises(DataError, match=r"bad\.npy: not a readable \.npy file"):
        load_modality(write_csv("not numpy", "bad.npy"))


def test_file_over_size_limit(write_csv: Callable[..., Path]) -> None:
    with pytest.raises(DataError, match=r"x\.csv: the file is 0\.0 MB, over the 0\.0 MB limit"):
        load_modality(write_csv(CSV), max_bytes=10)


def test_size_limit_from_environment(write_csv: Callable[..., Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MMCORR_MAX_UPLOAD_MB", "0.00001")
    with pytest.raises(DataError, match=r"over the 0\.0 MB limit .*MMCORR_MAX_UPLOAD_MB"):
        load_modality(write_csv(CSV))


def test_bad_size_limit_environment(write_csv: Callable[..., Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MMCORR_MAX_UPLOAD_MB", "lots")
    with pytest.raises(
        MmcorrError, match=r"MMCORR_MAX_UPLOAD_MB environment variable must be a positive number"
    ):
        load_modality(write_csv(CSV))


@pytest.mark.parametrize("name", ["", "1st", "a b", "x" * 65])
def test_unsafe_modality_name(write_csv: Callable[..., Path], name: str) -> None:
    with pytest.raises(MmcorrError, match=r"modality name"):
        load_modality(write_csv(CSV), name)


def test_bad_nan_option(write_csv: Callable[..., Path]) -> None:
    with pytest.raises(
        MmcorrError, match=r"The 'nan' parameter must be one of 'error', 'impute'\. Got 'drop'"
    ):
        load_modality(write_csv(CSV), nan="drop")  # type: ignore[arg-type]


def test_corrupt_parquet(write_csv: Callable[..., Path]) -> None:
    with pytest.raises(DataError, match=r"p\.parquet: not a readable Parquet file"):
        load_modality(write_csv("nope", "p.parquet"))


def test_h5mu_without_anndata(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "anndata.io", None)  # makes `import anndata.io` fail
    (tmp_path / "m.h5mu").write_bytes(b"\x89HDF")
    with pytest.raises(
        DataError, match=r"m\.h5mu: reading AnnData / MuData files needs .*pip install 'mmcorr\[scverse\]'"
    ):
        load_file(tmp_path / "m.h5mu")
