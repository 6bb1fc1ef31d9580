"""The candidate table of a run whose family ``model="auto"`` chose, read back from the run's notes.

The fit notes its choice in one line (:func:`mmcorr.config._models.describe_choice`), which the run
keeps among its notes; this is the one reader of that line, for the report and the pages.
"""

from __future__ import annotations

from typing import Any

from mmcorr.config._models import parse_choice
from mmcorr.runs.summary import RunDetails

__all__ = ["CHOICE_COLUMNS", "model_choice"]

#: The table's columns: the candidate table's key -> the heading people read.
CHOICE_COLUMNS: dict[str, str] = {
    "model": "family",
    "val_corr_sum": "validation canonical correlation sum",
    "seconds": "fit seconds",
    "chosen": "chosen",
    "note": "why it did not run",
}


def model_choice(run: RunDetails) -> list[dict[str, Any]]:
    """One row per candidate family, in the order tried, under :data:`CHOICE_COLUMNS`' headings;
    [] for a run whose family was asked for by name."""
    rows = parse_choice("; ".join(run.notes.values()))
    return [{heading: row[key] for key, heading in CHOICE_COLUMNS.items()} for row in rows]
