"""Per-sample previews of a raw modality on disk: one blob file plus an offsets array.

A preview is what a person looks at for one sample: PNG or JPEG bytes of an image thumbnail, the text
itself, the bytes of an audio clip. ``<stem>.previews.bin`` holds them back to back and
``<stem>.previews.npy`` the (n + 1,) int64 offsets (row i is ``bin[off[i]:off[i + 1]]``; an absent
sample has an empty slice). Plain bytes and an integer array: nothing is ever unpickled, and one
preview is read without loading the others.
"""

from __future__ import annotations

import io
import itertools
from pathlib import Path

import numpy as np

from mmcorr._io import atomic_write_bytes

__all__ = ["has_previews", "read_preview", "read_previews", "write_previews"]

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


def write_previews(stem: Path, previews: np.ndarray) -> None:
    """Write the object array ``previews`` (n,) of bytes / str / None next to ``stem`` (atomically,
    the offsets last so a reader that finds them finds the whole blob)."""
    parts = [_as_bytes(p) for p in previews]
    offsets = np.zeros(len(parts) + 1, dtype=np.int64)
    np.cumsum([len(p) for p in parts], out=offsets[1:])
    blob, off = _paths(stem)
    atomic_write_bytes(blob, b"".join(parts))
    buf = io.BytesIO()
    np.save(buf, offsets, allow_pickle=False)
    atomic_write_bytes(off, buf.getvalue())


def _offsets(stem: Path) -> np.ndarray:
    return np.asarray(np.load(_paths(stem)[1], allow_pickle=False), dtype=np.int64)


def read_previews(stem: Path, *, text: bool = False) -> np.ndarray:
    """Every preview at ``stem`` as an object array (n,): bytes, or str when ``text``; None where
    empty (the sample lacks the modality)."""
    offsets = _offsets(stem)
    data = _paths(stem)[0].read_bytes()
    out = np.full(len(offsets) - 1, None, dtype=object)
    for i, (a, b) in enumerate(itertools.pairwise(offsets)):
        if b > a:
            out[i] = data[a:b].decode("utf-8") if text else data[a:b]
    return out


def read_preview(stem: Path, row: int, *, text: bool = False) -> bytes | str | None:
    """Preview ``row`` at ``stem`` (None when empty), reading only its bytes."""
    offsets = _offsets(stem)
    if not 0 <= row < len(offsets) - 1:
        raise IndexError(f"row {row} is outside the {len(offsets) - 1} previews at {stem}")
    a, b = int(offsets[row]), int(offsets[row + 1])
    if b <= a:
        return None
    with _paths(stem)[0].open("rb") as fh:
        fh.seek(a)
        data = fh.read(b - a)
    return data.decode("utf-8") if text else data
