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
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from mmcorr._io import atomic_dir
from mmcorr._validation import MmcorrError
from mmcorr._version import __version__
from mmcorr.config import UMAP_AUTO_MIN_SAMPLES, JobSpec
from mmcorr.data import PairedDataset, Split, split_indices
from mmcorr.data._chunks import rows_nbytes
from mmcorr.runs import artifacts
from mmcorr.runs.artifacts import latents_frame, umap_wanted
from mmcorr.runs.bundle import write_frame, write_metrics, write_similarity
from mmcorr.runs.files import BUNDLE_FORMAT, UMAP_NOTE, UMAP_PENDING, BundleFile, SplitName
from mmcorr.runs.metrics import LatentSet, compute_metrics, prediction_metrics, training_means
from mmcorr.runs.previews import write_run_previews
from mmcorr.runs.report import write_report
from mmcorr.runs.schema import RunMetrics
from mmcorr.runs.steps import Notify, Steps
from mmcorr.runs.summary import RunDetails, choice_rows
from mmcorr.runs.tables import SimilarityData

if TYPE_CHECKING:
    from mmcorr.data import DatasetRegistry
    from mmcorr.estimator import CorrelationModel

__all__ = ["run_spec", "train_and_bundle", "split_dataset", "held_out_split", "latents_frame"]


