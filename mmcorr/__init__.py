"""mmcorr: learn how paired data modalities relate.

Autoencoder-family models (joint multimodal autoencoder, correlational autoencoder, deep CCA with
autoencoders, multimodal VAE) map every modality into one shared latent space; regularised linear
CCA is the baseline. Heavy modules (torch) load lazily, so ``import mmcorr`` stays cheap for the
dashboard pages.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mmcorr._validation import DataError, MmcorrError
from mmcorr._version import __version__
from mmcorr.config import AnalysisConfig, DataConfig, JobSpec, ModelConfig, TrainConfig

if TYPE_CHECKING:
    from mmcorr.estimator import CorrelationModel

__all__ = [
    "AnalysisConfig",
    "CorrelationModel",
    "DataConfig",
    "DataError",
    "JobSpec",
    "MmcorrError",
    "ModelConfig",
    "TrainConfig",
    "__version__",
]


def __getattr__(name: str) -> Any:
    # Lazy: the estimator pulls in torch, which the dashboard pages must never import.
    if name == "CorrelationModel":
        from mmcorr.estimator import CorrelationModel

        return CorrelationModel
    raise AttributeError(f"module 'mmcorr' has no attribute {name!r}")
