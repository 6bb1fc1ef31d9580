"""Load modalities from files: CSV, TSV (optionally .gz), Parquet, .npy, .npz (one array), .h5ad
(AnnData, one modality) and .h5mu (MuData, several), the last two with a layer chosen per modality.

Rules, the same for every format (see :mod:`mmcorr.data._table`):

* sample ids: the column named by ``id_column``; else the first column named (case-insensitively)
  id, sample, sample_id, sampleid, barcode, cell, cell_id or obs_names; else the first column when
  it holds unique, non-empty text (or has an empty header, as pandas writes its index); else row
  numbers "0", "1", ... (``.npy`` / ``.npz`` always use row numbers and features f0..f{d-1}).
* every other column is a float32 feature; a text cell in a numeric column is an error naming the
  column and the 1-based data row; text columns are dropped with the reason recorded.
* NaN / inf are an error unless ``nan="impute"`` (feature means; the count is reported).
* constant features are dropped and listed.
* files larger than ``max_bytes`` (default: env ``MMCORR_MAX_UPLOAD_MB``, 1024 MB) are refused.
* arrays are never unpickled (``allow_pickle=False``).
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from mmcorr._validation import DataError, check_choice, check_identifier

from ._h5 import read_h5ad, read_h5mu
from ._limits import MAX_UPLOAD_ENV, check_file_size, default_max_bytes, resolve_limit, sanitize_name
from ._limits import check_decoded as _check_decoded
from ._limits import check_gzip as _check_gzip
from ._table import NAN_POLICIES, NanPolicy, detect_id_column, finalize, table_to_modality
from .types import MediaSpec, Modality

__all__ = [
    "SUPPORTED_EXTENSIONS",
    "TABLE_EXTENSIONS",
    "MAX_UPLOAD_ENV",
    "default_max_bytes",
    "file_extension",
    "sanitize_name",
    "load_modality",
    "load_file",
]

SUPPORTED_EXTENSIONS: tuple[str, ...] = (
    ".csv",
    ".tsv",
    ".csv.gz",
    ".tsv.gz",
    ".parquet",
    ".pq",
    ".npy",
    ".npz",
    ".h5ad",
    ".h5mu",
)
#: Label / metadata tables: the delimited and Parquet formats.
TABLE_EXTENSIONS: tuple[str, ...] = (".csv", ".tsv", ".csv.gz", ".tsv.gz", ".parquet", ".pq")


def file_extension(path: str | os.PathLike[str]) -> str:
    """The lower-case supported extension of ``path`` (e.g. ``.csv.gz``), else a DataError."""
    lower = Path(path).name.lower()
    for ext in sorted(SUPPORTED_EXTENSIONS, key=len, reverse=True):
        if lower.endswith(ext):
            return ext
    raise DataError(
        f"{Path(path).name}: unsupported file type {Path(path).suffix or '(no extension)'!r}. "
        f"Supported: {', '.join(SUPPORTED_EXTENSIONS)}; raw media: a folder or .zip of images, .txt "
        "files or audio clips, or TABLE:COLUMN for a text column."
    )


def _stem(path: Path, ext: str) -> str:
    return path.name[: len(path.name) - len(ext)]


def _check_file(path: Path, max_bytes: int | None) -> tuple[str, int]:
    """The file's extension and the byte limit that applies to it (refusing a file over it)."""
    ext = file_extension(path)
    if not path.exists():
        raise DataError(f"{path}: file not found.")
    if not path.is_file():
        raise DataError(f"{path}: not a regular file.")
    size = path.stat().st_size
    limit = resolve_limit(max_bytes)
    check_file_size(size, limit, path.name, "the file")
    if size == 0:
        raise DataError(f"{path.name}: the file is empty.")
    return ext, limit


def load_modality(
    path: str | os.PathLike[str],
    name: str | None = None,
    *,
    id_column: str | None = None,
    nan: NanPolicy = "error",
    max_bytes: int | None = None,
    layers: Mapping[str, str] | None = None,
    media: MediaSpec | None = None,
) -> Modality:
    """Load one modality from one file.

    path: a .csv / .tsv (optionally .gz), .parquet, .npy, .npz (exactly one array), .h5ad or .h5mu
        file (with one modality, or pick one by ``name``); or raw media: a folder / ``.zip`` of
        images (PNG, JPEG, WebP), .txt files or audio clips (WAV, FLAC, OGG), or ``TABLE:COLUMN``
        for a text column of a csv / tsv / parquet table.
    media: the MediaSpec of a fitted run's raw modality, so new files get the same features.
    name: the modality name (a safe identifier); defaults to the file stem, sanitised.
    id_column: the sample-id column; None auto-detects (see the module docstring).
    nan: "error" (default) rejects NaN / inf; "impute" fills feature means and reports how many.
    max_bytes: refuse larger files; None uses ``MMCORR_MAX_UPLOAD_MB`` (default 1024 MB).
    layers: for .h5ad / .h5mu, modality -> the layer to read instead of ``X`` (e.g. ``{"rna": "counts"}``).

    Returns a Modality with values float32 (n, d), ids (n,) str, d feature names.
    """
    raw = _raw_modality(Path(path), name, id_column=id_column, max_bytes=max_bytes, media=media)
    if raw is not None:
        return raw
    path = Path(path)
    ext = file_extension(path)
    if ext == ".h5mu":
        mods = load_file(path, None, id_column=id_column, nan=nan, max_bytes=max_bytes, layers=layers)
        if name is None and len(mods) == 1:
            return mods[0]
        found = [m.name for m in mods]
        if name in found:
            return mods[found.index(name)]
        raise DataError(f"{path.name}: holds modalities {found}; choose one by name. Got {name!r}.")
    mods = load_file(path, name, id_column=id_column, nan=nan, max_bytes=max_bytes, layers=layers)
    return mods[0]


