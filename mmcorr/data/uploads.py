"""Uploaded files: the dashboard hands over bytes, the loaders read a real file; header peeks and
the few samples of a raw modality the Data page previews."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mmcorr._io import atomic_write_bytes

if TYPE_CHECKING:
    from .types import MediaKind, MediaSpec, PairedDataset

__all__ = [
    "MEDIA_UPLOAD_TYPES",
    "PREVIEW_COUNTS",
    "MediaPreview",
    "TextColumns",
    "file_layers",
    "media_preview",
    "obs_columns",
    "stage_upload",
    "table_columns",
    "text_columns",
    "upload_types",
]

#: What a browser can upload for a raw modality: a folder cannot be uploaded, so a .zip of it.
MEDIA_UPLOAD_TYPES: tuple[str, ...] = ("zip",)
#: How many samples the Data page previews per kind: a grid of thumbnails, a few snippets, a few players.
PREVIEW_COUNTS: dict[str, int] = {"image": 8, "text": 5, "audio": 3}
#: A previewed text is cut to this many characters (the whole text is in the dataset).
SNIPPET_CHARS = 240
#: Rows read to tell text columns from numeric ones (the loaders read and check every row).
_PEEK_ROWS = 200

# Keep staged names short and filesystem-safe while still recognisably the user's file.
_MAX_STEM = 80


def stage_upload(name: str, data: bytes) -> Path:
    """Write one upload to a content-addressed folder under the state dir and return its path.

    Same bytes -> same path, so the dashboard's cached loaders hit on a rerun. The file keeps the
    user's own name (made filesystem-safe), so the loaders' messages name the file the user chose.
    """
    from mmcorr.paths import state_dir

    digest = hashlib.sha256(data).hexdigest()[:20]
    base = Path(str(name)).name
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(base).stem).strip("._") or "upload"
    path = state_dir() / "uploads" / digest / f"{stem[:_MAX_STEM]}{Path(base).suffix.lower()}"
    if path.exists():
        path.touch()  # in use again: the worker's clean-up of old uploads goes by this time
    else:
        atomic_write_bytes(path, data)
    return path


def table_columns(path: str | Path) -> list[str]:
    """Column names of a csv / tsv / txt / parquet table, reading its header only.

    For pickers offered before the real parse: any other file type, or a file that does not parse,
    gives ``[]`` — the loaders then report the problem with their own message.
    """
    import pandas as pd

    path = Path(path)
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            import pyarrow.parquet as pq

            return list(pq.read_schema(path).names)
        if suffix in (".csv", ".tsv", ".txt"):
            sep = "," if suffix == ".csv" else "\t"
            return [str(c) for c in pd.read_csv(path, sep=sep, nrows=0).columns]
    except Exception:  # reported by the real parse, with the loader's message
        return []
    return []


def upload_types(*, tables_only: bool = False) -> list[str]:
    """File types a browser uploader should offer: the last suffix of every extension the loaders
    read (``.csv.gz`` -> ``gz``), so it never offers a file the loaders refuse by its name.

    tables_only: the label / metadata table formats only; else also ``zip`` (a zip of images, .txt
        files or audio clips: :data:`MEDIA_UPLOAD_TYPES`).
    """
    from .loaders import SUPPORTED_EXTENSIONS, TABLE_EXTENSIONS

    extensions = TABLE_EXTENSIONS if tables_only else SUPPORTED_EXTENSIONS
    media = () if tables_only else MEDIA_UPLOAD_TYPES
    return sorted({ext.rsplit(".", 1)[-1] for ext in extensions} | set(media))


def file_layers(path: str | Path, name: str) -> dict[str, list[str]]:
    """The layers an .h5ad / .h5mu file offers besides ``X``, per modality, reading names only.

    .h5ad: ``{name: layers}``; .h5mu: ``{key: layers}`` for each MuData modality; other files (or a
    file that does not open) ``{}`` — the loaders then report the problem with their own message.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".h5ad", ".h5mu"):
        return {}
    try:
        import h5py

        with h5py.File(path, "r") as fh:
            groups = {name: fh} if suffix == ".h5ad" else {str(k): fh["mod"][k] for k in fh.get("mod", {})}
            return {k: sorted(g["layers"]) if "layers" in g else [] for k, g in groups.items()}
    except Exception:  # reported by the real parse, with the loader's message
        return {}


