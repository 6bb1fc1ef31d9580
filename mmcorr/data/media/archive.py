"""Safe listing and streamed reading of the files of one raw modality in a ``.zip`` archive or a folder.

Rules (every error is one line naming the archive and the entry):

* member files are chosen by extension, case-insensitively (:data:`MEDIA_EXTENSIONS`); directories,
  hidden files (a name starting with "."), ``__MACOSX/`` entries and the manifest are skipped; any
  other file is an error listing the allowed extensions.
* an entry path that climbs out of the archive (``../x.png``) or is absolute (``/x.png``,
  ``C:\\x.png``) is refused; in a folder, a symbolic link pointing outside it is refused.
* zip bombs are refused before anything is read: the declared uncompressed sizes must add up to at
  most :data:`UNPACK_FACTOR` x ``max_bytes``, and an entry over 1 MiB may not be compressed more than
  :data:`MAX_RATIO` : 1. Reading is bounded by the declared size, since zip headers can lie.
* sample id = the file stem (no folders, no extension), unique across the archive (``a.png`` and
  ``sub/a.jpg`` clash); or, with a manifest table (csv / tsv with columns ``file`` and ``id``), the
  id the manifest gives each file. A ``manifest.csv`` / ``manifest.tsv`` at the top of the archive
  is used when no manifest is named.
* entries are listed in sorted path order, so a folder and its zip give the same rows.
"""

from __future__ import annotations

import os
import re
import stat
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO

import numpy as np
import pandas as pd

from mmcorr._validation import DataError

from .._limits import check_decoded, check_file_size, resolve_limit
from ..types import MEDIA_KINDS, MediaKind
from .manifest import MANIFEST_NAMES, manifest_entry, manifest_ids, read_manifest

__all__ = [
    "ARCHIVE_SUFFIX",
    "ID_FROM_FILE_NAME",
    "ID_FROM_MANIFEST",
    "MANIFEST_NAMES",
    "MAX_RATIO",
    "MEDIA_EXTENSIONS",
    "UNPACK_FACTOR",
    "MediaArchive",
    "MediaEntry",
    "is_archive",
    "kind_of_name",
    "open_archive",
]

#: The member files each raw modality is read from (compared case-insensitively).
MEDIA_EXTENSIONS: dict[MediaKind, tuple[str, ...]] = {
    "image": (".png", ".jpg", ".jpeg", ".webp"),
    "text": (".txt",),
    "audio": (".wav", ".flac", ".ogg"),
}
ARCHIVE_SUFFIX = ".zip"
#: The declared uncompressed total may be this many times the upload limit (media compress little,
#: text a few times; more than this is either a bomb or a dataset too big for one machine).
UNPACK_FACTOR = 4
#: Largest compression ratio allowed for an entry over :data:`_RATIO_MIN_BYTES` (real media files
#: compress at most ~10:1; a zip bomb reaches 1000:1).
MAX_RATIO = 200
_RATIO_MIN_BYTES = 1 << 20
#: ``Modality.id_column`` of a raw modality: ids are file stems, or the manifest's ``id`` column.
ID_FROM_FILE_NAME = "file name"
ID_FROM_MANIFEST = "manifest id"

_DRIVE = re.compile(r"^[A-Za-z]:")


@dataclass(frozen=True)
class MediaEntry:
    """One member file: its path inside the archive / folder (posix), sample id and declared size."""

    name: str
    id: str
    size: int


