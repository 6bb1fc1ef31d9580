"""The Data page's helpers in mmcorr.data.uploads: upload types, text-column peeks, media previews."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mmcorr.data import MediaSpec, PairedDataset, make_demo, upload_types
from mmcorr.data.uploads import PREVIEW_COUNTS, SNIPPET_CHARS, media_preview, text_columns


def test_upload_types_offer_zip_for_modalities_only() -> None:
    assert "zip" in upload_types()
    assert "zip" not in upload_types(tables_only=True)
    assert {"csv", "parquet", "gz"} <= set(upload_types(tables_only=True))


@pytest.mark.parametrize(
    ("text", "columns", "suggested"),
    [
        # only an id and a text column: it can only be a text modality
        ("id,caption\na,the cat\nb,a dog on a mat\n", ("caption",), "caption"),
        # no column named like an id: the first unique text column is the ids, as the loaders take it
        ("file,caption\nx1,the cat\nx2,a dog on a mat\n", ("caption",), "caption"),
        # the longest texts are preselected among several
        (
            "id,title,abstract\na,T,a long abstract here\nb,U,another long one\n",
            ("title", "abstract"),
            "abstract",
        ),
        # numbers beside the text: maybe a numeric table, so nothing is preselected
        ("sample_id,g0,note\na,1.5,x\nb,2,y\n", ("note",), None),
        # a purely numeric table has no text column (empty cells are not text)
        ("sample_id,g0,g1\na,1.5,\nb,2,3\n", (), None),
        # nor does one with a typo in a numeric column: the loaders name the bad cell
        ("sample_id,g0\na,1.5\nb,2\nc,oops\n", (), None),
    ],
)
def test_text_columns(tmp_path: Path, text: str, columns: tuple[str, ...], suggested: str | None) -> None:
    path = tmp_path / "t.csv"
    path.write_text(text)
    found = text_columns(path)
    assert found.columns == columns
    assert found.suggested == suggested


def test_text_columns_of_tsv_gz_and_parquet(tmp_path: Path) -> None:
    frame = pd.DataFrame({"id": ["a", "b"], "caption": ["one cat", "two dogs"], "x": [1.0, 2.0]})
    frame.to_csv(tmp_path / "t.tsv.gz", sep="\t", index=False)
    frame.to_parquet(tmp_path / "t.parquet")
    for name in ("t.tsv.gz", "t.parquet"):
        assert text_columns(tmp_path / name).columns == ("caption",)


@pytest.mark.parametrize("content", [b"\x00\x01garbage", b""])
def test_text_columns_of_other_or_broken_files_are_empty(tmp_path: Path, content: bytes) -> None:
    for name in ("a.zip", "a.npy", "a.parquet"):
        (tmp_path / name).write_bytes(content)
        assert text_columns(tmp_path / name).columns == ()


def _text_dataset(texts: list[str | None]) -> PairedDataset:
    n = len(texts)
    previews = np.empty(n, dtype=object)
    previews[:] = texts
    ids = np.array([f"s{i}" for i in range(n)], dtype=object)
    return PairedDataset(
        names=["t"],
        values={"t": np.zeros((n, 4), dtype=np.float32)},
        features={"t": [f"f{j}" for j in range(4)]},
        ids=ids,
        mask=np.array([[t is not None] for t in texts]),
        media={"t": MediaSpec("text", (4,))},
        previews={"t": previews},
    )


def test_media_preview_skips_absent_samples_and_cuts_long_texts() -> None:
    long = "word " * 200
    shown = media_preview(_text_dataset([None, "a\n  short\ttext", long, "x", "y", "z", "w"]), "t")
    assert shown is not None and shown.kind == "text"
    assert [i for i, _, _ in shown.items] == ["s1", "s2", "s3", "s4", "s5"]  # PREVIEW_COUNTS["text"]
    assert shown.items[0][1] == "a short text"  # whitespace folded onto one line
    cut = str(shown.items[1][1])
    assert len(cut) == SNIPPET_CHARS and cut.endswith("\u2026")
    assert shown.features == "hashed word and character n-gram counts"


def test_media_preview_of_a_numeric_modality_is_none() -> None:
    ds = make_demo("synthetic", n_samples=30)
    assert media_preview(ds, ds.names[0]) is None


def test_media_preview_of_the_digits_media_demo() -> None:
    ds = make_demo("digits-media", n_samples=20)
    image, audio = media_preview(ds, "image"), media_preview(ds, "audio")
    assert image is not None and audio is not None
    assert len(image.items) == PREVIEW_COUNTS["image"] and image.features == "32x32 grey pixels"
    assert all(bytes(d).startswith(b"\x89PNG") and m == "image/png" for _, d, m in image.items)
    assert [m for _, _, m in audio.items] == ["audio/wav"] * PREVIEW_COUNTS["audio"]
    assert audio.features.startswith("a log-mel spectrogram of")
