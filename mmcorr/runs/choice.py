"""The candidate table of a run whose family ``model="auto"`` chose, for the report, the pages and
``mmcorr train``: metrics.json's ``run.model_choice`` (:class:`~mmcorr.runs.summary.RunDetails`).

Runs written before that field read the table back from the one line the fit notes
(:func:`mmcorr.config._models.describe_choice`), which the run keeps among its notes.
"""

from __future__ import annotations

from typing import Any

from mmcorr.config._models import parse_choice, parse_inputs
from mmcorr.runs.summary import CHOICE_KEYS, RunDetails

__all__ = ["CHOICE_COLUMNS", "choice_line", "inputs_choice", "model_choice"]

#: The table's columns: the candidate table's key -> the heading people read.
CHOICE_COLUMNS: dict[str, str] = dict(
    zip(
        CHOICE_KEYS,
        ("family", "validation canonical correlation sum", "fit seconds", "chosen", "why it did not run"),
        strict=True,
    )
)


def model_choice(run: RunDetails) -> list[dict[str, Any]]:
    """One row per candidate family, in the order tried, under :data:`CHOICE_COLUMNS`' headings;
    [] for a run whose family was asked for by name."""
    rows = [dict(r) for r in run.model_choice] or parse_choice("; ".join(run.notes.values()))
    return [{heading: row[key] for key, heading in CHOICE_COLUMNS.items()} for row in rows]


def inputs_choice(run: RunDetails) -> str | None:
    """Model auto's choice of inputs (rank-Gaussian map on or off, and the cross-validated linear
    CCA figures behind it) from the run's notes; None when it made none."""
    return parse_inputs("; ".join(run.notes.values()))


def choice_line(chosen: str, rows: list[dict[str, Any]]) -> str:
    """One line for a terminal: the family chosen and each candidate's validation score (or why it
    did not run), from :func:`model_choice`'s rows."""
    name, score, note = (CHOICE_COLUMNS[k] for k in ("model", "val_corr_sum", "note"))
    parts = [f"{r[name]} {r[score]:.3f}" if r[score] is not None else f"{r[name]} ({r[note]})" for r in rows]
    return f"auto chose {chosen} (validation canonical correlation sum: {', '.join(parts)})"
