"""The one contract every model family implements, so the trainer and estimator know none of them."""

from __future__ import annotations

from typing import ClassVar, Literal

import torch
from torch import Tensor, nn

from mmcorr.config import ModelConfig
from mmcorr.losses import LossOutput
from mmcorr.models.mlp import make_mlp

__all__ = ["MultimodalModel", "drop_modalities", "masked_mean"]


class MultimodalModel(nn.Module):
    """Base class: per-modality encoders into one latent space of size k, and a batch loss.

    Inputs everywhere are ``xs``: modality name -> float tensor (n, d_name) of preprocessed values
    (rows of absent modalities are zeros and ignored) and ``mask``: bool tensor (n, M), True where
    sample i has modality j (columns in ``names`` order).

    Class flags tell the estimator how to treat a family:
    ``needs_full_pairs``: trains only on samples present in every modality (the estimator filters).
    ``closed_form``: fitted by :meth:`fit_closed_form` instead of the gradient trainer.
    ``cross_decoder``: :meth:`decode` maps the shared latent to any modality, so cross-modal
    prediction decodes; otherwise the estimator fits a ridge map from aligned latents.
    ``align_after_fit``: the per-modality latents live in different bases (CCA-type objectives);
    the estimator fits a linear CCA on the training latents so that ``transform`` returns aligned
    canonical variates.
    ``early_stop_on``: what the estimator's early stopping watches: ``"loss"`` (the validation loss)
    or ``"val_corr"`` (the held-out canonical correlation of a CCA fitted on training latents).
    """

    needs_full_pairs: ClassVar[bool] = True
    closed_form: ClassVar[bool] = False
    cross_decoder: ClassVar[bool] = False
    align_after_fit: ClassVar[bool] = False
    early_stop_on: ClassVar[Literal["loss", "val_corr"]] = "loss"

    def __init__(self, names: list[str], dims: dict[str, int], config: ModelConfig) -> None:
        super().__init__()
        self.names = list(names)
        self.dims = {n: int(dims[n]) for n in self.names}
        self.config = config
        self.latent_dim = config.latent_dim

    # -- building blocks ---------------------------------------------------------------------------
    def _mlps(self, out_of: dict[str, int], into: dict[str, int], reverse: bool = False) -> nn.ModuleDict:
        hidden = tuple(reversed(self.config.hidden)) if reverse else self.config.hidden
        return nn.ModuleDict(
            {
                n: make_mlp(
                    out_of[n],
                    hidden,
                    into[n],
                    activation=self.config.activation,
                    dropout=self.config.dropout,
                    batch_norm=self.config.batch_norm,
                )
                for n in self.names
            }
        )

    # -- the contract ------------------------------------------------------------------------------
    def encode(self, xs: dict[str, Tensor]) -> dict[str, Tensor]:
        """Each modality's own latent, name -> (n, k) (the posterior mean for probabilistic models)."""
        raise NotImplementedError

    def encode_joint(self, xs: dict[str, Tensor], mask: Tensor) -> Tensor:
        """The fused latent (n, k) from the modalities present per sample (default: their mean)."""
        lat = self.encode(xs)
        return masked_mean(torch.stack([lat[n] for n in self.names], dim=1), mask)

    def decode(self, z: Tensor, name: str) -> Tensor:
        """Reconstruct modality ``name`` (n, d_name) from latents z (n, k)."""
        raise NotImplementedError(f"{type(self).__name__} has no decoder for cross-modal prediction.")

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
