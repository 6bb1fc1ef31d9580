"""Loss terms shared by the model families, and the typed :class:`LossOutput` the trainer logs.

Every function takes whole mini-batches (tensors of shape (n, d)) and, where samples can lack a
modality, a per-sample weight / presence vector, so that no per-sample Python work happens. The
trainer never knows what the parts mean: it sums ``total`` for the gradient and logs ``parts``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from itertools import combinations

import torch
from torch import Tensor

__all__ = [
    "LossPart",
    "LossOutput",
    "masked_mse",
    "gaussian_nll",
    "kl_standard_normal",
    "cca_correlation",
    "multiview_cca_correlation",
    "corrnet_correlation",
]


class LossPart(StrEnum):
    """Names of loss parts, as logged in every epoch record (``record["train"][part]``)."""

    TOTAL = "total"
    RECON = "recon"
    CROSS = "cross"
    CORR = "corr"
    KL = "kl"


@dataclass
class LossOutput:
    """The loss of one batch: ``total`` (scalar tensor with gradient) and its named parts.

    ``parts`` maps a :class:`LossPart` value to a detached scalar tensor (unweighted where the part is
    a weighted term, so curves stay comparable across weights). ``n`` is the batch size, used to
    average parts over an epoch.
    """

    total: Tensor
    parts: dict[str, Tensor] = field(default_factory=dict)
    n: int = 1

    def detached_parts(self) -> dict[str, Tensor]:
        """All parts plus ``total``, detached (scalar tensors, still on the device)."""
        out = {k: v.detach() for k, v in self.parts.items()}
        out[LossPart.TOTAL.value] = self.total.detach()
        return out


def masked_mse(pred: Tensor, target: Tensor, weight: Tensor | None = None) -> Tensor:
    """Mean squared error per element, averaged over the samples with ``weight`` > 0.

    pred, target: (n, d). weight: (n,) float in [0, 1] (a presence mask), or None for all rows.
    Returns a scalar; 0 when no row is present (so an absent modality contributes nothing).
    """
    per_row = ((pred - target) ** 2).mean(dim=1)
    if weight is None:
        return per_row.mean()
    return (per_row * weight).sum() / weight.sum().clamp_min(1.0)


def gaussian_nll(pred: Tensor, target: Tensor, weight: Tensor | None = None) -> Tensor:
    """Unit-variance Gaussian negative log-likelihood (0.5 * summed squared error) per sample.

    Summed over features (not averaged) so that it is on the ELBO's scale next to the KL term.
    pred, target: (n, d); weight: (n,) presence, or None. Returns a scalar mean over present rows.
    """
    per_row = 0.5 * ((pred - target) ** 2).sum(dim=1)
    if weight is None:
        return per_row.mean()
    return (per_row * weight).sum() / weight.sum().clamp_min(1.0)


def kl_standard_normal(mu: Tensor, logvar: Tensor, weight: Tensor | None = None) -> Tensor:
    """KL(N(mu, exp(logvar)) || N(0, I)) summed over latent dims, mean over (present) rows.

    mu, logvar: (n, k). weight: (n,) or None.
    """
    per_row = 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(dim=1)
    if weight is None:
        return per_row.mean()
    return (per_row * weight).sum() / weight.sum().clamp_min(1.0)


def _inv_sqrt(cov: Tensor, eps: float) -> Tensor:
    # Symmetric inverse square root through eigh. Eigenvalues are clamped at eps so that a collapsed
    # latent direction cannot produce inf; the ridge (added by the caller) keeps them apart in practice.
    vals, vecs = torch.linalg.eigh(cov)
    vals = vals.clamp_min(eps)
    return (vecs * vals.rsqrt().unsqueeze(0)) @ vecs.T


def cca_correlation(
    za: Tensor, zb: Tensor, reg: float = 1e-3, *, k: int | None = None, eps: float = 1e-9
) -> Tensor:
    """Total canonical correlation of two batches of latents: the deep CCA objective (Andrew et al. 2013).

    Sum of the top-``k`` singular values of T = S11^-1/2 S12 S22^-1/2, where S11, S22 are the
    ridge-regularised covariances (``+ reg * I``, an absolute ridge: a relative one, scaled by the
    latent variance, measured worse on the synthetic demo) and S12 the cross-covariance. Computed in float64:
    the matrices are only (k, k), and double precision keeps the eigen-decomposition stable.

    za: (n, k_a), zb: (n, k_b) with n > max(k_a, k_b) for a meaningful value. reg: ridge, 1e-8-1.
    k: number of singular values summed (default all). Returns a scalar in [0, min(k_a, k_b)];
    maximise it (the models minimise its negative).
    """
    n = za.shape[0]
    # float64 where the device has it (MPS does not): the (k, k) eigen-problems are then stable.
    dtype = torch.float32 if za.device.type == "mps" else torch.float64
    a = za.to(dtype) - za.to(dtype).mean(dim=0, keepdim=True)
    b = zb.to(dtype) - zb.to(dtype).mean(dim=0, keepdim=True)
    denom = max(n - 1, 1)
    eye_a = torch.eye(a.shape[1], dtype=a.dtype, device=a.device)
    eye_b = torch.eye(b.shape[1], dtype=b.dtype, device=b.device)
    s11 = a.T @ a / denom + reg * eye_a
    s22 = b.T @ b / denom + reg * eye_b
    s12 = a.T @ b / denom
    t = _inv_sqrt(s11, eps) @ s12 @ _inv_sqrt(s22, eps)
    sv = torch.linalg.svdvals(t)
    if k is not None:
        sv = sv[:k]
    return sv.sum().to(za.dtype)


def multiview_cca_correlation(views: list[Tensor], reg: float = 1e-3) -> Tensor:
    """Multi-view CCA objective: the mean over all pairs of views of :func:`cca_correlation`.

    views: M >= 2 tensors of shape (n, k). Summing pairwise total correlations is the "SUMCOR"
    generalisation of CCA (Kettenring 1971); the mean keeps the scale of the two-view case.
    """
    pairs = list(combinations(range(len(views)), 2))
    total = sum((cca_correlation(views[i], views[j], reg) for i, j in pairs), start=views[0].new_zeros(()))
    return total / len(pairs)


def corrnet_correlation(views: list[Tensor], eps: float = 1e-6) -> Tensor:
    """CorrNet's correlation term (Chandar et al. 2016): per-dimension Pearson correlation, summed.

    For every pair of views, sum over latent dimensions j of corr(za[:, j], zb[:, j]) across the
    batch; averaged over pairs. views: M >= 2 tensors of shape (n, k). Returns a scalar in [-k, k].
    """
    pairs = list(combinations(range(len(views)), 2))
    total = views[0].new_zeros(())
    for i, j in pairs:
        a = views[i] - views[i].mean(dim=0, keepdim=True)
        b = views[j] - views[j].mean(dim=0, keepdim=True)
        num = (a * b).sum(dim=0)
        den = torch.sqrt((a * a).sum(dim=0) * (b * b).sum(dim=0) + eps)
        total = total + (num / den).sum()
    return total / len(pairs)
