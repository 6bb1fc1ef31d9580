"""A self-contained interactive HTML report of one run bundle.

plotly.js is embedded once, inline, so the file opens with no network and can be sent to someone who
has no Python. No torch: the report is built from the bundle's files alone.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import plotly.graph_objects as go

from mmcorr import viz
from mmcorr._io import atomic_write_text
from mmcorr._version import __version__
from mmcorr.runs.bundle import (
    PAIR_COLUMN,
    BundleFile,
    MetricsKey,
    SimilarityKey,
    read_feature_corr,
    read_history,
    read_metrics,
    read_similarity,
    read_umap,
)

__all__ = ["build_report", "write_report", "REPORT_MAX_UMAP_POINTS"]

#: The report embeds at most this many UMAP points (a seeded subsample) to keep the file light.
REPORT_MAX_UMAP_POINTS = 20000

_CSS = """
body { font-family: -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif; margin: 2em auto;
       max-width: 1100px; color: #222; padding: 0 1em; }
h1 { margin-bottom: 0.2em; } h2 { margin-top: 2em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.92em; }
th, td { border: 1px solid #ddd; padding: 4px 10px; text-align: right; }
th:first-child, td:first-child { text-align: left; }
th { background: #f4f6fa; } .note { color: #666; font-style: italic; }
"""


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return html.escape(str(value))


def _table(rows: Sequence[Mapping[Any, Any]]) -> str:
    if not rows:
        return '<p class="note">No values.</p>'
    cols = list(dict.fromkeys(c for row in rows for c in row))
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in cols)
    body = "".join("<tr>" + "".join(f"<td>{_fmt(r.get(c))}</td>" for c in cols) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


class _Figures:
    """Renders figures as HTML divs; plotly.js goes inline with the first one only."""

    def __init__(self) -> None:
        self.first = True

    def __call__(self, fig: go.Figure) -> str:
        include: str | bool = "inline" if self.first else False
        self.first = False
        return str(fig.to_html(full_html=False, include_plotlyjs=include, config={"responsive": True}))


def _metric_rows(metrics: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    canonical = metrics.get(MetricsKey.CANONICAL.value) or {}
    pair_rows = [
        {
            "pair": key,
            "canonical total": c.get("total"),
            "CC1": (c.get("correlations") or [None])[0],
            "CC1 p-value": (c.get("p_values") or [None])[0],
            "fraction of ceiling": c.get("fraction_of_ceiling"),
        }
        for key, c in canonical.items()
    ]
    retrieval = metrics.get(MetricsKey.RETRIEVAL.value) or {}
    r2 = metrics.get(MetricsKey.PREDICTION_R2.value) or {}
    ordered_rows = [
        {"direction": key, **vals, "prediction R2": r2.get(key)} for key, vals in retrieval.items()
    ]
    return pair_rows, ordered_rows


def _sections(run_dir: Path, metrics: dict[str, Any], render: _Figures) -> list[str]:
    out: list[str] = []
    run = metrics.get(MetricsKey.RUN.value) or {}
    pair_rows, ordered_rows = _metric_rows(metrics)
    out.append("<h2>Headline metrics (held-out test split)</h2>")
    summary = metrics.get(MetricsKey.SUMMARY.value) or {}
    out.append(_table([{"metric": k, "value": v} for k, v in summary.items()]))
    out.append(_table(pair_rows))
    out.append(_table(ordered_rows))

    out.append("<h2>Canonical correlations</h2>")
    for key, c in (metrics.get(MetricsKey.CANONICAL.value) or {}).items():
        band = None
        if c.get("null_low") is not None and c.get("null_high") is not None:
            band = (c["null_low"], c["null_high"])
        fig = viz.canonical_bars(
            c.get("correlations") or [],
            null_band=band,
            ceiling=c.get("ceiling"),
            title=f"Held-out canonical correlations {key}",
        )
        out.append(render(fig))

    out.append("<h2>Cross-modal similarity (test samples)</h2>")
    sim = read_similarity(run_dir)
    pair = [str(p) for p in sim.get(SimilarityKey.PAIR.value, np.array(["A", "B"]))]
    if SimilarityKey.MATRIX.value in sim:
        fig = viz.similarity_heatmap(
            sim[SimilarityKey.MATRIX.value],
            sim.get(SimilarityKey.IDS_A.value),
            sim.get(SimilarityKey.IDS_B.value),
            name_a=pair[0],
            name_b=pair[-1],
        )
        out.append(render(fig))
    else:
        out.append(
            '<p class="note">The test split is too large for a full matrix; the bundle holds '
            "top-k neighbours instead.</p>"
        )

    out.append("<h2>Feature-by-feature correlations</h2>")
    fc = read_feature_corr(run_dir)
    if len(fc):
        first = fc[PAIR_COLUMN].iloc[0] if PAIR_COLUMN in fc.columns else None
        part = fc[fc[PAIR_COLUMN] == first] if first is not None else fc
        names = str(first).split("|") if first is not None else ["A", "B"]
        out.append(render(viz.feature_corr_heatmap(part, name_a=names[0], name_b=names[-1])))
        sig = part[part["significant"]] if "significant" in part.columns else part.iloc[:0]
        top = sig.reindex(sig["latent_corr"].abs().sort_values(ascending=False).index).head(20)
        out.append(f"<p>{len(sig)} significant feature pairs; the strongest:</p>")
        cols = [c for c in ("feature_a", "feature_b", "latent_corr", "pearson", "q_value") if c in top]
        out.append(_table(top[cols].to_dict("records")))
    else:
        out.append('<p class="note">No feature pairs.</p>')

    out.append("<h2>UMAP of the shared latent space</h2>")
    um = read_umap(run_dir)
    if len(um) > REPORT_MAX_UMAP_POINTS:
        # subsample whole samples (not points) so that every kept sample keeps its link lines
        ids = um["id"].drop_duplicates()
        keep = ids.sample(frac=REPORT_MAX_UMAP_POINTS / len(um), random_state=0)
        um = um[um["id"].isin(keep)]
    out.append(render(viz.umap_scatter(um, "modality", link=True)))
    label = run.get("label_column")
    if label and label in um.columns:
        out.append(render(viz.umap_scatter(um, str(label))))

    out.append("<h2>Training</h2>")
    hist = read_history(run_dir)
    out.append(render(viz.training_curves(hist)))
    return out


def build_report(run_dir: str | Path) -> str:
    """The HTML text of the report for the bundle in ``run_dir`` (also works on a bundle being written)."""
    path = Path(run_dir)
    metrics = read_metrics(path)
    run = metrics.get(MetricsKey.RUN.value) or {}
    title = html.escape(str(run.get("name") or path.name))
    facts = {
        "model": run.get("model"),
        "dataset": run.get("dataset_id"),
        "modalities": ", ".join(metrics.get(MetricsKey.MODALITIES.value) or []),
        "latent dim": run.get("latent_dim"),
        "train / val / test samples": f"{run.get('n_train')} / {run.get('n_val')} / {run.get('n_test')}",
        "epochs run": run.get("epochs_run"),
        "train seconds": run.get("train_seconds"),
        "created": metrics.get(MetricsKey.CREATED.value),
    }
    body = _sections(path, metrics, _Figures())
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>mmcorr report: {title}</title><style>{_CSS}</style></head><body>"
        f"<h1>mmcorr run: {title}</h1>"
        f"{_table([{'': k, 'value': v} for k, v in facts.items()])}"
        + "\n".join(body)
        + f"<p class='note'>Written by mmcorr {html.escape(__version__)}.</p></body></html>\n"
    )


def write_report(run_dir: str | Path, out: str | Path | None = None) -> Path:
    """Write the report atomically to ``out`` (default: ``run_dir/report.html``); returns its path."""
    target = Path(out) if out is not None else Path(run_dir) / BundleFile.REPORT.value
    atomic_write_text(target, build_report(run_dir))
    return target
