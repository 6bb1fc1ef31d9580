"""One training run, end to end: split, fit, every held-out analysis, and the run bundle on disk.

:func:`run_spec` is the background worker's task body (a registered dataset + a JobSpec);
:func:`train_and_bundle` does the same for a dataset already in memory (``mmcorr train`` with files).
The bundle is written into a temporary folder beside ``run_dir`` and renamed into place, so a run
folder is either complete or absent. torch loads lazily (through the estimator) so that importing
this module stays cheap.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from mmcorr import analysis
from mmcorr._io import atomic_dir
from mmcorr._validation import MmcorrError
from mmcorr._version import BUNDLE_FORMAT, __version__
from mmcorr.config import AnalysisConfig, JobSpec
from mmcorr.data import PairedDataset, split_indices
from mmcorr.runs.bundle import (
    ID_COLUMN,
    JOINT,
    PAIR_COLUMN,
    SPLIT_COLUMN,
    BundleFile,
    MetricsKey,
    SimilarityKey,
    SplitName,
    latent_columns,
    latents_from_frame,
    read_latents,
    read_metrics,
    read_spec,
    write_frame,
    write_json,
    write_similarity,
)
from mmcorr.runs.metrics import LatentSet, compute_metrics, prediction_metrics
from mmcorr.runs.report import write_report

if TYPE_CHECKING:
    from mmcorr.data import DatasetRegistry
    from mmcorr.estimator import CorrelationModel

__all__ = [
    "run_spec",
    "train_and_bundle",
    "split_dataset",
    "latents_frame",
    "evaluate_run",
    "SIMILARITY_FULL_LIMIT",
    "SIMILARITY_TOP_K",
]

#: The full test x test similarity matrix is stored up to this many test samples (100 MB float32).
SIMILARITY_FULL_LIMIT = 5000
#: Beyond the limit, each test sample's top-k most similar samples of the other modality are stored.
SIMILARITY_TOP_K = 10


def run_spec(
    spec: JobSpec,
    run_dir: Path,
    *,
    callbacks: Sequence[Any] = (),
    checkpoint_dir: Path | None = None,
    resume: bool = False,
    registry: DatasetRegistry | None = None,
) -> Path:
    """Load the registered dataset ``spec.dataset_id``, train, analyse and write the bundle to run_dir.

    callbacks: objects with ``on_epoch_end(record) -> bool | None`` (True cancels the fit).
    checkpoint_dir / resume: where the trainer keeps resumable checkpoints, and whether to resume.
    Returns ``run_dir``. Raises MmcorrError for bad specs or data, TrainingCancelled on cancel.
    """
    if registry is None:
        from mmcorr.data import DatasetRegistry

        registry = DatasetRegistry()
    ds = registry.load(spec.dataset_id)
    return train_and_bundle(
        ds, spec, run_dir, callbacks=callbacks, checkpoint_dir=checkpoint_dir, resume=resume
    )


def split_dataset(ds: PairedDataset, spec: JobSpec) -> dict[SplitName, np.ndarray]:
    """Train / validation / test row indices of ``ds`` from ``spec.data`` (deterministic from the seed)."""
    cfg = spec.data
    labels = ds.labels if cfg.stratify else None
    split = split_indices(
        ds.n_samples,
        val_fraction=cfg.val_fraction,
        test_fraction=cfg.test_fraction,
        seed=cfg.split_seed,
        stratify=labels,
    )
    return {SplitName.TRAIN: split.train, SplitName.VAL: split.val, SplitName.TEST: split.test}


def _check_run_dir(run_dir: Path) -> None:
    if run_dir.exists():
        if run_dir.is_dir() and not any(run_dir.iterdir()):
            run_dir.rmdir()  # an empty placeholder is replaced by the finished bundle
            return
        raise MmcorrError(
            f"The run folder {str(run_dir)!r} already exists and is not empty. Choose a new output folder."
        )


def latents_frame(
    ds: PairedDataset, latents: dict[str, np.ndarray], split: np.ndarray | None = None
) -> pd.DataFrame:
    """The latents table: id, split, <modality>_i per modality, joint_i, then the metadata columns.

    latents: name -> (n, k) arrays (each modality and JOINT), rows in ``ds`` order (NaN where absent).
    split: (n,) split names, or None (all "test", as for new data).
    """
    cols: dict[str, Any] = {ID_COLUMN: ds.ids.astype(str)}
    cols[SPLIT_COLUMN] = split if split is not None else np.full(ds.n_samples, SplitName.TEST.value)
    for name in [*ds.names, JOINT]:
        z = np.asarray(latents[name], dtype=np.float32)
        cols.update(zip(latent_columns(name, z.shape[1]), z.T, strict=True))
    frame = pd.DataFrame(cols)
    if ds.metadata is not None:
        meta = ds.metadata.reset_index(drop=True)
        # metadata columns never overwrite the bundle's own columns
        meta = meta.rename(columns={c: f"meta_{c}" for c in meta.columns if c in frame.columns})
        frame = pd.concat([frame, meta], axis=1)
    return frame


def _umap_frame(
    ds: PairedDataset, latents: dict[str, np.ndarray], frame: pd.DataFrame, spec: JobSpec
) -> pd.DataFrame:
    cfg = spec.analysis
    emb = analysis.umap_embedding(
        {name: latents[name] for name in ds.names},
        ds.ids.astype(str),
        n_neighbors=cfg.umap_neighbors,
        min_dist=cfg.umap_min_dist,
        seed=cfg.seed,
        max_points=cfg.max_umap_points,
    )
    n_meta = 0 if ds.metadata is None else ds.metadata.shape[1]
    # latents_frame puts the metadata columns last
    keep = [ID_COLUMN, SPLIT_COLUMN, *frame.columns[frame.shape[1] - n_meta :]]
    extra = frame[keep].drop_duplicates(ID_COLUMN)
    emb = emb.assign(**{ID_COLUMN: emb[ID_COLUMN].astype(str)})
    return emb.merge(extra, on=ID_COLUMN, how="left", validate="many_to_one")


def _top_variance(x: np.ndarray, rows: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k columns of x with the highest variance over ``rows`` (the training split)."""
    var = np.var(x[rows], axis=0) if rows.size > 1 else np.zeros(x.shape[1])
    return np.sort(np.argsort(-var, kind="stable")[:k])