@dataclass
class MediaArchive:
    """The checked member files of one raw modality, in sorted path order; read them with
    :meth:`iter_bytes` (one at a time, each bounded by its declared size)."""

    path: Path
    kind: MediaKind
    entries: list[MediaEntry]
    id_column: str = ID_FROM_FILE_NAME
    notes: list[str] = field(default_factory=list)

    @property
    def source(self) -> str:
        """The archive's name as used in messages."""
        return self.path.name

    @property
    def ids(self) -> np.ndarray:
        """Sample ids, shape (n,), dtype object (str)."""
        return np.asarray([e.id for e in self.entries], dtype=object)

    def where(self, entry: MediaEntry) -> str:
        """The message prefix naming the archive and the entry."""
        return f"{self.source}: entry {entry.name!r}"

    def iter_bytes(self) -> Iterator[tuple[int, MediaEntry, bytes]]:
        """Yield (row, entry, bytes) for every entry, reading one entry at a time."""
        if self.path.is_dir():
            for row, entry in enumerate(self.entries):
                try:
                    with open(self.path / entry.name, "rb") as fh:
                        data = self._bounded(fh, entry)
                except OSError as exc:
                    raise DataError(f"{self.where(entry)} cannot be read ({exc.strerror or exc}).") from None
                yield row, entry, data
            return
        try:
            with zipfile.ZipFile(self.path) as zf:
                # Entry names were listed with '/' separators; some tools write '\\'.
                members = {info.filename.replace("\\", "/"): info for info in zf.infolist()}
                for row, entry in enumerate(self.entries):
                    try:
                        with zf.open(members[entry.name]) as fh:
                            data = self._bounded(fh, entry)
                    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, KeyError) as exc:
                        raise DataError(
                            f"{self.where(entry)} cannot be read: corrupt archive ({exc})."
                        ) from None
                    yield row, entry, data
        except zipfile.BadZipFile as exc:
            raise DataError(f"{self.source}: not a readable zip archive ({exc}).") from None

    def _bounded(self, fh: IO[bytes], entry: MediaEntry) -> bytes:
        data = fh.read(entry.size + 1)
        if len(data) > entry.size:
            raise DataError(
                f"{self.where(entry)} holds more than the {entry.size:,} bytes its header declares; "
                "the archive is damaged or crafted. Re-create it."
            )
        return data


