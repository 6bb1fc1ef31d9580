"""The usual spreadsheet-export mistakes get a message that says what was seen and how to fix it;
ids with control characters and metadata columns with reserved names are refused at load time;
the uploader offers only what the loaders read."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mmcorr import DataError
from mmcorr.data import RESERVED_COLUMNS, file_extension, load_modality, load_paired, upload_types
from mmcorr.data.metadata import read_metadata


def test_semicolon_delimited_with_decimal_commas(tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_text("id;g1;g2\ns1;1,5;2,25\ns2;3,0;4,5\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"excel\.csv: the table looks semicolon-delimited .* decimal commas"):
        load_modality(path, "a")


def test_semicolon_delimited_with_decimal_points(tmp_path: Path) -> None:
    path = tmp_path / "semi.csv"
    path.write_text("id;g1;g2\ns1;1.5;2\ns2;3;4\n", encoding="utf-8")
    with pytest.raises(
        DataError, match=r"semi\.csv: the table looks semicolon-delimited \('id;g1;g2'\); mmcorr"
    ):
        load_modality(path, "a")


def test_gzip_bytes_named_csv(tmp_path: Path) -> None:
    path = tmp_path / "packed.csv"
    path.write_bytes(gzip.compress(b"id,g1\ns1,1\ns2,2\n"))
    with pytest.raises(
        DataError, match=r"packed\.csv: the file is gzip-compressed .* rename it to packed\.csv\.gz"
    ):
        load_modality(path, "a")


def test_latin1_text(tmp_path: Path) -> None:
    path = tmp_path / "old.csv"
    path.write_bytes("id,gène\ns1,1\ns2,2\n".encode("latin-1"))
    with pytest.raises(
        DataError, match=r"old\.csv: the text is not UTF-8 \(byte 5 is 0xe8; .*Latin-1.* UTF-8"
    ):
        load_modality(path, "a")


def test_comma_table_named_tsv(tmp_path: Path) -> None:
    path = tmp_path / "x.tsv"
    path.write_text("id,g1\ns1,1\ns2,2\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"x\.tsv: named \.tsv but the header has commas and no tabs; rename"):
        load_modality(path, "a")


def test_utf8_with_bom_and_accents_still_loads(tmp_path: Path) -> None:
    path = tmp_path / "ok.csv"
    path.write_bytes("\ufeffid,gène,g2\ns1,1,2\ns2,3,5\n".encode())
    mod = load_modality(path, "a")
    assert mod.features == ["gène", "g2"]


def test_a_nul_byte_inside_an_id_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "ids.csv"
    path.write_bytes(b"id,g1\ns1,1\ns\x002,2\ns3,5\n")
    with pytest.raises(
        DataError, match=r"ids\.csv: sample id in row 2 \('s\\x002'\) holds a control character"
    ):
        load_modality(path, "a")


def test_a_nul_byte_in_a_label_table_id_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "labels.csv"
    path.write_bytes(b"id,digit\ns1,1\ns\x002,2\n")
    with pytest.raises(DataError, match=r"labels\.csv: sample id in row 2 .* control character"):
        read_metadata(path)


@pytest.mark.parametrize("column", RESERVED_COLUMNS[1:])
def test_reserved_metadata_column_names_are_refused_at_load(tmp_path: Path, column: str) -> None:
    rng = np.random.default_rng(0)
    ids = [f"s{i}" for i in range(30)]
    for name in ("a", "b"):
        frame = pd.DataFrame(rng.normal(size=(30, 3)), columns=["f1", "f2", "f3"])
        frame.insert(0, "sample", ids)
        frame.to_csv(tmp_path / f"{name}.csv", index=False)
    pd.DataFrame({"sample": ids, "digit": [i % 3 for i in range(30)], column: 1.0}).to_csv(
        tmp_path / "labels.csv", index=False
    )
    with pytest.raises(DataError, match=rf"labels\.csv: the column name\(s\) \['{column}'\] are reserved"):
        load_paired(
            {"a": tmp_path / "a.csv", "b": tmp_path / "b.csv"},
            labels=tmp_path / "labels.csv",
            label_column="digit",
        )


def test_the_run_tables_column_names_are_all_reserved() -> None:
    from mmcorr.data.registry import ID_COLUMN as REGISTRY_ID
    from mmcorr.runs import bundle

    names = {REGISTRY_ID, "x", "y"}
    names |= {
        getattr(bundle, n) for n in ("ID_COLUMN", "SPLIT_COLUMN", "MODALITY_COLUMN") if hasattr(bundle, n)
    }
    assert names <= set(RESERVED_COLUMNS)


def test_the_uploader_offers_only_what_the_loaders_read(tmp_path: Path) -> None:
    types = upload_types()
    assert "txt" not in types and "txt" not in upload_types(tables_only=True)
    for kind in types:
        if kind == "gz":
            continue  # .csv.gz / .tsv.gz: the full name is checked by the loaders
        if kind == "zip":  # raw media: a zip of images, .txt files or audio clips
            import zipfile

            from mmcorr.data.media import detect_kind

            with zipfile.ZipFile(tmp_path / "x.zip", "w") as zf:
                zf.writestr("a.txt", "a caption")
            assert detect_kind(tmp_path / "x.zip") == "text"
            continue
        assert file_extension(tmp_path / f"x.{kind}") == f".{kind}"
    assert set(upload_types(tables_only=True)) <= set(types)
    assert "zip" not in upload_types(tables_only=True)


@pytest.mark.parametrize("demo", ["digits-noisy", "synthetic"])
def test_our_own_demo_files_load_with_their_labels(tmp_path: Path, demo: str) -> None:
    # The README's first steps: `mmcorr data demo NAME --out DIR`, then train on DIR's files.
    from mmcorr.cli import main

    assert main(["data", "demo", demo, "--out", str(tmp_path)]) == 0
    views = {p.stem: p for p in sorted(tmp_path.glob("*.csv")) if p.stem != "labels"}
    ds, _ = load_paired(views, labels=tmp_path / "labels.csv")
    assert ds.metadata is not None and not set(ds.metadata.columns) & set(RESERVED_COLUMNS)