def split_column_ref(path: Path) -> tuple[Path, str | None]:
    """``TABLE:COLUMN`` -> (TABLE, COLUMN) when TABLE is an existing file and ``path`` is not;
    anything else -> (path, None)."""
    if path.exists() or ":" not in path.name:
        return path, None
    base, _, column = str(path).rpartition(":")
    return (Path(base), column) if column and Path(base).is_file() else (path, None)


def _raw_modality(
    path: Path, name: str | None, *, id_column: str | None, max_bytes: int | None, media: MediaSpec | None
) -> Modality | None:
    """The raw modality at ``path`` (a media folder / zip, or ``TABLE:COLUMN``), or None for a
    numeric table."""
    from .media import detect_kind, load_media

    table, column = split_column_ref(path)
    if column is not None:
        if media is not None and media.kind != "text":
            raise DataError(
                f"{table.name}:{column}: this modality was trained on {media.kind} files; give a folder "
                "or .zip of them, not a text column."
            )
        return load_media(table, name, "text", spec=media, column=column, id_column=id_column,
                          max_bytes=max_bytes)  # fmt: skip
    if not (path.is_dir() or path.suffix.lower() == ".zip"):
        if media is not None:
            how = "TABLE:COLUMN" if media.kind == "text" else "a folder or .zip"
            raise DataError(f"{path.name}: this modality was trained on {media.kind} data; give {how} of it.")
        return None
    kind = media.kind if media is not None else detect_kind(path)
    if kind is None:
        return None
    return load_media(path, name, kind, spec=media, id_column=id_column, max_bytes=max_bytes)


def load_file(
    path: str | os.PathLike[str],
    name: str | None = None,
    *,
    id_column: str | None = None,
    nan: NanPolicy = "error",
    max_bytes: int | None = None,
    layers: Mapping[str, str] | None = None,
    media: MediaSpec | None = None,
) -> list[Modality]:
    """Load every modality in a file: one per MuData modality for .h5mu, else a list of one.

    Parameters as :func:`load_modality`; for .h5mu, ``name`` (if given) prefixes each modality name
    as ``<name>_<modality>``, and ``layers`` is keyed by the MuData key or that name. A folder or
    ``.zip`` of images, .txt files or audio clips, and ``TABLE:COLUMN`` (a text column), are raw
    modalities (:func:`mmcorr.data.media.load_media`); ``media``, the MediaSpec of a fitted run,
    featurises them exactly as in training.
    """
    raw = _raw_modality(Path(path), name, id_column=id_column, max_bytes=max_bytes, media=media)
    if raw is not None:
        return [raw]
    path = Path(path)
    check_choice("nan", nan, NAN_POLICIES)
    ext, limit = _check_file(path, max_bytes)
    if name is not None:
        check_identifier("modality", name)
    mod_name = name if name is not None else sanitize_name(_stem(path, ext))
    source = path.name
    if ext in (".csv", ".tsv", ".csv.gz", ".tsv.gz"):
        from ._csv import read_csv_modality

        delimiter = "\t" if ext.startswith(".tsv") else ","
        if ext.endswith(".gz"):
            _check_gzip(path, limit, source)
        return [read_csv_modality(path, mod_name, source, delimiter=delimiter, id_column=id_column, nan=nan)]
    if ext in (".parquet", ".pq"):
        return [_read_parquet(path, mod_name, source, id_column=id_column, nan=nan, limit=limit)]
    if ext in (".npy", ".npz"):
        if id_column is not None:
            raise DataError(
                f"{source}: {ext} files have no columns, so no id column {id_column!r}; ids are row numbers."
            )
        arr = _read_array(path, ext, source, limit)
        features = [f"f{j}" for j in range(arr.shape[1])]
        ids = np.arange(arr.shape[0]).astype(str).astype(object)
        return [finalize(mod_name, arr, ids, features, source, id_column=None, nan=nan)]
    if id_column is not None:
        raise DataError(
            f"{source}: {ext} files carry their own sample ids (obs_names); drop id_column={id_column!r}."
        )
    try:
        if ext == ".h5ad":
            return read_h5ad(path, mod_name, layers=layers or {}, nan=nan)
        return read_h5mu(path, name, layers=layers or {}, nan=nan, name_of=sanitize_name)
    except MemoryError:
        raise DataError(f"{source}: too large to decode in this machine's memory.") from None