def _feature_corr(
    ds: PairedDataset, latents: dict[str, np.ndarray], splits: dict[SplitName, np.ndarray], spec: JobSpec
) -> tuple[pd.DataFrame, dict[str, str]]:
    """Feature x feature maps for every modality pair on the test split; skipped pairs with why."""
    cfg = spec.analysis
    parts, notes = [], {}
    for i, a in enumerate(ds.names):
        for b in ds.names[i + 1 :]:
            ia, ib = ds.names.index(a), ds.names.index(b)
            both = ds.mask[:, ia] & ds.mask[:, ib]
            train = splits[SplitName.TRAIN][both[splits[SplitName.TRAIN]]]
            test = splits[SplitName.TEST][both[splits[SplitName.TEST]]]
            fa = _top_variance(ds.values[a], train, cfg.top_features)
            fb = _top_variance(ds.values[b], train, cfg.top_features)
            try:
                fmap = analysis.feature_correlation_map(
                    ds.values[a][np.ix_(test, fa)],
                    ds.values[b][np.ix_(test, fb)],
                    latents[a][test],
                    latents[b][test],
                    features_a=[ds.features[a][j] for j in fa],
                    features_b=[ds.features[b][j] for j in fb],
                    permutations=cfg.permutations,
                    fdr=cfg.fdr,
                    seed=cfg.seed,
                )
            except MmcorrError as exc:
                notes[f"{a}|{b}"] = str(exc)
                continue
            table = fmap.to_frame()
            table.insert(0, PAIR_COLUMN, f"{a}|{b}")
            parts.append(table)
    if not parts:
        return pd.DataFrame(columns=[PAIR_COLUMN, "feature_a", "feature_b", "latent_corr", "pearson"]), notes
    return pd.concat(parts, ignore_index=True), notes


def _similarity(
    ds: PairedDataset, latents: dict[str, np.ndarray], test: np.ndarray
) -> dict[SimilarityKey, np.ndarray]:
    """Similarity of the first modality pair's test samples: full matrix, or top-k beyond the limit."""
    a, b = ds.names[0], ds.names[1]
    both = ds.mask[test, 0] & ds.mask[test, 1]
    rows = test[both]
    za, zb = latents[a][rows], latents[b][rows]
    ids = ds.ids[rows].astype(str)
    out = {SimilarityKey.PAIR: np.array([a, b]), SimilarityKey.IDS_A: ids, SimilarityKey.IDS_B: ids}
    if rows.size <= SIMILARITY_FULL_LIMIT:
        out[SimilarityKey.MATRIX] = analysis.similarity_matrix(za, zb).astype(np.float32)
    else:
        idx, scores = analysis.top_k_neighbours(za, zb, k=SIMILARITY_TOP_K)
        out[SimilarityKey.INDICES] = np.asarray(idx, dtype=np.int64)
        out[SimilarityKey.SCORES] = np.asarray(scores, dtype=np.float32)
    return out


