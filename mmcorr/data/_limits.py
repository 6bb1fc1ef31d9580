"""Size limits and modality names shared by the table loaders and the raw-media readers.

A leaf module (no mmcorr.data imports): :mod:`mmcorr.data.loaders` dispatches folders, zips and
``TABLE:COLUMN`` to :mod:`mmcorr.data.media`, and both read their limits from here.
"""

from __future__ import annotations

import gzip
import os
import re
from pathlib import Path

from mmcorr._validation import DataError, MmcorrError

__all__ = [
    "MAX_UPLOAD_ENV",
    "check_decoded",
    "check_file_size",
    "check_gzip",
    "default_max_bytes",
    "resolve_limit",
    "sanitize_name",
]

MAX_UPLOAD_ENV = "MMCORR_MAX_UPLOAD_MB"
_DEFAULT_MAX_MB = 1024.0
_GZIP_PIECE = 8 << 20


def default_max_bytes() -> int:
    """The file size limit in bytes: env ``MMCORR_MAX_UPLOAD_MB`` (megabytes), default 1024."""
    raw = os.environ.get(MAX_UPLOAD_ENV, "")
    if not raw.strip():
        return int(_DEFAULT_MAX_MB * 1024 * 1024)
    try:
        mb = float(raw)
    except ValueError:
        mb = -1.0
    if not (mb > 0 and mb != float("inf")):
        raise MmcorrError(
            f"The {MAX_UPLOAD_ENV} environment variable must be a positive number of megabytes. Got {raw!r}."
        )
    return int(mb * 1024 * 1024)


def resolve_limit(max_bytes: int | None) -> int:
    """``max_bytes``, or the default limit when it is None."""
    return default_max_bytes() if max_bytes is None else int(max_bytes)


def _raise_hint() -> str:
    return f"(raise it with max_bytes or the {MAX_UPLOAD_ENV} environment variable)"


def check_file_size(size: float, limit: int, source: str, what: str) -> None:
    """Refuse a file (or folder) of ``size`` bytes on disk over ``limit``."""
    if size > limit:
        raise DataError(
            f"{source}: {what} is {size / 2**20:.1f} MB, over the {limit / 2**20:.1f} MB limit {_raise_hint()}."
        )


def check_decoded(nbytes: float, limit: int, source: str, what: str) -> None:
    """Refuse content that would decode to more than ``limit`` bytes, before decoding it."""
    if nbytes > limit:
        raise DataError(
            f"{source}: {what} would take {nbytes / 2**20:,.1f} MB once decompressed, over the "
            f"{limit / 2**20:,.1f} MB limit {_raise_hint()}."
        )


def check_gzip(path: Path, limit: int, source: str) -> None:
    """Stream the gzip file once, counting decompressed bytes; stop as soon as it passes the limit."""
    total = 0
    try:
        with gzip.open(path, "rb") as fh:
            while piece := fh.read(_GZIP_PIECE):
                total += len(piece)
                check_decoded(total, limit, source, "the text")
    except (OSError, EOFError) as exc:
        raise DataError(f"{source}: not a readable gzip file ({exc}).") from None


def sanitize_name(text: str) -> str:
    """A safe modality name from any text (e.g. a file stem): 'RNA counts.v2' -> 'RNA_counts_v2'."""
    name = re.sub(r"[^A-Za-z0-9_\-]+", "_", text).strip("_-")
    if not name:
        return "modality"
    if not name[0].isalpha():
        name = "m_" + name
    return name[:64]
