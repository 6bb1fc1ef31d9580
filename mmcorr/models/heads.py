"""Closed-form linear heads fitted after training: latent alignment and cross-modal ridge maps.

Numpy only, all (n, k) x (k, k) algebra. Stored in the model file as plain tensors (see
:meth:`LinearHeads.to_tensors`), so a saved model needs no pickle.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from mmcorr._cca import fit_cca
from mmcorr.data._chunks import chunk_rows, iter_chunks

__all__ = [
    "DECODER",
    "LinearHeads",
    "PREDICTION_PATHS",
    "PredictionChoice",
    "PredictionPath",
    "RIDGE",
    "fit_alignment",
    "fit_ridge",
    "fit_ridge_tuned",
    "quick_cca",
    "RIDGE_ALPHA",
    "RIDGE_ALPHA_GRID",
]

#: Ridge strength relative to n (aligned latents have unit variance, so Z'Z ~ n I) used when there
#: is no validation set to choose one: shrinks the cross-modal maps by ~1%.
RIDGE_ALPHA = 1e-2
#: Ridge strengths (relative to n) tried on the validation pairs; the largest shrinks a map to ~1%
#: of its least-squares size, i.e. close to predicting the training mean, so the chosen map is
#: never much worse than that baseline on validation data.
RIDGE_ALPHA_GRID = (1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0)


#: How cross-modal prediction maps a source to a target: the ridge map from the aligned source
#: latent, or the target's decoder applied to the source's latent (families with decoders).
PredictionPath = Literal["ridge", "decoder"]
RIDGE: PredictionPath = "ridge"
DECODER: PredictionPath = "decoder"
PREDICTION_PATHS: tuple[PredictionPath, ...] = (RIDGE, DECODER)


@dataclass(frozen=True)
class PredictionChoice:
    """The prediction path kept for one (source, target) direction and the validation R^2 (raw
    units, variance weighted) of both candidates; NaN for a candidate that was not scored."""

    path: PredictionPath
    val_r2_ridge: float
    val_r2_decoder: float

    def to_json(self) -> dict[str, float | str]:
        return {"path": self.path, "val_r2_ridge": self.val_r2_ridge, "val_r2_decoder": self.val_r2_decoder}


@dataclass
class LinearHeads:
    """align: name -> (mean (k,), weight (k, k)) turning a model latent into aligned canonical
    variates (empty when the model's latents are already in one space). ridge: (source, target) ->
    (mean_z (k,), coef (k, d_t), intercept (d_t,)) predicting target's preprocessed features.
    ridge_alpha: (source, target) -> the ridge strength used (relative to n; chosen on validation
    pairs when there were enough, see :func:`fit_ridge_tuned`). choice: (source, target) -> the
    :class:`PredictionChoice` made on validation pairs (absent: the family's default path)."""

    align: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    ridge: dict[tuple[str, str], tuple[np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=dict)
    ridge_alpha: dict[tuple[str, str], float] = field(default_factory=dict)
    choice: dict[tuple[str, str], PredictionChoice] = field(default_factory=dict)

    def aligned(self, name: str, z: np.ndarray, *, inplace: bool = False) -> np.ndarray:
        """z (n, k) -> aligned (n, k) (unchanged when there is no alignment for ``name``).

        inplace: overwrite ``z`` (float64, (n, k)) with the result, row chunk by row chunk, instead
        of allocating a second (n, k) array (the latents of a million rows are 76 MiB each)."""
        if name not in self.align:
            return z
        mean, weight = self.align[name]
        # Row chunks into the result: no (n, k) centred temporary beside it.
        dtype = np.result_type(z, weight)
        same = inplace and z.dtype == dtype and z.shape[1] == weight.shape[1] and z.flags.writeable
        out = z if same else np.empty((z.shape[0], weight.shape[1]), dtype=dtype)
        step = chunk_rows(z.shape[1])
        for start in range(0, z.shape[0], step):
            out[start : start + step] = (z[start : start + step] - mean) @ weight
        return out

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
        for (src, tgt), alpha in self.ridge_alpha.items():
            out[f"ridge.{src}.{tgt}.alpha"] = np.array([alpha])
        for (src, tgt), c in self.choice.items():
            code = float(PREDICTION_PATHS.index(c.path))
            out[f"choice.{src}.{tgt}"] = np.array([code, c.val_r2_ridge, c.val_r2_decoder])
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
                if f"ridge.{src}.{tgt}.alpha" in flat:  # absent in models saved before it was chosen
                    heads.ridge_alpha[(src, tgt)] = float(np.ravel(flat[f"ridge.{src}.{tgt}.alpha"])[0])
            elif parts[0] == "choice":  # absent in models saved before the decoder could be chosen
                code, r2_ridge, r2_decoder = (float(v) for v in np.ravel(flat[key]))
                heads.choice[(parts[1], parts[2])] = PredictionChoice(
                    PREDICTION_PATHS[int(code)], r2_ridge, r2_decoder
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
    fit = fit_cca(list(latents), comps, reg=reg)  # (k, k) covariances over row chunks: no copy
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for i, name in enumerate(names):
        weight = np.zeros((latents[i].shape[1], k))
        weight[:, :comps] = fit.weights[i]
        out[name] = (fit.means[i], weight)
    return out


def fit_ridge(
    z: np.ndarray, y: np.ndarray, rows: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`fit_ridge_tuned` at the fixed strength :data:`RIDGE_ALPHA`: (mean_z, coef, intercept)."""
    mz, coef, my, _ = fit_ridge_tuned(z, y, rows)
    return mz, coef, my


def fit_ridge_tuned(
    z: np.ndarray,
    y: np.ndarray,
    rows: np.ndarray | None = None,
    val: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Ridge regression y[rows] ~ z with intercept: z (n, k); y (N, d) of any float dtype, of which
    ``rows`` (n indices; None: all N rows) are the targets. y is read in float64 row chunks
    (mmcorr.data._chunks), never copied whole.

    val: (z_val (m, k), y_val (m, d)) validation pairs; given, the ridge strength is the one of
    :data:`RIDGE_ALPHA_GRID` with the lowest validation squared error, else :data:`RIDGE_ALPHA`.
    Returns (mean_z, coef (k, d), intercept, alpha) with alpha relative to n.
    """
    n = z.shape[0]
    mz = z.mean(axis=0)
    my = np.zeros(y.shape[1])
    for _, x in iter_chunks(y, rows):
        my += x.sum(axis=0)
    my /= n
    zty = np.zeros((z.shape[1], y.shape[1]))
    ztz = np.zeros((z.shape[1], z.shape[1]))
    for pos, x in iter_chunks(y, rows):
        x -= my
        zc = z[pos] - mz  # centred per chunk: no (n, k) copy of the latents
        zty += zc.T @ x
        ztz += zc.T @ zc
    # One eigendecomposition of Z'Z serves every strength: coef(a) = V diag(1 / (s + a n)) V' Z'Y.
    s, v = np.linalg.eigh(ztz)
    proj = v.T @ zty
    alpha = RIDGE_ALPHA
    if val is not None:
        zv = (np.asarray(val[0], dtype=np.float64) - mz) @ v
        yv = np.asarray(val[1], dtype=np.float64) - my
        errors = [(((zv / (s + a * n)) @ proj - yv) ** 2).sum() for a in RIDGE_ALPHA_GRID]
        alpha = RIDGE_ALPHA_GRID[int(np.argmin(errors))]
    coef = v @ (proj / (s + alpha * n)[:, None])
    return mz, coef, my, alpha


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
