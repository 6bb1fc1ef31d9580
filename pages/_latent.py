"""Explore's latent-space tab: the UMAP of a run's shared space (a helper of pages/explore.py)."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from mmcorr.data import csv_text
from mmcorr.runs import ID_COLUMN, MODALITY_COLUMN, UMAP_NOTE, BundleFile, RunBundle, UmapColumn
from mmcorr.viz import umap_scatter
from pages._inspector import UMAP_HINT, umap_chart
from pages._ui import load_feature_names, load_feature_values, load_metrics, load_umap, registry_root

__all__ = ["latent_space"]


def _colour_by_feature(
    frame: pd.DataFrame, dataset_id: str, modalities: list[str], c: Any
) -> tuple[pd.DataFrame, str]:
    modality = c[1].selectbox("Feature of", modalities, key="umap_feature_modality")
    root = registry_root()
    names = load_feature_names(dataset_id, modality, root) if modality else []
    feature = c[2].selectbox(
        "Feature", names, key="umap_feature", help="Colour every point by this feature's value."
    )
    if not feature:
        c[2].caption("The run's dataset is no longer registered.")
        return frame, MODALITY_COLUMN
    values = load_feature_values(dataset_id, modality, feature, root)
    color_by = f"{modality}:{feature}"
    return frame.assign(**{color_by: frame[ID_COLUMN].map(values)}), color_by


def latent_space(run: RunBundle, dataset_id: str, clickable: bool) -> None:
    """Explore's "Latent space" tab: the run's UMAP, coloured by a column or a raw feature, with a
    lasso export of sample ids (or, on a run with previews, a click that inspects a sample)."""
    if not run.has(BundleFile.UMAP):
        notes = load_metrics(str(run.path)).run.notes
        st.info(notes.get(UMAP_NOTE, "This run has no UMAP embedding."))
        return
    frame = load_umap(str(run.path))
    columns = [c for c in frame.columns if c not in (UmapColumn.X, UmapColumn.Y, ID_COLUMN)]
    modalities = [str(m) for m in frame[MODALITY_COLUMN].unique()] if MODALITY_COLUMN in frame.columns else []
    c = st.columns([1, 2, 2, 1, 1])
    source = c[0].radio(
        "Colour from",
        ["column", "feature"],
        key="umap_colour_source",
        help="A column of the run, or a raw feature.",
    )
    color_by = MODALITY_COLUMN
    if source == "column":
        color_by = c[1].selectbox(
            "Colour by", columns, key="umap_colour", help="Modality, split, labels or any metadata column."
        )
    else:
        frame, color_by = _colour_by_feature(frame, dataset_id, modalities, c)
    link = c[3].toggle("Link points", key="umap_link", help="Join each sample's points across modalities.")
    c[4].metric("Points", f"{len(frame):,}")
    fig = umap_scatter(frame, color_by=color_by, link=link)
    fig.update_layout(height=650)
    if clickable:  # a run with previews: a click on one point inspects that sample
        event = umap_chart(fig, "umap")
    else:
        fig.update_layout(dragmode="lasso")
        event = st.plotly_chart(
            fig, theme=None, key="umap", on_select="rerun", selection_mode=("lasso", "box")
        )
    points = event.selection.points if event is not None and hasattr(event, "selection") else []
    ids = sorted({str(p["customdata"][0]) for p in points if p.get("customdata")})
    if ids:
        st.download_button(
            f"Export {len(ids)} selected sample ids (CSV)",
            csv_text(pd.DataFrame({ID_COLUMN: ids})),
            file_name="selected_ids.csv",
            mime="text/csv",
            icon=":material/download:",
        )
    else:
        st.caption(
            UMAP_HINT if clickable else "Draw a lasso or box around points to export their sample ids."
        )
