"""Turn an Arrow table or a numeric array into a validated :class:`Modality`.

Shared by every loader, so csv, parquet, npy and h5mu files obey the same rules: one id column (or
row numbers), float32 features, bad cells named by column and 1-based data row, missing values an
error unless imputed, constant features dropped with a reason.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from mmcorr._validation import DataError

from .types import Modality

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "ID_COLUMN_NAMES",
    "NAN_POLICIES",
    "NanPolicy",
    "check_ids",
    "check_unique_ids",
    "finalize",
    "table_to_modality",
]

NanPolicy = Literal["error", "impute"]
NAN_POLICIES: tuple[str, ...] = ("error", "impute")

#: Column names (compared case-insensitively) taken as the sample-id column when none is given.
ID_COLUMN_NAMES: tuple[str, ...] = (
    "id",
    "sample",
    "sample_id",
    "sampleid",
    "barcode",
    "cell",
    "cell_id",
    "obs_names",
    "__index_level_0__",
)


def detect_id_column(columns: list[str], id_column: str | None, source: str) -> str | None:
    """The id column by name: ``id_column`` if given (it must exist), else the first whose
    lowercase name is in :data:`ID_COLUMN_NAMES`, else None (the caller may still try the first
    column by content, see :func:`table_to_modality`)."""
    if id_column is not None:
        if id_column not in columns:
            shown = ", ".join(repr(c) for c in columns[:20]) + (" ..." if len(columns) > 20 else "")
            raise DataError(f"{source}: the id column {id_column!r} is not in the file. Columns: {shown}.")
        return id_column
    for col in columns:
        if col.strip().lower() in ID_COLUMN_NAMES:
            return col
    return None


def check_unique_columns(columns: list[str], source: str) -> None:
    dup = pd.Index(columns)[pd.Index(columns).duplicated()].unique().tolist()
    if dup:
        raise DataError(f"{source}: duplicate feature names {dup[:10]}; every column needs a distinct name.")


def text_to_numbers(arr: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """Parse a text column: (float64 values with NaN where empty or unparseable, bad-cell mask)."""
    s = arr.to_pandas()
    present = s.notna() & (s.astype("string").str.strip() != "")
    num = pd.to_numeric(s.where(present), errors="coerce")
    bad = (present & num.isna()).to_numpy()
    return num.to_numpy(dtype=np.float64, na_value=np.nan), bad


def first_column_is_id(name: str, arr: pa.ChunkedArray) -> bool:
    """Whether an unnamed-as-id first column holds ids: text that is not all numbers (or an empty
    header, as pandas writes its index), with unique, non-empty values."""
    import pyarrow as pa
    import pyarrow.compute as pc

    unnamed = name.strip() == "" or name.startswith("Unnamed")
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type) or unnamed):
        return False
    text = pc.cast(arr, pa.string())
    _, bad = text_to_numbers(text)
    unique = bool(pc.count_distinct(text).as_py() == len(text) and text.null_count == 0)
    return bool((bad.any() or unnamed) and unique)


def _is_numeric_type(t: pa.DataType) -> bool:
    import pyarrow as pa

    return bool(
        pa.types.is_integer(t)
        or pa.types.is_floating(t)
        or pa.types.is_boolean(t)
        or pa.types.is_decimal(t)
        or pa.types.is_null(t)
    )


def table_to_modality(
    table: pa.Table,
    name: str,
    source: str,
    *,
    id_column: str | None,
    first_column_may_be_id: bool,
    nan: NanPolicy,
) -> Modality:
    """Build a Modality from ``table``.

    id column: ``id_column`` (already resolved by name); else, when ``first_column_may_be_id``, the
    first column if it holds text that is not all numbers (or has an empty header, as pandas writes
    its index) and its values are unique and non-empty. Text columns where most cells are numbers
    are numeric columns with a bad cell (an error naming column and row); other text columns are
    dropped with the reason recorded.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    columns = list(table.column_names)
    check_unique_columns(columns, source)
    n = table.num_rows
    if (
        id_column is None
        and first_column_may_be_id
        and columns
        and first_column_is_id(columns[0], table.column(0))
    ):
        id_column = columns[0]

    dropped: dict[str, str] = {}
    keep: list[tuple[str, np.ndarray | pa.ChunkedArray]] = []
    for col in columns:
        if col == id_column:
            continue
        arr = table.column(col)
        if _is_numeric_type(arr.type):
            keep.append((col, arr))
        elif pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
            parsed, bad = text_to_numbers(arr)
            n_bad = int(bad.sum())
            if n_bad == 0:
                keep.append((col, parsed))
            elif n_bad <= int(np.isfinite(parsed).sum()):
                row = int(np.argmax(bad))
                cell = arr[row].as_py()
                raise DataError(
                    f"{source}: column {col!r} row {row + 1} holds {cell!r}, which is not a number "
                    f"({n_bad} such cell(s) in that column). Fix the cell, or leave it empty and "
                    "load with nan='impute'."
                )
            else:
                dropped[col] = "not numeric (text column)"
        else:
            dropped[col] = f"not numeric ({arr.type})"

    values = np.empty((n, len(keep)), dtype=np.float32)
    for j, (_, arr) in enumerate(keep):
        if not isinstance(arr, np.ndarray):
            if pa.types.is_decimal(arr.type) or pa.types.is_boolean(arr.type) or pa.types.is_null(arr.type):
                arr = pc.cast(arr, pa.float64(), safe=False)
            arr = arr.to_numpy()  # nulls come out as NaN for float columns
        with np.errstate(over="ignore"):  # beyond float32 becomes inf, reported in finalize
            values[:, j] = arr
    if id_column is None:
        ids = np.arange(n).astype(str).astype(object)
    else:
        id_arr = pc.cast(table.column(id_column), pa.string())
        if id_arr.null_count:
            row = int(np.argmax(id_arr.is_null().to_numpy(zero_copy_only=False)))
            raise DataError(
                f"{source}: id column {id_column!r} row {row + 1} is empty; every sample needs an id."
            )
        ids = np.asarray(id_arr.to_numpy(zero_copy_only=False), dtype=object)
    return finalize(
        name, values, ids, [c for c, _ in keep], source, id_column=id_column, dropped=dropped, nan=nan
    )


