"""Text (a string column of a table, or .txt files in a folder or .zip) -> hashed n-gram counts.

Featurising is stateless: scikit-learn's ``HashingVectorizer`` maps word 1-2-grams and character
3-5-grams (``char_wb``: inside word boundaries) into ``n_features / 2`` buckets each, lowercased,
with raw counts (``alternate_sign=False``, ``norm=None``). Nothing is fitted, so nothing leaks from
held-out samples; idf weighting, if any, is fitted on the training split later by the preprocessor.
Feature names name each bucket by the most frequent term hashed into it in these texts
(``w:seven``, ``c:sev``), or ``hash_00123`` when none is.
"""

from __future__ import annotations

import codecs
import gzip
import io
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.feature_extraction import FeatureHasher
from sklearn.feature_extraction.text import CountVectorizer, HashingVectorizer

from mmcorr._validation import DataError

from .._limits import check_decoded, check_file_size, check_gzip, resolve_limit
from .._table import check_ids, detect_id_column
from ..types import MediaSpec
from .archive import MediaArchive

__all__ = ["TEXT_DEFAULTS", "TEXT_TABLE_EXTENSIONS", "featurise_text", "read_text_archive", "read_text_table"]

#: Every featuriser setting; recorded in ``MediaSpec.params`` and read back from a fitted run's spec.
#: n_features: total buckets (even; half words, half characters), 512-8192 is sensible: fewer
#: buckets means more collisions between unrelated terms.
TEXT_DEFAULTS: dict[str, Any] = {
    "n_features": 2048,
    "word_ngram": [1, 2],
    "char_ngram": [3, 5],
    "char_analyzer": "char_wb",
    "lowercase": True,
    "token_pattern": r"(?u)\b\w\w+\b",
    "alternate_sign": False,
    "norm": None,
    "hash": "murmurhash3_32 (scikit-learn HashingVectorizer)",
}
TEXT_TABLE_EXTENSIONS: tuple[str, ...] = (".csv", ".tsv", ".csv.gz", ".tsv.gz", ".parquet", ".pq")
#: Rows hashed at a time (bounds the dense intermediate arrays).
_CHUNK = 4096


def _params(spec: MediaSpec | None) -> dict[str, Any]:
    params = {**TEXT_DEFAULTS, **(spec.params if spec is not None else {})}
    n = params["n_features"]
    if not isinstance(n, int) or isinstance(n, bool) or n < 2 or n % 2:
        raise DataError(f"The text spec's 'n_features' must be an even int >= 2. Got {n!r} instead.")
    return params


