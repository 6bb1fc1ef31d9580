"""A run's previews: what a person looks at for each held-out sample of a raw modality.

For runs with images, text or audio the pipeline copies the held-out samples' previews (a PNG
thumbnail, the text, the audio clip's bytes; see :class:`mmcorr.data.PairedDataset`) into the bundle
folder ``previews/`` (:data:`~mmcorr.runs.files.PREVIEWS_DIR`): ``ids.npy`` names the samples,
and each raw modality has one blob with the previews back to back plus an int64 offsets array, so
one preview is read with a seek, and nothing is ever unpickled. ``index.json`` is written last: a
reader that finds it finds every other file. Tables-only runs have no such folder.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mmcorr._io import atomic_write_npy, atomic_write_text
from mmcorr._validation import MmcorrError
from mmcorr.data import MEDIA_KINDS, PairedDataset
from mmcorr.data._previews import read_offsets, read_rows, write_previews
from mmcorr.data.types import MediaKind
from mmcorr.runs.files import PREVIEWS_DIR, PreviewFile

__all__ = [
    "PREVIEW_FORMAT",
    "PREVIEW_LIMIT",
    "PREVIEW_MAX_BYTES",
    "PreviewIndex",
    "PreviewModality",
    "RunPreviews",
    "preview_mime",
    "write_run_previews",
]

#: Version of the previews/ layout (index.json "format").
PREVIEW_FORMAT = 1
#: At most this many held-out samples get previews (the first ones of the held-out split).
PREVIEW_LIMIT = 2000
#: Per modality at most this many bytes of previews (2,000 one-second WAV clips are ~64 MB); the
#: samples past the budget keep their row but an empty preview.
PREVIEW_MAX_BYTES = 64 * 2**20

Preview = bytes | str | None


@dataclass(frozen=True)
class PreviewModality:
    """One raw modality in previews/: its kind, the file stem of its blob, how many previews it holds."""

    name: str
    kind: MediaKind
    stem: str
    n_stored: int


@dataclass(frozen=True)
class PreviewIndex:
    """previews/index.json: the raw modalities, the held-out samples covered and the caps applied."""

    modalities: tuple[PreviewModality, ...]
    n_samples: int
    limit: int = PREVIEW_LIMIT
    max_bytes: int = PREVIEW_MAX_BYTES
    format: int = PREVIEW_FORMAT

    @property
    def media(self) -> dict[str, MediaKind]:
        """Raw modality name -> kind ("image", "text", "audio"), in dataset order."""
        return {m.name: m.kind for m in self.modalities}

    def modality(self, name: str) -> PreviewModality:
        for m in self.modalities:
            if m.name == name:
                return m
        raise MmcorrError(
            f"The 'modality' parameter must be a raw modality of this run: {list(self.media)}. "
            f"Got {name!r} instead."
        )

    def to_json(self) -> str:
        return json.dumps(
            {
                "format": self.format,
                "n_samples": self.n_samples,
                "limit": self.limit,
                "max_bytes": self.max_bytes,
                "modalities": [vars(m) for m in self.modalities],
            },
            indent=2,
        )

    @classmethod
    def from_json(cls, text: str, where: str) -> PreviewIndex:
        try:
            data: dict[str, Any] = json.loads(text)
            if data["format"] != PREVIEW_FORMAT:
                raise MmcorrError(
                    f"The run file {where} has previews format {data['format']!r}; this mmcorr reads "
                    f"format {PREVIEW_FORMAT}."
                )
            mods = tuple(
                PreviewModality(str(m["name"]), m["kind"], str(m["stem"]), int(m["n_stored"]))
                for m in data["modalities"]
            )
            bad = [m.kind for m in mods if m.kind not in MEDIA_KINDS]
            if bad:
                raise MmcorrError(f"The run file {where} names unknown preview kind(s) {bad}.")
            return cls(mods, int(data["n_samples"]), int(data["limit"]), int(data["max_bytes"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise MmcorrError(f"The run file {where} is malformed: {type(exc).__name__}: {exc}.") from exc


def write_run_previews(run_dir: Path, ds: PairedDataset, rows: np.ndarray) -> PreviewIndex | None:
    """Write previews/ for the raw modalities of ``ds`` at ``rows`` (the held-out samples).

    rows: row indices of ``ds``; the first :data:`PREVIEW_LIMIT` are kept, and per modality the
    previews that fit in :data:`PREVIEW_MAX_BYTES`. Returns the index, or None (nothing written)
    when ``ds`` has no raw modality.
    """
    raw = [n for n in ds.names if n in ds.media]
    if not raw:
        return None
    rows = np.asarray(rows, dtype=np.int64)[:PREVIEW_LIMIT]
    folder = Path(run_dir) / PREVIEWS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_npy(folder / PreviewFile.IDS.value, ds.ids[rows].astype(str))
    mods = []
    for i, name in enumerate(raw):
        shown = ds.previews.get(name)
        stem = f"m{i}"
        kept = write_previews(
            folder / stem,
            shown[rows] if shown is not None else [None] * rows.size,
            max_bytes=PREVIEW_MAX_BYTES,
        )
        mods.append(PreviewModality(name, ds.media[name].kind, stem, kept))
    index = PreviewIndex(tuple(mods), int(rows.size))
    atomic_write_text(folder / PreviewFile.INDEX.value, index.to_json())
    return index


@dataclass(frozen=True, eq=False)
class RunPreviews:
    """The previews of one run, opened: the index, the ids and the offsets (small arrays); each
    :meth:`get` then reads one preview's bytes from its blob. Picklable (dashboard caches)."""

    folder: Path
    index: PreviewIndex
    ids: np.ndarray
    offsets: dict[str, np.ndarray]

    @classmethod
    def open(cls, run_dir: str | Path) -> RunPreviews | None:
        """The previews of the run in ``run_dir``, or None when it has none (a tables-only run)."""
        folder = Path(run_dir) / PREVIEWS_DIR
        path = folder / PreviewFile.INDEX.value
        if not path.is_file():
            return None
        index = PreviewIndex.from_json(path.read_text(encoding="utf-8"), str(path))
        try:
            ids = np.load(folder / PreviewFile.IDS.value, allow_pickle=False).astype(str)
            offsets = {m.name: read_offsets(folder / m.stem) for m in index.modalities}
        except (OSError, ValueError) as exc:
            raise MmcorrError(f"The run's {PREVIEWS_DIR}/ folder is incomplete or damaged: {exc}.") from exc
        bad = [n for n, o in offsets.items() if o.shape != (ids.size + 1,)]
        if bad:
            raise MmcorrError(f"The run's {PREVIEWS_DIR}/ offsets of {bad} do not match its {ids.size} ids.")
        return cls(folder, index, ids, offsets)

    @property
    def media(self) -> dict[str, MediaKind]:
        return self.index.media

    def rows_of(self, sample_ids: Any) -> np.ndarray:
        """Row of each id in ``ids`` (-1 where the sample has no preview row)."""
        return np.asarray(pd.Index(self.ids).get_indexer(np.asarray(sample_ids).astype(str)), dtype=np.int64)

    def get(self, modality: str, sample_id: str) -> Preview:
        """The preview of ``sample_id`` in ``modality``: PNG or JPEG bytes (image), str (text), the clip's
        bytes (audio); None when the sample has none (not held out, past the cap, or absent)."""
        return self.get_many(modality, [sample_id])[0]

    def get_many(self, modality: str, sample_ids: Any) -> list[Preview]:
        """The previews of several samples of ``modality`` (see :meth:`get`), in that order."""
        mod = self.index.modality(modality)
        return read_rows(
            self.folder / mod.stem, self.offsets[modality], self.rows_of(sample_ids), text=mod.kind == "text"
        )


_AUDIO_MAGIC = (
    (b"RIFF", "audio/wav"),
    (b"fLaC", "audio/flac"),
    (b"OggS", "audio/ogg"),
    (b"ID3", "audio/mpeg"),
)
_IMAGE_MAGIC = ((b"\x89PNG", "image/png"), (b"\xff\xd8", "image/jpeg"), (b"GIF8", "image/gif"))


def preview_mime(kind: str, data: bytes | str) -> str:
    """The MIME type of one preview (``st.audio(format=...)``, a ``data:`` URL in the report)."""
    if kind == "text" or isinstance(data, str):
        return "text/plain"
    for magic, mime in _AUDIO_MAGIC if kind == "audio" else _IMAGE_MAGIC:
        if data.startswith(magic):
            return mime
    return "audio/wav" if kind == "audio" else "image/png"
