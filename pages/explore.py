"""Explore: one finished run's held-out results.

Everything here is precomputed by the worker (similarities, feature maps, UMAP); the page only reads
the run bundle through cached loaders keyed by the run folder and draws it, so a 10,000-sample run
renders in well under two seconds.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from mmcorr.data import csv_text
from mmcorr.runs import (
    BundleFile,
    Direction,
    FeatureMapColumn,
    RunBundle,
    RunInfo,
    RunMetrics,
    find_run,
    fit_gap,
    list_runs,
    prediction_notes,
)
from mmcorr.viz import (
    CLICK_MAX_CELLS,
    canonical_bars,
    feature_corr_heatmap,
    similarity_heatmap,
    training_curves,
)
from pages._inspector import TAB_LABEL, TABS, heatmap_chart, inspector, run_media
from pages._latent import latent_space
from pages._ui import (
    LEGEND_BELOW,
    Key,
    PagePath,
    Param,
    auto_choice,
    ensure_routed,
    load_feature_map,
    load_file_bytes,
    load_history,
    load_latents,
    load_metrics,
    load_similarity,
    plain,
    safe_id,
    user_errors,
    zip_run,
)

ensure_routed()


def _fmt(value: Any, digits: int = 3) -> str:
    return (
        "-"
        if value is None or (isinstance(value, float) and not np.isfinite(value))
        else f"{value:.{digits}f}"
    )


def _pick_run() -> RunInfo | None:
    runs = list_runs()
    if not runs:
        st.info("No finished runs yet. Train a model first.", icon=":material/info:")
        st.page_link(PagePath.TRAIN.value, label="Go to Train", icon=":material/model_training:")
        return None
    ids = [r.run_id for r in runs]
    wanted = safe_id(st.query_params.get(Param.RUN.value)) or st.session_state.get(Key.RUN.value)
    index = ids.index(wanted) if wanted in ids else 0
    by_id = {r.run_id: r for r in runs}
    run_id = st.selectbox(
        "Run",
        ids,
        index=index,
        format_func=lambda i: f"{by_id[i].name} · {by_id[i].model} · {by_id[i].created[:19]}",
    )
    st.session_state[Key.RUN.value] = run_id
    st.query_params[Param.RUN.value] = run_id
    return by_id[run_id]


def _headline(metrics: RunMetrics) -> None:
    res = metrics.results
    pairs = metrics.pairs
    if not pairs:
        st.warning("This run has no held-out canonical correlations.", icon=":material/warning:")
        return
    pair = pairs[0]
    if len(pairs) > 1:
        pair = st.selectbox("Modality pair", pairs, format_func=lambda p: p.label, key="headline_pair")
    a, b = pair
    cc = res.canonical[pair]
    direction = Direction(a, b)
    ret = res.retrieval.get(direction)
    held = "test" if metrics.run.held_out_note is None else "validation"
    st.caption(
        f"Held-out numbers for {plain(pair.label)}, measured on {cc.n_test:,} {held} samples. "
        f"The null shuffles the {held} pairing."
    )
    if metrics.run.held_out_note:
        st.warning(metrics.run.held_out_note, icon=":material/info:")
    cols = st.columns(5)
    cols[0].metric(
        f"CC1 held-out ({plain(pair.label)})",
        _fmt(cc.cc1),
        delta=f"null 95% up to {_fmt(cc.null_high[0])}" if cc.null_high else None,
        delta_color="off",
        delta_arrow="off",
        help=f"Test-pair correlation of the first canonical direction between {a} and {b}; "
        + (
            "directions are ordered by validation correlation, so this is the best one found "
            "without looking at the test set."
            if cc.ordered_by == "validation"
            else "directions are ordered by training correlation (runs from before validation ordering)."
        ),
    )
    cols[1].metric(
        f"Canonical total, held-out ({plain(pair.label)})",
        _fmt(cc.total),
        delta=f"p = {_fmt(cc.p_values[0], 3)}" if cc.p_values else None,
        delta_color="off",
        delta_arrow="off",
        help="Sum of held-out canonical correlations over components (p of the first one).",
    )
    cols[2].metric(
        f"Recall@1 ({plain(direction.key)})",
        _fmt(ret.recall_at_1 if ret else None),
        help=f"{direction.key}: share of test samples of {a} whose true {b} partner is the nearest "
        "neighbour in the shared space (one direction; Compare shows the mean of both).",
    )
    cols[3].metric(
        f"Recall@10 ({plain(direction.key)})",
        _fmt(ret.recall_at_10 if ret else None),
        help=f"{direction.key}: share whose true partner is among the 10 nearest; chance is 10 / test samples.",
    )
    base = res.prediction_baseline_r2.get(direction)
    cols[4].metric(
        f"Prediction R² ({plain(direction.key)})",
        _fmt(res.prediction_r2.get(direction)),
        delta=None if base is None else f"predicting the mean: {_fmt(base)}",
        delta_color="off",
        delta_arrow="off",
        help=f"{direction.key}: predicting {b} from {a} through the shared space, on test samples, "
        "variance-weighted over the features of " + plain(b) + " (1 is perfect; predicting the training mean "
        "scores about 0).",
    )
    _honesty(metrics)


def _honesty(metrics: RunMetrics) -> None:
    """The memorisation gap and every prediction below its baseline, said in words."""
    gap = fit_gap(metrics)
    if gap is not None:
        message = gap.message()
        if message:
            st.warning(message, icon=":material/warning:")
        st.caption(f"Memorisation check: {gap.summary()}.")
    for note in prediction_notes(metrics.results).values():
        st.warning(plain(note), icon=":material/warning:")
    with st.expander("Run summary (the numbers Compare shows)"):
        summary = metrics.results.summary.labelled()
        st.dataframe(
            pd.DataFrame({"metric": list(summary), "value": list(summary.values())}),
            hide_index=True,
            width="stretch",
        )


def _similarity(run: RunBundle, clickable: bool) -> None:
    st.markdown("#### Sample-by-sample similarity")
    if not run.has(BundleFile.SIMILARITY):
        st.info("This run has no similarity matrix (it needs two modalities).")
        return
    sim = load_similarity(str(run.path))
    if sim.matrix is None:
        st.info("The test set is large: the run stored top-k neighbours instead of the full matrix.")
        return
    n = int(sim.matrix.shape[0])
    rows = st.slider(
        "Samples shown",
        10,
        max(10, min(n, 1000)),
        min(n, int(CLICK_MAX_CELLS**0.5) if clickable else 300),
        help="An evenly spaced, ordered sample of the test set; true pairs lie on the diagonal.",
        disabled=n <= 10,
    )
    fig = similarity_heatmap(
        sim.matrix,
        sim.ids_a,
        sim.ids_b,
        max_rows=rows,
        name_a=sim.pair.a,
        name_b=sim.pair.b,
        clickable=clickable,
    )
    if clickable:  # a run with previews: a click on a cell inspects its row's sample
        heatmap_chart(fig, "similarity", sim.pair.a)
    else:
        st.plotly_chart(fig, theme=None, key="similarity")


def _feature_map(run: RunBundle) -> None:
    st.markdown("#### Feature-by-feature correlations")
    if not run.has(BundleFile.FEATURE_CORR):
        return
    table = load_feature_map(str(run.path))
    pairs = table.pairs
    if not pairs:
        st.info("No feature pairs were stored for this run.")
        return
    c = st.columns([2, 2, 1])
    pair = c[0].selectbox("Modality pair", pairs, key="feature_pair", format_func=lambda p: p.label)
    value = c[1].radio(
        "Value",
        [FeatureMapColumn.LATENT_CORR, FeatureMapColumn.PEARSON],
        horizontal=True,
        help="latent_corr: correlation mediated by the shared space; pearson: raw correlation.",
    )
    masked = c[2].toggle(
        "Significant only", key="mask_nonsig", help="Hide pairs not significant after FDR correction."
    )
    part = table.for_pair(pair)
    fig = feature_corr_heatmap(part, value=value, mask_nonsignificant=masked, name_a=pair.a, name_b=pair.b)
    st.plotly_chart(fig, theme=None, key="feature_corr")
    st.dataframe(table.strongest(pair, value, n=50), hide_index=True, width="stretch")
    st.download_button(
        "Top pairs (CSV)",
        lambda: csv_text(part),
        file_name=f"feature_pairs_{pair.a}_{pair.b}.csv",
        mime="text/csv",
        icon=":material/download:",
    )


def _canonical(metrics: RunMetrics) -> None:
    st.markdown("#### Canonical correlations against the null")
    for pair, cc in metrics.results.canonical.items():
        fig = canonical_bars(
            cc.correlations,
            null_band=cc.null_band,
            ceiling=cc.ceiling,  # the synthetic demo's closed-form ceiling
            title=f"Held-out canonical correlations {pair.a} x {pair.b}",
        )
        st.plotly_chart(fig, theme=None, key=f"canonical_{pair.key}")


def _training(run: RunBundle) -> None:
    auto_choice(str(run.path))
    history = load_history(str(run.path))
    table = history.to_frame()
    if len(history) > 1:
        st.plotly_chart(training_curves(table).update_layout(legend=LEGEND_BELOW), theme=None, key="history")
    else:
        st.info("This model is fitted in closed form: there is one step, no curve.")
    st.dataframe(table, hide_index=True, width="stretch")


def _downloads(run: RunBundle) -> None:
    key, run_id = str(run.path), run.run_id
    c = st.columns(5)
    c[0].download_button(
        "Latents (CSV)",
        lambda: csv_text(load_latents(key)),
        file_name=f"{run_id}_latents.csv",
        mime="text/csv",
        icon=":material/download:",
    )
    for col, file, mime, label in (
        (c[1], BundleFile.LATENTS, "application/octet-stream", "Latents (Parquet)"),
        (c[2], BundleFile.METRICS, "application/json", "Metrics (JSON)"),
        (c[3], BundleFile.REPORT, "text/html", "Report (HTML)"),
    ):
        col.download_button(
            label,
            functools.partial(load_file_bytes, key, file),
            file_name=f"{run_id}_{file.value}",
            mime=mime,
            icon=":material/download:",
            disabled=not run.has(file),
        )
    c[4].download_button(
        "Run bundle (zip)",
        functools.partial(zip_run, key),
        file_name=f"{run_id}.zip",
        mime="application/zip",
        icon=":material/folder_zip:",
    )


st.title("Explore")
with user_errors("Loading the run"):
    info = _pick_run()
    if info is not None:
        run = find_run(info.run_id)
        metrics = load_metrics(str(run.path))
        _headline(metrics)
        media = run_media(run)  # images / text / audio: the sample inspector comes first
        labels = ["Correlation heatmaps", "Shared latent space", "Training", "Downloads"]
        if media:
            matches, heat, latent, training, downloads = st.tabs(
                [TAB_LABEL, *labels], key=TABS, on_change="rerun"
            )
            with matches:
                inspector(run, metrics)
        else:
            heat, latent, training, downloads = st.tabs(labels)
        with heat:
            _similarity(run, bool(media))
            _feature_map(run)
            _canonical(metrics)
        with latent:
            latent_space(run, info.dataset_id, bool(media))
        with training:
            _training(run)
        with downloads:
            _downloads(run)
