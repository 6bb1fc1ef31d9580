"""Explore: one finished run's held-out results.

Everything here is precomputed by the worker (similarities, feature maps, UMAP); the page only reads
the run bundle through cached loaders keyed by the run folder and draws it, so a 10,000-sample run
renders in well under two seconds.
"""

from __future__ import annotations

import functools
import io
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from pages._ui import (
    LEGEND_BELOW,
    Key,
    PagePath,
    Param,
    ensure_routed,
    load_feature_corr,
    load_feature_names,
    load_feature_values,
    load_file_bytes,
    load_history,
    load_latents,
    load_metrics,
    load_similarity,
    load_umap,
    safe_id,
    user_errors,
)

ensure_routed()


def _fmt(value: Any, digits: int = 3) -> str:
    return (
        "-"
        if value is None or (isinstance(value, float) and not np.isfinite(value))
        else f"{value:.{digits}f}"
    )


def _pick_run() -> Any | None:
    from mmcorr.runs.bundle import list_runs

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


def _headline(metrics: dict[str, Any]) -> None:
    from mmcorr.runs.bundle import MetricsKey, ordered_key

    canonical: dict[str, Any] = metrics.get(MetricsKey.CANONICAL.value) or {}
    retrieval: dict[str, Any] = metrics.get(MetricsKey.RETRIEVAL.value) or {}
    r2: dict[str, Any] = metrics.get(MetricsKey.PREDICTION_R2.value) or {}
    pairs = list(canonical)
    if not pairs:
        st.warning("This run has no held-out canonical correlations.", icon=":material/warning:")
        return
    pair = pairs[0]
    if len(pairs) > 1:
        pair = st.selectbox(
            "Modality pair", pairs, format_func=lambda p: p.replace("|", " x "), key="headline_pair"
        )
    a, b = pair.split("|", 1)
    cc = canonical[pair]
    direction = ordered_key(a, b)
    corr = cc.get("correlations") or []
    high = cc.get("null_high") or []
    p_values = cc.get("p_values") or []
    ret = retrieval.get(direction) or {}
    n_test = cc.get("n_test")
    st.caption(
        f"Held-out numbers for {a} × {b}"
        + (f", measured on {n_test:,} test samples" if isinstance(n_test, int) else "")
        + ". The null shuffles the test pairing."
    )
    cols = st.columns(5)
    cols[0].metric(
        "CC1 held-out",
        _fmt(corr[0] if corr else None),
        delta=f"null 95% up to {_fmt(high[0])}" if high else None,
        delta_color="off",
        delta_arrow="off",
        help=f"First canonical correlation between {a} and {b} on test samples.",
    )
    cols[1].metric(
        "Total canonical correlation",
        _fmt(cc.get("total")),
        delta=f"p = {_fmt(p_values[0], 3)}" if p_values else None,
        delta_color="off",
        delta_arrow="off",
        help="Sum of held-out canonical correlations over components (p of the first one).",
    )
    cols[2].metric(
        "Recall@1",
        _fmt(ret.get("recall@1")),
        help=f"{direction}: share of test samples of {a} whose true {b} partner is the nearest "
        "neighbour in the shared space.",
    )
    cols[3].metric(
        "Recall@10",
        _fmt(ret.get("recall@10")),
        help=f"{direction}: share whose true partner is among the 10 nearest; chance is 10 / test samples.",
    )
    cols[4].metric(
        "Cross-modal R²",
        _fmt(r2.get(direction)),
        help=f"{direction}: predicting {b} from {a} through the shared space, on test samples "
        "(1 is perfect, 0 is the mean).",
    )


