"""Explore's sample inspector: one held-out sample as a person sees it, and what the model matches.

For runs with raw modalities (images, text, audio). A held-out sample is picked from a list, by
clicking its point in a UMAP (here or in the "Shared latent space" tab) or a row of the similarity
heatmap; the inspector shows its image, text and clip side by side and, for every direction
(image -> text, text -> image, ...), its top-5 neighbours in the other modality with their cosine
similarity, the true match marked ✓. Plotly cannot draw an image inside a hover label, so the
previews appear on click, not on hover.

Not a page itself. Session state holds the picked sample id only.
"""

from __future__ import annotations

import functools
import html
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from mmcorr.runs import (
    ID_COLUMN,
    MODALITY_COLUMN,
    NEIGHBOURS_K,
    SPLIT_COLUMN,
    BundleFile,
    Direction,
    HeldOutLatents,
    Neighbours,
    RunBundle,
    RunMetrics,
    RunPreviews,
    open_run,
    preview_mime,
)
from mmcorr.viz import CLICK_MAX_CELLS, umap_scatter
from pages._ui import load_latents, load_umap, plain

#: Session key of the sample being inspected (an id).
PICKED = "inspect_sample"
#: Session key of a sample id picked by a click on a chart, applied on the next run.
REQUEST = "inspect_request"
#: Session key of Explore's tabs (a click elsewhere switches to the inspector's tab).
TABS = "explore_tab"
#: The inspector's tab label.
TAB_LABEL = "Matches"
#: Under the Shared-latent-space UMAP of a run with previews.
UMAP_HINT = (
    f"Click a held-out point to inspect it in the {TAB_LABEL} tab; choose the lasso or box in the "
    "chart's toolbar to select points and export their sample ids."
)
_THUMB = 72  # neighbour thumbnail width (px)


@st.cache_data(show_spinner=False, max_entries=4)
def load_held_out(run_dir: str) -> HeldOutLatents:
    return open_run(run_dir).held_out()


@st.cache_data(show_spinner=False, max_entries=8)
def load_previews(run_dir: str) -> RunPreviews | None:
    return open_run(run_dir).previews()


@st.cache_data(show_spinner=False, max_entries=512)
def _preview(run_dir: str, modality: str, sample_id: str) -> bytes | str | None:
    shown = load_previews(run_dir)
    return None if shown is None or modality not in shown.media else shown.get(modality, sample_id)


def run_media(run: RunBundle) -> dict[str, str]:
    """Raw modality -> kind of the run ({} for tables only: Explore then shows no inspector)."""
    shown = load_previews(str(run.path))
    return {} if shown is None else dict(shown.media)


def _request(sample_id: Any) -> None:
    st.session_state[REQUEST] = str(sample_id)
    st.session_state[TABS] = TAB_LABEL


def pick_from_umap(chart_key: str) -> None:
    """on_select callback of a UMAP chart: one clicked point (not a lasso of many) is inspected."""
    points = st.session_state[chart_key]["selection"]["points"]
    if len(points) == 1 and points[0].get("customdata"):
        _request(points[0]["customdata"][0])


def umap_chart(fig: Any, key: str) -> Any:
    """The Shared-latent-space UMAP: a click inspects a sample, a lasso / box selects ids to export.
    Leave its dragmode unset: Streamlit selects on click only outside lasso / box drag modes."""
    return st.plotly_chart(
        fig,
        theme=None,
        key=key,
        on_select=functools.partial(pick_from_umap, key),
        selection_mode=("points", "lasso", "box"),
    )


def heatmap_chart(fig: Any, key: str, rows_name: str) -> None:
    """The similarity heatmap drawn ``clickable``: a click on a cell inspects its row's sample
    (drawn without clicks when it shows too many cells for its click layer, with a hint)."""
    what = f"its {plain(rows_name)} sample and its matches in the {TAB_LABEL} tab"
    if len(fig.data) < 2:
        st.plotly_chart(fig, theme=None, key=key)
        st.caption(f"Show at most {int(CLICK_MAX_CELLS**0.5)} samples to click a cell and see {what}.")
        return
    st.plotly_chart(
        fig, theme=None, key=key, on_select=functools.partial(pick_from_heatmap, key), selection_mode="points"
    )
    st.caption(f"Click a cell to see {what}.")


def pick_from_heatmap(chart_key: str) -> None:
    """on_select callback of the similarity heatmap: the clicked cell's row sample is inspected."""
    points = st.session_state[chart_key]["selection"]["points"]
    if len(points) == 1 and points[0].get("y") is not None:
        _request(html.unescape(str(points[0]["y"])))  # the row's id, escaped for plotly (viz)


def _labels(run_dir: str, label: str | None) -> pd.Series | None:
    """The run's label of every sample (e.g. the digit), indexed by id; None without labels."""
    frame = load_latents(run_dir)
    if not label or label not in frame.columns:
        return None
    return frame.set_index(ID_COLUMN)[label].rename(label)


