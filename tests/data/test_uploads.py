"""Staging uploads and peeking at table headers (what the Data page needs before the real parse)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from mmcorr.data import stage_upload, table_columns


@pytest.fixture(autouse=True)
def _home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MMCORR_HOME", str(tmp_path / "home"))


def test_same_bytes_stage_to_the_same_file_named_after_the_upload() -> None:
    a = stage_upload("My RNA (v2).CSV", b"id,x\n1,2\n")
    b = stage_upload("My RNA (v2).CSV", b"id,x\n1,2\n")
    c = stage_upload("My RNA (v2).CSV", b"id,x\n1,3\n")
    assert a == b and a != c
    assert a.name == "My_RNA_v2.csv"
    assert a.read_bytes() == b"id,x\n1,2\n"


def test_staging_the_same_upload_again_marks_it_as_in_use() -> None:
    import os

    path = stage_upload("x.csv", b"id,x\n1,2\n")
    os.utime(path, (1_000_000, 1_000_000))  # staged long ago
    stage_upload("x.csv", b"id,x\n1,2\n")
    assert path.stat().st_mtime > 1_000_000


def test_a_name_that_climbs_out_stays_inside_the_staging_folder() -> None:
    path = stage_upload("../../etc/passwd", b"x")
    assert path.parent.parent.name == "uploads"
    assert path.name == "passwd"


def test_table_columns_reads_csv_tsv_and_parquet_headers(tmp_path: Path) -> None:
    frame = pd.DataFrame({"cell": ["a", "b"], "g1": [1.0, 2.0]})
    frame.to_csv(tmp_path / "t.csv", index=False)
    frame.to_csv(tmp_path / "t.tsv", index=False, sep="\t")
    frame.to_parquet(tmp_path / "t.parquet", index=False)
    for name in ("t.csv", "t.tsv", "t.parquet"):
        assert table_columns(tmp_path / name) == ["cell", "g1"]


def test_table_columns_of_an_unreadable_or_other_file_is_empty(tmp_path: Path) -> None:
    (tmp_path / "bad.parquet").write_bytes(b"not parquet")
    (tmp_path / "x.npy").write_bytes(b"\x93NUMPY")
    assert table_columns(tmp_path / "bad.parquet") == []
    assert table_columns(tmp_path / "x.npy") == []
