"""Plotly figure builders for the dashboard and the HTML report.

numpy / pandas in, ``plotly.graph_objects.Figure`` out. No streamlit, no torch: the pages call these
on arrays read from a finished run bundle. Large inputs stay smooth: scatter plots use WebGL
(``Scattergl``) with one trace per category, and heatmaps show an ordered subsample of rows.
"""

from __future__ import annotations

from mmcorr.viz._layout import MAX_CATEGORIES
from mmcorr.viz.charts import canonical_bars, leaderboard_bars, training_curves
from mmcorr.viz.heatmaps import CLICK_MAX_CELLS, cluster_order, feature_corr_heatmap, similarity_heatmap
from mmcorr.viz.scatter import umap_scatter

__all__ = [
    "similarity_heatmap",
    "feature_corr_heatmap",
    "canonical_bars",
    "umap_scatter",
    "training_curves",
    "leaderboard_bars",
    "cluster_order",
    "MAX_CATEGORIES",
    "CLICK_MAX_CELLS",
]
