"""The optional manifest of a media archive: a csv / tsv with columns ``file`` and ``id`` mapping each
member file (its path inside the archive) to its sample id.

Every row must name a member file of the modality's kind and every such file must have a row;
files and ids are unique and non-empty.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from mmcorr._validation import DataError

__all__ = ["MANIFEST_NAMES", "manifest_entry", "manifest_ids", "read_manifest"]

#: A manifest at the top of an archive used when none is named (columns ``file`` and ``id``).
MANIFEST_NAMES: tuple[str, ...] = ("manifest.csv", "manifest.tsv")


def manifest_entry(path: Path, files: dict[str, int], manifest: str | Path) -> str | None:
    """The archive entry a named manifest is (by entry name, or a file on disk inside the folder)."""
    key = str(manifest).replace("\\", "/")
    if key in files:
        return key
    on_disk = Path(manifest)
    if path.is_dir() and on_disk.is_file() and on_disk.resolve().is_relative_to(path.resolve()):
        return on_disk.resolve().relative_to(path.resolve()).as_posix()
    return None


def read_manifest(path: Path, files: dict[str, int], manifest: str | Path, limit: int) -> tuple[str, bytes]:
    """(display name, bytes) of the manifest: an entry of the archive, or a table file on disk."""
    key = manifest_entry(path, files, manifest)
    if key is not None:
        if files[key] > limit:
            raise DataError(
                f"{path.name}: entry {key!r} (the manifest) is over the {limit / 2**20:.1f} MB limit."
            )
        if path.is_dir():
            with open(path / key, "rb") as fh:
                return key, fh.read(files[key])
        with zipfile.ZipFile(path) as zf, zf.open(key) as fh:
            return key, fh.read(files[key])
    on_disk = Path(manifest)
    if not on_disk.is_file():
        raise DataError(
            f"{path.name}: the manifest {str(manifest)!r} is neither an entry of the archive nor a file."
        )
    if on_disk.stat().st_size > limit:
        raise DataError(f"{on_disk.name}: the manifest is over the {limit / 2**20:.1f} MB limit.")
    return on_disk.name, on_disk.read_bytes()


def manifest_ids(source: str, label: str, data: bytes, names: list[str]) -> dict[str, str]:
    """Member file -> sample id from a manifest table with columns ``file`` and ``id``."""
    sep = "\t" if label.lower().endswith(".tsv") else ","
    try:
        table = pd.read_csv(io.BytesIO(data), sep=sep, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise DataError(f"{label}: not a readable manifest table ({exc}).") from None
    missing = [c for c in ("file", "id") if c not in table.columns]
    if missing:
        raise DataError(
            f"{label}: the manifest needs columns 'file' and 'id'; missing {missing}. "
            f"Columns: {list(table.columns)[:20]}."
        )
    files = table["file"].str.replace("\\", "/", regex=False).to_numpy(dtype=object)
    ids = table["id"].str.strip().to_numpy(dtype=object)
    for col, arr in (("file", files), ("id", ids)):
        empty = np.asarray([not str(v).strip() for v in arr]) if len(arr) else np.zeros(0, bool)
        if empty.any():
            raise DataError(f"{label}: column {col!r} row {int(np.argmax(empty)) + 1} is empty.")
        dup = pd.Index(arr).duplicated()
        if dup.any():
            row = int(np.argmax(dup))
            raise DataError(
                f"{label}: column {col!r} row {row + 1} repeats {arr[row]!r}; every {col} must be unique."
            )
    known = pd.Index(names)
    unknown = ~pd.Index(files).isin(known)
    if unknown.any():
        row = int(np.argmax(unknown))
        raise DataError(
            f"{label}: row {row + 1} names the file {files[row]!r}, which is not a {source} entry of this kind."
        )
    absent = ~known.isin(pd.Index(files))
    if absent.any():
        raise DataError(
            f"{source}: entry {names[int(np.argmax(absent))]!r} is missing from the manifest {label!r} "
            f"({int(absent.sum())} entries are); every file needs a row with its id."
        )
    return dict(zip(files.tolist(), ids.tolist(), strict=True))
