"""The estimator's preparation steps: the memory check before a fit, and the preprocessing fitted on
the training rows with the train / validation sets it gives."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from mmcorr._memory import FitMemory, check_fit_memory
from mmcorr.config import DataConfig, ModelConfig, TrainConfig
from mmcorr.data.types import PairedDataset
from mmcorr.estimator._data import training_rows
from mmcorr.models import MultimodalModel, get_model_class

if TYPE_CHECKING:
    from mmcorr.data.preprocess import Preprocessor

__all__ = ["check_memory", "preprocess"]


def check_memory(
    configs: tuple[ModelConfig, TrainConfig, DataConfig],
    n_samples: int,
    dims: Mapping[str, int],
    *,
    copies: int = 0,
) -> FitMemory:
    mcfg, _, dcfg = configs
    return check_fit_memory(
        n_samples,
        dims,
        pca_dim=dcfg.pca_dim,
        hidden=mcfg.hidden,
        latent_dim=mcfg.latent_dim,
        ridge_heads=not get_model_class(mcfg.model).cross_decoder,
        copies=copies,
    )


def preprocess(
    train: PairedDataset,
    validation: PairedDataset | None,
    family: type[MultimodalModel],
    configs: tuple[ModelConfig, TrainConfig, DataConfig],
) -> tuple[Preprocessor, PairedDataset, PairedDataset]:
    """Fit the preprocessing on the training rows; return it and the preprocessed train / validation.

    The splits are row indices into the caller's arrays: the preprocessor reads those rows in chunks
    and writes the float32 results, so no raw copy of the data is ever made.
    """
    from mmcorr.data.preprocess import Preprocessor

    mcfg, tcfg, dcfg = configs
    tr_rows, va_src, va_rows = training_rows(
        train, validation, family, k=mcfg.latent_dim, seed=tcfg.seed, val_fraction=dcfg.val_fraction
    )
    pre = Preprocessor.from_config(dcfg).fit(train, rows=tr_rows)
    return pre, pre.transform(train, rows=tr_rows), pre.transform(va_src, rows=va_rows)
