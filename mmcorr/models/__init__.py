"""Model families behind one contract (:class:`MultimodalModel`) and a name -> class registry.

Importing this package imports torch; the dashboard pages never do.
"""

from __future__ import annotations

from mmcorr.models.ae import JointAutoencoder
from mmcorr.models.base import EarlyStopOn, MultimodalModel, check_modalities, drop_modalities, masked_mean
from mmcorr.models.cca import LinearCCA
from mmcorr.models.conv import CONV_KINDS, make_conv_decoder, make_conv_encoder, wrap_encoder
from mmcorr.models.corrae import CorrelationalAutoencoder
from mmcorr.models.dccae import DeepCCAE
from mmcorr.models.mlp import ACTIVATIONS, make_mlp
from mmcorr.models.mvae import MultimodalVAE, product_of_experts
from mmcorr.models.registry import MODEL_REGISTRY, get_model_class

__all__ = [
    "ACTIVATIONS",
    "CONV_KINDS",
    "MODEL_REGISTRY",
    "CorrelationalAutoencoder",
    "DeepCCAE",
    "EarlyStopOn",
    "JointAutoencoder",
    "LinearCCA",
    "MultimodalModel",
    "MultimodalVAE",
    "check_modalities",
    "drop_modalities",
    "get_model_class",
    "make_conv_decoder",
    "make_conv_encoder",
    "make_mlp",
    "masked_mean",
    "product_of_experts",
    "wrap_encoder",
]
