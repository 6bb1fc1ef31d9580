"""Reading and writing a run bundle's files (torch-free).

The pipeline writes a bundle into a temporary folder and renames it into place, so a run folder is
either complete or absent. The readers return the typed results of :mod:`mmcorr.runs.schema`,
:mod:`mmcorr.runs.history` and :mod:`mmcorr.runs.tables`, or the latents / UMAP / prediction
tables as pandas frames. A bundle is read with ``allow_pickle=False`` throughout.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mmcorr._io import atomic_write_bytes, atomic_write_text, json_safe
from mmcorr._validation import MmcorrError
from mmcorr.config import JobSpec
from mmcorr.runs.files import BundleFile
from mmcorr.runs.history import TrainingHistory
from mmcorr.runs.schema import RunMetrics
from mmcorr.runs.tables import FeatureMapTable, SimilarityData

__all__ = [
    "write_json",
    "write_frame",
    "write_metrics",
    "write_history",
    "write_similarity",
    "require_run",
    "bundle_file",
    "read_metrics",
    "read_spec",
    "read_history",
    "read_latents",
    "read_umap",
    "read_feature_corr",
    "read_prediction_r2",
    "read_similarity",
    "latents_from_frame",
]


def write_json(run_dir: Path, file: BundleFile, obj: Any) -> Path:
    """Write ``obj`` as strict JSON to ``run_dir / file`` atomically; returns the path."""
    path = Path(run_dir) / file.value
    atomic_write_text(path, json.dumps(json_safe(obj), indent=2, sort_keys=False, allow_nan=False))
    return path


def write_metrics(run_dir: Path, metrics: RunMetrics) -> Path:
    """Write metrics.json from the typed metrics; returns the path."""
    return write_json(run_dir, BundleFile.METRICS, metrics.to_json())


def write_history(run_dir: Path, history: TrainingHistory) -> Path:
    """Write history.jsonl (one record per epoch) atomically; returns the path."""
    path = Path(run_dir) / BundleFile.HISTORY.value
    atomic_write_text(path, history.to_jsonl())
    return path


def write_frame(run_dir: Path, file: BundleFile, frame: pd.DataFrame) -> Path:
    """Write ``frame`` as parquet to ``run_dir / file`` atomically; returns the path."""
    buf = io.BytesIO()
    frame.to_parquet(buf, index=False)
    path = Path(run_dir) / file.value
    atomic_write_bytes(path, buf.getvalue())
    return path


def write_similarity(run_dir: Path, data: SimilarityData) -> Path:
    """Write similarity.npz; string arrays are stored as fixed-width unicode (no pickle)."""
    plain: dict[str, np.ndarray] = {}
    for key, arr in data.to_arrays().items():
        a = np.asarray(arr)
        plain[key.value] = a.astype(str) if a.dtype == object else a
    buf = io.BytesIO()
    np.savez_compressed(buf, **plain)  # type: ignore[arg-type]
    path = Path(run_dir) / BundleFile.SIMILARITY.value
    atomic_write_bytes(path, buf.getvalue())
    return path


def require_run(run_dir: str | Path) -> Path:
    """``run_dir`` as a Path if it is a finished run folder (has metrics.json), else MmcorrError."""
    path = Path(run_dir)
    if not path.is_dir():
        raise MmcorrError(f"The run folder {str(path)!r} does not exist or is not a folder.")
    if not (path / BundleFile.METRICS.value).is_file():
        raise MmcorrError(
            f"The folder {str(path)!r} is not a finished mmcorr run: it has no {BundleFile.METRICS.value}."
        )
    return path


def bundle_file(run_dir: str | Path, file: BundleFile) -> Path:
    """The path of ``file`` in the run folder; MmcorrError when the run lacks it."""
    path = Path(run_dir) / file.value
    if not path.is_file():
        raise MmcorrError(f"The run folder {str(run_dir)!r} has no {file.value}; the run is incomplete.")
    return path


def read_metrics(run_dir: str | Path) -> RunMetrics:
    """metrics.json as :class:`RunMetrics` (MmcorrError naming the file and key when malformed)."""
    path = bundle_file(run_dir, BundleFile.METRICS)
    return RunMetrics.from_json(path.read_text(encoding="utf-8"), str(path))


def read_spec(run_dir: str | Path) -> JobSpec:
    """The JobSpec that produced the run (spec.json)."""
    return JobSpec.from_json(bundle_file(run_dir, BundleFile.SPEC).read_text(encoding="utf-8"))


def read_history(run_dir: str | Path) -> TrainingHistory:
    """history.jsonl as :class:`TrainingHistory` (``.to_frame()`` for one row per epoch)."""
    path = bundle_file(run_dir, BundleFile.HISTORY)
    return TrainingHistory.from_jsonl(path.read_text(encoding="utf-8"), str(path))


def _read_parquet(run_dir: str | Path, file: BundleFile) -> pd.DataFrame:
    return pd.read_parquet(bundle_file(run_dir, file))


def read_latents(run_dir: str | Path) -> pd.DataFrame:
    """latents.parquet: id, split, <modality>_0..k-1 for each modality, joint_0..k-1, metadata."""
    return _read_parquet(run_dir, BundleFile.LATENTS)


def read_umap(run_dir: str | Path) -> pd.DataFrame:
    """umap.parquet: id, modality, x, y, split and metadata columns (one row per sample and modality)."""
    return _read_parquet(run_dir, BundleFile.UMAP)


def read_feature_corr(run_dir: str | Path) -> FeatureMapTable:
    """feature_correlation.parquet: pair, feature_a, feature_b, latent_corr, pearson, p/q values."""
    return FeatureMapTable(_read_parquet(run_dir, BundleFile.FEATURE_CORR))


def read_prediction_r2(run_dir: str | Path) -> pd.DataFrame:
    """prediction_r2.parquet: pair ("a->b"), feature, r2 on the test split."""
    return _read_parquet(run_dir, BundleFile.PREDICTION_R2)


def read_similarity(run_dir: str | Path) -> SimilarityData:
    """similarity.npz as :class:`SimilarityData` (never unpickles)."""
    path = bundle_file(run_dir, BundleFile.SIMILARITY)
    with np.load(path, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    return SimilarityData.from_arrays(arrays, str(path))


def latents_from_frame(frame: pd.DataFrame, name: str) -> np.ndarray:
    """The (n, k) float32 latent ``name`` (a modality or JOINT) out of a latents table."""
    prefix = f"{name}_"
    cols = [c for c in frame.columns if c.startswith(prefix) and c[len(prefix) :].isdigit()]
    if not cols:
        raise MmcorrError(f"The latents table has no columns for {name!r} (expected {prefix}0, ...).")
    cols.sort(key=lambda c: int(c[len(prefix) :]))
    return frame[cols].to_numpy(dtype=np.float32)
