"""Issue 16 on the pages: Explore and Compare show one value per label, and Explore says when a
run memorised its training pairs or predicts worse than the training mean."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd
from dashboard_helpers import no_exceptions, page, write_run

from mmcorr.runs import (
    CanonicalCorrelations,
    Direction,
    Pair,
    SummaryMetric,
    read_metrics,
    write_metrics,
)
from mmcorr.runs.metrics import MetricResults

EXPLORE = "pages/explore.py"
COMPARE = "pages/compare.py"


def _honest_run(home: Path, run_id: str, *, train_total: float, held_out: float) -> None:
    """A fixture run whose metrics go through the real summary code (MetricResults.held_out)."""
    run = write_run(home, run_id, k=3)
    old = read_metrics(run)
    k = 3
    corr = tuple(held_out / k for _ in range(k))
    cc = CanonicalCorrelations(
        correlations=corr,
        total=held_out,
        p_values=(0.01,) * k,
        n_test=40,
        permutations=100,
        train_correlations=(train_total / k,) * k,
        val_correlations=corr,
        fit_on="validation",
        ordered_by="validation",
    )
    ab, ba = Direction("a", "b"), Direction("b", "a")
    results = MetricResults(canonical={Pair("a", "b"): cc}, retrieval=dict(old.results.retrieval)).held_out(
        {ab: 0.31, ba: -68.7}, 12.5, baseline_r2={ab: -0.004, ba: -0.01}
    )
    write_metrics(run, replace(old, results=results))


def _explore_summary(app: Any) -> dict[str, float]:
    for frame in app.dataframe:
        table = frame.value
        if isinstance(table, pd.DataFrame) and list(table.columns) == ["metric", "value"]:
            return dict(zip(table["metric"], table["value"], strict=True))
    raise AssertionError("Explore shows no run summary table")


def test_explore_and_compare_show_the_same_value_for_the_same_label(app: Any, mmcorr_home: Path) -> None:
    _honest_run(mmcorr_home, "run-a", train_total=2.95, held_out=1.5)
    page(app, EXPLORE)
    no_exceptions(app)
    explore = _explore_summary(app)
    page(app, COMPARE)
    no_exceptions(app)
    row = app.dataframe[0].value.iloc[0]
    metric_labels = {m.label for m in SummaryMetric}
    compare = {c: row[c] for c in row.index if c in metric_labels}
    assert set(explore) == set(compare)  # the same labels on both pages
    for label, value in explore.items():
        assert compare[label] == value, label
    # averaged numbers say so; the R² headline is the best direction, never a mean with -68.7
    assert (
        explore[SummaryMetric.RECALL_1.label] == 0.5 and "mean of directions" in SummaryMetric.RECALL_1.label
    )
    assert explore["Prediction R² (best direction)"] == 0.31
    assert SummaryMetric.PREDICTION_R2.label not in explore


def test_explore_flags_memorisation_and_a_prediction_below_its_baseline(app: Any, mmcorr_home: Path) -> None:
    _honest_run(mmcorr_home, "run-a", train_total=2.95, held_out=0.69)
    page(app, EXPLORE)
    no_exceptions(app)
    warnings = [w.value for w in app.warning]
    assert any(
        w.startswith("training 2.95 / held-out 0.69: the model fits its training pairs far better")
        for w in warnings
    )
    assert any("R² -68.700 is below the -0.010 of predicting the training mean" in w for w in warnings)
    assert any("training 2.95 / validation 0.69 / held-out 0.69" in c.value for c in app.caption)


def test_explore_does_not_flag_a_run_that_generalises(app: Any, mmcorr_home: Path) -> None:
    _honest_run(mmcorr_home, "run-a", train_total=1.6, held_out=1.5)
    page(app, EXPLORE)
    no_exceptions(app)
    assert not any("memorisation" in w.value for w in app.warning)
    assert any("Memorisation check:" in c.value for c in app.caption)
