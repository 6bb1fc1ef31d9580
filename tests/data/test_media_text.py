"""Text from a table column or .txt files -> hashed n-gram counts (mmcorr.data.media.text)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mmcorr._validation import DataError
from mmcorr.data.media import load_media

CAPTIONS = ["Seven red apples", "A dog runs in the park", "seven seven dogs", "Quiet evening sky"]


def _folder(path: Path, files: dict[str, bytes]) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (path / name).write_bytes(data)
    return path


def _zip(path: Path, files: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return path


def _files() -> dict[str, bytes]:
    return {f"s{i}.txt": t.encode() for i, t in enumerate(CAPTIONS)}


def test_table_column_gives_counts_ids_and_previews(tmp_path: Path) -> None:
    path = tmp_path / "caps.csv"
    pd.DataFrame({"sample_id": [f"s{i}" for i in range(4)], "caption": CAPTIONS}).to_csv(path, index=False)
    mod = load_media(path, "txt", "text", column="caption")
    assert mod.values.shape == (4, 2048) and mod.values.dtype == np.float32
    assert mod.ids.tolist() == ["s0", "s1", "s2", "s3"] and mod.id_column == "sample_id"
    assert mod.previews is not None and mod.previews.tolist() == CAPTIONS
    assert mod.media is not None and mod.media.kind == "text" and mod.media.shape == (2048,)
    assert mod.media.params["word_ngram"] == [1, 2] and mod.media.params["char_ngram"] == [3, 5]
    # "seven" appears 3 times (lowercased): its bucket is named after it and counts it per row.
    j = mod.features.index("w:seven")
    assert mod.values[:, j].tolist() == [1.0, 0.0, 2.0, 0.0]
    assert any(f.startswith("c:") for f in mod.features) and any(f.startswith("hash_") for f in mod.features)
    assert len(set(mod.features)) == 2048


def test_folder_zip_and_table_agree(tmp_path: Path) -> None:
    a = load_media(_folder(tmp_path / "t", _files()), "txt", "text")
    b = load_media(_zip(tmp_path / "t.zip", _files()), "txt", "text")
    path = tmp_path / "caps.tsv"
    pd.DataFrame({"name": [f"s{i}" for i in range(4)], "caption": CAPTIONS}).to_csv(
        path, sep="\t", index=False
    )
    c = load_media(path, "txt", "text", column="caption")
    assert a.ids.tolist() == b.ids.tolist() == c.ids.tolist() == ["s0", "s1", "s2", "s3"]
    np.testing.assert_array_equal(a.values, b.values)
    np.testing.assert_array_equal(a.values, c.values)
    assert a.features == c.features


def test_ids_fall_back_to_row_numbers(tmp_path: Path) -> None:
    path = tmp_path / "caps.csv"
    pd.DataFrame({"caption": CAPTIONS, "other": [1, 1, 2, 2]}).to_csv(path, index=False)
    mod = load_media(path, "txt", "text", column="caption")
    assert mod.ids.tolist() == ["0", "1", "2", "3"] and mod.id_column is None


def test_parquet_and_explicit_id_column(tmp_path: Path) -> None:
    path = tmp_path / "caps.parquet"
    pd.DataFrame({"n": [3, 4, 5, 6], "key": list("abcd"), "caption": CAPTIONS}).to_parquet(path)
    mod = load_media(path, "txt", "text", column="caption", id_column="key")
    assert mod.ids.tolist() == list("abcd")
    with pytest.raises(DataError, match=r"caps\.parquet: column 'n' holds int64, not text"):
        load_media(path, "txt", "text", column="n")


def test_spec_reproduces_features(tmp_path: Path) -> None:
    from mmcorr.data.types import MediaSpec

    first = load_media(_folder(tmp_path / "t", _files()), "txt", "text")
    assert first.media is not None
    spec = MediaSpec.from_json(first.media.to_json())
    again = load_media(_zip(tmp_path / "t.zip", _files()), "txt", "text", spec=spec)
    np.testing.assert_array_equal(first.values, again.values)
    small = MediaSpec("text", (64,), {**spec.params, "n_features": 64})
    assert load_media(_folder(tmp_path / "t", _files()), "txt", "text", spec=small).values.shape == (4, 64)


def test_missing_column_lists_the_columns(tmp_path: Path) -> None:
    path = tmp_path / "caps.csv"
    pd.DataFrame({"id": ["a"], "caption": ["hi there"]}).to_csv(path, index=False)
    with pytest.raises(
        DataError, match=r"caps\.csv: there is no text column 'text'. Columns: 'id', 'caption'"
    ):
        load_media(path, "txt", "text", column="text")


def test_numeric_column_is_not_text(tmp_path: Path) -> None:
    path = tmp_path / "caps.csv"
    pd.DataFrame({"id": ["a", "b"], "score": [1.5, 2]}).to_csv(path, index=False)
    with pytest.raises(DataError, match=r"caps\.csv: column 'score' holds only numbers"):
        load_media(path, "txt", "text", column="score")


def test_empty_cell_is_named_with_its_row(tmp_path: Path) -> None:
    path = tmp_path / "caps.csv"
    path.write_text("id,caption\na,hello world\nb,\n")
    with pytest.raises(DataError, match=r"caps\.csv: column 'caption' row 2 is empty"):
        load_media(path, "txt", "text", column="caption")


def test_whitespace_cell_is_named_with_its_row(tmp_path: Path) -> None:
    path = tmp_path / "caps.csv"
    path.write_text('id,caption\na,hello world\nb,"  \t "\n')
    with pytest.raises(DataError, match=r"caps\.csv: column 'caption' row 2 is only whitespace"):
        load_media(path, "txt", "text", column="caption")


def test_empty_txt_entry(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"t\.zip: entry 'b\.txt' is empty"):
        load_media(_zip(tmp_path / "t.zip", {"a.txt": b"hello", "b.txt": b""}), "txt", "text")


def test_whitespace_txt_entry(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"t: entry 'b\.txt' is only whitespace"):
        load_media(_folder(tmp_path / "t", {"a.txt": b"hello", "b.txt": b" \n\t "}), "txt", "text")


def test_non_utf8_txt_names_entry_and_byte(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"t\.zip: entry 'b\.txt' is not UTF-8 text: byte 4 \(line 1, 0xe9\)"):
        load_media(
            _zip(
                tmp_path / "t.zip",
                {"a.txt": b"hello", "b.txt": "caf\u00e9!".encode("latin-1")[:3] + b" \xe9"},
            ),
            "txt",
            "text",
        )


def test_bom_is_allowed(tmp_path: Path) -> None:
    mod = load_media(_folder(tmp_path / "t", {"a.txt": b"\xef\xbb\xbfhello world"}), "txt", "text")
    assert mod.previews is not None and mod.previews[0] == "hello world"


def test_non_utf8_table(tmp_path: Path) -> None:
    path = tmp_path / "caps.csv"
    path.write_bytes(b"id,caption\na,ok\nb,caf\xe9\n")
    with pytest.raises(DataError, match=r"caps\.csv: the file is not UTF-8 text: byte 21 \(line 3"):
        load_media(path, "txt", "text", column="caption")
