"""The run bundle: one folder per training run, its file names, writers and torch-free readers.

A bundle holds everything one run produced (see :class:`BundleFile`). The pipeline writes it into a
temporary folder and renames it into place, so a run folder is either complete or absent. The
readers here never import torch: the dashboard pages use them on finished runs.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mmcorr._io import atomic_write_bytes, atomic_write_text, json_safe
from mmcorr._validation import MmcorrError
from mmcorr.config import JobSpec

__all__ = [
    "BundleFile",
    "MetricsKey",
    "SimilarityKey",
    "SplitName",
    "RunInfo",
    "ID_COLUMN",
    "SPLIT_COLUMN",
    "MODALITY_COLUMN",
    "PAIR_COLUMN",
    "JOINT",
    "pair_key",
    "ordered_key",
    "latent_columns",
    "json_safe",
    "write_json",
    "write_frame",
    "write_similarity",
    "require_run",
    "read_metrics",
    "read_spec",
    "read_history",
    "read_latents",
    "read_umap",
    "read_feature_corr",
    "read_prediction_r2",
    "read_similarity",
    "latents_from_frame",
    "list_runs",
]


class BundleFile(StrEnum):
    """File names inside a run folder."""

    CONFIG = "config.json"  # the estimator's configs + bundle format (CorrelationModel.save)
    SPEC = "spec.json"  # the JobSpec that produced the run
    MODEL = "model.pt"  # weights (state_dict, loaded with weights_only=True)
    HISTORY = "history.jsonl"  # one JSON record per epoch
    METRICS = "metrics.json"  # held-out metrics, see MetricsKey
    LATENTS = "latents.parquet"  # every sample: id, split, <modality>_i, joint_i, metadata
    UMAP = "umap.parquet"  # id, modality, x, y, split, metadata
    FEATURE_CORR = "feature_correlation.parquet"  # pair, feature_a, feature_b, latent_corr, ...
    SIMILARITY = "similarity.npz"  # see SimilarityKey
    PREDICTION_R2 = "prediction_r2.parquet"  # pair, feature, r2 (cross-modal prediction per feature)
    REPORT = "report.html"  # self-contained interactive report


class MetricsKey(StrEnum):
    """Top-level keys of metrics.json."""

    BUNDLE_FORMAT = "bundle_format"
    VERSION = "mmcorr_version"
    CREATED = "created"
    RUN = "run"  # name, dataset_id, model, latent_dim, n_train/n_val/n_test, train_seconds, ...
    MODALITIES = "modalities"
    CANONICAL = "canonical"  # "a|b" -> correlations, total, p_values, null_low, null_high, ...
    RETRIEVAL = "retrieval"  # "a->b" -> recall@1, recall@5, recall@10, mrr, median_rank, foscttm
    PREDICTION_R2 = "prediction_r2"  # "a->b" -> overall R^2 on the test split
    LINEAR_PROBE = "linear_probe_accuracy"  # on the joint latent, or None without labels
    SUMMARY = "summary"  # one number per headline metric (averaged over pairs) for leaderboards


class SimilarityKey(StrEnum):
    """Arrays inside similarity.npz (all loadable with allow_pickle=False)."""

    PAIR = "pair"  # (2,) the modality names (a, b)
    IDS_A = "ids_a"  # (na,) test sample ids of the rows
    IDS_B = "ids_b"  # (nb,) test sample ids of the columns
    MATRIX = "similarity"  # (na, nb) cosine similarities, when n_test <= the full-matrix limit
    INDICES = "indices"  # (na, k) top-k neighbour column indices, beyond the limit
    SCORES = "scores"  # (na, k) their similarities


class SplitName(StrEnum):
    TRAIN = "train"
    VAL = "val"
    TEST = "test"


ID_COLUMN = "id"
SPLIT_COLUMN = "split"
MODALITY_COLUMN = "modality"
PAIR_COLUMN = "pair"
#: Name of the fused latent (from whichever modalities a sample has) next to the per-modality ones.
JOINT = "joint"


def pair_key(a: str, b: str) -> str:
    """Key of an unordered modality pair in metrics.json: ``"a|b"`` (dataset order)."""
    return f"{a}|{b}"


def ordered_key(source: str, target: str) -> str:
    """Key of an ordered modality pair (retrieval, prediction): ``"a->b"``."""
    return f"{source}->{target}"


def latent_columns(name: str, k: int) -> list[str]:
    """Column names of a k-dimensional latent in latents.parquet: ``name_0 .. name_{k-1}``."""
    return [f"{name}_{i}" for i in range(k)]


def write_json(run_dir: Path, file: BundleFile, obj: Any) -> Path:
    """Write ``obj`` as strict JSON to ``run_dir / file`` atomically; returns the path."""
    path = Path(run_dir) / file.value
    atomic_write_text(path, json.dumps(json_safe(obj), indent=2, sort_keys=False, allow_nan=False))
    return path


def write_frame(run_dir: Path, file: BundleFile, frame: pd.DataFrame) -> Path:
    """Write ``frame`` as parquet to ``run_dir / file`` atomically; returns the path."""
    buf = io.BytesIO()
    frame.to_parquet(buf, index=False)
    path = Path(run_dir) / file.value
    atomic_write_bytes(path, buf.getvalue())
    return path


def write_similarity(run_dir: Path, arrays: dict[SimilarityKey, np.ndarray]) -> Path:
    """Write similarity.npz; string arrays are stored as fixed-width unicode (no pickle)."""
    plain: dict[str, np.ndarray] = {}
    for key, arr in arrays.items():
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


def _file(run_dir: str | Path, file: BundleFile) -> Path:
    path = Path(run_dir) / file.value
    if not path.is_file():
        raise MmcorrError(f"The run folder {str(run_dir)!r} has no {file.value}; the run is incomplete.")
    return path


def read_metrics(run_dir: str | Path) -> dict[str, Any]:
    """metrics.json as a dict (keys: MetricsKey values)."""
    path = _file(run_dir, BundleFile.METRICS)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise MmcorrError(f"{path} is not valid JSON: {exc}.") from None
    if not isinstance(data, dict):
        raise MmcorrError(f"{path} must hold a JSON object. Got {type(data).__name__}.")
    return data


def read_spec(run_dir: str | Path) -> JobSpec:
    """The JobSpec that produced the run (spec.json)."""
    return JobSpec.from_json(_file(run_dir, BundleFile.SPEC).read_text(encoding="utf-8"))


def read_history(run_dir: str | Path) -> pd.DataFrame:
    """history.jsonl as one row per epoch: epoch, epochs, train_<part>, val_<part>, val_corr, seconds."""
    path = _file(run_dir, BundleFile.HISTORY)
    records = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise MmcorrError(f"{path} line {lineno} is not valid JSON: {exc}.") from None
    if not records:
        return pd.DataFrame({"epoch": pd.Series(dtype=np.int64)})
    # Nested {"train": {"loss": ..}} becomes the column "train_loss".
    return pd.json_normalize(records, sep="_")


def _read_parquet(run_dir: str | Path, file: BundleFile) -> pd.DataFrame:
    return pd.read_parquet(_file(run_dir, file))


def read_latents(run_dir: str | Path) -> pd.DataFrame:
    """latents.parquet: id, split, <modality>_0..k-1 for each modality, joint_0..k-1, metadata."""
    return _read_parquet(run_dir, BundleFile.LATENTS)


def read_umap(run_dir: str | Path) -> pd.DataFrame:
    """umap.parquet: id, modality, x, y, split and metadata columns (one row per sample and modality)."""
    return _read_parquet(run_dir, BundleFile.UMAP)


def read_feature_corr(run_dir: str | Path) -> pd.DataFrame:
    """feature_correlation.parquet: pair, feature_a, feature_b, latent_corr, pearson, p/q values."""
    return _read_parquet(run_dir, BundleFile.FEATURE_CORR)


def read_prediction_r2(run_dir: str | Path) -> pd.DataFrame:
    """prediction_r2.parquet: pair ("a->b"), feature, r2 on the test split."""
    return _read_parquet(run_dir, BundleFile.PREDICTION_R2)


def read_similarity(run_dir: str | Path) -> dict[str, np.ndarray]:
    """similarity.npz as a dict of arrays keyed by SimilarityKey values (never unpickles)."""
    path = _file(run_dir, BundleFile.SIMILARITY)
    with np.load(path, allow_pickle=False) as npz:
        return {k: npz[k] for k in npz.files}


def latents_from_frame(frame: pd.DataFrame, name: str) -> np.ndarray:
    """The (n, k) float32 latent ``name`` (a modality or JOINT) out of a latents table."""
    prefix = f"{name}_"
    cols = [c for c in frame.columns if c.startswith(prefix) and c[len(prefix) :].isdigit()]
    if not cols:
        raise MmcorrError(f"The latents table has no columns for {name!r} (expected {prefix}0, ...).")
    cols.sort(key=lambda c: int(c[len(prefix) :]))
    return frame[cols].to_numpy(dtype=np.float32)


@dataclass(frozen=True)
class RunInfo:
    """One finished run, as listed by :func:`list_runs`."""

    run_id: str
    path: Path
    name: str
    dataset_id: str
    model: str
    created: str
    metrics: dict[str, Any] = field(default_factory=dict)


def _run_info(path: Path) -> RunInfo | None:
    try:
        metrics = read_metrics(path)
    except MmcorrError:
        return None  # a half-written or foreign folder is not a run
    run = metrics.get(MetricsKey.RUN.value) or {}
    return RunInfo(
        run_id=path.name,
        path=path,
        name=str(run.get("name") or path.name),
        dataset_id=str(run.get("dataset_id", "")),
        model=str(run.get("model", "")),
        created=str(metrics.get(MetricsKey.CREATED.value, "")),
        metrics=dict(metrics.get(MetricsKey.SUMMARY.value) or {}),
    )


def list_runs(root: str | Path | None = None) -> list[RunInfo]:
    """Finished runs under ``root`` (default: mmcorr.paths.runs_dir()), newest first.

    Hidden folders (temporary bundles being written) and folders without metrics.json are skipped.
    """
    if root is None:
        from mmcorr.paths import runs_dir

        root = runs_dir()
    base = Path(root)
    if not base.is_dir():
        return []
    infos = [
        info
        for p in base.iterdir()
        if p.is_dir() and not p.name.startswith(".") and (info := _run_info(p)) is not None
    ]
    infos.sort(key=lambda r: (r.created, r.run_id), reverse=True)
    return infos
