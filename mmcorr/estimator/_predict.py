"""Cross-modal prediction: the ridge map from the aligned source latent, or the target's decoder
applied to the source's latent, whichever predicts the validation pairs better (issue 15 goal 6).

A family with decoders (``builds_decoders``) offers both. The ridge's strength is already chosen on
the validation pairs (:func:`mmcorr.models.heads.fit_ridge_tuned`); here, per ordered direction,
both candidates predict the same validation pairs, their R^2 is taken in the target's original
units (variance weighted: the share of the target's total variance explained, as the run headlines
report it) and the better one is kept in :attr:`LinearHeads.choice` (saved with the model). Without
enough validation pairs the family's default stays: the decoder for a ``cross_decoder`` family
(whose shared latent decodes to any modality), the ridge map otherwise.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch

from mmcorr._cca import MIN_FIT_ROWS_PER_DIM
from mmcorr.estimator._data import latents
from mmcorr.estimator._fit import validation_rows
from mmcorr.models import MultimodalModel
from mmcorr.models.heads import DECODER, RIDGE, LinearHeads, PredictionChoice, PredictionPath
from mmcorr.training import Batches

if TYPE_CHECKING:
    from mmcorr.data.preprocess import Preprocessor
    from mmcorr.estimator._batches import RowBatches

__all__ = ["choose_path", "choose_paths", "prediction_path", "predict_preprocessed", "variance_r2"]


def variance_r2(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """``1 - sum SS_res / sum SS_tot`` over the features of (n, d) arrays (scikit-learn's
    ``r2_score(multioutput="variance_weighted")``, :func:`mmcorr.analysis.prediction_r2`'s
    ``"variance"``); NaN for a constant target."""
    ss_tot = float(((y_true - y_true.mean(axis=0)) ** 2).sum())
    ss_res = float(((y_true - y_pred) ** 2).sum())
    return 1.0 - ss_res / ss_tot if ss_tot > 0 else float("nan")


def choose_path(y_true: np.ndarray, ridge: np.ndarray, decoder: np.ndarray) -> PredictionChoice:
    """The decoder when its validation R^2 (:func:`variance_r2`) is strictly higher than the
    ridge's, else the ridge (ties and NaN keep the linear map). All arrays (n, d), same units."""
    r2_ridge, r2_decoder = variance_r2(y_true, ridge), variance_r2(y_true, decoder)
    better = np.isfinite(r2_decoder) and (not np.isfinite(r2_ridge) or r2_decoder > r2_ridge)
    return PredictionChoice(DECODER if better else RIDGE, r2_ridge, r2_decoder)


def prediction_path(module: MultimodalModel, heads: LinearHeads, source: str, target: str) -> PredictionPath:
    """The path ``predict`` takes for (source, target): the stored choice, else the family's
    default (models saved before the choice existed: the decoder for ``cross_decoder`` families,
    the ridge map otherwise), falling back to whichever of the two the model has."""
    found = heads.choice.get((source, target))
    path: PredictionPath = found.path if found else (DECODER if module.cross_decoder else RIDGE)
    if path == RIDGE and (source, target) not in heads.ridge:
        return DECODER
    if path == DECODER and target not in module.decoders:
        return RIDGE
    return path


@torch.no_grad()
def predict_preprocessed(
    module: MultimodalModel,
    heads: LinearHeads,
    data: Batches,
    source: str,
    target: str,
    path: PredictionPath,
    rows: torch.Tensor | None = None,
) -> np.ndarray:
    """Target's preprocessed features (n, d_t) float64 predicted from ``source`` along ``path``, for
    every row of ``data`` (or its ``rows``, positions). The decoder reads the source's own latent;
    the ridge its aligned latent."""
    return _from_latent(module, heads, latents(module, data, rows)[source], source, target, path)


@torch.no_grad()
def _from_latent(
    module: MultimodalModel, heads: LinearHeads, z: np.ndarray, source: str, target: str, path: PredictionPath
) -> np.ndarray:
    if path == RIDGE:
        return heads.predict(source, target, heads.aligned(source, z))
    if not len(z):
        return np.zeros((0, module.dims[target]))
    device = next(iter(module.parameters())).device
    module.eval()
    zt = torch.as_tensor(z, dtype=torch.float32, device=device)
    return module.decode(zt, target).double().cpu().numpy()


def choose_paths(
    module: MultimodalModel, heads: LinearHeads, pre: Preprocessor, va: RowBatches | None
) -> None:
    """Fill ``heads.choice`` for each direction with a ridge map, when the family has decoders and
    the validation set has ``MIN_FIT_ROWS_PER_DIM * latent_dim`` pairs of it (the rows of
    :func:`~mmcorr.estimator._fit.validation_rows`). R^2 is in original units against the
    validation targets mapped back by ``pre.inverse_transform`` (the raw values, up to what PCA or
    TF-IDF normalisation dropped), so both candidates meet the same reference."""
    if not module.builds_decoders:
        return
    enough = MIN_FIT_ROWS_PER_DIM * module.latent_dim
    for s, t in list(heads.ridge):
        rows = validation_rows(va, s, t, enough)
        if va is None or rows is None or t not in module.decoders:
            continue
        z = latents(module, va, torch.as_tensor(rows))[s]
        truth = pre.inverse_transform(t, np.asarray(va.values[t][rows], dtype=np.float64))
        pred = {
            p: pre.inverse_transform(t, _from_latent(module, heads, z, s, t, p)) for p in (RIDGE, DECODER)
        }
        heads.choice[(s, t)] = choose_path(truth, pred[RIDGE], pred[DECODER])