def obs_columns(path: str | Path) -> list[str]:
    """The ``obs`` columns of an .h5ad / .h5mu file (a MuData's own bare, each modality's as
    ``<key>:<col>``), offered as labels; ``[]`` for other files or one that does not open."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".h5ad", ".h5mu"):
        return []
    try:
        import h5py

        def cols(group: Any) -> list[str]:
            return [str(c) for c in group["obs"].attrs.get("column-order", [])] if "obs" in group else []

        with h5py.File(path, "r") as fh:
            if suffix == ".h5ad":
                return cols(fh)
            own = [f"{k}:{c}" for k in fh.get("mod", {}) for c in cols(fh["mod"][k])]
            return list(dict.fromkeys([*cols(fh), *own]))
    except Exception:  # reported by the real parse, with the loader's message
        return []


@dataclass(frozen=True)
class TextColumns:
    """The columns of a table that hold text, offered as a text modality (``TABLE:COLUMN``).

    columns: text columns in file order, without the sample-id column.
    suggested: the one to preselect (the longest texts) when the table has no numeric feature
        column, so it can only be a text modality; None when it may well be a numeric table.
    """

    columns: tuple[str, ...] = ()
    suggested: str | None = None


def _peek_frame(path: Path) -> Any:
    """The first rows of a csv / tsv (optionally .gz) / parquet table as text, or None."""
    import pandas as pd

    name = path.name.lower()
    if name.endswith((".parquet", ".pq")):
        import pyarrow.parquet as pq

        with pq.ParquetFile(path) as fh:
            batch = next(fh.iter_batches(batch_size=_PEEK_ROWS), None)
        return None if batch is None else batch.to_pandas().astype("string")
    if name.endswith((".csv", ".tsv", ".csv.gz", ".tsv.gz")):
        sep = "\t" if name.endswith((".tsv", ".tsv.gz")) else ","
        return pd.read_csv(path, sep=sep, nrows=_PEEK_ROWS, dtype=str, keep_default_na=False)
    return None


def _mostly_text(numbers: Any) -> bool:
    """Whether at least half of the parsed cells (NaN where a cell is not a number) are text."""
    return bool(len(numbers)) and float(numbers.isna().mean()) >= 0.5


def text_columns(path: str | Path) -> TextColumns:
    """The text columns of an uploaded csv / tsv / parquet table, from its first rows.

    A column is text when most of its non-empty cells are not numbers (a numeric column with a typo
    stays numeric: the loaders then name the bad cell). The sample-id column is left
    out: the one named like an id (``id``, ``sample_id``...), else the first column when another text
    column follows it (the loaders then take it as the ids). Any other file, or one that does not
    parse, gives no columns: the loaders report the problem with their own message.
    """
    import pandas as pd

    from ._table import detect_id_column

    try:
        frame = _peek_frame(Path(path))
    except Exception:  # reported by the real parse, with the loader's message
        return TextColumns()
    if frame is None or frame.empty:
        return TextColumns()
    columns = [str(c) for c in frame.columns]
    frame.columns = columns
    filled = {c: frame[c].fillna("").astype(str).str.strip() for c in columns}
    text = [c for c in columns if _mostly_text(pd.to_numeric(filled[c][filled[c] != ""], errors="coerce"))]
    id_col = detect_id_column(columns, None, Path(path).name)
    if id_col is None and len(text) > 1 and text[0] == columns[0]:
        id_col = columns[0]
    text = [c for c in text if c != id_col]
    numeric = [c for c in columns if c not in text and c != id_col]
    suggested = max(text, key=lambda c: filled[c].str.len().mean()) if text and not numeric else None
    return TextColumns(tuple(text), suggested)


@dataclass(frozen=True)
class MediaPreview:
    """A few samples of one raw modality, ready to show.

    kind: "image" (items hold PNG or JPEG thumbnail bytes), "text" (str, cut to SNIPPET_CHARS) or "audio"
        (the clip's bytes, of type ``mime``).
    items: (sample id, preview, mime type) for the first samples that have one.
    features: what the model sees of each sample, in words ("32x32 grey pixels").
    """

    kind: MediaKind
    items: tuple[tuple[str, bytes | str, str], ...]
    features: str


def _mime(kind: str, data: bytes | str) -> str:
    """The media type of one preview, from its first bytes (audio clips keep their own format)."""
    if kind == "text":
        return "text/plain"
    if kind == "image":
        return "image/png"
    head = bytes(data[:4]) if isinstance(data, bytes) else b""
    return {b"fLaC": "audio/flac", b"OggS": "audio/ogg"}.get(head, "audio/wav")


def _features(spec: MediaSpec) -> str:
    """What one sample of a raw modality becomes, in words (from its MediaSpec shape)."""
    if spec.kind == "image":
        c, h, w = spec.shape
        return f"{h}x{w} {'grey' if c == 1 else 'colour'} pixels"
    if spec.kind == "audio":
        _, mels, frames = spec.shape
        return f"a log-mel spectrogram of {mels} bands x {frames} frames"
    return "hashed word and character n-gram counts"


def _snippet(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= SNIPPET_CHARS else text[: SNIPPET_CHARS - 1].rstrip() + "\u2026"


def media_preview(dataset: PairedDataset, modality: str, count: int | None = None) -> MediaPreview | None:
    """The first ``count`` (default :data:`PREVIEW_COUNTS` of its kind) previewable samples of a raw
    modality of ``dataset``; None for a numeric modality or one without previews."""
    spec = dataset.media.get(modality)
    previews = dataset.previews.get(modality)
    if spec is None or previews is None:
        return None
    n = PREVIEW_COUNTS[spec.kind] if count is None else count
    items: list[tuple[str, bytes | str, str]] = []
    for sample_id, data in zip(dataset.ids, previews, strict=True):
        if len(items) >= n:
            break
        if data is None or len(data) == 0:
            continue
        shown = _snippet(data) if isinstance(data, str) else bytes(data)
        items.append((str(sample_id), shown, _mime(spec.kind, data)))
    return MediaPreview(spec.kind, tuple(items), _features(spec))
