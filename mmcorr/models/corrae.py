"""Correlational autoencoder (CorrNet; Chandar et al. 2016, Neural Computation 28(2))."""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import Tensor

from mmcorr.losses import LossOutput, LossPart, corrnet_correlation, masked_mse
from mmcorr.models.base import MultimodalModel

__all__ = ["CorrelationalAutoencoder"]


class CorrelationalAutoencoder(MultimodalModel):
    """CorrNet with MLP encoders: every modality and the joint input map into one latent space.

    Loss (fully paired rows only; the estimator filters):
    ``recon_weight * (L(x, g(h(x_all))) + mean_m L(x, g(h(x_m)))) - corr_weight * corr``, where L is
    the per-element MSE over all modalities, h(x_all) the mean of the modality encodings, g the
    per-modality decoders, and ``corr`` the per-dimension Pearson correlation between the modalities'
    latents summed over dimensions (mean over pairs for M > 2). ``corr_weight`` (lambda) 0.1-10;
    large values without reconstruction collapse dimensions onto each other, which the
    reconstruction terms prevent. After fitting, the estimator aligns the latents with a linear CCA.
    """

    name: ClassVar[str] = "corrae"
    cross_decoder: ClassVar[bool] = True
    align_after_fit: ClassVar[bool] = True

    def _recon_all(self, z: Tensor, xs: dict[str, Tensor]) -> Tensor:
        return torch.stack([masked_mse(self.decode(z, n), xs[n]) for n in self.names]).mean()

    def loss(self, xs: dict[str, Tensor], mask: Tensor) -> LossOutput:
        lat = self.encode(xs)
        views = [lat[n] for n in self.names]
        joint = torch.stack(views, dim=1).mean(dim=1)
        recon = self._recon_all(joint, xs)
        cross = torch.stack([self._recon_all(v, xs) for v in views]).mean()
        corr = corrnet_correlation(views)
        cfg = self.config
        total = cfg.recon_weight * (recon + cross) - cfg.corr_weight * corr
        parts = {
            LossPart.RECON.value: recon.detach(),
            LossPart.CROSS.value: cross.detach(),
            LossPart.CORR.value: corr.detach(),
        }
        return LossOutput(total=total, parts=parts, n=int(mask.shape[0]))