def check_ids(ids: np.ndarray, source: str) -> None:
    """Sample ids are printable text: a control character (a NUL byte, say) is refused with its row.

    Ids travel into file names, CSV exports, URLs and plots, where an invisible byte either breaks
    the output or makes two different ids look the same.
    """
    text = pd.Series(ids, dtype=object).astype(str)
    bad = text.str.contains(r"[\x00-\x08\x0b-\x1f\x7f]", regex=True).to_numpy()
    if bad.any():
        row = int(np.argmax(bad))
        raise DataError(
            f"{source}: sample id in row {row + 1} ({text.iloc[row]!r}) holds a control character "
            "(such as a NUL byte); ids must be printable text."
        )


def check_unique_ids(ids: np.ndarray, source: str) -> None:
    """Sample ids are printable (:func:`check_ids`) and unique: a duplicate is refused with examples."""
    check_ids(ids, source)
    dup = pd.Index(ids).duplicated()
    if dup.any():
        shown = pd.unique(ids[dup])[:5].tolist()
        raise DataError(
            f"{source}: {int(dup.sum())} duplicate sample id(s), e.g. {shown}; every sample id must be unique."
        )


def finalize(
    name: str,
    values: np.ndarray,
    ids: np.ndarray,
    features: list[str],
    source: str,
    *,
    id_column: str | None,
    dropped: dict[str, str] | None = None,
    nan: NanPolicy = "error",
) -> Modality:
    """Validate a loaded (n, d) float32 table and return the Modality (see module docstring)."""
    dropped = dict(dropped or {})
    notes: list[str] = []
    n = values.shape[0]
    if n == 0:
        raise DataError(f"{source}: has column names but no data rows; each row must be one sample.")
    if values.shape[1] == 0:
        why = "; ".join(f"{k!r}: {v}" for k, v in list(dropped.items())[:10])
        raise DataError(f"{source}: no numeric feature columns" + (f" (dropped {why})" if why else "") + ".")
    check_unique_columns(features, source)
    check_unique_ids(ids, source)
    finite = np.isfinite(values)
    if not finite.all():
        n_bad = int(values.size - np.count_nonzero(finite))
        if nan == "error":
            row = int(np.argmax(~finite.all(axis=1)))
            col = int(np.argmax(~finite[row]))
            kind = (
                "a missing value (NaN)"
                if np.isnan(values[row, col])
                else "an infinite value (or one beyond float32's range, about ±3.4e38)"
            )
            raise DataError(
                f"{source}: column {features[col]!r} row {row + 1} holds {kind} ({n_bad} non-finite "
                "value(s) in all). Fill them in, or load with nan='impute' (CLI: --nan impute) to "
                "replace them by feature means."
            )
        counts = finite.sum(axis=0)
        sums = np.where(finite, values, 0).sum(axis=0, dtype=np.float64)
        means = (sums / np.maximum(counts, 1)).astype(np.float32)
        values = np.where(finite, values, means[None, :])
        empty = counts == 0
        for f in np.asarray(features, dtype=object)[empty]:
            dropped[str(f)] = "all values missing"
        notes.append(
            f"imputed {n_bad} missing or infinite value(s) with feature means in "
            f"{int((counts < n).sum())} feature(s)"
        )
        values, features = values[:, ~empty], [f for f, e in zip(features, empty, strict=True) if not e]
    if values.shape[1]:
        constant = values.max(axis=0) == values.min(axis=0)
        if constant.any():
            for j in np.flatnonzero(constant):
                dropped[features[j]] = f"constant (every value is {float(values[0, j]):g})"
            values = values[:, ~constant]
            features = [f for f, c in zip(features, constant, strict=True) if not c]
    if values.shape[1] == 0:
        raise DataError(f"{source}: no usable features: every feature is constant or missing.")
    return Modality(
        name=name,
        values=np.ascontiguousarray(values, dtype=np.float32),
        ids=ids,
        features=[str(f) for f in features],
        source=source,
        id_column=id_column,
        dropped=dropped,
        notes=notes,
    )