def run_spec(
    spec: JobSpec,
    run_dir: Path,
    *,
    callbacks: Sequence[Any] = (),
    checkpoint_dir: Path | None = None,
    resume: bool = False,
    registry: DatasetRegistry | None = None,
    notify: Notify | None = None,
    umap_later: bool = False,
) -> Path:
    """Load the registered dataset ``spec.dataset_id``, train, analyse and write the bundle to run_dir.

    ``spec.val_dataset_id`` / ``spec.test_dataset_id``, when set, are loaded too and used as the
    validation / test set (:func:`mmcorr.data.split.stack_given_splits`), as ``mmcorr train
    --val-modality`` does with files.
    callbacks: objects with ``on_epoch_end(record) -> bool | None`` (True cancels the fit).
    checkpoint_dir / resume: where the trainer keeps resumable checkpoints, and whether to resume.
    notify: told each analysis step as it starts and ends (:class:`mmcorr.runs.steps.Steps`).
    umap_later: as :func:`train_and_bundle`.
    Returns ``run_dir``. Raises MmcorrError for bad specs or data, TrainingCancelled on cancel.
    """
    if registry is None:
        from mmcorr.data import DatasetRegistry

        registry = DatasetRegistry()
    ds = registry.load(spec.dataset_id)
    split: Split | None = None
    if spec.val_dataset_id is not None or spec.test_dataset_id is not None:
        from mmcorr.data.split import stack_given_splits

        val = None if spec.val_dataset_id is None else registry.load(spec.val_dataset_id)
        test = None if spec.test_dataset_id is None else registry.load(spec.test_dataset_id)
        flags = (f"validation dataset {spec.val_dataset_id!r}", f"test dataset {spec.test_dataset_id!r}")
        ds, split = stack_given_splits(ds, val, test, spec.data, flags=flags)
    return train_and_bundle(
        ds,
        spec,
        run_dir,
        callbacks=callbacks,
        checkpoint_dir=checkpoint_dir,
        resume=resume,
        notify=notify,
        umap_later=umap_later,
        split=split,
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


def _named(split: Split) -> dict[SplitName, np.ndarray]:
    return {SplitName.TRAIN: split.train, SplitName.VAL: split.val, SplitName.TEST: split.test}


def held_out_split(splits: dict[SplitName, np.ndarray]) -> SplitName:
    """The split the held-out figures come from: test, or validation when there is no test set."""
    return SplitName.TEST if splits[SplitName.TEST].size else SplitName.VAL


def _check_run_dir(run_dir: Path) -> None:
    if run_dir.exists():
        if run_dir.is_dir() and not any(run_dir.iterdir()):
            run_dir.rmdir()  # an empty placeholder is replaced by the finished bundle
            return
        raise MmcorrError(
            f"The run folder {str(run_dir)!r} already exists and is not empty. Choose a new output folder."
        )


def _fit(
    ds: PairedDataset,
    spec: JobSpec,
    splits: dict[SplitName, np.ndarray],
    callbacks: Sequence[Any],
    checkpoint_dir: Path | None,
    resume: bool,
) -> tuple[CorrelationModel, float]:
    from mmcorr.estimator import CorrelationModel  # torch loads here, not at import

    model = CorrelationModel.from_configs(spec.model, spec.train, spec.data)
    # The split subsets below copy the raw rows: check before them, so a dataset too large for
    # this machine fails the job with the sizes instead of a MemoryError (fit checks again).
    rows = len(splits[SplitName.TRAIN]) + len(splits[SplitName.VAL])
    model.check_memory(
        rows,
        ds.dims,
        copies=sum(rows_nbytes(ds.values[n], rows) for n in ds.names),
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


@dataclass(frozen=True)
class _Outputs:
    """Everything the bundle holds besides the model: computed in memory, then written at once."""

    metrics: RunMetrics
    latents: pd.DataFrame
    umap: pd.DataFrame | None  # None: skipped (the run's notes say why)
    feature_corr: pd.DataFrame
    prediction: pd.DataFrame
    similarity: SimilarityData


def _model_notes(history: list[dict[str, Any]]) -> dict[str, str]:
    """What the fit itself noted (model "auto"'s choice, dccae keeping linear CCA), for the run."""
    notes = [str(r["note"]) for r in history if r.get("note")]
    return {"model": "; ".join(notes)} if notes else {}


def _umap_note(spec: JobSpec, n_samples: int, later: bool) -> dict[str, str]:
    """The run note saying why there is no UMAP embedding (empty when there is one)."""
    mode = spec.analysis.umap
    if umap_wanted(mode, n_samples):
        return {UMAP_NOTE: UMAP_PENDING} if later else {}
    if mode == "off":
        return {UMAP_NOTE: "UMAP skipped: the run was trained with umap=off."}
    return {
        UMAP_NOTE: f"UMAP skipped: {n_samples} samples, fewer than the {UMAP_AUTO_MIN_SAMPLES} from "
        "which umap=auto embeds (its neighbour graph would span a third or more of them); train with "
        "--umap on to embed anyway."
    }


def _embed(
    ds: PairedDataset, latents: dict[str, np.ndarray], frame: pd.DataFrame, spec: JobSpec, steps: Steps
) -> pd.DataFrame | None:
    """umap.parquet's table, or None when the run's umap option and size skip it (see _umap_note)."""
    if not umap_wanted(spec.analysis.umap, ds.n_samples):
        return None
    steps.start("analysis UMAP")
    return artifacts.umap_frame(ds, latents, frame, spec)


def _analyse(
    ds: PairedDataset,
    spec: JobSpec,
    run_dir: Path,
    model: CorrelationModel,
    splits: dict[SplitName, np.ndarray],
    seconds: float,
    sources: dict[str, str] | None,
    steps: Steps,
    umap_later: bool,
) -> _Outputs:
    steps.start("encoding every sample")
    latents = model.transform(ds)
    split_col = np.empty(ds.n_samples, dtype=object)
    for name, rows in splits.items():
        split_col[rows] = name.value
    # Without a test set (test fraction 0) the held-out figures come from the validation split.
    held = held_out_split(splits)
    n_test = int(splits[SplitName.TEST].size)
    splits = {**splits, SplitName.TEST: splits[held]}
    frame = latents_frame(ds, latents, split_col)
    steps.start("analysis canonical correlations, retrieval and linear probe")
    results = compute_metrics(
        LatentSet.from_rows(ds, latents, splits[SplitName.TRAIN]),
        LatentSet.from_rows(ds, latents, splits[SplitName.TEST]),
        spec.analysis,
        # the post-hoc alignment is fitted on validation pairs unless they are the held-out ones
        val=None if held is SplitName.VAL else LatentSet.from_rows(ds, latents, splits[SplitName.VAL]),
        cca_reg=spec.model.cca_reg,
        true_correlations=ds.info.get("true_correlations"),
    )
    means = training_means(ds.subset(splits[SplitName.TRAIN]))
    steps.start("analysis cross-modal prediction")
    r2, r2_table, r2_base = prediction_metrics(model, ds.subset(splits[SplitName.TEST]), baseline=means)
    steps.start("analysis feature-by-feature correlations")
    fc, fc_notes = artifacts.feature_corr(ds, latents, splits, spec)
    details = RunDetails(
        name=spec.name or run_dir.name,
        dataset_id=spec.dataset_id,
        model=model.configs_[0].model,  # the family "auto" chose, or the one asked for
        latent_dim=spec.model.latent_dim,
        label_column=ds.label_column,
        n_samples=ds.n_samples,
        n_train=int(splits[SplitName.TRAIN].size),
        n_val=int(splits[SplitName.VAL].size),
        n_test=n_test,
        held_out_split=held.value,
        model_choice=choice_rows(getattr(model, "auto_", None)),
        train_seconds=round(seconds, 3),
        epochs_run=len(model.history_),
        seed=spec.train.seed,
        sources=sources or {},
        notes={
            **results.notes,
            **{f"feature_correlation {k}": v for k, v in fc_notes.items()},
            **_umap_note(spec, ds.n_samples, umap_later),
            **_model_notes(model.history_),
        },
    )
    metrics = RunMetrics(
        run=details,
        modalities=tuple(ds.names),
        results=results.held_out(r2, details.train_seconds, r2_base),
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        mmcorr_version=__version__,
        bundle_format=BUNDLE_FORMAT,
    )
    umap = None if umap_later else _embed(ds, latents, frame, spec, steps)
    steps.start("analysis sample similarity")
    similarity = artifacts.similarity(ds, latents, splits[SplitName.TEST])
    steps.end()
    return _Outputs(
        metrics=metrics,
        latents=frame,
        umap=umap,
        feature_corr=fc,
        prediction=r2_table,
        similarity=similarity,
    )


def train_and_bundle(
    ds: PairedDataset,
    spec: JobSpec,
    run_dir: Path,
    *,
    callbacks: Sequence[Any] = (),
    checkpoint_dir: Path | None = None,
    resume: bool = False,
    sources: dict[str, str] | None = None,
    notify: Notify | None = None,
    split: Split | None = None,
    umap_later: bool = False,
) -> Path:
    """Split ``ds`` (spec.data), fit the estimator, run every held-out analysis, write the bundle.

    ds: the paired dataset in raw units (at least two modalities).
    spec: every configuration; ``spec.dataset_id`` is recorded (use e.g. ``"files"`` for loose files).
    run_dir: the bundle folder to create; it must not exist (or be empty).
    sources: modality name -> file it came from, recorded in metrics.json.
    notify: told each step after the fit (every analysis, the bundle) as it starts and ends.
    split: the train / validation / test rows the user chose (e.g. from
    :func:`mmcorr.data.split.stack_given_splits`), instead of splitting by ``spec.data``.
    umap_later: write the bundle without the UMAP it would embed, noted as pending
    (:data:`mmcorr.runs.files.UMAP_PENDING`), for :func:`mmcorr.runs.embed.embed_run` to add.
    Returns ``run_dir``.
    """
    run_dir = Path(run_dir)
    if len(ds.names) < 2:
        raise MmcorrError(f"A run needs at least two modalities. Got {len(ds.names)}: {ds.names}.")
    _check_run_dir(run_dir)
    splits = split_dataset(ds, spec) if split is None else _named(split)
    model, seconds = _fit(ds, spec, splits, callbacks, checkpoint_dir, resume)
    steps = Steps(notify)
    out = _analyse(ds, spec, run_dir, model, splits, seconds, sources, steps, umap_later)
    steps.start("writing the run bundle")
    with atomic_dir(run_dir) as tmp:
        model.save(tmp)
        if not (tmp / BundleFile.HISTORY.value).exists():  # the estimator normally writes it
            raise MmcorrError("The estimator did not write history.jsonl into the bundle.")
        (tmp / BundleFile.SPEC.value).write_text(spec.to_json(), encoding="utf-8")
        write_frame(tmp, BundleFile.LATENTS, out.latents)
        if out.umap is not None:
            write_frame(tmp, BundleFile.UMAP, out.umap)
        write_frame(tmp, BundleFile.FEATURE_CORR, out.feature_corr)
        write_frame(tmp, BundleFile.PREDICTION_R2, out.prediction)
        write_similarity(tmp, out.similarity)
        # images / text / audio of the held-out samples: the dashboard's inspector, the report's gallery
        write_run_previews(tmp, ds, splits[held_out_split(splits)])
        write_metrics(tmp, out.metrics)
        write_report(tmp)
    steps.end()
    return run_dir
