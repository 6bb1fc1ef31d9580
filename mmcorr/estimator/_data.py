"""The estimator's data handling: input checks, the training rows, tensors and latents.

Everything works on row indices and chunks, never on per-sample Python loops or whole raw copies.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from mmcorr._validation import MmcorrError, check_choice
from mmcorr.data._chunks import EVAL_ROWS
from mmcorr.data.types import JOINT, PairedDataset
from mmcorr.models import MultimodalModel
from mmcorr.training import Batches, TensorData

__all__ = [
    "holdout_rows",
    "CHUNK",
    "LATENT_BYTES",
    "check_dataset",
    "check_kind",
    "conform",
    "latents",
    "training_rows",
    "to_tensors",
    "with_joint",
]

#: Most rows encoded per forward pass when computing latents (bounded memory on big data).
CHUNK = EVAL_ROWS
#: Target bytes of one latents chunk's float32 inputs (all modalities): wide data takes fewer rows.
LATENT_BYTES = 64 * 2**20


def check_kind(ds: Any, what: str) -> None:
    """``ds`` is a PairedDataset with at least two modalities (the ``what`` data)."""
    if not isinstance(ds, PairedDataset):
        raise MmcorrError(f"The '{what}' data must be a PairedDataset. Got {type(ds).__name__} instead.")
    if len(ds.names) < 2:
        raise MmcorrError(f"The '{what}' data must have at least 2 modalities to relate. Got {ds.names}.")


def check_dataset(ds: Any, what: str) -> None:
    """:func:`check_kind`, and no NaN or infinite value in a present row (naming the first sample)."""
    check_kind(ds, what)
    for j, n in enumerate(ds.names):
        values = ds.values[n]
        if hasattr(values, "tocsr"):  # sparse: only stored values can be non-finite
            _check_sparse(values, ds, j, n, what)
            continue
        # Row chunks of ~32 MiB of booleans: no copy of the present rows, bounded temporaries.
        step = max(1, 2**25 // max(values.shape[1], 1))
        for s in range(0, ds.n_samples, step):
            bad = ~np.isfinite(values[s : s + step]).all(axis=1) & ds.mask[s : s + step, j]
            if bad.any():
                raise MmcorrError(
                    f"The modality '{n}' of the '{what}' data contains NaN or infinite values "
                    f"(first at sample {ds.ids[s + int(np.argmax(bad))]!r}); "
                    "load it with nan='impute' or drop those samples."
                )


def _check_sparse(values: Any, ds: PairedDataset, j: int, name: str, what: str) -> None:
    csr = values.tocsr()
    row_of = np.repeat(np.arange(csr.shape[0]), np.diff(csr.indptr))
    bad = ~np.isfinite(csr.data) & ds.mask[row_of, j]
    if bad.any():
        raise MmcorrError(
            f"The modality '{name}' of the '{what}' data contains NaN or infinite values "
            f"(first at sample {ds.ids[row_of[int(np.argmax(bad))]]!r}); drop those samples."
        )


def holdout_rows(n: int, *, val_fraction: float, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(train rows, validation rows), sorted: a ``val_fraction`` share of ``n`` rows (at least
    k + 2) chosen with ``seed``, as every fit without a validation set holds out."""
    order = np.random.default_rng(seed).permutation(n)
    n_val = max(round(val_fraction * n), k + 2)
    if n - n_val < k + 2:
        raise MmcorrError(
            f"The training data has {n} samples: too few to hold out a validation set and fit a "
            f"{k}-dimensional latent. Give at least {2 * (k + 2)} samples or lower 'latent_dim'."
        )
    return np.sort(order[n_val:]), np.sort(order[:n_val])


def training_rows(
    train: PairedDataset,
    validation: PairedDataset | None,
    family: type[MultimodalModel],
    *,
    k: int,
    seed: int,
    val_fraction: float,
) -> tuple[np.ndarray, PairedDataset, np.ndarray]:
    """(train rows, validation source, validation rows) as sorted row indices.

    Without ``validation``, a ``val_fraction`` share of ``train`` (chosen with ``seed``) is held out.
    Families that ``needs_full_pairs`` keep only the rows present in every modality.
    """
    tr_rows: np.ndarray = np.arange(train.n_samples)
    if validation is None:
        tr_rows, va_rows = holdout_rows(train.n_samples, val_fraction=val_fraction, k=k, seed=seed)
        va_src = train
    else:
        va_src, va_rows = validation, np.arange(validation.n_samples)
    if va_src.names != train.names:
        raise MmcorrError(
            f"The validation data must have the modalities {train.names} in that order. Got {va_src.names}."
        )
    if family.needs_full_pairs:
        tr_rows = tr_rows[train.fully_paired[tr_rows]]
        va_rows = va_rows[va_src.fully_paired[va_rows]]
        if len(tr_rows) < k + 2 or len(va_rows) < 2:
            raise MmcorrError(
                f"Model '{family.name}' trains on samples present in every modality; only "
                f"{len(tr_rows)} training and {len(va_rows)} validation samples are. "
                "Use 'ae' or 'mvae' for partially paired data."
            )
    return tr_rows, va_src, va_rows


