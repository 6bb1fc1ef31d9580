"""The run: split -> fit -> held-out analyses -> bundle -> report.

* :mod:`~mmcorr.runs.files`: the bundle's file names, keys and columns, declared once.
* :mod:`~mmcorr.runs.schema`, :mod:`~mmcorr.runs.summary`, :mod:`~mmcorr.runs.history`,
  :mod:`~mmcorr.runs.tables`: the typed results (``RunMetrics`` is metrics.json).
* :mod:`~mmcorr.runs.bundle`: writers and torch-free readers; :mod:`~mmcorr.runs.catalog`: finding
  and opening finished runs (``list_runs``, ``find_run``, ``open_run``, ``preview``, ``media``).
* :mod:`~mmcorr.runs.previews`: the held-out samples' images / text / audio in the bundle;
  :mod:`~mmcorr.runs.matches`: their top cross-modal neighbours, computed from latents.parquet.
* :mod:`~mmcorr.runs.pipeline` (``run_spec``, ``train_and_bundle``) and
  :mod:`~mmcorr.runs.evaluate` (``evaluate_run``) fit or load models; :mod:`~mmcorr.runs.report`
  writes the HTML report.

Everything that reads a run goes through this package. Importing it never loads torch: the pipeline
and the evaluation are imported lazily, on first use of their names.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mmcorr.analysis.feature_map import FeatureMapColumn
from mmcorr.runs.bundle import (
    latents_from_frame,
    read_feature_corr,
    read_history,
    read_latents,
    read_metrics,
    read_prediction_r2,
    read_similarity,
    read_spec,
    read_umap,
    require_run,
    write_frame,
    write_history,
    write_metrics,
    write_similarity,
)
from mmcorr.runs.catalog import RunBundle, RunInfo, find_run, list_runs, media, open_run, preview
from mmcorr.runs.files import (
    BUNDLE_FORMAT,
    EVALUATION_FILE,
    ID_COLUMN,
    JOINT,
    MODALITY_COLUMN,
    PAIR_COLUMN,
    PREVIEWS_DIR,
    SPLIT_COLUMN,
    UMAP_NOTE,
    BundleFile,
    MetricsKey,
    PreviewFile,
    SimilarityKey,
    SplitName,
    UmapColumn,
)
from mmcorr.runs.headlines import MEMORISATION_RATIO, FitGap, fit_gap, prediction_notes
from mmcorr.runs.history import EpochRecord, TrainingHistory
from mmcorr.runs.matches import NEIGHBOURS_K, HeldOutLatents, Neighbours, gallery_queries
from mmcorr.runs.previews import PREVIEW_LIMIT, PreviewIndex, RunPreviews, preview_mime
from mmcorr.runs.schema import (
    CanonicalCorrelations,
    Direction,
    Evaluation,
    HeldOutResults,
    Pair,
    Retrieval,
    RetrievalMetric,
    RunMetrics,
    directions_of,
    pairs_of,
)
from mmcorr.runs.summary import RunDetails, RunSummary, SummaryMetric
from mmcorr.runs.tables import FeatureMapTable, SimilarityData

if TYPE_CHECKING:
    from mmcorr.runs.evaluate import evaluate_run
    from mmcorr.runs.pipeline import run_spec, train_and_bundle
    from mmcorr.runs.report import build_report, write_report

_LAZY = {
    "run_spec": "mmcorr.runs.pipeline",
    "train_and_bundle": "mmcorr.runs.pipeline",
    "evaluate_run": "mmcorr.runs.evaluate",
    "build_report": "mmcorr.runs.report",
    "write_report": "mmcorr.runs.report",
}

__all__ = [
    "BUNDLE_FORMAT",
    "MEMORISATION_RATIO",
    "NEIGHBOURS_K",
    "PREVIEW_LIMIT",
    "PREVIEWS_DIR",
    "HeldOutLatents",
    "Neighbours",
    "PreviewFile",
    "PreviewIndex",
    "RunPreviews",
    "gallery_queries",
    "media",
    "preview",
    "preview_mime",
    "FitGap",
    "fit_gap",
    "prediction_notes",
    "BundleFile",
    "EVALUATION_FILE",
    "CanonicalCorrelations",
    "Direction",
    "EpochRecord",
    "Evaluation",
    "FeatureMapColumn",
    "FeatureMapTable",
    "HeldOutResults",
    "ID_COLUMN",
    "JOINT",
    "MODALITY_COLUMN",
    "MetricsKey",
    "PAIR_COLUMN",
    "Pair",
    "Retrieval",
    "RetrievalMetric",
    "RunBundle",
    "RunDetails",
    "RunInfo",
    "RunMetrics",
    "RunSummary",
    "SPLIT_COLUMN",
    "UMAP_NOTE",
    "SimilarityData",
    "SimilarityKey",
    "SplitName",
    "SummaryMetric",
    "TrainingHistory",
    "UmapColumn",
    "build_report",
    "directions_of",
    "evaluate_run",
    "find_run",
    "latents_from_frame",
    "list_runs",
    "open_run",
    "pairs_of",
    "read_feature_corr",
    "read_history",
    "read_latents",
    "read_metrics",
    "read_prediction_r2",
    "read_similarity",
    "read_spec",
    "read_umap",
    "require_run",
    "run_spec",
    "train_and_bundle",
    "write_frame",
    "write_history",
    "write_metrics",
    "write_report",
    "write_similarity",
]


def __getattr__(name: str) -> Any:
    """Import the pipeline, the evaluation and the report on first use (they load torch / plotly)."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'mmcorr.runs' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
