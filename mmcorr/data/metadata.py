"""Per-sample labels and metadata from a separate table keyed by sample id."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mmcorr._validation import DataError

from ._csv import block_sizes, sniff_text_table
from ._table import check_ids, detect_id_column
from .loaders import _check_file
from .types import Modality, PairedDataset

__all__ = ["RESERVED_COLUMNS", "attach_labels", "check_shared_obs", "obs_metadata", "read_metadata"]

#: Column names of mmcorr's own run tables (latents, UMAP: id, split, modality, x, y) and of the
#: dataset registry's id column; a label or metadata column with one of these names would collide
#: with them after training, so it is refused when the table is read.
RESERVED_COLUMNS: tuple[str, ...] = ("id", "__id__", "split", "modality", "x", "y")


def read_metadata(path: Path, *, max_bytes: int | None = None) -> pd.DataFrame:
    """Read a csv / tsv / parquet table indexed by its sample-id column (all ids as text).

    The id column is the first named like id / sample / sample_id / barcode / cell..., else the
    first column. Raises DataError for a missing id column value or duplicate ids.
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    ext, _ = _check_file(path, max_bytes)
    source = path.name
    try:
        if ext in (".parquet", ".pq"):
            table = pq.read_table(path)
        elif ext in (".csv", ".tsv", ".csv.gz", ".tsv.gz"):
            delimiter = "\t" if ext.startswith(".tsv") else ","
            sniff_text_table(path, delimiter, source)
            table = pacsv.read_csv(
                path,
                read_options=pacsv.ReadOptions(block_size=block_sizes(path, source)[1]),
                parse_options=pacsv.ParseOptions(delimiter=delimiter),
            )
        else:
            raise DataError(f"{source}: a label table must be .csv, .tsv or .parquet; got {ext}.")
    except pa.ArrowException as exc:
        raise DataError(f"{source}: cannot parse the label table ({exc}).") from None
    cols = list(table.column_names)
    if len(cols) < 2:
        raise DataError(f"{source}: a label table needs a sample-id column and at least one label column.")
    id_col = detect_id_column(cols, None, source) or cols[0]
    reserved = [c for c in cols if c != id_col and c in RESERVED_COLUMNS]
    if reserved:
        raise DataError(
            f"{source}: the column name(s) {reserved} are reserved for mmcorr's own tables "
            f"({', '.join(RESERVED_COLUMNS)}); rename them in the file, e.g. to '{reserved[0]}_label'."
        )
    frame = table.to_pandas()
    ids = frame.pop(id_col).astype(str)
    check_ids(ids.to_numpy(dtype=object), source)
    if ids.duplicated().any():
        raise DataError(
            f"{source}: duplicate sample ids in the label table, e.g. {ids[ids.duplicated()].iloc[:5].tolist()}."
        )
    frame.index = pd.Index(ids.to_numpy(dtype=object), name="id")
    return frame


def attach_labels(
    ds: PairedDataset, path: Path, label_column: str | None, *, max_bytes: int | None = None
) -> tuple[PairedDataset, dict[str, Any], list[str]]:
    """Return ``ds`` with ``metadata`` (aligned to ``ds.ids``) and ``label_column`` set, plus report
    facts and warnings. ``label_column`` defaults to the table's only non-id column."""
    frame = read_metadata(path, max_bytes=max_bytes)
    cols = [str(c) for c in frame.columns]
    if label_column is None:
        label_column = cols[0] if len(cols) == 1 else None
    elif label_column not in cols:
        raise DataError(f"{path.name}: no label column {label_column!r}. Columns: {cols[:20]}.")
    meta = frame.reindex(pd.Index(ds.ids, dtype=object))
    warnings: list[str] = []
    known = pd.Index(ds.ids).isin(frame.index)
    if not known.any():
        raise DataError(
            f"{path.name}: none of its sample ids match the dataset's (e.g. table {frame.index[:3].tolist()}, "
            f"dataset {ds.ids[:3].tolist()})."
        )
    missing = int((~known).sum())
    facts: dict[str, Any] = {
        "source": path.name,
        "column": label_column,
        "missing": missing,
        "n_classes": None,
    }
    if label_column is not None:
        facts["n_classes"] = int(meta[label_column].nunique(dropna=True))
    else:
        warnings.append(f"{path.name}: several columns {cols[:10]}; pass label_column to choose the label.")
    if missing:
        warnings.append(f"{missing} sample(s) have no row in the label table {path.name}.")
    new = dataclasses.replace(ds, metadata=meta, label_column=label_column)
    return new, facts, warnings


def obs_metadata(mods: list[Modality], ids: np.ndarray) -> tuple[pd.DataFrame | None, list[str]]:
    """The modalities' ``obs`` columns as one table aligned to ``ids`` (a column several modalities
    share is filled from each), and warnings for columns dropped because their names are reserved."""
    frames = [m.obs for m in mods if m.obs is not None and len(m.obs.columns)]
    if not frames:
        return None, []
    index = pd.Index(ids, dtype=object)
    meta = pd.DataFrame(index=index)
    for frame in frames:
        for col in frame.columns:
            part = frame[col].reindex(index)
            meta[col] = part if col not in meta else meta[col].combine_first(part)
    reserved = [c for c in meta.columns if c in RESERVED_COLUMNS]
    warnings = (
        [f"obs column(s) {reserved} left out: the names are reserved for mmcorr's own tables."]
        if reserved
        else []
    )
    return meta.drop(columns=reserved), warnings


def check_shared_obs(mods: list[Modality]) -> None:
    """Raise a DataError when AnnData / MuData modalities (2 or more) share no obs name."""
    if len(mods) < 2:
        return
    common = pd.Index(mods[0].ids)
    for m in mods[1:]:
        common = common[common.isin(m.ids)]
    if len(common) == 0:
        shown = "; ".join(f"{m.key or m.name} has {[str(v) for v in m.ids[:3]]}" for m in mods[:3])
        raise DataError(
            f"The modalities share no obs names ({shown}); cells are paired across modalities by obs "
            "name, so the same cell must carry the same name in every modality."
        )
