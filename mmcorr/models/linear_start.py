"""Linear CCA kept inside a deep model as its fallback: the model is never worse than linear CCA.

Deep CCA can end below linear CCA: on tens of samples the network overfits, and on some data the
nonlinear optimum generalises worse than the linear one (issue 15). The family fits linear CCA (MCCA
for 3+ views, ridge ``cca_reg``) on the training rows before training and keeps it beside the
network: ``z_m = linear_gate * (W_m' x_m + b_m) + deep_gate * f_m(x_m)``. Training runs with the
linear path off (gates 0 / 1); afterwards the estimator switches to the linear path when it scores
at least as high on the validation pairs (:meth:`MultimodalModel.use_linear_start`).
A linear residual trained *with* the network (a skip path started at CCA, the deep part zero-started
or not) was measured and rejected: it held dccae at 3.5 on the known-factor simulation, where the
network alone reaches 4.7 and linear CCA 2.6 (bench/RESULTS.md, "Frontier").

Models saved before the linear path existed lack its tensors; they load with gates 0 / 1, which
is exactly their old architecture's output.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch
from torch import Tensor, nn

from mmcorr._cca import fit_cca

__all__ = ["LinearStart", "fill_missing"]

# State-dict keys a model saved before the linear path lacks (filled with the "off" defaults).
_KEYS = ("weight_", "bias_", "linear_gate", "deep_gate")


class LinearStart(nn.Module):
    """Per-modality linear maps (d_m -> k) as buffers, and the two gates that mix them with the
    deep path. Built at zero with gates 0 / 1 (no random draws, so the encoders' seeded
    initialisation is unchanged): untouched, a model computes exactly what it did without it."""

    linear_gate: Tensor
    deep_gate: Tensor

    def __init__(self, dims: Mapping[str, int], k: int) -> None:
        super().__init__()
        self.names = list(dims)
        for i, n in enumerate(self.names):
            self.register_buffer(f"weight_{i}", torch.zeros(dims[n], k))
            self.register_buffer(f"bias_{i}", torch.zeros(k))
        self.register_buffer("linear_gate", torch.zeros(()))
        self.register_buffer("deep_gate", torch.ones(()))

    def combine(self, name: str, x: Tensor, deep: Tensor) -> Tensor:
        """Latent (n, k) of modality ``name`` from its input x (n, d) and deep output (n, k)."""
        i = self.names.index(name)
        linear = x @ getattr(self, f"weight_{i}") + getattr(self, f"bias_{i}")
        out: Tensor = self.linear_gate * linear + self.deep_gate * deep
        return out

    @property
    def fitted(self) -> bool:
        return any(bool(getattr(self, f"weight_{i}").any()) for i in range(len(self.names)))

    @torch.no_grad()
    def use(self, linear: bool) -> None:
        """Switch the latent to the linear path alone (True) or to the deep path alone (False)."""
        self.linear_gate.fill_(1.0 if linear else 0.0)
        self.deep_gate.fill_(0.0 if linear else 1.0)

    @torch.no_grad()
    def fit(self, views: Sequence[np.ndarray], k: int, reg: float) -> int:
        """Set the linear maps to linear CCA (MCCA for 3+ views) of ``views`` (one (n, d_m) array
        per modality, in order) with ridge ``reg``; components beyond min(k, n - 1, d_m) stay
        zero. Returns n."""
        n = int(views[0].shape[0])
        comps = min(k, n - 1, *(int(v.shape[1]) for v in views))
        fit = fit_cca([np.asarray(v, dtype=np.float64) for v in views], comps, reg=reg)
        for i in range(len(self.names)):
            w = np.zeros((views[i].shape[1], k))
            w[:, :comps] = fit.weights[i]
            weight = getattr(self, f"weight_{i}")
            weight.copy_(torch.as_tensor(w, dtype=weight.dtype))
            getattr(self, f"bias_{i}").copy_(torch.as_tensor(-(fit.means[i] @ w), dtype=weight.dtype))
        return n


def fill_missing(
    state: Mapping[str, Tensor], current: Mapping[str, Tensor], prefix: str
) -> dict[str, Tensor]:
    """``state`` plus the linear-start tensors it lacks (a model saved before they existed), taken
    from ``current`` (the module's state dict, still at its construction values: the deep path)."""
    out = dict(state)
    for key, value in current.items():
        if key.startswith(prefix) and key[len(prefix) :].startswith(_KEYS) and key not in out:
            out[key] = value
    return out
