"""Bar and line charts: canonical correlations against the null, training curves, leaderboards."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from mmcorr._validation import MmcorrError
from mmcorr.viz._layout import LAYOUT as _LAYOUT
from mmcorr.viz._layout import plotly_text, plotly_texts

__all__ = ["canonical_bars", "training_curves", "leaderboard_bars"]


def canonical_bars(
    correlations: Sequence[float] | np.ndarray,
    null: np.ndarray | None = None,
    *,
    null_band: tuple[Sequence[float], Sequence[float]] | None = None,
    ceiling: Sequence[float] | np.ndarray | None = None,
    title: str = "Held-out canonical correlations",
) -> go.Figure:
    """Bars of per-component canonical correlations with the permutation null's 95% band.

    correlations: (k,) held-out canonical correlations, descending.
    null: (rounds, k) correlations under shuffled pairing; its 2.5-97.5 percentiles form the band.
    null_band: (low (k,), high (k,)) given directly instead of ``null`` (as stored in metrics.json).
    ceiling: (k,) the closed-form ceiling of a synthetic dataset, drawn as markers.
    """
    corr = np.asarray(correlations, dtype=np.float64).ravel()
    comps = [f"CC{i + 1}" for i in range(corr.size)]
    fig = go.Figure(go.Bar(x=comps, y=corr, name="held-out", marker_color="#2a6fdb"))
    band = None
    if null is not None:
        nul = np.asarray(null, dtype=np.float64)
        if nul.ndim == 2 and nul.shape[0] > 0 and nul.shape[1] == corr.size:
            band = (np.percentile(nul, 2.5, axis=0), np.percentile(nul, 97.5, axis=0))
    elif null_band is not None:
        band = (np.asarray(null_band[0], dtype=np.float64), np.asarray(null_band[1], dtype=np.float64))
    if band is not None:
        fig.add_trace(go.Scatter(x=comps, y=band[0], mode="lines", line={"width": 0}, showlegend=False))
        fig.add_trace(
            go.Scatter(
                x=comps,
                y=band[1],
                mode="lines",
                line={"width": 0},
                fill="tonexty",
                fillcolor="rgba(120,120,120,0.35)",
                name="null 95% band",
            )
        )
    if ceiling is not None:
        ceil = np.asarray(ceiling, dtype=np.float64).ravel()[: corr.size]
        fig.add_trace(
            go.Scatter(
                x=comps[: ceil.size],
                y=ceil,
                mode="markers",
                marker={"symbol": "line-ew-open", "size": 24, "color": "#d62728"},
                name="ceiling",
            )
        )
    fig.update_layout(
        title=plotly_text(title),
        yaxis={"title": "correlation", "range": [min(0.0, corr.min(initial=0)) - 0.05, 1.05]},
        **_LAYOUT,
    )
    return fig


def training_curves(history: pd.DataFrame, *, title: str = "Training curves") -> go.Figure:
    """Loss parts per epoch (train solid, validation dashed) and validation correlation (right axis).

    history: one row per epoch with an ``epoch`` column, ``train_<part>`` / ``val_<part>`` loss
        columns and optionally ``val_corr`` (``mmcorr.runs.TrainingHistory.to_frame()``).
    """
    if "epoch" not in history.columns:
        raise MmcorrError(f"The history table needs an 'epoch' column. Got columns {list(history.columns)}.")
    fig = go.Figure()
    epoch = history["epoch"].to_numpy()
    mode = "lines+markers" if len(history) <= 30 else "lines"
    for colname in history.columns:
        if colname == "val_corr" or not colname.startswith(("train_", "val_")):
            continue
        dash = "dash" if colname.startswith("val_") else "solid"
        fig.add_trace(
            go.Scatter(
                x=epoch,
                y=history[colname].to_numpy(dtype=np.float64),
                mode=mode,
                name=colname,
                line={"dash": dash},
            )
        )
    if "val_corr" in history.columns:
        fig.add_trace(
            go.Scatter(
                x=epoch,
                y=history["val_corr"].to_numpy(dtype=np.float64),
                mode=mode,
                name="val_corr",
                yaxis="y2",
                line={"color": "#111111", "width": 3},
            )
        )
    fig.update_layout(
        title=plotly_text(title),
        xaxis={"title": "epoch"},
        yaxis={"title": "loss"},
        yaxis2={"title": "validation correlation", "overlaying": "y", "side": "right", "range": [0, 1]},
        **_LAYOUT,
    )
    return fig


def leaderboard_bars(
    df: pd.DataFrame, metric: str, *, label: str = "name", higher_is_better: bool = True
) -> go.Figure:
    """Horizontal bars comparing runs on one metric, best on top.

    df: one row per run with a ``label`` column and the ``metric`` column (NaN rows are dropped).
    """
    for col in (label, metric):
        if col not in df.columns:
            raise MmcorrError(f"The leaderboard table has no column {col!r}. Got columns {list(df.columns)}.")
    d = df[[label, metric]].dropna().sort_values(metric, ascending=higher_is_better)
    fig = go.Figure(
        go.Bar(
            x=d[metric].to_numpy(dtype=np.float64),
            y=plotly_texts(d[label]),
            orientation="h",
            marker_color="#2a6fdb",
            hovertemplate="%{y}<br>" + plotly_text(metric) + " %{x:.4f}<extra></extra>",
        )
    )
    shown = plotly_text(metric)
    fig.update_layout(title=f"Leaderboard: {shown}", xaxis={"title": shown}, **_LAYOUT)
    return fig
