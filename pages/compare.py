"""Compare: several finished runs on one dataset, side by side on their held-out metrics."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from mmcorr import MmcorrError
from mmcorr.runs import SummaryMetric, list_runs
from pages._ui import PagePath, ensure_routed, user_errors

ensure_routed()


#: Column label -> metric: the table shows each metric under its one label (SummaryMetric.label).
_BY_LABEL = {m.label: m for m in SummaryMetric}


def _lower_is_better(label: str) -> bool:
    return not _BY_LABEL[label].higher_is_better


def _dataset_names() -> dict[str, str]:
    """Dataset id -> its registered name (ids of deleted datasets keep showing as ids)."""
    try:
        from mmcorr.data import DatasetRegistry

        return {d.id: d.name for d in DatasetRegistry().list()}
    except (ImportError, MmcorrError):
        return {}


st.title("Compare")
st.caption("Held-out metrics of every finished run on one dataset. The best value of each column is marked.")

with user_errors("Listing runs"):
    runs = list_runs()
    if not runs:
        st.info(
            "No finished runs yet. Train two models on one dataset to compare them.", icon=":material/info:"
        )
        st.page_link(PagePath.TRAIN.value, label="Go to Train", icon=":material/model_training:")
        st.stop()

    datasets = sorted({r.dataset_id for r in runs})
    counts = {d: sum(r.dataset_id == d for r in runs) for d in datasets}
    dataset_id = st.selectbox(
        "Dataset",
        datasets,
        format_func=lambda d: f"{d} ({counts[d]} runs)",
        help="Runs are compared per dataset.",
    )
    chosen = [r for r in runs if r.dataset_id == dataset_id]
    table = pd.DataFrame(
        [
            {
                "run": r.run_id,
                "name": r.name,
                "model": r.model,
                "created": r.created[:19],
                "held-out split": "test" if r.held_out_split == "test" else "validation (no test set)",
                **r.summary.labelled(),
            }
            for r in chosen
        ]
    )
    metric_cols = [c for c in table.columns if c not in ("run", "name", "model", "created", "held-out split")]
    if not metric_cols:
        st.warning("These runs recorded no summary metrics.")
        st.dataframe(table, hide_index=True, width="stretch")
        st.stop()

    best = {
        m: (table[m].idxmin() if _lower_is_better(m) else table[m].idxmax())
        for m in metric_cols
        # a higher training-pair total is a better fit, not a better model: nothing to mark
        if table[m].notna().any() and _BY_LABEL[m] is not SummaryMetric.CANONICAL_TRAIN_TOTAL
    }
    st.subheader("Leaderboard")
    marks = pd.DataFrame("", index=table.index, columns=table.columns)
    for metric, row in best.items():
        marks.loc[row, metric] = "background-color: #bbf7d0; font-weight: 600"
    styled = table.style.format(dict.fromkeys(metric_cols, "{:.4f}"), na_rep="-").apply(
        lambda _: marks, axis=None
    )
    st.dataframe(styled, hide_index=True, width="stretch")
    st.caption(
        "Green: the best run on each metric (lowest for FOSCTTM and training time, highest otherwise). "
        "Canonical and retrieval columns are means over modality pairs / both directions (Explore "
        "shows each one); a training-pair total far above the held-out one means memorisation."
    )

    st.subheader("Charts")
    from mmcorr.viz import leaderboard_bars

    shown = st.multiselect("Metrics", metric_cols, default=metric_cols[: min(2, len(metric_cols))])
    labels = table.assign(label=table["name"] + " (" + table["run"].str[-6:] + ")")
    cols = st.columns(2)
    for i, metric in enumerate(shown):
        with cols[i % 2]:
            fig = leaderboard_bars(
                labels, metric, label="label", higher_is_better=not _lower_is_better(metric)
            )
            fig.update_layout(height=160 + 40 * len(labels))
            st.plotly_chart(fig, theme=None, key=f"bars_{metric}")
