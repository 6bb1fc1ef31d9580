"""Plotly figure builders for the dashboard and the HTML report.

numpy / pandas in, ``plotly.graph_objects.Figure`` out. No streamlit, no torch: the pages call these
on arrays read from a finished run bundle. Large inputs stay smooth: scatter plots use WebGL
(``Scattergl``) with one trace per category, and heatmaps show an ordered subsample of rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from mmcorr._validation import MmcorrError

__all__ = [
    "similarity_heatmap",
    "feature_corr_heatmap",
    "canonical_bars",
    "umap_scatter",
    "training_curves",
    "leaderboard_bars",
    "cluster_order",
    "MAX_CATEGORIES",
]

#: A colour column with more distinct values than this is drawn as a continuous colour scale.
MAX_CATEGORIES = 40
_LAYOUT: dict[str, Any] = {"template": "plotly_white", "margin": {"l": 60, "r": 20, "t": 50, "b": 50}}


def _even_rows(n: int, max_rows: int) -> np.ndarray:
    """Up to ``max_rows`` evenly spaced indices of range(n), in order (keeps a diagonal visible)."""
    if n <= max_rows:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, max_rows).round().astype(np.int64))


def similarity_heatmap(
    sim: np.ndarray,
    ids_a: Sequence[Any] | np.ndarray | None = None,
    ids_b: Sequence[Any] | np.ndarray | None = None,
    *,
    max_rows: int = 400,
    name_a: str = "A",
    name_b: str = "B",
    title: str | None = None,
) -> go.Figure:
    """Heatmap of a cross-modal sample-by-sample cosine similarity matrix.

    sim: (na, nb) similarities in [-1, 1]; row i of modality A, column j of modality B. When the rows
        and columns are the same samples in the same order the true pairs lie on the diagonal.
    ids_a, ids_b: sample ids for the hover text (default: positions).
    max_rows: at most this many rows and columns are drawn (an evenly spaced, ordered subsample), so a
        5000 x 5000 matrix stays light in a browser; 100-1000 is sensible.
    """
    sim = np.asarray(sim, dtype=np.float32)
    if sim.ndim != 2 or sim.size == 0:
        raise MmcorrError(f"The similarity matrix must be a non-empty 2-D array. Got shape {sim.shape}.")
    rows, cols = _even_rows(sim.shape[0], max_rows), _even_rows(sim.shape[1], max_rows)
    la = np.arange(sim.shape[0]) if ids_a is None else np.asarray(ids_a)
    lb = np.arange(sim.shape[1]) if ids_b is None else np.asarray(ids_b)
    shown = sim[np.ix_(rows, cols)]
    fig = go.Figure(
        go.Heatmap(
            z=shown,
            x=[str(v) for v in lb[cols]],
            y=[str(v) for v in la[rows]],
            colorscale="RdBu_r",
            zmin=-1.0,
            zmax=1.0,
            colorbar={"title": "cosine"},
            hovertemplate=f"{name_a} %{{y}}<br>{name_b} %{{x}}<br>similarity %{{z:.3f}}<extra></extra>",
        )
    )
    subsampled = " (subsampled)" if len(rows) < sim.shape[0] or len(cols) < sim.shape[1] else ""
    fig.update_layout(
        title=title or f"Cross-modal similarity {name_a} x {name_b}{subsampled}",
        xaxis={"title": f"{name_b} samples", "showticklabels": len(cols) <= 60},
        yaxis={"title": f"{name_a} samples", "showticklabels": len(rows) <= 60, "autorange": "reversed"},
        **_LAYOUT,
    )
    return fig


def cluster_order(matrix: np.ndarray) -> np.ndarray:
    """Row order of ``matrix`` (n, d) from average-linkage hierarchical clustering (scipy leaf order).

    Rows that vary together sit next to each other, so blocks of related features show as blocks.
    NaNs count as 0; fewer than 3 rows keep their order.
    """
    from scipy.cluster.hierarchy import leaves_list, linkage

    m = np.nan_to_num(np.asarray(matrix, dtype=np.float64))
    if m.shape[0] < 3:
        return np.arange(m.shape[0])
    return np.asarray(leaves_list(linkage(m, method="average", metric="euclidean")), dtype=np.int64)


def _pivot_feature_frame(
    frame: pd.DataFrame, value: str
) -> tuple[np.ndarray, list[str], list[str], np.ndarray | None]:
    required = {"feature_a", "feature_b", value}
    missing = sorted(required - set(frame.columns))
    if missing:
        raise MmcorrError(
            f"The feature-correlation table lacks column(s) {missing}; it needs feature_a, feature_b "
            f"and {value!r}. Got columns {list(frame.columns)}."
        )
    wide = frame.pivot_table(
        index="feature_a", columns="feature_b", values=value, aggfunc="first", sort=False
    )
    sig = None
    if "significant" in frame.columns:
        sig_wide = frame.pivot_table(
            index="feature_a", columns="feature_b", values="significant", aggfunc="first", sort=False
        ).reindex(index=wide.index, columns=wide.columns)
        sig = sig_wide.fillna(0).to_numpy(dtype=bool)
    return wide.to_numpy(dtype=np.float64), [str(f) for f in wide.index], [str(f) for f in wide.columns], sig


def feature_corr_heatmap(
    data: pd.DataFrame | np.ndarray,
    *,
    features_a: Sequence[str] | None = None,
    features_b: Sequence[str] | None = None,
    value: str = "latent_corr",
    significant: np.ndarray | None = None,
    mask_nonsignificant: bool = False,
    cluster: bool = True,
    name_a: str = "A",
    name_b: str = "B",
    title: str | None = None,
) -> go.Figure:
    """Clustered heatmap of feature-by-feature cross-modal correlations on a fixed [-1, 1] scale.

    data: either a (da, db) matrix (with ``features_a`` / ``features_b``), or the long table of
        :func:`mmcorr.analysis.feature_correlation_map` ``.to_frame()`` (columns feature_a,
        feature_b, ``value`` and optionally significant).
    value: which column of the long table to draw (``latent_corr`` or ``pearson``).
    significant: (da, db) bool mask for a matrix input (the table brings its own column).
    mask_nonsignificant: blank out pairs that are not significant after FDR correction.
    cluster: order rows and columns by hierarchical clustering so related features form blocks.
    """
    if isinstance(data, pd.DataFrame):
        z, fa, fb, sig = _pivot_feature_frame(data, value)
    else:
        z = np.asarray(data, dtype=np.float64)
        if z.ndim != 2 or z.size == 0:
            raise MmcorrError(f"The feature-correlation matrix must be non-empty 2-D. Got shape {z.shape}.")
        fa = [str(f) for f in (features_a if features_a is not None else range(z.shape[0]))]
        fb = [str(f) for f in (features_b if features_b is not None else range(z.shape[1]))]
        sig = None if significant is None else np.asarray(significant, dtype=bool)
    if len(fa) != z.shape[0] or len(fb) != z.shape[1]:
        raise MmcorrError(
            f"Feature names do not match the matrix: {len(fa)} x {len(fb)} names for shape {z.shape}."
        )
    if sig is not None and sig.shape != z.shape:
        raise MmcorrError(f"The significance mask has shape {sig.shape}; the matrix has {z.shape}.")
    if cluster:
        ro, co = cluster_order(z), cluster_order(z.T)
        z = z[np.ix_(ro, co)]
        fa, fb = [fa[i] for i in ro], [fb[i] for i in co]
        sig = None if sig is None else sig[np.ix_(ro, co)]
    if mask_nonsignificant and sig is not None:
        z = np.where(sig, z, np.nan)
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=fb,
            y=fa,
            colorscale="RdBu_r",
            zmin=-1.0,
            zmax=1.0,
            colorbar={"title": value},
            hovertemplate=f"{name_a} %{{y}}<br>{name_b} %{{x}}<br>{value} %{{z:.3f}}<extra></extra>",
        )
    )
    fig.update_layout(
        title=title or f"Feature correlations {name_a} x {name_b} ({value})",
        xaxis={"title": f"{name_b} features", "showticklabels": len(fb) <= 80},
        yaxis={"title": f"{name_a} features", "showticklabels": len(fa) <= 80},
        **_LAYOUT,
    )
    return fig


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
        title=title,
        yaxis={"title": "correlation", "range": [min(0.0, corr.min(initial=0)) - 0.05, 1.05]},
        **_LAYOUT,
    )
    return fig


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


def umap_scatter(
    df: pd.DataFrame,
    color_by: str = "modality",
    link: bool = False,
    *,
    max_links: int = 20000,
    marker_size: float = 4.0,
    title: str | None = None,
) -> go.Figure:
    """WebGL scatter of a UMAP embedding of all modalities' latents.

    df: one row per (sample, modality) point, columns id, modality, x, y and any metadata columns
        (as in ``umap.parquet``).
    color_by: column to colour by. Up to MAX_CATEGORIES distinct values give one trace each (a usable
        legend that toggles groups); a numeric column with more values gets a continuous scale.
    link: draw a faint line between a sample's points from different modalities, showing how well
        the modalities are aligned (short lines = well aligned).
    max_links: at most this many link segments (each costs three vertices).
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
    hover = "id %{customdata[0]}<br>modality %{customdata[1]}<extra>%{fullData.name}</extra>"
    numeric = pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col)
    if numeric and col.nunique(dropna=True) > MAX_CATEGORIES:
        fig.add_trace(
            go.Scattergl(
                x=df["x"].to_numpy(),
                y=df["y"].to_numpy(),
                mode="markers",
                marker={
                    "size": marker_size,
                    "color": col.to_numpy(),
                    "colorscale": "Viridis",
                    "showscale": True,
                    "colorbar": {"title": color_by},
                },
                customdata=df[["id", "modality"]].astype(str).to_numpy(),
                hovertemplate=hover,
                name=color_by,
            )
        )
    else:
        keys = col.astype(str).where(col.notna(), "(missing)")
        top = keys.value_counts().index[:MAX_CATEGORIES]
        keys = keys.where(keys.isin(top), "(other)")
        for key, part in df.groupby(keys.to_numpy(), sort=True):
            fig.add_trace(
                go.Scattergl(
                    x=part["x"].to_numpy(),
                    y=part["y"].to_numpy(),
                    mode="markers",
                    marker={"size": marker_size, "opacity": 0.8},
                    customdata=part[["id", "modality"]].astype(str).to_numpy(),
                    hovertemplate=hover,
                    name=str(key),
                )
            )
    fig.update_layout(
        title=title or f"UMAP of the shared latent space, coloured by {color_by}",
        xaxis={"title": "UMAP 1"},
        yaxis={"title": "UMAP 2"},
        legend={"itemsizing": "constant"},
        **_LAYOUT,
    )
    return fig


def training_curves(history: pd.DataFrame, *, title: str = "Training curves") -> go.Figure:
    """Loss parts per epoch (train solid, validation dashed) and validation correlation (right axis).

    history: one row per epoch with an ``epoch`` column, ``train_<part>`` / ``val_<part>`` loss
        columns and optionally ``val_corr`` (as returned by :func:`mmcorr.runs.bundle.read_history`).
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
        title=title,
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
            y=d[label].astype(str).to_numpy(),
            orientation="h",
            marker_color="#2a6fdb",
            hovertemplate="%{y}<br>" + metric + " %{x:.4f}<extra></extra>",
        )
    )
    fig.update_layout(title=f"Leaderboard: {metric}", xaxis={"title": metric}, **_LAYOUT)
    return fig