def _fit(
    ds: PairedDataset,
    spec: JobSpec,
    splits: dict[SplitName, np.ndarray],
    callbacks: Sequence[Any],
    checkpoint_dir: Path | None,
    resume: bool,
) -> tuple[CorrelationModel, float]:
    from mmcorr._memory import check_fit_memory
    from mmcorr.estimator import CorrelationModel  # torch loads here, not at import
    from mmcorr.models import get_model_class

    model = CorrelationModel.from_configs(spec.model, spec.train, spec.data)
    # The split subsets below copy the raw rows: check before them, so a dataset too large for
    # this machine fails the job with the sizes instead of a MemoryError (fit checks again).
    rows = len(splits[SplitName.TRAIN]) + len(splits[SplitName.VAL])
    check_fit_memory(
        rows,
        ds.dims,
        pca_dim=spec.data.pca_dim,
        hidden=spec.model.hidden,
        latent_dim=spec.model.latent_dim,
        ridge_heads=not get_model_class(spec.model.model).cross_decoder,
        copies=rows * sum(ds.values[n].shape[1] * ds.values[n].dtype.itemsize for n in ds.names),
    )
    start = time.perf_counter()
    model.fit(
        ds.subset(splits[SplitName.TRAIN]),
        validation=ds.subset(splits[SplitName.VAL]),
        callbacks=callbacks,
        checkpoint_dir=checkpoint_dir,
        resume=resume,
    )
    return model, time.perf_counter() - start


def train_and_bundle(
    ds: PairedDataset,
    spec: JobSpec,
    run_dir: Path,
    *,
    callbacks: Sequence[Any] = (),
    checkpoint_dir: Path | None = None,
    resume: bool = False,
    sources: dict[str, str] | None = None,
) -> Path:
    """Split ``ds`` (spec.data), fit the estimator, run every held-out analysis, write the bundle.

    ds: the paired dataset in raw units (at least two modalities).
    spec: every configuration; ``spec.dataset_id`` is recorded (use e.g. ``"files"`` for loose files).
    run_dir: the bundle folder to create; it must not exist (or be empty).
    sources: modality name -> file it came from, recorded in metrics.json.
    Returns ``run_dir``.
    """
    run_dir = Path(run_dir)
    if len(ds.names) < 2:
        raise MmcorrError(f"A run needs at least two modalities. Got {len(ds.names)}: {ds.names}.")
    _check_run_dir(run_dir)
    splits = split_dataset(ds, spec)
    model, seconds = _fit(ds, spec, splits, callbacks, checkpoint_dir, resume)

    latents = model.transform(ds)
    split_col = np.empty(ds.n_samples, dtype=object)
    for name, rows in splits.items():
        split_col[rows] = name.value
    frame = latents_frame(ds, latents, split_col)
    train_set = LatentSet.from_rows(ds, latents, splits[SplitName.TRAIN])
    test_ds = ds.subset(splits[SplitName.TEST])
    test_set = LatentSet.from_rows(ds, latents, splits[SplitName.TEST])
    results = compute_metrics(
        train_set,
        test_set,
        spec.analysis,
        cca_reg=spec.model.cca_reg,
        true_correlations=ds.info.get("true_correlations"),
    )
    r2, r2_table = prediction_metrics(model, test_ds)
    umap = _umap_frame(ds, latents, frame, spec)
    fc, fc_notes = _feature_corr(ds, latents, splits, spec)
    sim = _similarity(ds, latents, splits[SplitName.TEST])

    run = {
        "name": spec.name or run_dir.name,
        "dataset_id": spec.dataset_id,
        "model": spec.model.model,
        "latent_dim": spec.model.latent_dim,
        "label_column": ds.label_column,
        "n_samples": ds.n_samples,
        "n_train": int(splits[SplitName.TRAIN].size),
        "n_val": int(splits[SplitName.VAL].size),
        "n_test": int(splits[SplitName.TEST].size),
        "train_seconds": round(seconds, 3),
        "epochs_run": len(model.history_),
        "seed": spec.train.seed,
        "sources": sources or {},
        "notes": {**results.notes, **{f"feature_correlation {k}": v for k, v in fc_notes.items()}},
    }
    summary = {**results.summary, "prediction_r2": _mean(r2.values()), "train_seconds": run["train_seconds"]}
    metrics = {
        MetricsKey.BUNDLE_FORMAT.value: BUNDLE_FORMAT,
        MetricsKey.VERSION.value: __version__,
        MetricsKey.CREATED.value: datetime.now(UTC).isoformat(timespec="seconds"),
        MetricsKey.RUN.value: run,
        MetricsKey.MODALITIES.value: list(ds.names),
        MetricsKey.CANONICAL.value: results.canonical,
        MetricsKey.RETRIEVAL.value: results.retrieval,
        MetricsKey.PREDICTION_R2.value: r2,
        MetricsKey.LINEAR_PROBE.value: results.linear_probe,
        MetricsKey.SUMMARY.value: summary,
    }
    with atomic_dir(run_dir) as tmp:
        model.save(tmp)
        if not (tmp / BundleFile.HISTORY.value).exists():  # the estimator normally writes it
            raise MmcorrError("The estimator did not write history.jsonl into the bundle.")
        (tmp / BundleFile.SPEC.value).write_text(spec.to_json(), encoding="utf-8")
        write_frame(tmp, BundleFile.LATENTS, frame)
        write_frame(tmp, BundleFile.UMAP, umap)
        write_frame(tmp, BundleFile.FEATURE_CORR, fc)
        write_frame(tmp, BundleFile.PREDICTION_R2, r2_table)
        write_similarity(tmp, sim)
        write_json(tmp, BundleFile.METRICS, metrics)
        write_report(tmp)
    return run_dir


