"""The estimator's preparation steps: the memory check before a fit, the preprocessing fitted on
the training rows with the train / validation sets it gives, and the architecture's inputs (which
modalities get conv encoders, the user's custom encoders)."""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from mmcorr._memory import FitMemory, check_fit_memory
from mmcorr._validation import MmcorrError
from mmcorr.config import AUTO, DataConfig, ModelConfig, TrainConfig
from mmcorr.data.types import MediaSpec, PairedDataset
from mmcorr.estimator._batches import RowBatches
from mmcorr.estimator._data import training_rows
from mmcorr.models import MODEL_REGISTRY, MultimodalModel, get_model_class

if TYPE_CHECKING:
    import torch

    from mmcorr.data.preprocess import Preprocessor

__all__ = ["architecture", "check_memory", "copy_encoders", "preprocess"]


def check_memory(
    configs: tuple[ModelConfig, TrainConfig, DataConfig],
    n_samples: int,
    dims: Mapping[str, int],
    *,
    copies: int = 0,
) -> FitMemory:
    mcfg, _, dcfg = configs
    # "auto" fits the candidates one at a time: the check is the most demanding family's.
    families = MODEL_REGISTRY.values() if mcfg.model == AUTO else [get_model_class(mcfg.model)]
    # gaussianize "auto" maps the inputs only when model auto turns it on: count it when it may.
    mapped = dcfg.gaussianize_on or (dcfg.gaussianize == "auto" and mcfg.model == AUTO)
    estimates = [
        check_fit_memory(
            n_samples,
            dims,
            pca_dim=dcfg.pca_dim,
            hidden=mcfg.hidden,
            latent_dim=mcfg.latent_dim,
            ridge_heads=True,  # every family fits the tuned ridge maps (decoders compete with them)
            copies=copies,
            closed_form=family.fits_in_closed_form,
            gaussianize=mapped,
        )
        for family in families
    ]
    return max(estimates, key=lambda m: m.total)


#: Below this many training rows the rank-Gaussian map's quantiles are coarse (the 40-sample
#: benchmark, ~25 training rows: dccae 6.47 -> 5.77 with it, bench/RESULTS.md "Frontier"); the
#: fit says so in its history, hence in the run's notes.
COARSE_QUANTILE_ROWS = 100


def preprocessing_note(data: DataConfig, n_train: int) -> str | None:
    """What a fit notes about its preprocessing (None: nothing): a coarse rank-Gaussian map."""
    if not data.gaussianize_on or n_train >= COARSE_QUANTILE_ROWS:
        return None
    return (
        f"gaussianize: its quantiles come from {n_train} training rows (fewer than "
        f"{COARSE_QUANTILE_ROWS}), so the rank-Gaussian map is coarse; on 40 samples it lowered "
        "dccae's held-out correlation (bench/RESULTS.md, Frontier): compare a fit without it"
    )


def preprocess(
    train: PairedDataset,
    validation: PairedDataset | None,
    family: type[MultimodalModel],
    configs: tuple[ModelConfig, TrainConfig, DataConfig],
    device: torch.device,
) -> tuple[Preprocessor, RowBatches, RowBatches]:
    """Fit the preprocessing on the training rows; return it and the train / validation rows as
    :class:`RowBatches` on ``device``.

    The splits are row indices into the caller's arrays: the preprocessor reads those rows in chunks
    to fit, and each batch is preprocessed when it is read, so neither a raw nor a preprocessed copy
    of the data is ever made.
    """
    from mmcorr.data.preprocess import Preprocessor

    mcfg, tcfg, dcfg = configs
    tr_rows, va_src, va_rows = training_rows(
        train, validation, family, k=mcfg.latent_dim, seed=tcfg.seed, val_fraction=dcfg.val_fraction
    )
    pre = Preprocessor.from_config(dcfg).fit(train, rows=tr_rows)
    return pre, RowBatches(train, pre, device, tr_rows), RowBatches(va_src, pre, device, va_rows)


def architecture(
    media: Mapping[str, MediaSpec], out_dims: Mapping[str, int], custom: Mapping[str, Any]
) -> tuple[dict[str, tuple[int, ...]], dict[str, str]]:
    """(shapes, kinds) for the model: every raw modality whose preprocessed width is still its
    tensor's size (image / audio rows get conv encoders over that grid). A modality whose features
    preprocessing reduced (e.g. PCA) is no grid any more and keeps the MLP; a MmcorrError when it
    has a custom encoder (``custom``: name -> module), which expects the grid."""
    keep = {n: m for n, m in media.items() if n in out_dims and math.prod(m.shape) == out_dims[n]}
    for n in custom:
        if n in media and n not in keep:
            raise MmcorrError(
                f"The custom encoder of modality '{n}' needs its {media[n].shape} values per sample, "
                f"but preprocessing left {out_dims.get(n)} features. Fit without 'pca_dim' for it."
            )
    return {n: tuple(m.shape) for n, m in keep.items()}, {n: str(m.kind) for n, m in keep.items()}


def copy_encoders(encoders: Any) -> dict[str, Any]:
    """A deep copy of the ``encoders`` parameter (name -> torch module), so that training the
    estimator never changes the modules the user passed (a refit starts from their weights again)."""
    if encoders is None:
        return {}
    if not isinstance(encoders, Mapping):
        raise MmcorrError(
            "The 'encoders' parameter must be a dict of modality name -> torch.nn.Module. "
            f"Got {type(encoders).__name__} instead."
        )
    return {str(n): copy.deepcopy(m) for n, m in encoders.items()}