def _heatmaps(path: str, metrics: dict[str, Any]) -> None:
    from mmcorr.runs.bundle import BundleFile, MetricsKey, SimilarityKey
    from mmcorr.viz import canonical_bars, feature_corr_heatmap, similarity_heatmap

    st.markdown("#### Sample-by-sample similarity")
    if (Path(path) / BundleFile.SIMILARITY.value).is_file():
        sim = load_similarity(path)
        pair = [str(x) for x in sim.get(SimilarityKey.PAIR.value, np.array(["A", "B"]))]
        matrix = sim.get(SimilarityKey.MATRIX.value)
        if matrix is not None:
            n = int(matrix.shape[0])
            rows = st.slider(
                "Samples shown",
                10,
                max(10, min(n, 1000)),
                min(n, 300),
                help="An evenly spaced, ordered sample of the test set; true pairs lie on the diagonal.",
                disabled=n <= 10,
            )
            fig = similarity_heatmap(
                matrix,
                sim.get(SimilarityKey.IDS_A.value),
                sim.get(SimilarityKey.IDS_B.value),
                max_rows=rows,
                name_a=pair[0],
                name_b=pair[-1],
            )
            st.plotly_chart(fig, theme=None, key="similarity")
        else:
            st.info("The test set is large: the run stored top-k neighbours instead of the full matrix.")
    else:
        st.info("This run has no similarity matrix (it needs two modalities).")

    st.markdown("#### Feature-by-feature correlations")
    if (Path(path) / BundleFile.FEATURE_CORR.value).is_file():
        frame = load_feature_corr(path)
        pairs = sorted(frame["pair"].unique()) if "pair" in frame.columns and len(frame) else []
        if pairs:
            c = st.columns([2, 2, 1])
            pair_key = c[0].selectbox(
                "Modality pair", pairs, key="feature_pair", format_func=lambda p: str(p).replace("|", " × ")
            )
            value = c[1].radio(
                "Value",
                ["latent_corr", "pearson"],
                horizontal=True,
                help="latent_corr: correlation mediated by the shared space; pearson: raw correlation.",
            )
            masked = c[2].toggle(
                "Significant only", key="mask_nonsig", help="Hide pairs not significant after FDR correction."
            )
            part = frame[frame["pair"] == pair_key]
            names = str(pair_key).split("|")
            fig = feature_corr_heatmap(
                part, value=value, mask_nonsignificant=masked, name_a=names[0], name_b=names[-1]
            )
            st.plotly_chart(fig, theme=None, key="feature_corr")
            top = part.reindex(part[value].abs().sort_values(ascending=False).index).head(50)
            st.dataframe(top, hide_index=True, width="stretch")
            st.download_button(
                "Top pairs (CSV)",
                functools.partial(part.to_csv, index=False),
                file_name=f"feature_pairs_{pair_key.replace('|', '_')}.csv",
                mime="text/csv",
                icon=":material/download:",
            )
        else:
            st.info("No feature pairs were stored for this run.")

    st.markdown("#### Canonical correlations against the null")
    canonical: dict[str, Any] = metrics.get(MetricsKey.CANONICAL.value) or {}
    for key, cc in canonical.items():
        band = (cc["null_low"], cc["null_high"]) if cc.get("null_low") and cc.get("null_high") else None
        fig = canonical_bars(
            cc.get("correlations") or [],
            null_band=band,
            ceiling=cc.get("ceiling"),  # the synthetic demo's closed-form ceiling
            title=f"Held-out canonical correlations {key.replace('|', ' x ')}",
        )
        st.plotly_chart(fig, theme=None, key=f"canonical_{key}")


