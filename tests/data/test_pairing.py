"""Pairing by id (inner / outer), by order, the report, labels and the bad inputs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mmcorr import DataError, MmcorrError
from mmcorr.data import Modality, PairingReport, load_modality, load_paired, pair_modalities


def _mod(name: str, ids: list[str], d: int = 2, seed: int = 0) -> Modality:
    values = np.random.default_rng(seed).normal(size=(len(ids), d)).astype(np.float32)
    return Modality(
        name, values, np.array(ids, dtype=object), [f"{name}{j}" for j in range(d)], f"{name}.csv", "id"
    )


def test_inner_join_by_id(pair_files: dict[str, Path]) -> None:
    ds, report = load_paired(pair_files)
    assert ds.names == ["rna", "prot"] and ds.n_samples == 20 and ds.mask.all()
    assert ds.ids.tolist() == [f"c{i}" for i in range(5, 25)]
    rna = load_modality(pair_files["rna"])
    np.testing.assert_array_equal(ds.values["rna"], rna.values[5:])
    prot = load_modality(pair_files["prot"])
    np.testing.assert_array_equal(ds.values["prot"], prot.values[:20])
    assert report.n_paired == 20 and report.by == "id" and report.how == "inner"
    assert report.modalities[0].unmatched == 5 and report.modalities[1].unmatched_examples == ["x1", "x2"]
    assert "7 sample(s) have no partner" in " ".join(report.warnings)


def test_outer_join_keeps_partial_samples_with_mask(pair_files: dict[str, Path]) -> None:
    ds, report = load_paired(pair_files, how="outer")
    assert ds.n_samples == 27 and report.n_paired == 20
    assert ds.ids[-2:].tolist() == ["x1", "x2"]
    np.testing.assert_array_equal(ds.mask[:5], [[True, False]] * 5)
    np.testing.assert_array_equal(ds.mask[-2:], [[False, True]] * 2)
    assert (ds.values["prot"][:5] == 0).all() and (ds.values["rna"][-2:] == 0).all()
    prot = load_modality(pair_files["prot"])
    np.testing.assert_array_equal(ds.values["prot"][-2:], prot.values[-2:])
    assert any("lack at least one modality" in w for w in report.warnings)


def test_pair_by_order() -> None:
    ds, report = pair_modalities(
        [_mod("a", [str(i) for i in range(12)]), _mod("b", [f"z{i}" for i in range(12)])], by="order"
    )
    assert ds.n_samples == 12 and ds.ids[0] == "0" and report.by == "order"


def test_load_paired_without_ids_pairs_by_order(write_csv: Callable[..., Path]) -> None:
    rows = "".join(f"{i},{i * i % 7}\n" for i in range(12))
    a = write_csv("x,y\n" + rows, "a.csv")
    b = write_csv("u,v\n" + rows, "b.csv")
    ds, report = load_paired({"a": a, "b": b})
    assert report.by == "order" and ds.n_samples == 12
    assert "row order" in report.format()


def test_report_warns_when_features_outnumber_samples() -> None:
    _, report = pair_modalities(
        [_mod("a", [str(i) for i in range(12)], d=30), _mod("b", [str(i) for i in range(12)])]
    )
    assert any(
        "'a' has 30 features but only 12 paired samples: linear CCA will overfit" in w
        for w in report.warnings
    )
    assert report.to_dict()["modalities"][0]["n_features"] == 30
    assert PairingReport.from_dict(report.to_dict()) == report


def test_report_format_lists_dropped_columns(write_csv: Callable[..., Path]) -> None:
    rows = "".join(f"s{i},{i},5,{i % 3}\n" for i in range(12))
    a = write_csv("id,g1,const,g2\n" + rows, "a.csv")
    b = write_csv("id,h1,h2,h3\n" + rows, "b.csv")
    _, report = load_paired({"a": a, "b": b})
    text = report.format()
    assert "dropped 1 column(s): const: constant (every value is 5)" in text
    assert "constant feature(s): ['const']" in text


def test_labels_attach_by_id(pair_files: dict[str, Path], tmp_path: Path) -> None:
    labels = tmp_path / "labels.csv"
    pd.DataFrame({"sample_id": [f"c{i}" for i in range(3, 23)], "celltype": ["T", "B"] * 10}).to_csv(
        labels, index=False
    )
    ds, report = load_paired(pair_files, labels=labels)
    assert ds.label_column == "celltype" and ds.labels is not None
    assert ds.labels[:2].tolist() == ["T", "B"] and pd.isna(ds.labels[-1])  # c5 is row 3; c24 has none
    assert report.labels["n_classes"] == 2 and report.labels["missing"] == 2


def test_labels_unknown_column(pair_files: dict[str, Path], tmp_path: Path) -> None:
    labels = tmp_path / "labels.csv"
    pd.DataFrame({"id": ["c5"], "kind": ["T"]}).to_csv(labels, index=False)
    with pytest.raises(DataError, match=r"labels\.csv: no label column 'celltype'\. Columns: \['kind'\]"):
        load_paired(pair_files, labels=labels, label_column="celltype")


def test_labels_no_matching_ids(pair_files: dict[str, Path], tmp_path: Path) -> None:
    labels = tmp_path / "labels.csv"
    pd.DataFrame({"id": ["zz"], "kind": ["T"]}).to_csv(labels, index=False)
    with pytest.raises(DataError, match=r"labels\.csv: none of its sample ids match"):
        load_paired(pair_files, labels=labels)


# ---- bad input ----------------------------------------------------------------------------


def test_too_few_paired_samples() -> None:
    with pytest.raises(
        DataError, match=r"Only 9 sample\(s\) are present in every modality \(a, b\); at least 10"
    ):
        pair_modalities([_mod("a", [str(i) for i in range(9)]), _mod("b", [str(i) for i in range(9)])])


def test_row_counts_differ_by_order() -> None:
    with pytest.raises(
        DataError, match=r"same number of rows in every file; got \{'a\.csv': 12, 'b\.csv': 11\}"
    ):
        pair_modalities(
            [_mod("a", [str(i) for i in range(12)]), _mod("b", [str(i) for i in range(11)])], by="order"
        )


def test_no_common_ids() -> None:
    with pytest.raises(
        DataError, match=r"No sample id is shared by all modalities; e\.g\. a\.csv has \['0', '1', '2'\]"
    ):
        pair_modalities([_mod("a", [str(i) for i in range(12)]), _mod("b", [f"z{i}" for i in range(12)])])


def test_duplicate_modality_names() -> None:
    with pytest.raises(DataError, match=r"Modality names must be distinct; \['a'\]"):
        pair_modalities([_mod("a", ["1"] * 1), _mod("a", ["1"])])


def test_duplicate_ids_in_memory() -> None:
    with pytest.raises(DataError, match=r"a\.csv: 1 duplicate sample id\(s\), e\.g\. \['1'\]"):
        pair_modalities([_mod("a", ["1", "1"]), _mod("b", ["1", "2"])])


def test_unsafe_modality_name_in_memory() -> None:
    with pytest.raises(MmcorrError, match=r"modality name must start with a letter.*Got 'a b'"):
        pair_modalities([_mod("a b", ["1"]), _mod("b", ["1"])])


def test_single_modality() -> None:
    with pytest.raises(DataError, match=r"Pairing needs at least 2 modalities; got 1"):
        pair_modalities([_mod("a", ["1"])])


def test_bad_join() -> None:
    with pytest.raises(
        MmcorrError, match=r"The 'how' parameter must be one of 'inner', 'outer'\. Got 'left'"
    ):
        pair_modalities([_mod("a", ["1"]), _mod("b", ["1"])], how="left")  # type: ignore[arg-type]


def test_empty_files_mapping() -> None:
    with pytest.raises(MmcorrError, match=r"The 'files' parameter must map modality names to paths"):
        load_paired({})
