"""Heatmaps: the cross-modal sample similarity and the clustered feature-by-feature map."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from mmcorr._validation import MmcorrError
from mmcorr.viz._layout import LAYOUT as _LAYOUT
from mmcorr.viz._layout import even_rows as _even_rows
from mmcorr.viz._layout import plotly_text, plotly_texts

__all__ = ["similarity_heatmap", "cluster_order", "feature_corr_heatmap", "CLICK_MAX_CELLS"]

#: A clickable similarity heatmap draws its click layer up to this many cells (150 x 150): each cell
#: sends its two labels to the browser.
CLICK_MAX_CELLS = 22_500


def similarity_heatmap(
    sim: np.ndarray,
    ids_a: Sequence[Any] | np.ndarray | None = None,
    ids_b: Sequence[Any] | np.ndarray | None = None,
    *,
    max_rows: int = 400,
    name_a: str = "A",
    name_b: str = "B",
    title: str | None = None,
    clickable: bool = False,
) -> go.Figure:
    """Heatmap of a cross-modal sample-by-sample cosine similarity matrix.

    sim: (na, nb) similarities in [-1, 1]; row i of modality A, column j of modality B. When the rows
        and columns are the same samples in the same order the true pairs lie on the diagonal.
    ids_a, ids_b: sample ids for the hover text (default: positions).
    max_rows: at most this many rows and columns are drawn (an evenly spaced, ordered subsample), so a
        5000 x 5000 matrix stays light in a browser; 100-1000 is sensible.
    clickable: add an invisible marker on every drawn cell when there are at most
        :data:`CLICK_MAX_CELLS` (plotly cannot select heatmap cells), so that a click selects one
        point whose ``y`` is the row's id (escaped as the tick labels are).
    """
    sim = np.asarray(sim, dtype=np.float32)
    if sim.ndim != 2 or sim.size == 0:
        raise MmcorrError(f"The similarity matrix must be a non-empty 2-D array. Got shape {sim.shape}.")
    rows, cols = _even_rows(sim.shape[0], max_rows), _even_rows(sim.shape[1], max_rows)
    la = np.arange(sim.shape[0]) if ids_a is None else np.asarray(ids_a)
    lb = np.arange(sim.shape[1]) if ids_b is None else np.asarray(ids_b)
    shown = sim[np.ix_(rows, cols)]
    name_a, name_b = plotly_text(name_a), plotly_text(name_b)
    x, y = plotly_texts(lb[cols]), plotly_texts(la[rows])
    hover = f"{name_a} %{{y}}<br>{name_b} %{{x}}<br>similarity %{{z:.3f}}<extra></extra>"
    click = clickable and shown.size <= CLICK_MAX_CELLS
    fig = go.Figure(
        go.Heatmap(
            z=shown,
            x=x,
            y=y,
            colorscale="RdBu_r",
            zmin=-1.0,
            zmax=1.0,
            colorbar={"title": "cosine"},
            hovertemplate=hover,
            hoverinfo="skip" if click else None,  # the click layer shows the same label
        )
    )
    if click:
        fig.add_trace(_click_layer(shown, x, y, hover))
    subsampled = " (subsampled)" if len(rows) < sim.shape[0] or len(cols) < sim.shape[1] else ""
    fig.update_layout(
        title=plotly_text(title) if title else f"Cross-modal similarity {name_a} x {name_b}{subsampled}",
        xaxis={"title": f"{name_b} samples", "showticklabels": len(cols) <= 60},
        yaxis={"title": f"{name_a} samples", "showticklabels": len(rows) <= 60, "autorange": "reversed"},
        **_LAYOUT,
    )
    if click:  # the markers would pad the autorange: keep the axes on the cells, row 0 on top
        fig.update_xaxes(range=[-0.5, len(cols) - 0.5], autorange=False)
        fig.update_yaxes(range=[len(rows) - 0.5, -0.5], autorange=False)
    return fig


def _click_layer(shown: np.ndarray, x: list[str], y: list[str], hover: str) -> go.Scattergl:
    """A transparent marker on every drawn cell, carrying the heatmap's hover: plotly cannot select a
    heatmap cell (its click selects nothing), but it selects a marker, and reports its ``y`` label."""
    return go.Scattergl(
        x=np.tile(np.asarray(x, dtype=object), len(y)),
        y=np.repeat(np.asarray(y, dtype=object), len(x)),
        customdata=shown.ravel(),
        mode="markers",
        marker={"size": 8, "opacity": 0},
        hovertemplate=hover.replace("%{z", "%{customdata"),
        showlegend=False,
        name="cells",
    )


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
    name_a, name_b, value = plotly_text(name_a), plotly_text(name_b), plotly_text(value)
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=plotly_texts(fb),
            y=plotly_texts(fa),
            colorscale="RdBu_r",
            zmin=-1.0,
            zmax=1.0,
            colorbar={"title": value},
            hovertemplate=f"{name_a} %{{y}}<br>{name_b} %{{x}}<br>{value} %{{z:.3f}}<extra></extra>",
        )
    )
    fig.update_layout(
        title=plotly_text(title) if title else f"Feature correlations {name_a} x {name_b} ({value})",
        xaxis={"title": f"{name_b} features", "showticklabels": len(fb) <= 80},
        yaxis={"title": f"{name_a} features", "showticklabels": len(fa) <= 80},
        **_LAYOUT,
    )
    return fig
