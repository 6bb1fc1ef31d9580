"""Per-sample previews of a raw modality on disk: one blob file plus an offsets array.

A preview is what a person looks at for one sample: PNG or JPEG bytes of an image thumbnail, the text
itself, the bytes of an audio clip. ``<stem>.previews.bin`` holds them back to back and
``<stem>.previews.npy`` the (n + 1,) int64 offsets (row i is ``bin[off[i]:off[i + 1]]``; an absent
sample has an empty slice). Plain bytes and an integer array: nothing is ever unpickled, and one
preview is read without loading the others. The dataset registry and the run bundle
(:mod:`mmcorr.runs.previews`) both store previews this way.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from mmcorr._io import atomic_write_bytes, atomic_write_npy

__all__ = ["has_previews", "read_offsets", "read_preview", "read_previews", "read_rows", "write_previews"]

_BIN = ".previews.bin"
_OFFSETS = ".previews.npy"


def _paths(stem: Path) -> tuple[Path, Path]:
    return stem.with_name(stem.name + _BIN), stem.with_name(stem.name + _OFFSETS)


def has_previews(stem: Path) -> bool:
    """Whether previews were written at ``stem``."""
    blob, offsets = _paths(stem)
    return blob.is_file() and offsets.is_file()


def _as_bytes(item: object) -> bytes:
    if item is None:
        return b""
    if isinstance(item, str):
        return item.encode("utf-8")
    return bytes(item)  # type: ignore[call-overload]


def write_previews(
    stem: Path, previews: Sequence[object] | np.ndarray, *, max_bytes: int | None = None
) -> int:
    """Write ``previews`` (n,) of bytes / str / None next to ``stem`` (atomically, the offsets last
    so a reader that finds them finds the whole blob); returns how many non-empty ones were stored.

    max_bytes: keep the previews, in order, while their running total fits; later ones are stored
    empty (None when read).
    """
    parts = [_as_bytes(p) for p in previews]
    sizes = np.fromiter((len(p) for p in parts), dtype=np.int64, count=len(parts))
    if max_bytes is not None:
        sizes[np.cumsum(sizes) > max_bytes] = 0
    offsets = np.zeros(len(parts) + 1, dtype=np.int64)
    np.cumsum(sizes, out=offsets[1:])
    blob, off = _paths(stem)
    atomic_write_bytes(blob, b"".join(p for p, size in zip(parts, sizes, strict=True) if size))
    atomic_write_npy(off, offsets)
    return int(np.count_nonzero(sizes))


def read_offsets(stem: Path) -> np.ndarray:
    """The (n + 1,) int64 offsets of the previews at ``stem``."""
    return np.asarray(np.load(_paths(stem)[1], allow_pickle=False), dtype=np.int64)


def read_previews(stem: Path, *, text: bool = False) -> np.ndarray:
    """Every preview at ``stem`` as an object array (n,): bytes, or str when ``text``; None where
    empty (the sample lacks the modality)."""
    offsets = read_offsets(stem)
    data = _paths(stem)[0].read_bytes()
    out = np.full(len(offsets) - 1, None, dtype=object)
    for i, (a, b) in enumerate(itertools.pairwise(offsets)):
        if b > a:
            out[i] = data[a:b].decode("utf-8") if text else data[a:b]
    return out


def read_rows(
    stem: Path, offsets: np.ndarray, rows: np.ndarray, *, text: bool = False
) -> list[bytes | str | None]:
    """Previews ``rows`` at ``stem`` (given its ``offsets``), reading only their bytes; None for an
    empty preview or a row of -1 (no such sample)."""
    out: list[bytes | str | None] = [None] * len(rows)
    with _paths(stem)[0].open("rb") as fh:
        for i in np.flatnonzero(np.asarray(rows) >= 0):  # a handful of samples (a page, a gallery)
            a, b = int(offsets[rows[i]]), int(offsets[rows[i] + 1])
            if b > a:
                fh.seek(a)
                data = fh.read(b - a)
                out[i] = data.decode("utf-8") if text else data
    return out


def read_preview(stem: Path, row: int, *, text: bool = False) -> bytes | str | None:
    """Preview ``row`` at ``stem`` (None when empty), reading only its bytes."""
    offsets = read_offsets(stem)
    if not 0 <= row < len(offsets) - 1:
        raise IndexError(f"row {row} is outside the {len(offsets) - 1} previews at {stem}")
    return read_rows(stem, offsets, np.array([row]), text=text)[0]
