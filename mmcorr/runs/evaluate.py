"""Held-out metrics of a finished run on new paired data (``mmcorr evaluate``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from mmcorr._validation import MmcorrError
from mmcorr.config import AnalysisConfig
from mmcorr.data import JOINT, PairedDataset
from mmcorr.runs.bundle import latents_from_frame, read_latents, read_metrics, read_spec
from mmcorr.runs.files import SPLIT_COLUMN, SplitName
from mmcorr.runs.metrics import LatentSet, compute_metrics, prediction_metrics
from mmcorr.runs.schema import Evaluation

if TYPE_CHECKING:
    from mmcorr.estimator import CorrelationModel

__all__ = ["evaluate_run"]


def evaluate_run(
    run_dir: Path,
    model: CorrelationModel,
    ds: PairedDataset,
    *,
    modalities: list[str] | None = None,
    permutations: int = 100,
    seed: int = 0,
) -> Evaluation:
    """Held-out metrics of a finished run on new paired data ``ds`` (raw units, the model's modalities).

    The linear CCA of the canonical-correlation test is fitted on the run's own validation latents
    (its training latents when the run had too few validation pairs) and the linear probe on its
    training latents (latents.parquet), as in the run itself, so the new samples play the part of
    the test split.
    modalities: the modalities of ``ds`` to measure between (default: all).
    permutations: rounds of the shuffled-pairing null (0-100,000). seed: seeds the null and the probe.
    """
    names = list(ds.names) if modalities is None else list(modalities)
    if len(names) < 2:
        raise MmcorrError(f"Evaluation needs at least two modalities. Got {names}.")
    spec = read_spec(run_dir)
    frame = read_latents(run_dir)
    train_frame = frame[frame[SPLIT_COLUMN] == SplitName.TRAIN.value]
    val_frame = frame[frame[SPLIT_COLUMN] == SplitName.VAL.value]
    label_col = read_metrics(run_dir).run.label_column
    train_labels = train_frame[label_col].to_numpy() if label_col in train_frame.columns else None
    keys = [*names, JOINT]
    train_set = LatentSet(
        names, {k: latents_from_frame(train_frame, k).astype(np.float64) for k in keys}, train_labels
    )
    val_labels = val_frame[label_col].to_numpy() if label_col in val_frame.columns else None
    val_set = LatentSet(
        names, {k: latents_from_frame(val_frame, k).astype(np.float64) for k in keys}, val_labels
    )
    latents = model.transform(ds)
    test_set = LatentSet(names, {k: np.asarray(latents[k], dtype=np.float64) for k in keys}, ds.labels)
    cfg = AnalysisConfig(permutations=permutations, seed=seed)
    results = compute_metrics(train_set, test_set, cfg, val=val_set, cca_reg=spec.model.cca_reg)
    r2, _, _ = prediction_metrics(model, ds, names)
    return Evaluation(
        run=str(run_dir),
        n_samples=ds.n_samples,
        modalities=tuple(names),
        results=results.held_out(r2),
        notes=results.notes,
    )
