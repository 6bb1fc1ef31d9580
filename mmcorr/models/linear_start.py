"""Linear CCA kept inside a deep model as its fallback: the model is never worse than linear CCA.

Deep CCA can end below linear CCA: on tens of samples the network overfits, and on some data the
nonlinear optimum generalises worse than the linear one (issue 15). The family fits linear CCA (MCCA
for 3+ views, ridge ``cca_reg``) on the training rows before training and keeps it beside the
network: ``z_m = linear_gate * (W_m' x_m + b_m) L_m + deep_gate * f_m(x_m) D_m`` (the k x k mixes
L_m, D_m are the identity unless blended). Training runs with the linear path off (gates 0 / 1);
afterwards the estimator keeps whichever of three latents scores highest on the validation pairs
(:meth:`MultimodalModel.use_linear_start`, :meth:`MultimodalModel.blend_linear_start`): the
network, linear CCA, or a blend of the two that takes each of its k directions from either.

The blend exists for weak factors. With the correlation-sum objective a network spends its k
dimensions on the strongest shared signal, nonlinear features of strong factors included, and
drops a weak linear factor that linear CCA finds (on the known-factor simulation, the factor with
canonical correlation 0.5). :func:`blend_order` picks the k directions greedily, each the one whose
part not explained by those already picked correlates best across modalities on validation pairs,
so a linear direction replaces the network's weakest, mostly memorised, ones only when it carries
more held-out shared signal than they do.
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

__all__ = ["LinearStart", "blend_order", "fill_missing"]

# State-dict keys a model saved before the linear path (or the blend) lacks (filled with the "off"
# defaults).
_KEYS = ("weight_", "bias_", "linear_gate", "deep_gate", "mix_")


class LinearStart(nn.Module):
    """Per-modality linear maps (d_m -> k) as buffers, and the two gates that mix them with the
    deep path. Built at zero with gates 0 / 1 (no random draws, so the encoders' seeded
    initialisation is unchanged): untouched, a model computes exactly what it did without it."""

    linear_gate: Tensor
    deep_gate: Tensor

    def __init__(self, dims: Mapping[str, int], k: int) -> None:
        super().__init__()
        self.names, self.k = list(dims), int(k)
        for i, n in enumerate(self.names):
            self.register_buffer(f"weight_{i}", torch.zeros(dims[n], k))
            self.register_buffer(f"bias_{i}", torch.zeros(k))
            self.register_buffer(f"mix_linear_{i}", torch.eye(k))
            self.register_buffer(f"mix_deep_{i}", torch.eye(k))
        self.register_buffer("linear_gate", torch.zeros(()))
        self.register_buffer("deep_gate", torch.ones(()))

    def combine(self, name: str, x: Tensor, deep: Tensor) -> Tensor:
        """Latent (n, k) of modality ``name`` from its input x (n, d) and deep output (n, k)."""
        i = self.names.index(name)
        linear = (x @ getattr(self, f"weight_{i}") + getattr(self, f"bias_{i}")) @ getattr(
            self, f"mix_linear_{i}"
        )
        out: Tensor = self.linear_gate * linear + self.deep_gate * (deep @ getattr(self, f"mix_deep_{i}"))
        return out

    @property
    def fitted(self) -> bool:
        return any(bool(getattr(self, f"weight_{i}").any()) for i in range(len(self.names)))

    @torch.no_grad()
    def use(self, linear: bool) -> None:
        """Switch the latent to the linear path alone (True) or to the deep path alone (False)."""
        self.linear_gate.fill_(1.0 if linear else 0.0)
        self.deep_gate.fill_(0.0 if linear else 1.0)
        for i in range(len(self.names)):
            getattr(self, f"mix_linear_{i}").copy_(torch.eye(self.k))
            getattr(self, f"mix_deep_{i}").copy_(torch.eye(self.k))

    @torch.no_grad()
    def blend(self, linear: Sequence[np.ndarray], deep: Sequence[np.ndarray]) -> None:
        """Use both paths through the given (k, k) mixes, one of each per modality in order: column
        j of the latent is ``linear_path @ linear[m][:, j] + deep_path @ deep[m][:, j]``."""
        self.linear_gate.fill_(1.0)
        self.deep_gate.fill_(1.0)
        for i in range(len(self.names)):
            for key, mix in ((f"mix_linear_{i}", linear[i]), (f"mix_deep_{i}", deep[i])):
                buf = getattr(self, key)
                buf.copy_(torch.as_tensor(np.asarray(mix), dtype=buf.dtype))

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


def blend_order(train: Sequence[np.ndarray], val: Sequence[np.ndarray], k: int) -> list[int]:
    """Pick ``k`` of ``p`` paired candidate directions greedily; returns their column indices in the
    order picked.

    train / val: one (n, p) float64 array per modality (training / validation rows, paired across
    modalities; column j of every array is candidate j). Each step regresses every remaining
    candidate on the picked ones (least squares with an intercept, on the training rows), and picks
    the one whose residuals correlate best across modalities on the validation rows (mean over
    pairs of modalities). A candidate that repeats picked ones scores ~0, so the picks span as much
    held-out shared signal as k directions can, whichever path they come from.
    """
    p = int(train[0].shape[1])
    picked: list[int] = []
    for _ in range(min(k, p)):
        rest = [c for c in range(p) if c not in picked]
        resid = []
        for xt, xv in zip(train, val, strict=True):
            yv = xv[:, rest]
            if picked:
                design = np.c_[xt[:, picked], np.ones(len(xt))]
                beta = np.linalg.lstsq(design, xt[:, rest], rcond=None)[0]
                yv = yv - np.c_[xv[:, picked], np.ones(len(xv))] @ beta
            resid.append(yv - yv.mean(axis=0))
        score = np.zeros(len(rest))
        pairs = 0
        for i in range(len(resid)):
            for j in range(i + 1, len(resid)):
                a, b = resid[i], resid[j]
                den = np.sqrt((a * a).sum(axis=0) * (b * b).sum(axis=0))
                score += np.divide((a * b).sum(axis=0), den, out=np.zeros(len(rest)), where=den > 1e-12)
                pairs += 1
        picked.append(rest[int(np.argmax(score / max(pairs, 1)))])
    return picked