def _mean(values: Any) -> float | None:
    vals = [float(v) for v in values if v is not None and np.isfinite(v)]
    return float(np.mean(vals)) if vals else None


def evaluate_run(
    run_dir: Path,
    model: CorrelationModel,
    ds: PairedDataset,
    *,
    modalities: list[str] | None = None,
    permutations: int = 100,
    seed: int = 0,
) -> dict[str, Any]:
    """Held-out metrics of a finished run on new paired data ``ds`` (raw units, the model's modalities).

    The linear CCA of the canonical-correlation test and the linear probe are fitted on the run's own
    training latents (latents.parquet), so the new samples play the part of the test split.
    modalities: the modalities of ``ds`` to measure between (default: all).
    Returns a JSON-able dict with canonical, retrieval, prediction_r2, linear_probe_accuracy, summary.
    """
    names = list(ds.names) if modalities is None else list(modalities)
    if len(names) < 2:
        raise MmcorrError(f"Evaluation needs at least two modalities. Got {names}.")
    spec = read_spec(run_dir)
    frame = read_latents(run_dir)
    train_frame = frame[frame[SPLIT_COLUMN] == SplitName.TRAIN.value]
    label_col = (read_metrics(run_dir).get(MetricsKey.RUN.value) or {}).get("label_column")
    train_labels = train_frame[label_col].to_numpy() if label_col in train_frame.columns else None
    keys = [*names, JOINT]
    train_set = LatentSet(
        names, {k: latents_from_frame(train_frame, k).astype(np.float64) for k in keys}, train_labels
    )
    latents = model.transform(ds)
    test_set = LatentSet(names, {k: np.asarray(latents[k], dtype=np.float64) for k in keys}, ds.labels)
    cfg = AnalysisConfig(permutations=permutations, seed=seed)
    results = compute_metrics(train_set, test_set, cfg, cca_reg=spec.model.cca_reg)
    r2, _ = prediction_metrics(model, ds, names)
    summary = {**results.summary, "prediction_r2": _mean(r2.values())}
    return {
        "run": str(run_dir),
        "n_samples": ds.n_samples,
        MetricsKey.MODALITIES.value: names,
        MetricsKey.CANONICAL.value: results.canonical,
        MetricsKey.RETRIEVAL.value: results.retrieval,
        MetricsKey.PREDICTION_R2.value: r2,
        MetricsKey.LINEAR_PROBE.value: results.linear_probe,
        MetricsKey.SUMMARY.value: summary,
        "notes": results.notes,
    }
