"""Regularised linear CCA (two views) / MCCA (more views) in closed form: the baseline."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar

import numpy as np
import torch
from torch import Tensor

from mmcorr._cca import CCAFit, fit_cca
from mmcorr._validation import MmcorrError
from mmcorr.models.base import MultimodalModel

__all__ = ["LinearCCA"]


class LinearCCA(MultimodalModel):
    """Linear CCA via :func:`mmcorr._cca.fit_cca`: per modality ``(x - mean) @ W`` with W (d, k).

    No gradient training: the estimator calls :meth:`fit_closed_form` on the fully paired training
    rows. ``cca_reg`` is the ridge (relative to each view's mean feature variance), 1e-4-1e-1.
    ``latent_dim`` must not exceed the smallest modality's (preprocessed) feature count
    (:meth:`check_dims`). The projections are stored as buffers, so the state dict holds the whole
    fitted model.
    """

    name: ClassVar[str] = "cca"
    encoder_outputs: ClassVar[int] = 0
    builds_decoders: ClassVar[bool] = False
    fits_in_closed_form: ClassVar[bool] = True

    def build_extra(self) -> None:
        # Image / audio rows are used as flat pixel vectors: ``shapes`` / ``kinds`` build nothing here.
        for i, n in enumerate(self.names):
            self.register_buffer(f"mean_{i}", torch.zeros(self.dims[n]))
            self.register_buffer(f"weight_{i}", torch.zeros(self.dims[n], self.latent_dim))

    @classmethod
    def check_dims(cls, dims: Mapping[str, int], latent_dim: int) -> None:
        """k canonical pairs need k directions in every view: k <= the narrowest modality."""
        narrowest = min(dims.values())
        if latent_dim > narrowest:
            raise MmcorrError(
                f"The 'latent_dim' parameter must be at most {narrowest} for model '{cls.name}' "
                f"(the smallest modality's feature count after preprocessing). Got {latent_dim}."
            )

    def fit_closed_form(self, views: Sequence[np.ndarray]) -> CCAFit:
        """Fit on fully paired training views (one (n, d_m) array per modality, in ``names`` order)."""
        fit = fit_cca(list(views), self.latent_dim, reg=self.config.cca_reg)
        for i in range(len(self.names)):
            getattr(self, f"mean_{i}").copy_(torch.as_tensor(fit.means[i], dtype=torch.float32))
            getattr(self, f"weight_{i}").copy_(torch.as_tensor(fit.weights[i], dtype=torch.float32))
        return fit

    def encode(self, xs: dict[str, Tensor]) -> dict[str, Tensor]:
        out: dict[str, Tensor] = {}
        for i, n in enumerate(self.names):
            mean: Tensor = getattr(self, f"mean_{i}")
            weight: Tensor = getattr(self, f"weight_{i}")
            out[n] = (xs[n] - mean) @ weight
        return out