def is_archive(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a folder or names a .zip file (the containers raw media come in)."""
    p = Path(path)
    return p.is_dir() or p.name.lower().endswith(ARCHIVE_SUFFIX)


def kind_of_name(name: str) -> MediaKind | None:
    """The media kind a member file name's extension belongs to, else None."""
    lower = name.lower()
    for kind in MEDIA_KINDS:
        if lower.endswith(MEDIA_EXTENSIONS[kind]):
            return kind
    return None


def _allowed(kind: MediaKind) -> str:
    return ", ".join(MEDIA_EXTENSIONS[kind])


def _skipped(name: str) -> bool:
    parts = PurePosixPath(name).parts
    return name.endswith("/") or any(p.startswith(".") or p == "__MACOSX" for p in parts)


def _check_entry_path(source: str, name: str) -> str:
    """The entry name with '/' separators; an absolute path or one that climbs out is an error."""
    posix = name.replace("\\", "/")
    if posix.startswith("/") or _DRIVE.match(posix):
        raise DataError(
            f"{source}: entry {name!r} has an absolute path; archive entries must be relative paths "
            "inside the archive."
        )
    if ".." in PurePosixPath(posix).parts:
        raise DataError(
            f"{source}: entry {name!r} climbs out of the archive ('..'); entries must stay inside it."
        )
    return posix


def _list_zip(path: Path, source: str, limit: int) -> dict[str, int]:
    """Every file entry of the zip: posix name -> declared uncompressed size (after the bomb checks)."""
    check_file_size(path.stat().st_size, limit, source, "the archive")
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise DataError(f"{source}: not a readable zip archive ({exc}).") from None
    files: dict[str, int] = {}
    total = 0
    for info in infos:
        name = _check_entry_path(source, info.filename)
        if info.is_dir():
            continue
        if info.flag_bits & 0x1:
            raise DataError(
                f"{source}: entry {info.filename!r} is encrypted; archives must not use a password."
            )
        if info.file_size > _RATIO_MIN_BYTES and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise DataError(
                f"{source}: entry {info.filename!r} would expand {info.file_size / max(info.compress_size, 1):,.0f} "
                f"times (to {info.file_size / 2**20:,.1f} MB); at most {MAX_RATIO}:1 is allowed for "
                "entries over 1 MiB (a zip bomb?)."
            )
        total += info.file_size
        check_decoded(total, UNPACK_FACTOR * limit, source, f"the archive (up to entry {info.filename!r})")
        if name in files:
            raise DataError(f"{source}: entry {info.filename!r} appears twice in the archive.")
        files[name] = info.file_size
    return files


def _list_folder(path: Path, source: str, limit: int) -> dict[str, int]:
    """Every file under the folder: posix path relative to it -> size; links must stay inside."""
    root = path.resolve()
    files: dict[str, int] = {}
    total = 0
    for dirpath, dirnames, filenames in os.walk(path):
        dirnames.sort()
        for fname in filenames:
            full = Path(dirpath) / fname
            rel = full.relative_to(path).as_posix()
            st = full.lstat()
            if stat.S_ISLNK(st.st_mode):
                target = full.resolve()
                if not target.is_relative_to(root):
                    raise DataError(
                        f"{source}: entry {rel!r} is a link pointing outside the folder; entries must "
                        "stay inside it."
                    )
                st = target.stat()
            if not stat.S_ISREG(st.st_mode):
                continue
            files[rel] = int(st.st_size)
            total += int(st.st_size)
    check_file_size(total, limit, source, "the folder")
    return files


def _check_container(path: Path, kind: MediaKind) -> None:
    if not path.exists():
        raise DataError(f"{path}: not found.")
    if not is_archive(path) or not (path.is_dir() or path.is_file()):
        raise DataError(
            f"{path.name}: {kind} files must come in a folder or a .zip archive of "
            f"{_allowed(kind)} files. Got {path.suffix or 'a file without extension'!r}."
        )


def list_files(path: Path, max_bytes: int | None = None) -> dict[str, int]:
    """Every file entry (posix name -> declared size) of a folder or .zip, after the path and bomb checks."""
    source = path.name
    limit = resolve_limit(max_bytes)
    return _list_folder(path, source, limit) if path.is_dir() else _list_zip(path, source, limit)


def open_archive(
    path: str | os.PathLike[str],
    kind: MediaKind,
    *,
    manifest: str | Path | None = None,
    max_bytes: int | None = None,
) -> MediaArchive:
    """List and check the ``kind`` files of a folder or ``.zip`` (see the module docstring).

    manifest: a csv / tsv with columns ``file`` (entry path inside the archive) and ``id``: an entry
        of the archive or a file on disk. None uses a top-level ``manifest.csv`` / ``manifest.tsv``
        when there is one, else file stems.
    max_bytes: the size limit of the archive on disk (a folder's total); the declared uncompressed
        total may be :data:`UNPACK_FACTOR` times it. None uses ``MMCORR_MAX_UPLOAD_MB``.
    """
    path = Path(path)
    _check_container(path, kind)
    source = path.name
    limit = resolve_limit(max_bytes)
    files = list_files(path, max_bytes)
    manifest_key: str | None = None
    if manifest is None:
        manifest_key = next((m for m in MANIFEST_NAMES if m in files), None)
        manifest = manifest_key
    else:
        manifest_key = manifest_entry(path, files, manifest)
    names: list[str] = []
    for name in sorted(files):
        if _skipped(name) or name == manifest_key:
            continue
        if not name.lower().endswith(MEDIA_EXTENSIONS[kind]):
            raise DataError(
                f"{source}: entry {name!r} is not allowed in an archive of {kind} files, which may hold "
                f"only {_allowed(kind)} files (plus an optional manifest.csv)."
            )
        names.append(name)
    if not names:
        raise DataError(f"{source}: holds no {kind} files ({_allowed(kind)}).")
    notes: list[str] = []
    if manifest is not None:
        label, data = read_manifest(path, files, manifest, limit)
        by_file = manifest_ids(source, label, data, names)
        ids = [by_file[n] for n in names]
        notes.append(f"sample ids from the manifest {label!r}")
        id_column = ID_FROM_MANIFEST
    else:
        ids = [PurePosixPath(n).name.rsplit(".", 1)[0] for n in names]
        stems = pd.Index(ids)
        dup = stems.duplicated(keep=False)
        if dup.any():
            stem = ids[int(np.argmax(dup))]
            clash = [n for n, i in zip(names, ids, strict=True) if i == stem]
            raise DataError(
                f"{source}: entries {clash[0]!r} and {clash[1]!r} have the same name (sample id "
                f"{stem!r}); file names without extension must be unique, or give a manifest with "
                "columns 'file' and 'id'."
            )
        id_column = ID_FROM_FILE_NAME
    entries = [MediaEntry(name=n, id=i, size=files[n]) for n, i in zip(names, ids, strict=True)]
    return MediaArchive(path=path, kind=kind, entries=entries, id_column=id_column, notes=notes)
