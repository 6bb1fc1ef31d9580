"""Model name (``ModelConfig.model``) -> model family class."""

from __future__ import annotations

from mmcorr._validation import check_choice
from mmcorr.models.ae import JointAutoencoder
from mmcorr.models.base import MultimodalModel
from mmcorr.models.cca import LinearCCA
from mmcorr.models.corrae import CorrelationalAutoencoder
from mmcorr.models.dccae import DeepCCAE
from mmcorr.models.mvae import MultimodalVAE

__all__ = ["MODEL_REGISTRY", "get_model_class"]

#: Each family under its own ``name`` (the names of ``mmcorr.config.ModelName``).
MODEL_REGISTRY: dict[str, type[MultimodalModel]] = {
    cls.name: cls for cls in (LinearCCA, JointAutoencoder, CorrelationalAutoencoder, DeepCCAE, MultimodalVAE)
}


def get_model_class(name: str) -> type[MultimodalModel]:
    """The class registered under ``name``; a MmcorrError lists the known names otherwise."""
    return MODEL_REGISTRY[check_choice("model", name, MODEL_REGISTRY)]
