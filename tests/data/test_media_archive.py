"""Safe listing and bounded reading of a folder or .zip of media files (mmcorr.data.media.archive)."""

from __future__ import annotations

import re
import struct
import zipfile
from pathlib import Path

import pytest

from mmcorr._validation import DataError
from mmcorr.data.media import detect_kind, load_media
from mmcorr.data.media.archive import ID_FROM_FILE_NAME, ID_FROM_MANIFEST, open_archive


def _zip(path: Path, files: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", method) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return path


def _folder(path: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_bytes(data)
    return path


def _read_all(path: Path, kind: str = "text", **kw: object) -> dict[str, bytes]:
    arch = open_archive(path, kind, **kw)  # type: ignore[arg-type]
    return {e.id: data for _, e, data in arch.iter_bytes()}


def test_zip_and_folder_list_the_same_entries_with_stem_ids(tmp_path: Path) -> None:
    files = {
        "b.txt": b"bee",
        "sub/a.TXT": b"ay",
        "__MACOSX/._b.txt": b"junk",
        ".DS_Store": b"x",
        "sub/.hidden.txt": b"h",
    }
    z = open_archive(_zip(tmp_path / "t.zip", files), "text")
    f = open_archive(_folder(tmp_path / "t", files), "text")
    assert [e.name for e in z.entries] == [e.name for e in f.entries] == ["b.txt", "sub/a.TXT"]
    assert z.ids.tolist() == ["b", "a"] and z.id_column == ID_FROM_FILE_NAME
    assert _read_all(tmp_path / "t.zip") == _read_all(tmp_path / "t") == {"b": b"bee", "a": b"ay"}


def test_detect_kind(tmp_path: Path) -> None:
    assert detect_kind(_zip(tmp_path / "a.zip", {"x.wav": b"", "y.FLAC": b""})) == "audio"
    assert detect_kind(_folder(tmp_path / "t", {"x.txt": b"a"})) == "text"
    (tmp_path / "table.csv").write_text("id,x\na,1\n")
    assert detect_kind(tmp_path / "table.csv") is None
    with pytest.raises(DataError, match="mixes audio and image files"):
        detect_kind(_zip(tmp_path / "m.zip", {"x.wav": b"", "y.png": b""}))


@pytest.mark.parametrize(
    ("entry", "why"),
    [
        ("../x.txt", "climbs out"),
        ("a/../../x.txt", "climbs out"),
        ("/x.txt", "absolute"),
        ("C:\\x.txt", "absolute"),
    ],
)
def test_entry_paths_that_leave_the_archive_are_refused(tmp_path: Path, entry: str, why: str) -> None:
    path = _zip(tmp_path / "evil.zip", {"ok.txt": b"fine", entry: b"bad"})
    with pytest.raises(DataError, match=rf"evil\.zip: entry {re.escape(repr(entry))}.*{why}"):
        open_archive(path, "text")


def test_folder_link_pointing_outside_is_refused(tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text("s")
    folder = _folder(tmp_path / "t", {"a.txt": b"a"})
    (folder / "b.txt").symlink_to(tmp_path / "secret.txt")
    with pytest.raises(DataError, match=r"t: entry 'b\.txt' is a link pointing outside"):
        open_archive(folder, "text")


def test_zip_bomb_ratio_is_refused_before_reading(tmp_path: Path) -> None:
    path = _zip(tmp_path / "bomb.zip", {"a.txt": b"x", "zeros.txt": bytes(2 << 20)})
    assert path.stat().st_size < 100_000
    with pytest.raises(DataError, match=r"bomb\.zip: entry 'zeros\.txt' would expand .* at most 200:1"):
        open_archive(path, "text")


def test_declared_total_over_the_limit_is_refused(tmp_path: Path) -> None:
    files = {f"f{i}.txt": b"ab" * 100_000 for i in range(3)}  # 600 kB declared, 1:1000 but < 1 MiB each
    path = _zip(tmp_path / "big.zip", files)
    with pytest.raises(
        DataError, match=r"big\.zip: the archive \(up to entry 'f\d\.txt'\) would take .* once decompressed"
    ):
        open_archive(path, "text", max_bytes=100_000)


def test_a_header_that_understates_the_size_is_caught_while_reading(tmp_path: Path) -> None:
    path = _zip(tmp_path / "lie.zip", {"a.txt": b"0123456789" * 10}, method=zipfile.ZIP_STORED)
    raw = bytearray(path.read_bytes())
    cd = raw.index(b"PK\x01\x02")
    raw[cd + 24 : cd + 28] = struct.pack("<I", 10)  # central directory: uncompressed size 10
    path.write_bytes(bytes(raw))
    arch = open_archive(path, "text")
    assert arch.entries[0].size == 10
    with pytest.raises(DataError, match=r"lie\.zip: entry 'a\.txt' cannot be read"):
        list(arch.iter_bytes())


def test_duplicate_stems_are_refused(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"entries 'a\.txt' and 'sub/a\.txt' have the same name"):
        open_archive(_zip(tmp_path / "d.zip", {"a.txt": b"1", "sub/a.txt": b"2"}), "text")
    with pytest.raises(DataError, match=r"entries 'a\.PNG' and 'a\.png' have the same name"):
        open_archive(_folder(tmp_path / "d", {"a.png": b"1", "a.PNG": b"2"}), "image")


def test_no_files_of_the_kind(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"e\.zip: holds no audio files \(\.wav, \.flac, \.ogg\)"):
        open_archive(_zip(tmp_path / "e.zip", {"__MACOSX/._a.wav": b"x", ".keep": b""}), "audio")


def test_other_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"o\.zip: entry 'x\.png' is not allowed in an archive of text files"):
        open_archive(_zip(tmp_path / "o.zip", {"a.txt": b"1", "x.png": b"2"}), "text")


def test_neither_folder_nor_zip(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text("a\n1\n")
    with pytest.raises(DataError, match=r"t\.csv: image files must come in a folder or a \.zip"):
        load_media(tmp_path / "t.csv", "img", "image")
    with pytest.raises(DataError, match="not found"):
        open_archive(tmp_path / "missing.zip", "image")


def test_corrupt_zip(tmp_path: Path) -> None:
    (tmp_path / "c.zip").write_bytes(b"PK\x03\x04 this is not really a zip" * 10)
    with pytest.raises(DataError, match=r"c\.zip: not a readable zip archive"):
        open_archive(tmp_path / "c.zip", "text")


def test_manifest_inside_the_archive_gives_ids(tmp_path: Path) -> None:
    files = {"a.txt": b"1", "sub/a.txt": b"2", "manifest.csv": b"file,id\na.txt,s1\nsub/a.txt,s2\n"}
    arch = open_archive(_zip(tmp_path / "m.zip", files), "text")
    assert arch.ids.tolist() == ["s1", "s2"] and arch.id_column == ID_FROM_MANIFEST


def test_manifest_on_disk(tmp_path: Path) -> None:
    (tmp_path / "map.tsv").write_text("file\tid\nb.txt\tB\na.txt\tA\n")
    arch = open_archive(
        _folder(tmp_path / "t", {"a.txt": b"1", "b.txt": b"2"}), "text", manifest=tmp_path / "map.tsv"
    )
    assert arch.ids.tolist() == ["A", "B"]


def test_manifest_naming_an_unknown_file(tmp_path: Path) -> None:
    files = {"a.txt": b"1", "manifest.csv": b"file,id\na.txt,s1\nghost.txt,s2\n"}
    with pytest.raises(DataError, match=r"manifest\.csv: row 2 names the file 'ghost\.txt'"):
        open_archive(_zip(tmp_path / "m.zip", files), "text")


def test_entry_missing_from_the_manifest(tmp_path: Path) -> None:
    files = {"a.txt": b"1", "b.txt": b"2", "manifest.csv": b"file,id\na.txt,s1\n"}
    with pytest.raises(DataError, match=r"m\.zip: entry 'b\.txt' is missing from the manifest"):
        open_archive(_zip(tmp_path / "m.zip", files), "text")


def test_manifest_without_its_columns(tmp_path: Path) -> None:
    files = {"a.txt": b"1", "manifest.csv": b"name,label\na.txt,s1\n"}
    with pytest.raises(DataError, match=r"manifest\.csv: the manifest needs columns 'file' and 'id'"):
        open_archive(_zip(tmp_path / "m.zip", files), "text")


def test_backslash_separators_are_read(tmp_path: Path) -> None:
    path = _zip(tmp_path / "w.zip", {"sub\\a.txt": b"ay", "b.txt": b"bee"})
    assert _read_all(path) == {"a": b"ay", "b": b"bee"}


def test_id_column_is_ignored_and_column_refused_for_archives(tmp_path: Path) -> None:
    path = _zip(tmp_path / "t.zip", {"a.txt": b"hello world"})
    assert load_media(path, "txt", "text", id_column="sample_id").ids.tolist() == ["a"]
    with pytest.raises(DataError, match=r"t\.zip: column='caption' applies to text tables only"):
        load_media(path, "txt", "text", column="caption")
