"""The estimator's fitting steps around the trainer: closed-form families, the per-epoch validation
correlation, and the linear heads fitted after training (alignment and cross-modal ridge maps)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch

from mmcorr._cca import MIN_FIT_ROWS_PER_DIM, canonical_correlations, fit_cca, validation_fit_wins
from mmcorr.config import TrainConfig
from mmcorr.data._chunks import PCA_COV_MAX_D, START_BYTES, START_ROWS, chunk_rows
from mmcorr.estimator._batches import RowBatches
from mmcorr.estimator._data import latents
from mmcorr.losses import LossPart
from mmcorr.models import MultimodalModel
from mmcorr.models.heads import (
    LinearHeads,
    fit_alignment,
    fit_ridge_tuned,
    quick_cca,
)
from mmcorr.models.linear_start import blend_order
from mmcorr.training import Batches, Callback, Trainer, TrainingCancelled

__all__ = [
    "VAL_CORR_MIN_DELTA",
    "add_note",
    "fit_closed_form",
    "fit_heads",
    "train_module",
    "val_corr",
    "validation_rows",
]

# Training rows the per-epoch validation correlation fits its CCA on: a k x k CCA is well estimated
# from ~20k rows, and encoding fewer rows keeps this per-epoch work small next to the epoch's steps
# (2000 rows made it ~16% of a small-data fit).
_VAL_METRIC_MIN_ROWS = 512
_VAL_METRIC_ROWS_PER_DIM = 20
#: Early stopping on val_corr counts an epoch as better only when the mean validation canonical
#: correlation (in [0, 1]) rises by more than this: later gains of ~1e-3 per epoch move the
#: held-out correlation sum by < 0.1 while costing most of the epochs.
VAL_CORR_MIN_DELTA = 2e-3


def fit_closed_form(
    module: MultimodalModel, tr: RowBatches, va: RowBatches, callbacks: Sequence[Callback]
) -> list[dict[str, Any]]:
    """Fit a ``fits_in_closed_form`` family on the training rows (its one whole-set input: each
    modality's preprocessed rows as float64, built in row chunks); return its one-record history,
    which the callbacks see like an epoch (TrainingCancelled when one of them cancels)."""
    t0 = time.perf_counter()
    fit = module.fit_closed_form([tr.values[n].to_float64() for n in tr.names])
    zv = latents(module, va)
    a, b = tr.names[:2]
    val = canonical_correlations(zv[a], zv[b]) if va.n >= 2 else np.zeros(1)
    train_corr, val_sum = float(fit.correlations.sum()), float(val.sum())
    record: dict[str, Any] = {
        "epoch": 1,
        "epochs": 1,
        "train": {LossPart.CORR.value: train_corr, LossPart.TOTAL.value: -train_corr},
        "val": {LossPart.CORR.value: val_sum, LossPart.TOTAL.value: -val_sum},
        "val_corr": float(val.mean()),
        "seconds": time.perf_counter() - t0,
    }
    if any([bool(cb.on_epoch_end(record)) for cb in callbacks]):
        raise TrainingCancelled(1, [record])
    return [record]


def train_module(
    module: MultimodalModel,
    tcfg: TrainConfig,
    tr: RowBatches,
    va: RowBatches,
    callbacks: Sequence[Callback],
    checkpoint_dir: Path | None,
    resume: bool,
) -> list[dict[str, Any]]:
    """Train a gradient family with the :class:`~mmcorr.training.Trainer`, early stopping on what
    its ``early_stop_on`` names; return the history (one record per epoch). The trainer reads
    ``tr`` / ``va`` batch by batch, preprocessed as it goes (no whole-set copy)."""
    on_corr = module.early_stop_on == "val_corr"
    trainer = Trainer(
        tcfg,
        callbacks=callbacks,
        checkpoint_dir=checkpoint_dir,
        resume=resume,
        val_metric=lambda m: val_corr(m, tr, va),
        monitor="metric" if on_corr else "loss",
        min_delta=VAL_CORR_MIN_DELTA if on_corr else 0.0,
    )
    note = _initialise(module, tr)
    history = trainer.fit(module, tr, va)
    kept = _keep_better_start(module, tr, va, history)
    if history:
        add_note(history[0], note)
        add_note(history[-1], kept)
    return history


def add_note(record: dict[str, Any], text: str | None, *, first: bool = False) -> None:
    """Add ``text`` (if any) to a history record's ``note``, after what it says (``first``: before),
    joined by "; " (the run's notes show it)."""
    if not text:
        return
    if record.get("note"):
        text = f"{text}; {record['note']}" if first else f"{record['note']}; {text}"
    record["note"] = text


def _initialise(module: MultimodalModel, tr: RowBatches) -> str | None:
    """Let the family fit its closed-form fallback (dccae: linear CCA) on an evenly spaced subset
    of the fully paired training rows, bounded to ``START_BYTES`` of float64; skipped (None)
    for modalities wider than a covariance can hold, sparse ones (never densified beyond a batch)
    or too few rows."""
    widths = [tr.values[n].shape[1] for n in tr.names]
    full = np.flatnonzero(tr.fully_paired)
    if max(widths) > PCA_COV_MAX_D or len(full) < 3 or any(tr.values[n].sparse for n in tr.names):
        return None
    most = max(3, min(START_ROWS, START_BYTES // (8 * sum(widths))))
    if len(full) > most:
        full = full[np.linspace(0, len(full) - 1, most).astype(np.int64)]
    return module.initialise_from([np.asarray(tr.values[n][full], dtype=np.float64) for n in tr.names])


def _keep_better_start(
    module: MultimodalModel, tr: RowBatches, va: RowBatches, history: list[dict[str, Any]]
) -> str | None:
    """After training: keep the network, the closed-form fallback (linear CCA) or a blend of their
    directions, whichever scores highest on the validation pairs (a tie keeps the network; the
    fallback is kept when it at least equals the others, so dccae never ends below linear CCA
    there); a note when the network is not kept alone."""
    if not module.use_linear_start(True):
        return None
    best = max((float(r["val_corr"]) for r in history if r.get("val_corr") is not None), default=float("nan"))
    linear = val_corr(module, tr, va)
    module.use_linear_start(False)
    blended, n_linear = _blend(module, tr, va)
    network = best if np.isfinite(best) else -np.inf
    if np.isfinite(linear) and linear >= max(network, blended):
        module.use_linear_start(True)
        return (
            f"kept linear CCA: its validation correlation {linear:.3f} is at least the network's "
            f"best {best:.3f}"
        )
    if blended > network + VAL_CORR_MIN_DELTA:
        return (
            f"kept a blend of the network's and linear CCA's directions ({n_linear} of "
            f"{module.latent_dim} from linear CCA): validation correlation {blended:.3f} against the "
            f"network's {best:.3f}"
        )
    module.use_linear_start(False)
    return None


def _blend(module: MultimodalModel, tr: RowBatches, va: RowBatches) -> tuple[float, int]:
    """Blend the network's canonical directions and the fallback's (picked by
    :func:`~mmcorr.models.linear_start.blend_order`) and leave the module using the blend; returns
    its validation correlation and how many directions came from the fallback ((-inf, 0), module
    unchanged, with fewer than ``MIN_FIT_ROWS_PER_DIM`` fully paired validation pairs per latent
    dimension: too few to pick directions on)."""
    k = module.latent_dim
    rows_va = va.mask.all(dim=1).nonzero().flatten()
    rows_tr = tr.mask.all(dim=1).nonzero().flatten()
    if rows_va.numel() < MIN_FIT_ROWS_PER_DIM * k or rows_tr.numel() <= k:
        return -np.inf, 0
    rows_tr = _fit_rows(rows_tr, k)
    names = module.names
    deep_tr, deep_va = latents(module, tr, rows_tr), latents(module, va, rows_va)
    module.use_linear_start(True)
    lin_tr, lin_va = latents(module, tr, rows_tr), latents(module, va, rows_va)
    module.use_linear_start(False)
    # The network's directions as its own canonical variates (paired across modalities, like the
    # fallback's), so candidate j means the same direction in every modality.
    align = fit_cca([deep_tr[n] for n in names], k, reg=module.config.cca_reg)
    cands = {
        part: [np.hstack([(d[n] - align.means[i]) @ align.weights[i], lin[n]]) for i, n in enumerate(names)]
        for part, d, lin in (("tr", deep_tr, lin_tr), ("va", deep_va, lin_va))
    }
    picks = blend_order(cands["tr"], cands["va"], k)
    linear_mix, deep_mix = [np.zeros((k, k)) for _ in names], [np.zeros((k, k)) for _ in names]
    for j, c in enumerate(picks):
        for i in range(len(names)):
            if c < k:
                deep_mix[i][:, j] = align.weights[i][:, c]
            else:
                linear_mix[i][c - k, j] = 1.0
    module.blend_linear_start(linear_mix, deep_mix)
    return val_corr(module, tr, va), sum(c >= k for c in picks)


def _fit_rows(rows: torch.Tensor, k: int) -> torch.Tensor:
    """At most ``max(_VAL_METRIC_MIN_ROWS, _VAL_METRIC_ROWS_PER_DIM * k)`` of the training ``rows``
    that a k x k CCA is fitted on, evenly spaced, so data sorted by group is still covered."""
    most = max(_VAL_METRIC_MIN_ROWS, _VAL_METRIC_ROWS_PER_DIM * k)
    if rows.numel() <= most:
        return rows
    return rows[torch.linspace(0, rows.numel() - 1, most, device=rows.device).long()]


def val_corr(module: MultimodalModel, tr: Batches, va: Batches) -> float:
    """Mean held-out canonical correlation of the first two modalities: a linear CCA fitted on (a
    bounded, evenly spaced subset of) the training latents, applied to the validation latents."""
    a, b = module.names[:2]
    rows_tr = _fit_rows((tr.mask[:, 0] & tr.mask[:, 1]).nonzero().flatten(), module.latent_dim)
    rows_va = (va.mask[:, 0] & va.mask[:, 1]).nonzero().flatten()
    if rows_tr.numel() < 3 or rows_va.numel() < 2:
        return float("nan")
    zt, zv = latents(module, tr, rows_tr), latents(module, va, rows_va)
    ma, wa, mb, wb = quick_cca(zt[a], zt[b], reg=1e-3)
    return float(np.mean(canonical_correlations((zv[a] - ma) @ wa, (zv[b] - mb) @ wb)))


def fit_heads(module: MultimodalModel, tr: RowBatches, va: RowBatches | None = None) -> LinearHeads:
    """Alignment for ``align_after_fit`` families and ridge maps source latent -> target (for a
    family with decoders, a candidate beside them: :func:`mmcorr.estimator._predict.choose_paths`).

    The alignment is a linear CCA (ridge ``cca_reg``) of the validation latents when that scores
    higher on validation pairs out of sample than one of the training latents
    (:func:`mmcorr._cca.validation_fit_wins`), else of the training latents: a network that fits
    its training pairs near-perfectly makes every training direction look alike (correlation
    ~1.0), so pairs it did not train on rank the directions more honestly (issue 16;
    bench/RESULTS.md, "Post-hoc alignment"). Each ridge map's strength is chosen on the validation
    pairs when there are ``MIN_FIT_ROWS_PER_DIM * latent_dim`` of them, else
    :data:`~mmcorr.models.heads.RIDGE_ALPHA`.
    """
    heads = LinearHeads()
    names = module.names
    raw = latents(module, tr)
    raw_va = latents(module, va) if va is not None and va.n else None
    enough = MIN_FIT_ROWS_PER_DIM * module.latent_dim
    full = tr.fully_paired
    if module.align_after_fit and full.sum() >= 3:
        views = [_kept(raw[n], full) for n in names]
        if va is not None and raw_va is not None:
            val_views = [_kept(raw_va[n], va.fully_paired) for n in names]
            k = min(module.latent_dim, int(full.sum()) - 1)
            if validation_fit_wins(views, val_views, k, module.config.cca_reg):
                views = val_views
        heads.align = fit_alignment(names, views, module.latent_dim, module.config.cca_reg)
    for j, s in enumerate(names):
        zs = heads.aligned(s, raw.pop(s), inplace=True)  # the unaligned latents are not needed any more
        for i, t in enumerate(names):
            rows = tr.present[:, j] & tr.present[:, i]
            if s != t and rows.sum() >= 2:
                # The target's preprocessed rows, computed chunk by chunk as the ridge reads them.
                targets = None if rows.all() else np.flatnonzero(rows)
                val = _val_pairs(heads, va, raw_va, s, t, enough)
                y = cast(np.ndarray, tr.values[t])  # array-like: fit_ridge reads row chunks
                mz, coef, my, alpha = fit_ridge_tuned(_kept(zs, rows), y, targets, val)
                heads.ridge[(s, t)] = (mz, coef, my)
                heads.ridge_alpha[(s, t)] = alpha
    return heads


def _kept(x: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """The rows of ``x`` where ``keep`` (bool) is True; ``x`` itself, not a copy, when all are (the
    readers never modify it), so fully paired data costs no second (n, k) latent array."""
    return x if keep.all() else x[keep]


def _val_pairs(
    heads: LinearHeads,
    va: RowBatches | None,
    raw_va: dict[str, np.ndarray] | None,
    s: str,
    t: str,
    enough: int,
) -> tuple[np.ndarray, np.ndarray] | None:
    """(aligned source latents, target features) of the validation rows with both, or None if few.

    At most one float64 row chunk of the target (``chunk_rows``, evenly spaced): choosing a ridge
    strength from a short grid needs no more, and the ridge's error terms hold ~4 such arrays at
    once (0.9 GiB for 3,000 rows x 10,000 features before this bound)."""
    rows = validation_rows(va, s, t, enough)
    if va is None or rows is None or raw_va is None:
        return None
    return heads.aligned(s, raw_va[s][rows]), np.asarray(va.values[t][rows], dtype=np.float64)


def validation_rows(va: RowBatches | None, s: str, t: str, enough: int) -> np.ndarray | None:
    """Positions in ``va`` of the validation rows with both ``s`` and ``t`` that a choice made on
    them reads: evenly spaced, at most one float64 row chunk of the target (but at least
    ``enough``); None when there are fewer than ``enough`` (or 3)."""
    if va is None:
        return None
    rows = np.flatnonzero(va.present[:, va.names.index(s)] & va.present[:, va.names.index(t)])
    if len(rows) < max(enough, 3):
        return None
    most = max(chunk_rows(va.values[t].shape[1]), enough)
    if len(rows) > most:
        rows = rows[np.linspace(0, len(rows) - 1, most).astype(np.int64)]
    return rows