def _analyzers(params: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(feature-name prefix, vectoriser settings) of the word and the character half."""
    common = {"lowercase": bool(params["lowercase"])}
    word = {
        "analyzer": "word",
        "ngram_range": tuple(params["word_ngram"]),
        "token_pattern": params["token_pattern"],
    }
    char = {"analyzer": params["char_analyzer"], "ngram_range": tuple(params["char_ngram"])}
    return [("w:", {**common, **word}), ("c:", {**common, **char})]


def _bucket_names(
    texts: list[str], settings: dict[str, Any], half: int, offset: int, prefix: str
) -> np.ndarray:
    """Name each of ``half`` buckets by its most frequent term in ``texts`` (ties: alphabetical)."""
    names = np.asarray([f"hash_{j:05d}" for j in range(offset, offset + half)], dtype=object)
    counter = CountVectorizer(**settings)
    try:
        counts = counter.fit_transform(texts)
    except ValueError:  # no term at all (e.g. every text is one-letter words)
        return names
    terms = np.asarray(counter.get_feature_names_out(), dtype=object)
    freq = np.asarray(counts.sum(axis=0)).ravel()
    hasher = FeatureHasher(n_features=half, input_type="string", alternate_sign=False)
    buckets = hasher.transform([[t] for t in terms]).indices  # one term per row -> its bucket
    order = np.lexsort((np.arange(len(terms)), -freq, buckets))
    used, first = np.unique(buckets[order], return_index=True)
    names[used] = prefix + terms[order[first]]
    return names


def featurise_text(
    texts: list[str], spec: MediaSpec | None = None
) -> tuple[np.ndarray, MediaSpec, list[str]]:
    """Hash ``texts`` (n strings) into float32 counts of shape (n, n_features).

    spec: a fitted run's text MediaSpec, whose params are used instead of :data:`TEXT_DEFAULTS`.
    Returns (values, the MediaSpec used, feature names).
    """
    params = _params(spec)
    d = int(params["n_features"])
    half = d // 2
    out = np.zeros((len(texts), d), dtype=np.float32)
    names: list[np.ndarray] = []
    for k, (prefix, settings) in enumerate(_analyzers(params)):
        hv = HashingVectorizer(n_features=half, alternate_sign=False, norm=None, dtype=np.float32, **settings)
        for start in range(0, len(texts), _CHUNK):
            out[start : start + _CHUNK, k * half : (k + 1) * half] = hv.transform(
                texts[start : start + _CHUNK]
            ).toarray()
        names.append(_bucket_names(texts, settings, half, k * half, prefix))
    used = MediaSpec(kind="text", shape=(d,), params=params)
    return out, used, [str(n) for n in np.concatenate(names)]


def _decode(data: bytes, where: str) -> str:
    """Strict UTF-8 (a leading BOM allowed); a bad byte is an error naming its offset."""
    skip = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
    try:
        return data[skip:].decode("utf-8")
    except UnicodeDecodeError as exc:
        at = exc.start + skip
        line = data[:at].count(b"\n") + 1
        raise DataError(
            f"{where} is not UTF-8 text: byte {at} (line {line}, 0x{data[at]:02x}) cannot be decoded. "
            "Save it as UTF-8."
        ) from None


def _check_texts(texts: pd.Series, where_row: list[str]) -> None:
    """Every text holds a non-space character; else an error naming the first empty one."""
    empty = texts.str.strip().fillna("").eq("").to_numpy()
    if empty.any():
        i = int(np.argmax(empty))
        what = "empty" if not texts.iloc[i] else "only whitespace"
        raise DataError(f"{where_row[i]} is {what}; every sample needs some text. Remove it or fill it in.")


def read_text_archive(archive: MediaArchive) -> list[str]:
    """The texts of every .txt entry, in entry order (decoded one entry at a time)."""
    texts = [_decode(data, archive.where(entry)) for _, entry, data in archive.iter_bytes()]
    _check_texts(pd.Series(texts, dtype=object), [archive.where(e) for e in archive.entries])
    return texts


def _table_ext(path: Path) -> str | None:
    lower = path.name.lower()
    return next((e for e in sorted(TEXT_TABLE_EXTENSIONS, key=len, reverse=True) if lower.endswith(e)), None)


def _read_delimited(path: Path, ext: str, source: str, limit: int) -> pd.DataFrame:
    if ext.endswith(".gz"):
        check_gzip(path, limit, source)
        with gzip.open(path, "rb") as fh:
            data = fh.read(limit + 1)
    else:
        data = path.read_bytes()
    text = _decode(data, f"{source}: the file")
    try:
        return pd.read_csv(
            io.StringIO(text), sep="\t" if ext.startswith(".tsv") else ",", dtype=str, keep_default_na=False
        )
    except (ValueError, pd.errors.ParserError) as exc:
        raise DataError(f"{source}: not a readable {ext} table ({exc}).") from None


def _read_parquet(path: Path, source: str, limit: int, column: str) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        meta = pq.read_metadata(path)
        decoded = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
        check_decoded(decoded, limit, source, f"the table ({meta.num_rows:,} x {meta.num_columns:,})")
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        raise DataError(f"{source}: not a readable Parquet file ({exc}).") from None
    if column in table.column_names:
        t = table.schema.field(column).type
        if not (pa.types.is_string(t) or pa.types.is_large_string(t)):
            raise DataError(
                f"{source}: column {column!r} holds {t}, not text; choose the column that holds the text."
            )
    return table.to_pandas()


def read_text_table(
    path: str | Path, column: str | None, *, id_column: str | None = None, max_bytes: int | None = None
) -> tuple[list[str], np.ndarray, str | None]:
    """Texts and sample ids from a string column of a .csv / .tsv (optionally .gz) / .parquet table.

    column: the text column (required).
    id_column: the sample-id column; None takes a column named like an id (``id``, ``sample_id``...,
        as the table loader does), else the first column when it is not ``column`` and holds unique,
        non-empty values, else row numbers "0", "1", ...
    Returns (texts, ids (n,) object, the id column used or None for row numbers).
    """
    path = Path(path)
    source = path.name
    ext = _table_ext(path)
    if ext is None:
        raise DataError(
            f"{source}: text tables must be {', '.join(TEXT_TABLE_EXTENSIONS)} files. "
            f"Got {path.suffix or 'no extension'!r}."
        )
    if not path.is_file():
        raise DataError(f"{path}: file not found.")
    limit = resolve_limit(max_bytes)
    size = path.stat().st_size
    check_file_size(size, limit, source, "the file")
    if size == 0:
        raise DataError(f"{source}: the file is empty.")
    if column is None:
        raise DataError(f"{source}: name the text column (column=...) to read text from a table.")
    frame = (
        _read_parquet(path, source, limit, column)
        if ext in (".parquet", ".pq")
        else _read_delimited(path, ext, source, limit)
    )
    columns = [str(c) for c in frame.columns]
    if column not in columns:
        shown = ", ".join(repr(c) for c in columns[:20]) + (" ..." if len(columns) > 20 else "")
        raise DataError(f"{source}: there is no text column {column!r}. Columns: {shown}.")
    if len(frame) == 0:
        raise DataError(f"{source}: has column names but no data rows; each row must be one sample.")
    series = frame[column]
    if ext not in (".parquet", ".pq") and pd.to_numeric(series, errors="coerce").notna().all():
        raise DataError(
            f"{source}: column {column!r} holds only numbers, not text; choose the column that holds the text."
        )
    _check_texts(series, [f"{source}: column {column!r} row {i + 1}" for i in range(len(series))])
    id_col = detect_id_column(columns, id_column, source)
    if id_col == column:
        raise DataError(f"{source}: the id column {id_col!r} is the text column; name another id column.")
    if id_col is None and columns[0] != column:
        first = frame[columns[0]].astype(str)
        if first.is_unique and frame[columns[0]].notna().all() and first.str.strip().ne("").all():
            id_col = columns[0]
    if id_col is None:
        ids = np.arange(len(frame)).astype(str).astype(object)
    else:
        raw = frame[id_col]
        empty = (raw.isna() | raw.astype(str).str.strip().eq("")).to_numpy()
        if empty.any():
            raise DataError(
                f"{source}: id column {id_col!r} row {int(np.argmax(empty)) + 1} is empty; every sample needs an id."
            )
        ids = raw.astype(str).to_numpy(dtype=object)
        check_ids(ids, source)
        dup = pd.Index(ids).duplicated()
        if dup.any():
            row = int(np.argmax(dup))
            raise DataError(
                f"{source}: id column {id_col!r} row {row + 1} repeats the id {ids[row]!r}; every sample id must be unique."
            )
    return series.astype(str).tolist(), ids, id_col
