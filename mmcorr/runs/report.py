"""A self-contained interactive HTML report of one run bundle.

plotly.js is embedded once, inline, so the file opens with no network and can be sent to someone who
has no Python. No torch: the report is built from the bundle's files alone.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import plotly.graph_objects as go

from mmcorr import viz
from mmcorr._io import atomic_write_text
from mmcorr._version import __version__
from mmcorr.analysis.feature_map import FeatureMapColumn
from mmcorr.runs.bundle import read_feature_corr, read_history, read_metrics, read_similarity, read_umap
from mmcorr.runs.choice import inputs_choice, model_choice
from mmcorr.runs.files import ID_COLUMN, MODALITY_COLUMN, PAIR_COLUMN, UMAP_NOTE, BundleFile
from mmcorr.runs.gallery import GALLERY_CSS, gallery_section
from mmcorr.runs.headlines import fit_gap, prediction_notes
from mmcorr.runs.schema import Pair, RunMetrics

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


def _metric_rows(metrics: RunMetrics) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    res = metrics.results
    pair_rows = [
        {
            "pair": pair.key,
            "canonical total, held-out": c.total,
            "CC1 held-out": c.cc1,
            "CC1 p-value": c.p_values[0] if c.p_values else None,
            "canonical total, validation pairs": c.val_total,
            "canonical total, training pairs": c.train_total,
            "alignment fitted on": c.fit_on or "train",
            "fraction of ceiling": c.fraction_of_ceiling,
        }
        for pair, c in res.canonical.items()
    ]
    ordered_rows = [
        {
            "direction": d.key,
            **r.to_json(),
            "prediction R²": res.prediction_r2.get(d),
            "prediction R², training mean": res.prediction_baseline_r2.get(d),
        }
        for d, r in res.retrieval.items()
    ]
    return pair_rows, ordered_rows


def _headline(metrics: RunMetrics) -> list[str]:
    pair_rows, ordered_rows = _metric_rows(metrics)
    summary = metrics.results.summary.labelled()
    gap = fit_gap(metrics)
    warnings = [] if gap is None else [gap.summary()]
    if gap is not None and gap.message():
        warnings.append(f"Warning: {gap.message()}")
    warnings += [f"Warning: {n}" for n in prediction_notes(metrics.results).values()]
    return [
        "<h2>Headline metrics (held-out test split)</h2>",
        *(f"<p class='warning'>{html.escape(w)}</p>" for w in warnings),
        _table([{"metric": k, "value": v} for k, v in summary.items()]),
        _table(pair_rows),
        _table(ordered_rows),
    ]


def _choice(metrics: RunMetrics) -> list[str]:
    """model=auto's candidates with their validation scores (nothing for a family asked for by name)."""
    rows = model_choice(metrics.run)
    if not rows:
        return []
    return [
        "<h2>Model choice</h2>",
        f"<p>model=auto trained each candidate family on the same training rows and kept "
        f"<b>{html.escape(metrics.run.model)}</b>, the highest canonical correlation sum on the "
        "validation rows.</p>",
        *([f"<p>{html.escape(inputs)}.</p>"] if (inputs := inputs_choice(metrics.run)) else []),
        _table(rows),
    ]


def _canonical(metrics: RunMetrics, render: _Figures) -> list[str]:
    out = ["<h2>Canonical correlations</h2>"]
    for pair, c in metrics.results.canonical.items():
        fig = viz.canonical_bars(
            c.correlations,
            null_band=c.null_band,
            ceiling=c.ceiling,
            title=f"Held-out canonical correlations {pair.key}",
        )
        out.append(render(fig))
    return out


def _similarity(run_dir: Path, render: _Figures) -> list[str]:
    out = ["<h2>Cross-modal similarity (test samples)</h2>"]
    sim = read_similarity(run_dir)
    if sim.matrix is not None:
        fig = viz.similarity_heatmap(sim.matrix, sim.ids_a, sim.ids_b, name_a=sim.pair.a, name_b=sim.pair.b)
        out.append(render(fig))
    else:
        out.append(
            '<p class="note">The test split is too large for a full matrix; the bundle holds '
            "top-k neighbours instead.</p>"
        )
    return out


