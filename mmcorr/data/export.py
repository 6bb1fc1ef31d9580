"""Spreadsheet-safe CSV: every CSV / TSV the product writes goes through :func:`csv_text`.

A spreadsheet opening a CSV runs a cell that begins with ``=``, ``+``, ``-`` or ``@`` as a formula
(``=HYPERLINK(...)`` in a sample id becomes a live link; ``=cmd|...`` reached DDE in old Excel), and
a leading tab or carriage return can hide such a prefix. As OWASP's "CSV Injection" advice and
spreadsheet-safe exporters do, such a text cell is written with a leading single quote, which
spreadsheets show as text and do not evaluate. Only text is touched: numeric columns stay numbers
(a negative correlation is still ``-0.5``), and a text cell that is a plain number (an id ``-1``)
is left alone because a spreadsheet reads it as that number, not as a formula.
"""

from __future__ import annotations

from typing import Literal

import pandas as pd

__all__ = ["FORMULA_PREFIXES", "csv_text", "neutralise_text", "spreadsheet_safe"]

#: First characters that make a spreadsheet treat a cell as a formula (or hide one).
FORMULA_PREFIXES: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")
# A cell that starts with a formula character and is not just a signed number.
_FORMULA_RE = r"^(?![+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$)[=+\-@\t\r]"


def neutralise_text(values: pd.Series) -> pd.Series:
    """``values`` with every string cell that a spreadsheet would run as a formula prefixed by ``'``.

    Non-string cells (numbers, None, NaN) are returned as they are; numeric series unchanged.
    """
    if not (pd.api.types.is_object_dtype(values) or pd.api.types.is_string_dtype(values)):
        return values
    risky = values.str.contains(_FORMULA_RE, regex=True, na=False).astype(bool)
    if not risky.any():
        return values
    return values.where(~risky, "'" + values.astype(str))


def _safe_labels(index: pd.Index) -> pd.Index:
    if isinstance(index, pd.MultiIndex) or not (
        pd.api.types.is_object_dtype(index) or pd.api.types.is_string_dtype(index)
    ):
        return index
    return pd.Index(neutralise_text(pd.Series(index, dtype=object)), name=index.name)


def spreadsheet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells, text column names and text index are formula-safe.

    Categorical columns are neutralised as text; numeric and boolean columns are not touched.
    """
    out = frame.copy()
    for j in range(out.shape[1]):
        col = out.iloc[:, j]
        if isinstance(col.dtype, pd.CategoricalDtype):
            col = col.astype(object)
        safe = neutralise_text(col)
        if safe is not col:
            out.isetitem(j, safe.to_numpy(dtype=object))
    out.columns = _safe_labels(out.columns)
    out.index = _safe_labels(out.index)
    return out


def csv_text(
    frame: pd.DataFrame,
    *,
    sep: Literal[",", "\t"] = ",",
    index: bool = False,
    float_format: str | None = None,
) -> str:
    """``frame`` as CSV (``sep=","``) or TSV (``sep="\\t"``) text, formula cells neutralised.

    The one CSV writer of mmcorr: ``mmcorr predict --out x.csv`` and the dashboard's downloads.
    Lines end in ``\n``; when a text cell holds a carriage return they end in ``\r\n``, because
    only then does Python's csv writer quote that cell (a bare CR would split the row, and the part
    after it would start a new row that a spreadsheet runs as a formula).
    """
    safe = spreadsheet_safe(frame)
    crlf = any(_has_cr(safe.iloc[:, j]) for j in range(safe.shape[1])) or _has_cr(safe.index.to_series())
    return safe.to_csv(
        index=index, sep=sep, float_format=float_format, lineterminator="\r\n" if crlf else "\n"
    )


def _has_cr(values: pd.Series) -> bool:
    if isinstance(values.dtype, pd.CategoricalDtype):
        values = values.astype(object)
    if not (pd.api.types.is_object_dtype(values) or pd.api.types.is_string_dtype(values)):
        return False
    return bool(values.str.contains("\r", regex=False, na=False).astype(bool).any())
