"""The one contract every model family implements, so the trainer and estimator know none of them.

The base builds what the deep families share: one MLP encoder and one MLP decoder per modality,
from :class:`~mmcorr.config.ModelConfig`. A family declares what it needs (class attributes below)
and overrides the hooks where it differs; the estimator reads the hooks and never checks a type.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar, Literal

import numpy as np
import torch
from torch import Tensor, nn

from mmcorr._cca import CCAFit
from mmcorr.config import ModelConfig
from mmcorr.losses import LossOutput
from mmcorr.models.mlp import make_mlp

__all__ = ["EarlyStopOn", "MultimodalModel", "drop_modalities", "masked_mean"]

#: What early stopping watches: the validation loss, or the held-out canonical correlation of a
#: linear CCA fitted on training latents (``"val_corr"``).
EarlyStopOn = Literal["loss", "val_corr"]


class MultimodalModel(nn.Module):
    """Base class: per-modality encoders into one latent space of size k, and a batch loss.

    Inputs everywhere are ``xs``: modality name -> float tensor (n, d_name) of preprocessed values
    (rows of absent modalities are zeros and ignored) and ``mask``: bool tensor (n, M), True where
    sample i has modality j (columns in ``names`` order).

    What a family declares (class attributes; the defaults suit an MLP autoencoder):

    ``name``: the family's name in ``ModelConfig.model`` (the registry key).
    ``encoder_outputs``: the base builds ``encoders[name]``: (n, d) -> (n, encoder_outputs * k)
    (2 for a Gaussian expert's mean and log-variance); 0 builds no encoders.
    ``builds_decoders``: the base builds ``decoders[name]``: (n, k) -> (n, d), hidden sizes mirrored.
    ``needs_full_pairs``: trains only on samples present in every modality (the estimator filters).
    ``fits_in_closed_form``: fitted by :meth:`fit_closed_form` instead of the gradient trainer.
    ``cross_decoder``: :meth:`decode` maps the shared latent to any modality, so cross-modal
    prediction decodes; otherwise the estimator fits a ridge map from aligned latents.
    ``align_after_fit``: the per-modality latents live in different bases (CCA-type objectives);
    the estimator fits a linear CCA on the training latents so that ``transform`` returns aligned
    canonical variates.
    ``early_stop_on``: what the estimator's early stopping watches (:data:`EarlyStopOn`).

    Hooks a family may override: :meth:`check_dims` (constraints on k given the preprocessed
    widths), :meth:`fit_closed_form`, :meth:`encode`, :meth:`encode_joint`, :meth:`decode`, and
    :meth:`loss` (which every trained family defines).
    """

    name: ClassVar[str] = ""
    encoder_outputs: ClassVar[int] = 1
    builds_decoders: ClassVar[bool] = True
    needs_full_pairs: ClassVar[bool] = True
    fits_in_closed_form: ClassVar[bool] = False
    cross_decoder: ClassVar[bool] = False
    align_after_fit: ClassVar[bool] = False
    early_stop_on: ClassVar[EarlyStopOn] = "loss"

    def __init__(self, names: list[str], dims: Mapping[str, int], config: ModelConfig) -> None:
        super().__init__()
        self.names = list(names)
        self.dims = {n: int(dims[n]) for n in self.names}
        self.config = config
        self.latent_dim = config.latent_dim
        k = self.latent_dim
        # Encoders before decoders: the order fixes which draws of the seeded RNG each layer gets.
        self.encoders = nn.ModuleDict()
        self.decoders = nn.ModuleDict()
        if self.encoder_outputs:
            self.encoders = self._mlps(self.dims, {n: self.encoder_outputs * k for n in self.names})
        if self.builds_decoders:
            self.decoders = self._mlps({n: k for n in self.names}, self.dims, reverse=True)

    def _mlps(self, out_of: dict[str, int], into: dict[str, int], reverse: bool = False) -> nn.ModuleDict:
        hidden = tuple(reversed(self.config.hidden)) if reverse else self.config.hidden
        cfg = self.config
        return nn.ModuleDict(
            {
                n: make_mlp(
                    out_of[n],
                    hidden,
                    into[n],
                    activation=cfg.activation,
                    dropout=cfg.dropout,
                    batch_norm=cfg.batch_norm,
                )
                for n in self.names
            }
        )

    # -- hooks the estimator reads -----------------------------------------------------------------
    @classmethod
    def check_dims(cls, dims: Mapping[str, int], latent_dim: int) -> None:
        """Raise a MmcorrError when ``latent_dim`` does not suit the preprocessed feature counts
        ``dims`` (name -> d). The default accepts any k."""

    def fit_closed_form(self, views: Sequence[np.ndarray]) -> CCAFit:
        """Fit in closed form on fully paired training views (one (n, d_m) float64 array per
        modality, in ``names`` order); only families with ``fits_in_closed_form`` implement it."""
        raise NotImplementedError(f"{type(self).__name__} is trained by gradient descent.")

    # -- the contract ------------------------------------------------------------------------------
    def encode(self, xs: dict[str, Tensor]) -> dict[str, Tensor]:
        """Each modality's own latent, name -> (n, k) (the posterior mean for probabilistic models)."""
        return {n: self.encoders[n](xs[n]) for n in self.names}

    def encode_joint(self, xs: dict[str, Tensor], mask: Tensor) -> Tensor:
        """The fused latent (n, k) from the modalities present per sample (default: their mean)."""
        lat = self.encode(xs)
        return masked_mean(torch.stack([lat[n] for n in self.names], dim=1), mask)

    def decode(self, z: Tensor, name: str) -> Tensor:
        """Reconstruct modality ``name`` (n, d_name) from latents z (n, k)."""
        if name not in self.decoders:
            raise NotImplementedError(f"{type(self).__name__} has no decoder for cross-modal prediction.")
        out: Tensor = self.decoders[name](z)
        return out

    def loss(self, xs: dict[str, Tensor], mask: Tensor) -> LossOutput:
        """The training loss of one batch (the trainer minimises ``total``)."""
        raise NotImplementedError


def masked_mean(stack: Tensor, mask: Tensor) -> Tensor:
    """Mean over the modality axis of stack (n, M, k), counting only present entries of mask (n, M)."""
    w = mask.to(stack.dtype).unsqueeze(-1)
    return (stack * w).sum(dim=1) / w.sum(dim=1).clamp_min(1.0)


def drop_modalities(mask: Tensor, p: float) -> Tensor:
    """Hide each present modality with probability p, always keeping at least one per sample.

    mask: bool (n, M). Returns a bool (n, M) subset of mask. Rows that would lose every modality keep
    one present modality chosen at random (uses torch's global RNG, seeded by the trainer).
    """
    if p <= 0:
        return mask
    keep = mask & (torch.rand(mask.shape, device=mask.device) >= p)
    empty = ~keep.any(dim=1)
    # A random present modality per row: argmax of uniform noise restricted to present columns.
    score = torch.rand(mask.shape, device=mask.device) * mask.to(torch.float32) - (~mask).to(torch.float32)
    pick = nn.functional.one_hot(score.argmax(dim=1), mask.shape[1]).bool() & mask
    return torch.where(empty.unsqueeze(1), pick, keep)
