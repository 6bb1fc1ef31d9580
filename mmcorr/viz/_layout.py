"""Shared layout of every mmcorr figure."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["LAYOUT", "MAX_CATEGORIES", "even_rows"]

#: A colour column with more distinct values than this is drawn as a continuous colour scale.
MAX_CATEGORIES = 40
LAYOUT: dict[str, Any] = {"template": "plotly_white", "margin": {"l": 60, "r": 20, "t": 50, "b": 50}}


def even_rows(n: int, max_rows: int) -> np.ndarray:
    """Up to ``max_rows`` evenly spaced indices of range(n), in order (keeps a diagonal visible)."""
    if n <= max_rows:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, max_rows).round().astype(np.int64))
