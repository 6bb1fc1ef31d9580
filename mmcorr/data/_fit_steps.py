"""The fitted statistics of :class:`~mmcorr.data.preprocess.Preprocessor` that take a pass of
their own over the training rows: TF-IDF weights and principal axes, in row chunks."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ._chunks import PCA_COV_MAX_D, gram, iter_chunks

__all__ = ["idf_weights", "principal_axes"]


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
