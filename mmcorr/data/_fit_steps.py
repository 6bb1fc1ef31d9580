"""The fitted statistics of :class:`~mmcorr.data.preprocess.Preprocessor` that take a pass of
their own over the training rows (TF-IDF weights, principal axes, feature quantiles), in row
chunks, and the rank-Gaussian map the quantiles define."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.special import ndtr, ndtri

from ._chunks import PCA_COV_MAX_D, gram, iter_chunks

__all__ = ["QUANTILE_BYTES", "fit_quantiles", "from_normal", "idf_weights", "principal_axes", "to_normal"]

#: Quantiles kept per feature for the rank-Gaussian map (scikit-learn's QuantileTransformer default).
N_QUANTILES = 1000
#: Training rows the quantiles are estimated from: at most this many bytes of float64 rows (and
#: 100,000 rows), evenly spaced; scikit-learn's QuantileTransformer subsamples 10,000.
QUANTILE_BYTES = 128 * 2**20
_QUANTILE_ROWS = 100_000
# Normal scores are clipped to the quantiles of these probabilities (about +-5.2 sd), so a value
# beyond the training range maps to the edge, not to infinity.
_EPS = 1e-7


def idf_weights(values: np.ndarray, rows: np.ndarray | None, m: int) -> tuple[np.ndarray, np.ndarray]:
    """Smoothed inverse document frequency of each term over ``values[rows]`` (m rows of term
    counts): ln((1 + m) / (1 + df)) + 1, as scikit-learn's TfidfTransformer(smooth_idf=True); and,
    as a (1,) array, the mean L2 norm of the rows' TF-IDF vectors (to map predictions back to
    counts)."""
    df = np.zeros(values.shape[1])
    for _, x in iter_chunks(values, rows):
        df += (x > 0).sum(axis=0)
    idf = np.asarray(np.log((1.0 + m) / (1.0 + df)) + 1.0)
    total = 0.0
    for _, x in iter_chunks(values, rows):
        total += float(np.linalg.norm(x * idf, axis=1).sum())
    return idf, np.array([total / max(m, 1)])


def principal_axes(
    values: np.ndarray,
    rows: np.ndarray | None,
    m: int,
    scale: Callable[[np.ndarray], np.ndarray],
    mean: np.ndarray,
    k: int,
) -> np.ndarray:
    """Top ``k`` principal axes (k, d) of the m standardised rows ``scale(values[rows])`` centred
    on ``mean``; signs fixed for determinism.

    Up to PCA_COV_MAX_D features: the top k eigenvectors of the (d, d) float64 scatter matrix summed
    over row chunks (exact, no copy of the rows; only those k and in place: a full ``eigh`` held the
    matrix, a copy and ~2 d^2 of workspace, ~490 MiB at d = 4,000). Wider: one float32 copy of the
    standardised rows and a randomized SVD (Halko et al. 2011) on it.
    """
    d = values.shape[1]
    if d <= PCA_COV_MAX_D:
        from scipy.linalg import eigh

        g = gram(values, rows, mean, scale)  # upper triangle
        _, vecs = eigh(g, lower=False, subset_by_index=[d - k, d - 1], overwrite_a=True, check_finite=False)
        vt = vecs[:, ::-1].T  # ascending order
    else:
        xc = np.empty((m, d), dtype=np.float32)
        for pos, chunk in iter_chunks(values, rows, scale):
            chunk -= mean
            xc[pos] = chunk
        if k < 0.5 * min(xc.shape):
            from sklearn.utils.extmath import randomized_svd

            _, _, vt = randomized_svd(xc, n_components=k, random_state=0)
        else:
            _, _, vt = np.linalg.svd(xc, full_matrices=False)
            vt = vt[:k]
        del xc
        vt = vt.astype(np.float64)
    # Make the largest-magnitude loading of each component positive, so refits agree in sign.
    signs = np.sign(vt[np.arange(len(vt)), np.argmax(np.abs(vt), axis=1)])
    return np.ascontiguousarray(vt * signs[:, None])


def fit_quantiles(
    values: np.ndarray, rows: np.ndarray | None, m: int, prep: Callable[[np.ndarray], np.ndarray] | None
) -> np.ndarray:
    """Per-feature quantiles (q, d), q = min(N_QUANTILES, rows read), of ``prep(values[rows])``
    (m rows) from an evenly spaced subset of at most ``QUANTILE_BYTES`` of them."""
    d = values.shape[1]
    most = max(2, min(_QUANTILE_ROWS, QUANTILE_BYTES // (8 * d)))
    take = np.linspace(0, m - 1, min(m, most)).astype(np.int64)
    sub = take if rows is None else np.asarray(rows)[take]
    x = np.empty((len(sub), d))
    for pos, chunk in iter_chunks(values, sub, prep):
        x[pos] = chunk
    levels = np.linspace(0.0, 1.0, min(N_QUANTILES, len(sub)))
    return np.quantile(x, levels, axis=0)


def _flat(q: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Every column's quantiles on one increasing axis, for one np.interp over all features: column
    j's are rescaled to [0, 1] and shifted to [2j, 2j + 1]. Returns (low, span, offset, axis)."""
    lo, hi = q[0], q[-1]
    span = np.where(hi > lo, hi - lo, 1.0)
    offset = 2.0 * np.arange(q.shape[1])
    return lo, span, offset, ((q - lo) / span + offset).T.ravel()


def to_normal(q: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """The rank-Gaussian map of quantiles ``q`` (q, d) on a float64 chunk (n, d): each value's
    training quantile level, then the standard normal score of that level (a Gaussian copula
    transform: monotone per feature, so any increasing distortion of a feature gives the same
    output). Ties (e.g. many zeros) take the middle of their levels, as scikit-learn's
    QuantileTransformer does; values outside the training range map to its edge."""
    lo, span, offset, axis = _flat(q)
    levels = np.tile(np.linspace(0.0, 1.0, q.shape[0]), q.shape[1])
    back_axis, back_levels = -axis[::-1], -levels[::-1]

    def normal(x: np.ndarray) -> np.ndarray:
        z = np.clip((x - lo) / span, 0.0, 1.0) + offset
        u = 0.5 * (np.interp(z, axis, levels) - np.interp(-z, back_axis, back_levels))
        return np.asarray(ndtri(np.clip(u, _EPS, 1.0 - _EPS)))

    return normal


def from_normal(q: np.ndarray, s: np.ndarray) -> np.ndarray:
    """The inverse of :func:`to_normal`: normal scores ``s`` (n, d) back to feature values through
    the quantiles (to their resolution)."""
    offset = 2.0 * np.arange(q.shape[1])
    levels = np.linspace(0.0, 1.0, q.shape[0])
    axis = (levels[None, :] + offset[:, None]).ravel()
    u = ndtr(np.asarray(s, dtype=np.float64)) + offset
    return np.asarray(np.interp(u, axis, q.T.ravel()))
