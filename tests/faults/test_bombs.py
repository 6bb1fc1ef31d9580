"""Decompression bombs: files far under the upload limit that expand past it are refused before
they are decoded, with one line naming the file; a header that lies about its size too.

The limit is lowered with ``max_bytes`` so the bombs stay small; the check is the same at 1 GB.
"""

from __future__ import annotations

import gzip
import io
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mmcorr import DataError
from mmcorr.data import load_modality

LIMIT = 2 << 20  # 2 MiB


def test_a_parquet_that_decodes_past_the_limit_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "zeros.parquet"
    pd.DataFrame(np.zeros((20_000, 50), dtype=np.float32)).rename(columns=str).to_parquet(path)
    assert path.stat().st_size < LIMIT / 10
    with pytest.raises(
        DataError, match=r"zeros\.parquet: the table \(20,000 x 50\) would take .* MB once decompressed"
    ):
        load_modality(path, "a", max_bytes=LIMIT)


def test_a_csv_gz_that_decompresses_past_the_limit_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bomb.csv.gz"
    path.write_bytes(gzip.compress(b"a,b\n" + b"0,0\n" * (LIMIT // 2)))
    assert path.stat().st_size < LIMIT / 10
    with pytest.raises(
        DataError, match=r"bomb\.csv\.gz: the text would take .* once decompressed, over the 2\.0 MB"
    ):
        load_modality(path, "a", max_bytes=LIMIT)


def test_an_npz_member_that_expands_past_the_limit_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bomb.npz"
    np.savez_compressed(path, x=np.zeros((2000, 1000), dtype=np.float32))
    assert path.stat().st_size < LIMIT / 10
    with pytest.raises(DataError, match=r"bomb\.npz: the member 'x\.npy' would take .* once decompressed"):
        load_modality(path, "a", max_bytes=LIMIT)


def test_an_npy_header_claiming_terabytes_is_refused_without_reading(tmp_path: Path) -> None:
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buf, {"descr": "<f4", "fortran_order": False, "shape": (10**6, 10**6)}
    )
    path = tmp_path / "liar.npy"
    path.write_bytes(buf.getvalue() + b"\0" * 64)
    with pytest.raises(
        DataError, match=r"liar\.npy: the array \(1000000, 1000000\) would take 3,814,697.3 MB"
    ):
        load_modality(path, "a")


def test_an_npz_member_that_is_not_an_array_is_named(tmp_path: Path) -> None:
    path = tmp_path / "odd.npz"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("notes.txt", "hello")
    with pytest.raises(DataError, match=r"odd\.npz: the member 'notes\.txt' is not a \.npy array"):
        load_modality(path, "a")


def test_files_under_the_limit_still_load(tmp_path: Path) -> None:
    x = np.arange(12, dtype=np.float32).reshape(4, 3)
    np.save(tmp_path / "x.npy", x)
    np.savez_compressed(tmp_path / "x.npz", x=x)
    (tmp_path / "x.csv.gz").write_bytes(gzip.compress(b"id,a,b\ns1,1,2\ns2,3,5\ns3,4,4\n"))
    pd.DataFrame({"id": ["s1", "s2", "s3"], "a": [1.0, 2.0, 4.0]}).to_parquet(tmp_path / "x.parquet")
    assert load_modality(tmp_path / "x.npy", "a", max_bytes=LIMIT).values.shape == (4, 3)
    assert load_modality(tmp_path / "x.npz", "a", max_bytes=LIMIT).values.shape == (4, 3)
    assert load_modality(tmp_path / "x.csv.gz", "a", max_bytes=LIMIT).values.shape == (3, 2)
    assert load_modality(tmp_path / "x.parquet", "a", max_bytes=LIMIT).values.shape == (3, 1)