def _fmt(sample_id: str, labels: pd.Series | None) -> str:
    """A sample as a person reads it: its id, and its label when the run has one ("d0002 · digit 6")."""
    if labels is None or sample_id not in labels.index:
        return sample_id
    return f"{sample_id} · {labels.name} {labels.loc[sample_id]}"


def _choose(options: np.ndarray, labels: pd.Series | None) -> str:
    wanted = st.session_state.pop(REQUEST, None)
    if wanted is not None:
        if np.isin([wanted], options)[0]:
            st.session_state[PICKED] = wanted
        else:
            st.info(
                f"Sample {plain(wanted)} is not a held-out sample with previews; the inspector shows "
                "held-out samples only (colour the UMAP by split to see them).",
                icon=":material/info:",
            )
    if not np.isin([str(st.session_state.get(PICKED))], options)[0]:
        st.session_state[PICKED] = str(options[0])

    return str(st.selectbox("Held-out sample", options, key=PICKED, format_func=lambda s: _fmt(s, labels)))


def _show(kind: str | None, data: bytes | str | None, *, width: int | None = None) -> None:
    if kind is None:
        st.caption("A table modality: no preview.")
    elif data is None:
        st.caption("No preview stored.")
    elif kind == "text":
        st.markdown(plain(data))
    elif kind == "image":
        st.image(data, width=width or 160)
    elif isinstance(data, bytes):
        st.audio(data, format=preview_mime(kind, data))


def _query(run_dir: str, sample_id: str, names: list[str], media: Mapping[str, str]) -> None:
    cols = st.columns(len(names))
    for col, name in zip(cols, names, strict=True):
        with col:
            st.markdown(f"**{plain(name)}**")
            _show(media.get(name), _preview(run_dir, name, sample_id) if name in media else None)


def _direction(
    run_dir: str, direction: Direction, nb: Neighbours, media: Mapping[str, str], n: int, labels: Any
) -> None:
    rank = int(nb.match_rank[0])
    where = f"true match at rank {rank} of {n}" if rank else "the sample lacks one of the two modalities"
    st.markdown(f"**{plain(direction.source)} → {plain(direction.target)}** · {plain(where)}")
    kind = media.get(direction.target)
    for j, col in enumerate(st.columns(nb.k)):
        sid = str(nb.ids[0, j])
        if not sid:
            continue
        with col.container(border=True):
            st.caption(f"#{j + 1} · similarity {nb.scores[0, j]:.3f}")
            if nb.correct[0, j]:
                st.markdown(":green-badge[✓ true match]")
            _show(kind, _preview(run_dir, direction.target, sid) if kind else None, width=_THUMB)
            st.caption(plain(_fmt(sid, labels)))


def _held_out_umap(run: RunBundle, split: str, picked: str, label: str | None) -> None:
    if not run.has(BundleFile.UMAP):
        st.caption("This run has no UMAP embedding: pick a sample from the list.")
        return
    frame = load_umap(str(run.path))
    if SPLIT_COLUMN in frame.columns:
        frame = frame[frame[SPLIT_COLUMN].astype(str) == split]
    colour = label if label and label in frame.columns else MODALITY_COLUMN
    st.markdown(f"**Held-out samples** by {plain(colour)}; ★ the one inspected")
    fig = umap_scatter(frame, color_by=colour, marker_size=6, highlight=[picked])
    fig.update_layout(
        title=None, height=440, legend={"orientation": "h", "y": -0.15}, margin={"t": 10, "b": 10}
    )
    st.plotly_chart(
        fig,
        theme=None,
        key="inspect_umap",
        on_select=functools.partial(pick_from_umap, "inspect_umap"),
        selection_mode="points",
    )
    st.caption("Click a point to inspect that sample (previews show on click; plotly hovers hold text only).")


def inspector(run: RunBundle, metrics: RunMetrics) -> None:
    """The Matches tab: pick a held-out sample, see it, and see its top-5 matches per direction."""
    run_dir = str(run.path)
    shown = load_previews(run_dir)
    if shown is None:
        return
    held = load_held_out(run_dir)
    media = dict(shown.media)
    options = shown.ids[np.isin(shown.ids, held.ids)]
    if not options.size:
        st.info("No held-out sample of this run has a preview.")
        return
    label = metrics.run.label_column
    labels = _labels(run_dir, label)
    left, right = st.columns([2, 3])
    with right:
        picked = _choose(options, labels)
        _query(run_dir, picked, held.names, media)
    with left:
        _held_out_umap(run, held.split, picked, label)
    st.markdown(f"#### Top {NEIGHBOURS_K} matches in the other modalities")
    st.caption(
        f"Cosine similarity in the shared space among the {held.ids.size:,} held-out ({held.split}) "
        "samples, the measure behind the run's Recall@k."
    )
    for direction in held.directions:
        nb = held.neighbours(direction, [picked])
        _direction(run_dir, direction, nb, media, int(held.present(direction.target).sum()), labels)
