"""CSV / TSV through pyarrow's multithreaded reader (no Python loop over rows).

Fast path: the header is read first, then every feature column is parsed straight to float32 (so
the Arrow table is no larger than the final array) and the id column as text. When a cell does not
parse, the file is read again with type inference so the bad cell can be named by column and row.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mmcorr._validation import DataError

from ._table import (
    NanPolicy,
    check_unique_columns,
    detect_id_column,
    finalize,
    first_column_is_id,
    table_to_modality,
    text_to_numbers,
)
from .types import Modality

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["block_sizes", "read_csv_modality", "sniff_text_table"]


# Arrow parses whole blocks and needs the header line and every row to fit in one: blocks start at
# these sizes and grow with the header (a 50,000-column header is ~0.5 MB; 64 KiB refused it).
_HEADER_BLOCK = 1 << 16
_DATA_BLOCK = 4 << 20
_LINE_READ = 1 << 20


def _first_line_bytes(path: Path) -> int:
    """Length in bytes of the file's first line (decompressed for .gz), read in 1 MiB pieces."""
    import gzip

    opener = gzip.open if path.name.lower().endswith(".gz") else open
    total = 0
    with opener(path, "rb") as fh:
        while True:
            piece = fh.read(_LINE_READ)
            if not piece:
                return total
            cut = piece.find(b"\n")
            if cut >= 0:
                return total + cut + 1
            total += len(piece)


def block_sizes(path: Path, source: str) -> tuple[int, int]:
    """(header block, data block) large enough for this file's header line."""
    try:
        line = _first_line_bytes(path)
    except (OSError, EOFError) as exc:
        raise DataError(f"{source}: cannot read the table header ({exc}).") from None
    return max(_HEADER_BLOCK, 2 * line), max(_DATA_BLOCK, 4 * line)


_SNIFF_BYTES = 1 << 16
_GZIP_MAGIC = b"\x1f\x8b"
_DECIMAL_COMMA = re.compile(r"(^|;)\s*-?\d+,\d+\s*(;|$)")


def sniff_text_table(path: Path, delimiter: str, source: str) -> None:
    """Name the usual export mistakes before the parser meets them, saying what was seen and the fix:
    gzip bytes without .gz, text that is not UTF-8 (Latin-1 / Windows-1252), semicolon-delimited
    tables (with decimal commas), and a comma table named .tsv. Reads the first 64 KiB only."""
    import codecs

    if path.name.lower().endswith(".gz"):
        return
    with open(path, "rb") as fh:
        head = fh.read(_SNIFF_BYTES)
    if head.startswith(_GZIP_MAGIC):
        raise DataError(
            f"{source}: the file is gzip-compressed but its name does not end in .gz; rename it to "
            f"{path.name}.gz (or decompress it)."
        )
    try:
        text = codecs.getincrementaldecoder("utf-8-sig")().decode(head, final=False)
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{source}: the text is not UTF-8 (byte {exc.start + 1} is 0x{head[exc.start]:02x}; the file "
            "looks like Latin-1 / Windows-1252, as older Excel exports are). Re-save it as UTF-8, e.g. "
            "'CSV UTF-8' in Excel or iconv -f latin1 -t utf-8."
        ) from None
    lines = text.splitlines()
    header = lines[0] if lines else ""
    if delimiter not in header and ";" in header:
        commas = any(_DECIMAL_COMMA.search(line) for line in lines[1:20])
        raise DataError(
            f"{source}: the table looks semicolon-delimited ({header[:60]!r})"
            + (" with decimal commas (e.g. 1,5)" if commas else "")
            + "; mmcorr reads comma-separated .csv and tab-separated .tsv with decimal points. Re-export "
            "it as CSV (comma-separated, '.' decimals), e.g. pandas.read_csv(path, sep=';', decimal=',')"
            ".to_csv(new_path)."
        )
    if delimiter == "\t" and "\t" not in header and "," in header:
        raise DataError(f"{source}: named .tsv but the header has commas and no tabs; rename it to .csv.")


