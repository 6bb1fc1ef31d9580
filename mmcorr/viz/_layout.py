"""Shared layout of every mmcorr figure, and the escaping of the text it shows."""

from __future__ import annotations

import html
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["LAYOUT", "MAX_CATEGORIES", "even_rows", "plotly_text", "plotly_texts"]

#: A colour column with more distinct values than this is drawn as a continuous colour scale.
MAX_CATEGORIES = 40
LAYOUT: dict[str, Any] = {"template": "plotly_white", "margin": {"l": 60, "r": 20, "t": 50, "b": 50}}


def even_rows(n: int, max_rows: int) -> np.ndarray:
    """Up to ``max_rows`` evenly spaced indices of range(n), in order (keeps a diagonal visible)."""
    if n <= max_rows:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, max_rows).round().astype(np.int64))


# plotly.js reads a small HTML subset (<b>, <i>, <br>, <a href=...>, <span style=...>) and entities in
# titles, legend entries, tick labels and hover text. Names, ids and column names come from users'
# files, so each is escaped: "<b>x</b>" in a sample id is shown as typed, never as bold or a link.
# plotly decodes &amp; &lt; &gt; back to the characters, so the label reads exactly as the data.


def plotly_text(value: object) -> str:
    """``value`` as a string that plotly shows literally (``<``, ``>`` and ``&`` escaped)."""
    return html.escape(str(value), quote=False)


def plotly_texts(values: Iterable[Any]) -> list[str]:
    """:func:`plotly_text` of every value (vectorised through pandas' string methods)."""
    text = pd.Series(list(values), dtype=object).astype(str)
    return (
        text.str.replace("&", "&amp;", regex=False)
        .str.replace("<", "&lt;", regex=False)
        .str.replace(">", "&gt;", regex=False)
        .tolist()
    )