def _latent_space(path: str, dataset_id: str) -> None:
    from mmcorr.paths import home
    from mmcorr.runs.bundle import BundleFile
    from mmcorr.viz import umap_scatter

    if not (Path(path) / BundleFile.UMAP.value).is_file():
        st.info("This run has no UMAP embedding.")
        return
    frame = load_umap(path)
    columns = [c for c in frame.columns if c not in ("x", "y", "id")]
    modalities = [str(m) for m in frame["modality"].unique()] if "modality" in frame.columns else []
    c = st.columns([1, 2, 2, 1, 1])
    source = c[0].radio(
        "Colour from",
        ["column", "feature"],
        key="umap_colour_source",
        help="A column of the run, or a raw feature.",
    )
    color_by = "modality"
    if source == "column":
        color_by = c[1].selectbox(
            "Colour by", columns, key="umap_colour", help="Modality, split, labels or any metadata column."
        )
    else:
        modality = c[1].selectbox("Feature of", modalities, key="umap_feature_modality")
        names = load_feature_names(dataset_id, modality, str(home())) if modality else []
        feature = c[2].selectbox(
            "Feature", names, key="umap_feature", help="Colour every point by this feature's value."
        )
        if feature:
            values = load_feature_values(dataset_id, modality, feature, str(home()))
            color_by = f"{modality}:{feature}"
            frame = frame.assign(**{color_by: frame["id"].map(values)})
        else:
            c[2].caption("The run's dataset is no longer registered.")
    link = c[3].toggle("Link points", key="umap_link", help="Join each sample's points across modalities.")
    c[4].metric("Points", f"{len(frame):,}")
    fig = umap_scatter(frame, color_by=color_by, link=link)
    fig.update_layout(dragmode="lasso", height=650)
    event = st.plotly_chart(fig, theme=None, key="umap", on_select="rerun", selection_mode=("lasso", "box"))
    points = event.selection.points if event is not None and hasattr(event, "selection") else []
    ids = sorted({str(p["customdata"][0]) for p in points if p.get("customdata")})
    if ids:
        st.download_button(
            f"Export {len(ids)} selected sample ids (CSV)",
            pd.DataFrame({"id": ids}).to_csv(index=False),
            file_name="selected_ids.csv",
            mime="text/csv",
            icon=":material/download:",
        )
    else:
        st.caption("Draw a lasso or box around points to export their sample ids.")


def _zip_run(path: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for file in sorted(Path(path).rglob("*")):
            if file.is_file():
                zf.write(file, f"{Path(path).name}/{file.relative_to(path)}")
    return buf.getvalue()


def _downloads(path: str, run_id: str) -> None:
    from mmcorr.runs.bundle import BundleFile

    c = st.columns(5)
    c[0].download_button(
        "Latents (CSV)",
        lambda: load_latents(path).to_csv(index=False),
        file_name=f"{run_id}_latents.csv",
        mime="text/csv",
        icon=":material/download:",
    )
    for col, file, mime, label in (
        (c[1], BundleFile.LATENTS, "application/octet-stream", "Latents (Parquet)"),
        (c[2], BundleFile.METRICS, "application/json", "Metrics (JSON)"),
        (c[3], BundleFile.REPORT, "text/html", "Report (HTML)"),
    ):
        file_path = Path(path) / file.value
        col.download_button(
            label,
            functools.partial(load_file_bytes, str(file_path)),
            file_name=f"{run_id}_{file.value}",
            mime=mime,
            icon=":material/download:",
            disabled=not file_path.is_file(),
        )
    c[4].download_button(
        "Run bundle (zip)",
        functools.partial(_zip_run, path),
        file_name=f"{run_id}.zip",
        mime="application/zip",
        icon=":material/folder_zip:",
    )


st.title("Explore")
with user_errors("Loading the run"):
    run = _pick_run()
    if run is not None:
        path = str(run.path)
        metrics = load_metrics(path)
        _headline(metrics)
        heat, latent, training, downloads = st.tabs(
            ["Correlation heatmaps", "Shared latent space", "Training", "Downloads"]
        )
        with heat:
            _heatmaps(path, metrics)
        with latent:
            _latent_space(path, run.dataset_id)
        with training:
            from mmcorr.viz import training_curves

            history = load_history(path)
            if len(history) > 1:
                st.plotly_chart(
                    training_curves(history).update_layout(legend=LEGEND_BELOW), theme=None, key="history"
                )
            else:
                st.info("This model is fitted in closed form: there is one step, no curve.")
            st.dataframe(history, hide_index=True, width="stretch")
        with downloads:
            _downloads(path, run.run_id)
