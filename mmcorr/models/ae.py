"""Joint multimodal autoencoder (Ngiam et al. 2011, "Multimodal deep learning")."""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import Tensor

from mmcorr.losses import LossOutput, LossPart, masked_mse
from mmcorr.models.base import MultimodalModel, drop_modalities, masked_mean

__all__ = ["JointAutoencoder"]


class JointAutoencoder(MultimodalModel):
    """One encoder per modality into the shared latent; the fused latent is the mean over the
    modalities present; one decoder per modality reconstructs it from the fused latent.

    Trained with modality dropout (``ModelConfig.modality_dropout``, 0.2-0.5 is typical): each
    present modality is hidden with that probability, and every present modality must still be
    reconstructed, so one modality alone learns to reconstruct all of them (Ngiam's bimodal
    deep autoencoder training with zeroed inputs). Learns from partially paired data: absent
    modalities are excluded from the fusion and from the loss.

    Loss: ``recon_weight * mean_m MSE(decoder_m(z_fused), x_m)`` over present rows.
    """

    name: ClassVar[str] = "ae"
    needs_full_pairs: ClassVar[bool] = False
    cross_decoder: ClassVar[bool] = True

    def loss(self, xs: dict[str, Tensor], mask: Tensor) -> LossOutput:
        seen = drop_modalities(mask, self.config.modality_dropout) if self.training else mask
        lat = self.encode(xs)
        z = masked_mean(torch.stack([lat[n] for n in self.names], dim=1), seen)
        w = mask.to(z.dtype)
        recon = torch.stack(
            [masked_mse(self.decode(z, n), xs[n], w[:, j]) for j, n in enumerate(self.names)]
        ).mean()
        return LossOutput(
            total=self.config.recon_weight * recon,
            parts={LossPart.RECON.value: recon.detach()},
            n=int(mask.shape[0]),
        )
