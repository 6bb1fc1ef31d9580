"""CSV / TSV through pyarrow's multithreaded reader (no Python loop over rows).

Fast path: the header is read first, then every feature column is parsed straight to float32 (so
the Arrow table is no larger than the final array) and the id column as text. When a cell does not
parse, the file is read again with type inference so the bad cell can be named by column and row.
"""

from __future__ import annotations

from pathlib import Path

from mmcorr._validation import DataError

from ._table import NanPolicy, check_unique_columns, detect_id_column, table_to_modality
from .types import Modality

__all__ = ["read_csv_modality"]


def _header(path: Path, delimiter: str, source: str) -> list[str]:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    try:
        # A small first block: only the column names are needed here.
        reader = pacsv.open_csv(
            path,
            read_options=pacsv.ReadOptions(block_size=1 << 16),
            parse_options=pacsv.ParseOptions(delimiter=delimiter),
        )
        names = list(reader.schema.names)
        reader.close()
    except pa.ArrowInvalid as exc:
        if "empty" in str(exc).lower():
            raise DataError(f"{source}: the file is empty.") from None
        raise DataError(f"{source}: cannot parse the table ({exc}).") from None
    except (pa.ArrowException, UnicodeDecodeError, OSError) as exc:
        raise DataError(f"{source}: cannot read the table header ({exc}).") from None
    return names


def read_csv_modality(
    path: Path,
    name: str,
    source: str,
    *,
    delimiter: str,
    id_column: str | None,
    nan: NanPolicy,
) -> Modality:
    """Read a delimited text file into a Modality (see mmcorr.data.loaders for the rules)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    columns = _header(path, delimiter, source)
    check_unique_columns(columns, source)
    id_col = detect_id_column(columns, id_column, source)
    # The first column may hold ids without a recognised name: read it as text and decide later.
    text_col = id_col if id_col is not None else (columns[0] if columns else None)
    parse = pacsv.ParseOptions(delimiter=delimiter)
    read = pacsv.ReadOptions(use_threads=True)
    fast = pacsv.ConvertOptions(
        column_types={c: (pa.string() if c == text_col else pa.float32()) for c in columns},
        strings_can_be_null=True,
    )
    try:
        table = pacsv.read_csv(path, read_options=read, parse_options=parse, convert_options=fast)
    except pa.ArrowInvalid as exc:
        if "conversion error" not in str(exc):
            raise DataError(f"{source}: cannot parse the table ({exc}).") from None
        # Slow path, only for files with a text cell somewhere: infer types, then classify.
        slow = pacsv.ConvertOptions(
            column_types={text_col: pa.string()} if text_col is not None else {},
            strings_can_be_null=True,
        )
        try:
            table = pacsv.read_csv(path, read_options=read, parse_options=parse, convert_options=slow)
        except pa.ArrowException as exc2:
            raise DataError(f"{source}: cannot parse the table ({exc2}).") from None
    except (pa.ArrowException, UnicodeDecodeError, OSError) as exc:
        raise DataError(f"{source}: cannot parse the table ({exc}).") from None
    return table_to_modality(
        table, name, source, id_column=id_col, first_column_may_be_id=id_column is None, nan=nan
    )
