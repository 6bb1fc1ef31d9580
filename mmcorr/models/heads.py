"""Closed-form linear heads fitted after training: latent alignment and cross-modal ridge maps.

Numpy only, all (n, k) x (k, k) algebra. Stored in the model file as plain tensors (see
:meth:`LinearHeads.to_tensors`), so a saved model needs no pickle.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mmcorr._cca import fit_cca
from mmcorr.data._chunks import iter_chunks

__all__ = ["LinearHeads", "fit_alignment", "fit_ridge", "quick_cca", "RIDGE_ALPHA"]

#: Ridge strength relative to n (aligned latents have unit variance, so Z'Z ~ n I): shrinks the
#: cross-modal maps by ~1% and keeps them well-posed when latents are collinear.
RIDGE_ALPHA = 1e-2


@dataclass
class LinearHeads:
    """align: name -> (mean (k,), weight (k, k)) turning a model latent into aligned canonical
    variates (empty when the model's latents are already in one space). ridge: (source, target) ->
    (mean_z (k,), coef (k, d_t), intercept (d_t,)) predicting target's preprocessed features."""

    align: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    ridge: dict[tuple[str, str], tuple[np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=dict)

    def aligned(self, name: str, z: np.ndarray) -> np.ndarray:
        """z (n, k) -> aligned (n, k) (unchanged when there is no alignment for ``name``)."""
        if name not in self.align:
            return z
        mean, weight = self.align[name]
        return (z - mean) @ weight

    def predict(self, source: str, target: str, z: np.ndarray) -> np.ndarray:
        """Aligned latent of ``source`` (n, k) -> target's preprocessed features (n, d_t)."""
        mean, coef, intercept = self.ridge[(source, target)]
        return (z - mean) @ coef + intercept

    def to_tensors(self) -> dict[str, np.ndarray]:
        """Flat name -> array dict (modality names never contain '.')."""
        out: dict[str, np.ndarray] = {}
        for name, (mean, weight) in self.align.items():
            out[f"align.{name}.mean"] = mean
            out[f"align.{name}.weight"] = weight
        for (src, tgt), (mean, coef, intercept) in self.ridge.items():
            out[f"ridge.{src}.{tgt}.mean"] = mean
            out[f"ridge.{src}.{tgt}.coef"] = coef
            out[f"ridge.{src}.{tgt}.intercept"] = intercept
        return out

    @classmethod
    def from_tensors(cls, flat: dict[str, np.ndarray]) -> LinearHeads:
        heads = cls()
        for key in flat:
            parts = key.split(".")
            if parts[0] == "align" and parts[2] == "mean":
                heads.align[parts[1]] = (flat[key], flat[f"align.{parts[1]}.weight"])
            elif parts[0] == "ridge" and parts[3] == "mean":
                src, tgt = parts[1], parts[2]
                heads.ridge[(src, tgt)] = (
                    flat[key],
                    flat[f"ridge.{src}.{tgt}.coef"],
                    flat[f"ridge.{src}.{tgt}.intercept"],
                )
        return heads


def fit_alignment(
    names: list[str], latents: list[np.ndarray], k: int, reg: float
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Linear CCA (MCCA for M > 2) on paired training latents, one (n, k) array per modality.

    Returns name -> (mean, weight) so that ``(z - mean) @ weight`` are the canonical variates,
    ordered by training correlation and comparable across modalities (retrieval, similarity).
    """
    n = latents[0].shape[0]
    comps = min(k, n - 1, *(z.shape[1] for z in latents))
    fit = fit_cca([z.astype(np.float64) for z in latents], comps, reg=reg)
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for i, name in enumerate(names):
        weight = np.zeros((latents[i].shape[1], k))
        weight[:, :comps] = fit.weights[i]
        out[name] = (fit.means[i], weight)
    return out


def fit_ridge(
    z: np.ndarray, y: np.ndarray, rows: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ridge regression y[rows] ~ z with intercept: z (n, k); y (N, d) of any float dtype, of which
    ``rows`` (n indices; None: all N rows) are the targets. y is read in float64 row chunks
    (mmcorr.data._chunks), never copied whole. Returns (mean_z, coef (k, d), intercept)."""
    mz = z.mean(axis=0)
    zc = z - mz
    gram = zc.T @ zc + RIDGE_ALPHA * z.shape[0] * np.eye(z.shape[1])
    my = np.zeros(y.shape[1])
    for _, x in iter_chunks(y, rows):
        my += x.sum(axis=0)
    my /= z.shape[0]
    zty = np.zeros((z.shape[1], y.shape[1]))
    for pos, x in iter_chunks(y, rows):
        x -= my
        zty += zc[pos].T @ x
    coef = np.linalg.solve(gram, zty)
    return mz, coef, my


def _inv_sqrt(cov: np.ndarray) -> np.ndarray:
    vals, vecs = np.linalg.eigh(cov)
    return (vecs / np.sqrt(np.maximum(vals, 1e-12))) @ vecs.T


def quick_cca(
    za: np.ndarray, zb: np.ndarray, reg: float = 1e-3
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Two-view linear CCA from (k, k) covariances only: za (n, ka), zb (n, kb) -> (mean_a, wa, mean_b, wb).

    ``(z - mean) @ w`` are the canonical variates. Used for the per-epoch validation correlation:
    the work is O(n k^2) matrix products plus k x k decompositions, with no SVD of the (n, k) data
    (which dominated epoch time on small data). ``reg`` is relative to the mean latent variance.
    """
    ma, mb = za.mean(axis=0), zb.mean(axis=0)
    a, b = za - ma, zb - mb
    denom = max(len(a) - 1, 1)
    saa, sbb, sab = a.T @ a / denom, b.T @ b / denom, a.T @ b / denom
    saa = saa + reg * max(np.trace(saa) / len(saa), 1e-12) * np.eye(len(saa))
    sbb = sbb + reg * max(np.trace(sbb) / len(sbb), 1e-12) * np.eye(len(sbb))
    ia, ib = _inv_sqrt(saa), _inv_sqrt(sbb)
    u, _, vt = np.linalg.svd(ia @ sab @ ib)
    k = min(len(saa), len(sbb))
    return ma, ia @ u[:, :k], mb, ib @ vt.T[:, :k]