def _header(path: Path, delimiter: str, source: str, block_size: int) -> list[str]:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    try:
        # A first block just large enough for the header line: only the column names are needed.
        reader = pacsv.open_csv(
            path,
            read_options=pacsv.ReadOptions(block_size=block_size),
            parse_options=pacsv.ParseOptions(delimiter=delimiter),
        )
        names = list(reader.schema.names)
        reader.close()
    except pa.ArrowInvalid as exc:
        if "empty" in str(exc).lower() and _first_line_bytes(path) == 0:
            raise DataError(f"{source}: the file is empty.") from None
        raise DataError(f"{source}: cannot parse the table ({exc}).") from None
    except (pa.ArrowException, UnicodeDecodeError, OSError) as exc:
        raise DataError(f"{source}: cannot read the table header ({exc}).") from None
    return names


def _stream_float32(
    path: Path, columns: list[str], text_col: str | None, parse: Any, block_size: int
) -> tuple[np.ndarray, pa.ChunkedArray | None]:
    """Every column but ``text_col`` as one float32 (n, d) array, plus ``text_col`` as text.

    Batches are converted and released one at a time, so peak memory stays near twice the final
    array (the blocks, then their concatenation) instead of Arrow's whole-table parse buffers.
    Raises pyarrow.ArrowInvalid on the first cell that is not a number.
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv

    convert = pacsv.ConvertOptions(
        column_types={c: (pa.string() if c == text_col else pa.float32()) for c in columns},
        strings_can_be_null=True,
    )
    reader = pacsv.open_csv(
        path,
        read_options=pacsv.ReadOptions(block_size=block_size),
        parse_options=parse,
        convert_options=convert,
    )
    feature_idx = [j for j, c in enumerate(columns) if c != text_col]
    blocks: list[np.ndarray] = []
    texts: list[pa.Array] = []
    for batch in reader:
        block = np.empty((batch.num_rows, len(feature_idx)), dtype=np.float32)
        for k, j in enumerate(feature_idx):
            block[:, k] = batch.column(j).to_numpy(zero_copy_only=False)
        blocks.append(block)
        if text_col is not None:
            texts.append(batch.column(columns.index(text_col)))
    values = np.concatenate(blocks) if blocks else np.empty((0, len(feature_idx)), dtype=np.float32)
    del blocks
    text = pa.chunked_array(texts, type=pa.string()) if text_col is not None else None
    return values, text


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

    sniff_text_table(path, delimiter, source)
    header_block, data_block = block_sizes(path, source)
    columns = _header(path, delimiter, source, header_block)
    check_unique_columns(columns, source)
    id_col = detect_id_column(columns, id_column, source)
    # The first column may hold ids without a recognised name: read it as text and decide after.
    text_col = id_col if id_col is not None else (columns[0] if columns else None)
    parse = pacsv.ParseOptions(delimiter=delimiter)
    try:
        values, text = _stream_float32(path, columns, text_col, parse, data_block)
    except pa.ArrowInvalid as exc:
        if "conversion error" not in str(exc):
            raise DataError(f"{source}: cannot parse the table ({exc}).") from None
        values, text = None, None
    except (pa.ArrowException, UnicodeDecodeError, OSError) as exc:
        raise DataError(f"{source}: cannot parse the table ({exc}).") from None
    if values is not None and text is not None and text_col is not None:
        features = [c for c in columns if c != text_col]
        if id_col is None and first_column_is_id(text_col, text):
            id_col = text_col
        if id_col is not None:
            if text.null_count:
                row = int(np.argmax(text.is_null().to_numpy(zero_copy_only=False)))
                raise DataError(
                    f"{source}: id column {id_col!r} row {row + 1} is empty; every sample needs an id."
                )
            ids = np.asarray(text.to_numpy(zero_copy_only=False), dtype=object)
            return finalize(name, values, ids, features, source, id_column=id_col, nan=nan)
        parsed, bad = text_to_numbers(text)
        if not bad.any():  # the first column is a plain numeric feature
            values = np.concatenate([parsed.astype(np.float32)[:, None], values], axis=1)
            ids = np.arange(len(values)).astype(str).astype(object)
            return finalize(name, values, ids, columns, source, id_column=None, nan=nan)
    # Slow path, only for files with text cells: infer types, then classify every column.
    slow = pacsv.ConvertOptions(
        column_types={text_col: pa.string()} if text_col is not None else {}, strings_can_be_null=True
    )
    try:
        table = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(block_size=data_block),
            parse_options=parse,
            convert_options=slow,
        )
    except (pa.ArrowException, UnicodeDecodeError, OSError) as exc:
        raise DataError(f"{source}: cannot parse the table ({exc}).") from None
    return table_to_modality(
        table, name, source, id_column=id_col, first_column_may_be_id=id_column is None, nan=nan
    )