def _read_parquet(
    path: Path, name: str, source: str, *, id_column: str | None, nan: NanPolicy, limit: int
) -> Modality:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        meta = pq.read_metadata(path)
        # Arrow holds every value decoded: rows x columns x 8 bytes bounds the numeric columns, and
        # the row groups' own uncompressed sizes cover text columns.
        decoded = max(
            meta.num_rows * meta.num_columns * 8,
            sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups)),
        )
        _check_decoded(decoded, limit, source, f"the table ({meta.num_rows:,} x {meta.num_columns:,})")
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        raise DataError(f"{source}: not a readable Parquet file ({exc}).") from None
    except MemoryError:
        raise DataError(f"{source}: too large to decode in this machine's memory.") from None
    id_col = detect_id_column(list(table.column_names), id_column, source)
    return table_to_modality(
        table, name, source, id_column=id_col, first_column_may_be_id=id_column is None, nan=nan
    )


def _npy_header(fh: Any) -> tuple[tuple[int, ...], np.dtype[Any]]:
    """Shape and dtype from a .npy header, without reading the data."""
    version = np.lib.format.read_magic(fh)
    if version == (1, 0):
        shape, _, dtype = np.lib.format.read_array_header_1_0(fh)
    else:
        shape, _, dtype = np.lib.format.read_array_header_2_0(fh)
    return tuple(shape), dtype


def _check_array_sizes(path: Path, ext: str, source: str, limit: int) -> None:
    """Every array's declared size (shape x itemsize, and a zip member's uncompressed size) <= limit."""
    try:
        if ext == ".npy":
            with open(path, "rb") as fh:
                shape, dtype = _npy_header(fh)
            _check_decoded(
                float(np.prod(shape, dtype=float)) * dtype.itemsize, limit, source, f"the array {shape}"
            )
            return
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                member = f"the member {info.filename!r}"
                _check_decoded(info.file_size, limit, source, member)
                if not info.filename.endswith(".npy"):
                    raise DataError(f"{source}: {member} is not a .npy array; a .npz holds arrays only.")
                with zf.open(info) as fh:
                    shape, dtype = _npy_header(fh)
                _check_decoded(float(np.prod(shape, dtype=float)) * dtype.itemsize, limit, source, member)
    except DataError:
        raise
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise DataError(f"{source}: not a readable {ext} file ({exc}).") from None


def _read_array(path: Path, ext: str, source: str, limit: int) -> np.ndarray:
    pickled = (
        f"{source}: holds Python objects (an object or pickled array); mmcorr never unpickles files. "
        "Save a plain numeric array, e.g. np.save(path, x.astype('float32'))."
    )
    magic = b"\x93NUMPY" if ext == ".npy" else b"PK"
    with open(path, "rb") as fh:
        head = fh.read(len(magic))
    if head != magic:
        # Without this check numpy falls back to unpickling, and reports any junk as "pickled".
        raise DataError(f"{source}: not a readable {ext} file (it does not start like one).")
    _check_array_sizes(path, ext, source, limit)
    try:
        if ext == ".npy":
            arr = np.load(path, allow_pickle=False)
        else:
            with np.load(path, allow_pickle=False) as npz:
                keys = list(npz.files)
                if len(keys) != 1:
                    raise DataError(
                        f"{source}: a .npz must hold exactly one array; it holds {len(keys)}: {keys[:10]}. "
                        "Save one array per modality."
                    )
                arr = npz[keys[0]]
    except DataError:
        raise
    except ValueError as exc:
        if "pickle" in str(exc).lower():
            raise DataError(pickled) from None
        raise DataError(f"{source}: not a readable {ext} file ({exc}).") from None
    except (OSError, EOFError, zipfile.BadZipFile) as exc:
        raise DataError(f"{source}: not a readable {ext} file ({exc}).") from None
    except MemoryError:
        raise DataError(f"{source}: too large to decode in this machine's memory.") from None
    if not isinstance(arr, np.ndarray):
        raise DataError(f"{source}: the .npz member is not a .npy array.")
    if arr.dtype.kind not in "biuf":
        if arr.dtype.kind == "O":
            raise DataError(pickled)
        raise DataError(f"{source}: the array must be numeric (int, float or bool); got dtype {arr.dtype}.")
    if arr.ndim != 2:
        raise DataError(
            f"{source}: the array must be 2-D (n_samples, n_features); got shape {tuple(arr.shape)}."
        )
    with np.errstate(over="ignore"):  # values beyond float32 become inf, reported as non-finite
        return np.ascontiguousarray(arr, dtype=np.float32)