def conform(
    ds: Any,
    names: list[str],
    dims: dict[str, int],
    features: dict[str, list[str]],
    modalities: Sequence[str] | None,
) -> tuple[list[str], PairedDataset]:
    """Check ``ds`` against the fitted modalities; return the used names and a raw dataset of every
    fitted modality (``names`` order) where the unused or absent ones have mask False (their rows
    read as zeros once preprocessed, :class:`~mmcorr.estimator._batches.RowBatches`). Dense
    float32 values are the caller's own arrays, not copies."""
    if not isinstance(ds, PairedDataset):
        raise MmcorrError(f"Expected a PairedDataset. Got {type(ds).__name__} instead.")
    use = list(modalities) if modalities is not None else [n for n in names if n in ds.names]
    for n in use:
        check_choice("modality", n, names)
        if n not in ds.names:
            raise MmcorrError(f"The modality '{n}' is not in the given data (it has {ds.names}).")
        d = ds.values[n].shape[1]
        if d != dims[n]:
            raise MmcorrError(
                f"The modality '{n}' must have {dims[n]} features like the training data. Got {d}."
            )
    if not use:
        raise MmcorrError(f"The data shares no modality with the model (model: {names}; data: {ds.names}).")
    n_rows = ds.n_samples
    mask = np.zeros((n_rows, len(names)), dtype=bool)
    values: dict[str, np.ndarray] = {}
    for j, name in enumerate(names):
        if name not in use:  # never read (mask False): a view of one zero row
            values[name] = np.broadcast_to(np.zeros((1, dims[name]), dtype=np.float32), (n_rows, dims[name]))
            continue
        mask[:, j] = ds.mask[:, ds.names.index(name)]
        raw: Any = ds.values[name]
        if hasattr(raw, "tocsr"):  # sparse: zero the absent rows without densifying
            import scipy.sparse as sp

            csr = sp.diags(mask[:, j].astype(np.float32)) @ raw.tocsr().astype(np.float32)
            if not np.isfinite(csr.data).all():
                raise MmcorrError(
                    f"The modality '{name}' contains NaN or infinite values; impute or drop them."
                )
            values[name] = csr.tocsr()
            continue
        # float32 as in training (no copy when it already is); absent rows are never read, so they
        # need no zeroing copy, and the finiteness check reads row chunks of the present ones.
        vals = np.asarray(ds.values[name], dtype=np.float32)
        step = max(1, 2**25 // max(vals.shape[1], 1))
        for s in range(0, n_rows, step):
            if not np.isfinite(vals[s : s + step][mask[s : s + step, j]]).all():
                raise MmcorrError(
                    f"The modality '{name}' contains NaN or infinite values; impute or drop them."
                )
        values[name] = vals
    full = PairedDataset(
        names=list(names),
        values=values,
        features={m: list(features[m]) for m in names},
        ids=np.asarray(ds.ids),
        mask=mask,
        media={m: ds.media[m] for m in names if m in ds.media},
    )
    return use, full


def to_tensors(ds: PairedDataset, device: torch.device) -> TensorData:
    """Preprocessed values and mask as float32 / bool tensors on ``device`` (the whole-set form of
    :class:`~mmcorr.estimator._batches.RowBatches`; shares memory with float32 arrays on the CPU)."""
    xs = {
        n: torch.as_tensor(np.ascontiguousarray(ds.values[n], dtype=np.float32), device=device)
        for n in ds.names
    }
    return TensorData(xs, torch.as_tensor(ds.mask, dtype=torch.bool, device=device))


def _chunks(module: MultimodalModel, data: Batches, rows: torch.Tensor | None) -> list[torch.Tensor]:
    """Row positions to encode, split so that one chunk's float32 inputs stay near LATENT_BYTES
    (at most CHUNK rows): a wide modality's 8192-row batch alone would be 312 MiB at 10,000 features."""
    idx = torch.arange(data.n) if rows is None else rows
    step = min(CHUNK, max(256, LATENT_BYTES // (4 * max(sum(module.dims.values()), 1))))
    return list(torch.split(idx, step))


@torch.no_grad()
def latents(
    module: MultimodalModel, data: Batches, rows: torch.Tensor | None = None
) -> dict[str, np.ndarray]:
    """Each modality's raw model latent for every row of ``data`` (or its ``rows``, positions),
    (n, k) float64, encoded in bounded chunks straight into the result (no concatenated copy)."""
    module.eval()
    n = data.n if rows is None else int(rows.numel())
    out = {name: np.empty((n, module.latent_dim)) for name in module.names}
    start = 0
    for idx in _chunks(module, data, rows):
        for name, z in module.encode(data.batch(idx).xs).items():
            out[name][start : start + len(idx)] = z.double().cpu().numpy()
        start += len(idx)
    return out


@torch.no_grad()
def joint_latent(module: MultimodalModel, data: Batches) -> np.ndarray:
    """The model's own fused latent (n, k) float64 (:meth:`MultimodalModel.encode_joint`), chunked."""
    out = np.empty((data.n, module.latent_dim))
    start = 0
    for idx in _chunks(module, data, None):
        part = data.batch(idx)
        out[start : start + len(idx)] = module.encode_joint(part.xs, part.mask).double().cpu().numpy()
        start += len(idx)
    return out


def with_joint(
    aligned: dict[str, np.ndarray], joint: np.ndarray | None, use: list[str], mask: np.ndarray
) -> dict[str, np.ndarray]:
    """What ``transform`` returns: each modality of ``use`` -> its aligned latent (n, k) float32,
    NaN rows where ``mask`` (n, len(use)) says it is absent, and ``JOINT`` -> the model's own fused
    latent (``joint``) or, when None, the mean of the present modalities' latents; NaN where none is."""
    out: dict[str, np.ndarray] = {}
    for j, n in enumerate(use):
        z = aligned[n].astype(np.float32)
        z[~mask[:, j]] = np.nan
        out[n] = z
    if joint is None:
        stack = np.stack([np.nan_to_num(out[n]) for n in use], axis=1)
        joint = (stack * mask[:, :, None]).sum(axis=1) / np.maximum(mask.sum(axis=1), 1)[:, None]
    joint = joint.astype(np.float32)
    joint[~mask.any(axis=1)] = np.nan
    out[JOINT] = joint
    return out
