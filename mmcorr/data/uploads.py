"""Uploaded files: the dashboard hands over bytes, the loaders read a real file; header peeks."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

from mmcorr._io import atomic_write_bytes

__all__ = ["file_layers", "obs_columns", "stage_upload", "table_columns", "upload_types"]

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

    tables_only: the label / metadata table formats only.
    """
    from .loaders import SUPPORTED_EXTENSIONS, TABLE_EXTENSIONS

    extensions = TABLE_EXTENSIONS if tables_only else SUPPORTED_EXTENSIONS
    return sorted({ext.rsplit(".", 1)[-1] for ext in extensions})


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
