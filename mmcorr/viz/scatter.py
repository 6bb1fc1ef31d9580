"""The WebGL scatter of a UMAP embedding of every modality's latents."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from mmcorr._validation import MmcorrError
from mmcorr.viz._layout import LAYOUT as _LAYOUT
from mmcorr.viz._layout import MAX_CATEGORIES, plotly_text, plotly_texts

__all__ = ["umap_scatter"]


def _link_trace(df: pd.DataFrame, max_links: int) -> go.Scattergl | None:
    """One line trace joining consecutive points of the same sample id (NaN gaps, no Python loop)."""
    d = df.sort_values(["id", "modality"], kind="stable")
    ids = d["id"].to_numpy()
    same = ids[1:] == ids[:-1]
    starts = np.flatnonzero(same)[:max_links]
    if starts.size == 0:
        return None
    x, y = d["x"].to_numpy(dtype=np.float64), d["y"].to_numpy(dtype=np.float64)
    xs = np.column_stack([x[starts], x[starts + 1], np.full(starts.size, np.nan)]).ravel()
    ys = np.column_stack([y[starts], y[starts + 1], np.full(starts.size, np.nan)]).ravel()
    return go.Scattergl(
        x=xs,
        y=ys,
        mode="lines",
        line={"width": 0.5, "color": "rgba(90,90,90,0.35)"},
        name="same sample",
        hoverinfo="skip",
    )


# customdata: the raw id and modality (read back by a lasso selection), then their escaped copies,
# which the hover shows (plotly would read HTML in the raw ones).
_HOVER = "id %{customdata[2]}<br>modality %{customdata[3]}<extra>%{fullData.name}</extra>"


def _customdata(df: pd.DataFrame) -> np.ndarray:
    raw = df[["id", "modality"]].astype(str)
    shown = np.column_stack([plotly_texts(raw["id"]), plotly_texts(raw["modality"])])
    return np.column_stack([raw.to_numpy(), shown])


def _continuous_trace(df: pd.DataFrame, color_by: str, marker_size: float) -> go.Scattergl:
    """One trace coloured by a numeric column on a continuous scale."""
    return go.Scattergl(
        x=df["x"].to_numpy(),
        y=df["y"].to_numpy(),
        mode="markers",
        marker={
            "size": marker_size,
            "color": df[color_by].to_numpy(),
            "colorscale": "Viridis",
            "showscale": True,
            "colorbar": {"title": plotly_text(color_by)},
        },
        customdata=_customdata(df),
        hovertemplate=_HOVER,
        name=plotly_text(color_by),
    )


def _category_traces(df: pd.DataFrame, color_by: str, marker_size: float) -> list[go.Scattergl]:
    """One trace per category (the MAX_CATEGORIES most common; the rest as "(other)")."""
    col = df[color_by]
    keys = col.astype(str).where(col.notna(), "(missing)")
    top = keys.value_counts().index[:MAX_CATEGORIES]
    keys = keys.where(keys.isin(top), "(other)")
    return [
        go.Scattergl(
            x=part["x"].to_numpy(),
            y=part["y"].to_numpy(),
            mode="markers",
            marker={"size": marker_size, "opacity": 0.8},
            customdata=_customdata(part),
            hovertemplate=_HOVER,
            name=plotly_text(key),
        )
        for key, part in df.groupby(keys.to_numpy(), sort=True)
    ]


def _highlight_trace(df: pd.DataFrame, ids: Sequence[str], marker_size: float) -> go.Scattergl | None:
    """Stars over the points of the samples ``ids`` (e.g. the one being inspected); clickable too."""
    part = df[df["id"].astype(str).isin([str(i) for i in ids])]
    if part.empty:
        return None
    return go.Scattergl(
        x=part["x"].to_numpy(),
        y=part["y"].to_numpy(),
        mode="markers",
        marker={
            "size": 3 * marker_size,
            "symbol": "star",
            "color": "#ffd400",
            "line": {"width": 1.5, "color": "#222"},
        },
        customdata=_customdata(part),
        hovertemplate=_HOVER,
        name="selected sample",
    )


def umap_scatter(
    df: pd.DataFrame,
    color_by: str = "modality",
    link: bool = False,
    *,
    max_links: int = 20000,
    marker_size: float = 4.0,
    title: str | None = None,
    highlight: Sequence[str] = (),
) -> go.Figure:
    """WebGL scatter of a UMAP embedding of all modalities' latents.

    df: one row per (sample, modality) point, columns id, modality, x, y and any metadata columns
        (as in ``umap.parquet``).
    color_by: column to colour by. Up to MAX_CATEGORIES distinct values give one trace each (a usable
        legend that toggles groups); a numeric column with more values gets a continuous scale.
    link: draw a faint line between a sample's points from different modalities, showing how well
        the modalities are aligned (short lines = well aligned).
    max_links: at most this many link segments (each costs three vertices).
    highlight: sample ids drawn as large stars on top (one per modality point), e.g. the sample a
        person is inspecting.
    """
    required = {"id", "modality", "x", "y"}
    missing = sorted(required - set(df.columns))
    if missing:
        raise MmcorrError(f"The UMAP table lacks column(s) {missing}. Got columns {list(df.columns)}.")
    if color_by not in df.columns:
        raise MmcorrError(
            f"The 'color_by' parameter must be a column of the UMAP table: {list(df.columns)}. "
            f"Got {color_by!r} instead."
        )
    fig = go.Figure()
    if link:
        trace = _link_trace(df, max_links)
        if trace is not None:
            fig.add_trace(trace)
    col = df[color_by]
    numeric = pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col)
    if numeric and col.nunique(dropna=True) > MAX_CATEGORIES:
        fig.add_trace(_continuous_trace(df, color_by, marker_size))
    else:
        fig.add_traces(_category_traces(df, color_by, marker_size))
    star = _highlight_trace(df, highlight, marker_size) if len(highlight) else None
    if star is not None:
        fig.add_trace(star)
    fig.update_layout(
        title=plotly_text(title or f"UMAP of the shared latent space, coloured by {color_by}"),
        xaxis={"title": "UMAP 1"},
        yaxis={"title": "UMAP 2"},
        legend={"itemsizing": "constant"},
        **_LAYOUT,
    )
    return fig
