"""Raw media in: images, text and audio files -> a :class:`~mmcorr.data.types.Modality`.

``load_media(path, name, kind)`` reads a folder or ``.zip`` of image / .txt / audio files (or, for
text, a string column of a table) and returns float32 ``values`` of shape (n, prod(spec.shape)),
ids (file stems, or a manifest's ids), feature names, the :class:`MediaSpec` used and per-sample
previews. Given the spec of a fitted run, new files are featurised exactly the same way.
See :mod:`.archive` for the archive rules and :mod:`.images`, :mod:`.text`, :mod:`.audio` for
each featuriser.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from mmcorr._validation import DataError, check_choice, check_identifier

from .._limits import sanitize_name
from .._table import check_ids
from ..types import MEDIA_KINDS, MediaKind, MediaSpec, Modality
from .archive import (
    ID_FROM_FILE_NAME,
    ID_FROM_MANIFEST,
    MEDIA_EXTENSIONS,
    MediaArchive,
    is_archive,
    kind_of_name,
    list_files,
    open_archive,
)
from .audio import AUDIO_DEFAULTS, audio_features, load_audio
from .images import DEFAULT_SIZE, MAX_PIXELS, image_features, load_images
from .text import TEXT_DEFAULTS, TEXT_TABLE_EXTENSIONS, featurise_text, read_text_archive, read_text_table

__all__ = [
    "AUDIO_DEFAULTS",
    "DEFAULT_SIZE",
    "ID_FROM_FILE_NAME",
    "ID_FROM_MANIFEST",
    "MEDIA_EXTENSIONS",
    "TEXT_DEFAULTS",
    "MediaArchive",
    "detect_kind",
    "load_media",
    "open_archive",
]


def _objects(items: list[str]) -> np.ndarray:
    """A 1-D object array holding ``items`` as they are."""
    arr = np.empty(len(items), dtype=object)
    arr[:] = items
    return arr


def detect_kind(path: str | os.PathLike[str]) -> MediaKind | None:
    """The media kind of a folder or ``.zip`` (by its files' extensions); None for anything else.

    A folder / zip holding no image, text or audio files, or files of two kinds, is a DataError.
    Only the archive's directory is read, not its files.
    """
    p = Path(path)
    if not (p.exists() and is_archive(p)):
        return None
    names = [
        n
        for n in list_files(p)
        if not any(part.startswith(".") or part == "__MACOSX" for part in n.split("/"))
    ]
    kinds = sorted({k for k in (kind_of_name(n) for n in names) if k is not None})
    if len(kinds) == 1:
        return kinds[0]
    allowed = "; ".join(f"{k}: {', '.join(e)}" for k, e in MEDIA_EXTENSIONS.items())
    if not kinds:
        raise DataError(f"{p.name}: holds no image, text or audio files ({allowed}).")
    raise DataError(
        f"{p.name}: mixes {' and '.join(kinds)} files; put each modality in its own folder or zip."
    )


def _text_table(
    path: Path,
    name: str,
    spec: MediaSpec | None,
    column: str | None,
    id_column: str | None,
    max_bytes: int | None,
) -> Modality:
    texts, ids, id_col = read_text_table(path, column, id_column=id_column, max_bytes=max_bytes)
    values, used, features = featurise_text(texts, spec)
    return Modality(
        name=name,
        values=values,
        ids=ids,
        features=features,
        source=Path(path).name,
        id_column=id_col,
        media=used,
        previews=_objects(texts),
    )


def load_media(
    path: str | os.PathLike[str],
    name: str | None,
    kind: MediaKind,
    *,
    spec: MediaSpec | None = None,
    column: str | None = None,
    id_column: str | None = None,
    manifest: str | Path | None = None,
    max_bytes: int | None = None,
    max_pixels: int = MAX_PIXELS,
) -> Modality:
    """Load one raw modality.

    path: a folder or ``.zip`` of ``kind`` files (:data:`MEDIA_EXTENSIONS`); for text also a
        .csv / .tsv (optionally .gz) / .parquet table with a string ``column``.
    name: the modality name (a safe identifier); None uses the archive's stem, sanitised.
    kind: "image", "text" or "audio".
    spec: the MediaSpec of a fitted run: featurise exactly as it says (grid size and channels, mel
        settings, hashing settings) so new files get the same features; None uses the defaults.
    column / id_column: for a text table, the text column and the sample-id column (see
        :func:`.text.read_text_table`). A folder or zip takes its ids from file names or the
        manifest: ``column`` is an error there and ``id_column`` (a setting for every table of a
        paired load) is ignored.
    manifest: csv / tsv with columns ``file`` and ``id`` giving each archive entry its sample id (an
        entry of the archive or a file on disk); default: a top-level ``manifest.csv``, else file stems.
    max_bytes: size limit of the archive / table (default ``MMCORR_MAX_UPLOAD_MB``); an archive may
        declare at most :data:`.archive.UNPACK_FACTOR` times that uncompressed.
    max_pixels: largest image (width x height) decoded.

    Returns a Modality: values float32 (n, prod(media.shape)), ids (n,) object, features, source
    (the path), media (the MediaSpec used), previews (n,) object (PNG or JPEG bytes / str / audio bytes).
    """
    check_choice("kind", kind, MEDIA_KINDS)
    if spec is not None and spec.kind != kind:
        raise DataError(
            f"The spec is for {spec.kind} files, but kind={kind!r}; pass the spec of that modality."
        )
    p = Path(path)
    if name is None:
        name = sanitize_name(p.name[: -len(".zip")] if p.name.lower().endswith(".zip") else p.stem)
    check_identifier("modality", name)
    if kind == "text" and not p.is_dir() and p.name.lower().endswith(TEXT_TABLE_EXTENSIONS):
        return _text_table(p, name, spec, column, id_column, max_bytes)
    if column is not None:
        raise DataError(
            f"{p.name}: column={column!r} applies to text tables only; a folder or zip holds one "
            f"sample per {kind} file."
        )
    archive = open_archive(p, kind, manifest=manifest, max_bytes=max_bytes)
    check_ids(archive.ids, archive.source)
    if kind == "image":
        values, used, previews = load_images(archive, spec=spec, max_pixels=max_pixels)
        c, s, _ = used.shape
        features = image_features(c, s)
    elif kind == "audio":
        values, used, previews = load_audio(archive, spec=spec)
        features = audio_features(used.shape[1], used.shape[2])
    else:
        texts = read_text_archive(archive)
        values, used, features = featurise_text(texts, spec)
        previews = _objects(texts)
    return Modality(
        name=name,
        values=values,
        ids=archive.ids,
        features=features,
        source=p.name,
        id_column=archive.id_column,
        notes=list(archive.notes),
        media=used,
        previews=previews,
    )