def _feature_map(run_dir: Path, render: _Figures) -> list[str]:
    out = ["<h2>Feature-by-feature correlations</h2>"]
    table = read_feature_corr(run_dir)
    pairs = table.pairs
    if not pairs:
        out.append('<p class="note">No feature pairs.</p>')
        return out
    first = Pair.parse(str(table.frame[PAIR_COLUMN].iloc[0]))  # the first pair in dataset order
    part = table.for_pair(first)
    out.append(render(viz.feature_corr_heatmap(part, name_a=first.a, name_b=first.b)))
    top = table.strongest(first, n=20, significant_only=True)
    n_sig = int(part[FeatureMapColumn.SIGNIFICANT].astype(bool).sum())
    out.append(f"<p>{n_sig} significant feature pairs; the strongest:</p>")
    cols = [
        FeatureMapColumn.FEATURE_A,
        FeatureMapColumn.FEATURE_B,
        FeatureMapColumn.LATENT_CORR,
        FeatureMapColumn.PEARSON,
        FeatureMapColumn.Q_VALUE,
    ]
    out.append(_table(top[[c for c in cols if c in top]].to_dict("records")))
    return out


def _umap(run_dir: Path, metrics: RunMetrics, render: _Figures) -> list[str]:
    out = ["<h2>UMAP of the shared latent space</h2>"]
    if not (run_dir / BundleFile.UMAP.value).is_file():
        why = metrics.run.notes.get(UMAP_NOTE, "This run has no UMAP embedding.")
        return [*out, f"<p>{html.escape(why)}</p>"]
    um = read_umap(run_dir)
    if len(um) > REPORT_MAX_UMAP_POINTS:
        # subsample whole samples (not points) so that every kept sample keeps its link lines
        ids = um[ID_COLUMN].drop_duplicates()
        keep = ids.sample(frac=REPORT_MAX_UMAP_POINTS / len(um), random_state=0)
        um = um[um[ID_COLUMN].isin(keep)]
    out.append(render(viz.umap_scatter(um, MODALITY_COLUMN, link=True)))
    label = metrics.run.label_column
    if label and label in um.columns:
        out.append(render(viz.umap_scatter(um, str(label))))
    return out


def _sections(run_dir: Path, metrics: RunMetrics, render: _Figures) -> list[str]:
    return [
        *_headline(metrics),
        *_choice(metrics),
        *gallery_section(run_dir, metrics),
        *_canonical(metrics, render),
        *_similarity(run_dir, render),
        *_feature_map(run_dir, render),
        *_umap(run_dir, metrics, render),
        "<h2>Training</h2>",
        render(viz.training_curves(read_history(run_dir).to_frame())),
    ]


def build_report(run_dir: str | Path) -> str:
    """The HTML text of the report for the bundle in ``run_dir`` (also works on a bundle being written)."""
    path = Path(run_dir)
    metrics = read_metrics(path)
    run = metrics.run
    title = html.escape(run.name or path.name)
    facts = {
        "model": f"{run.model} (chosen by model=auto)" if model_choice(run) else run.model,
        "dataset": run.dataset_id,
        "modalities": ", ".join(metrics.modalities),
        "latent dim": run.latent_dim,
        "train / val / test samples": f"{run.n_train} / {run.n_val} / {run.n_test}",
        "held-out figures from": run.held_out_note or "the test split",
        "epochs run": run.epochs_run,
        "train seconds": run.train_seconds,
        "created": metrics.created,
    }
    body = _sections(path, metrics, _Figures())
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>mmcorr report: {title}</title><style>{_CSS}{GALLERY_CSS}</style></head><body>"
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
