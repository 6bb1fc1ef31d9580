"""Row-chunked passes over a (n, d) float32 array: bounded float64 temporaries, no full copies.

Preprocessing works on a subset of rows (the training rows where a modality is present). Copying
that subset, or converting the whole modality to float64, costs 1-4x the data; these helpers read
it ``chunk_rows`` rows at a time instead, so the extra memory is a few chunks whatever n is.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

__all__ = [
    "CHUNK_BYTES",
    "EVAL_ROWS",
    "START_BYTES",
    "START_ROWS",
    "PCA_COV_MAX_D",
    "chunk_rows",
    "column_mean_var",
    "dense_rows",
    "gram",
    "is_sparse",
    "iter_chunks",
    "rows_nbytes",
]

#: Target size of one float64 chunk; a pass holds two or three of them at once.
CHUNK_BYTES = 32 * 2**20
#: Widest modality whose PCA uses a d x d float64 covariance (128 MiB at 4096); wider ones copy the
#: standardised rows once as float32 and run a randomized SVD on that.
PCA_COV_MAX_D = 4096
#: Rows of one validation chunk of the trainer and of one forward pass when encoding: bounded
#: memory on big data, while a chunk stays large enough for the covariance-based losses.
EVAL_ROWS = 8192
#: The closed-form start of a trained family (dccae's linear CCA, mmcorr.estimator._fit) is fitted
#: on an evenly spaced subset of at most this many training rows and this many bytes of float64.
START_ROWS = 20_000
START_BYTES = 256 * 2**20


def chunk_rows(d: int) -> int:
    """Rows per chunk for d features (at least 1)."""
    return max(1, CHUNK_BYTES // (8 * max(d, 1)))


def is_sparse(values: Any) -> bool:
    """Whether a modality's values are a scipy.sparse matrix (CSR, from AnnData / MuData)."""
    return hasattr(values, "tocsr")


def dense_rows(values: Any, rows: Any = None, cols: Any = None) -> np.ndarray:
    """``values[rows][:, cols]`` as a dense numpy array (None: every row / column).

    values: a (n, d) numpy array or scipy.sparse CSR matrix. rows / cols: integer indices, a boolean
    mask or a slice. A sparse matrix has its rows picked first (cheap on CSR), then its columns,
    and only that block is densified: the memory is the (len(rows), len(cols)) result.
    """
    if not is_sparse(values):
        if (
            rows is not None
            and cols is not None
            and not isinstance(rows, slice)
            and not isinstance(cols, slice)
        ):
            return np.asarray(values[np.ix_(np.asarray(rows), np.asarray(cols))])
        x = values if rows is None else values[rows]
        return np.asarray(x if cols is None else x[:, cols])
    x = values if rows is None else values[rows]
    if cols is not None:
        x = x[:, cols]
    return np.asarray(x.toarray())


def rows_nbytes(values: Any, n_rows: int) -> int:
    """Bytes of a copy of ``n_rows`` rows of ``values``: dense width x itemsize per row, or for a
    sparse matrix its stored values + column indices per row on average, plus the row pointers."""
    n, d = values.shape
    if not is_sparse(values):
        return int(n_rows * d * values.dtype.itemsize)
    stored = values.data.nbytes + values.indices.nbytes
    return int(n_rows * stored / max(n, 1) + (n_rows + 1) * values.indptr.itemsize)


def iter_chunks(
    values: np.ndarray, rows: np.ndarray | None, prep: Callable[[np.ndarray], np.ndarray] | None = None
) -> Iterator[tuple[slice, np.ndarray]]:
    """Yield (positions, float64 chunk) over ``values[rows]`` (all rows when ``rows`` is None).

    positions: the slice of ``rows`` (or of values) this chunk covers. prep: applied to each fresh
    float64 chunk (it may work in place), e.g. log1p.
    """
    n = values.shape[0] if rows is None else len(rows)
    step = chunk_rows(values.shape[1])
    for start in range(0, n, step):
        pos = slice(start, min(start + step, n))
        src = values[pos] if rows is None else values[rows[pos]]
        # Always a fresh array (prep may write into it); a scipy.sparse modality (CSR, from AnnData)
        # is densified here, one chunk at a time, and nowhere else.
        x = src.toarray().astype(np.float64) if hasattr(src, "toarray") else np.array(src, dtype=np.float64)
        yield pos, (prep(x) if prep is not None else x)


def column_mean_var(
    values: np.ndarray, rows: np.ndarray | None, prep: Callable[[np.ndarray], np.ndarray] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Per-column mean and (population) variance of ``prep(values[rows])``, float64 (d,) each.

    Two passes (mean, then squared deviations from it), so a large common offset does not cancel
    digits the way a one-pass sum of squares would.
    """
    d = values.shape[1]
    n = values.shape[0] if rows is None else len(rows)
    total = np.zeros(d)
    for _, x in iter_chunks(values, rows, prep):
        total += x.sum(axis=0)
    mean = total / max(n, 1)
    sq = np.zeros(d)
    for _, x in iter_chunks(values, rows, prep):
        x -= mean
        sq += np.einsum("ij,ij->j", x, x)
    return mean, sq / max(n, 1)


def gram(
    values: np.ndarray, rows: np.ndarray | None, centre: np.ndarray, prep: Callable[[np.ndarray], np.ndarray]
) -> np.ndarray:
    """(d, d) float64 sum over rows of (prep(x) - centre)^T (prep(x) - centre), Fortran-ordered,
    in its **upper triangle** (the lower one is not filled).

    BLAS's symmetric rank-k update (dsyrk) adds each chunk in place: no (d, d) temporary per chunk
    beside the sum (``out += x.T @ x`` held two, 2 x 122 MiB at d = 4,000), and half the FLOPs.
    """
    from scipy.linalg.blas import dsyrk

    d = values.shape[1]
    out = np.zeros((d, d), order="F")
    for _, x in iter_chunks(values, rows, prep):
        x -= centre
        # x.T is Fortran-contiguous (d, m): no copy; C := 1 * A A^T + 1 * C, upper triangle.
        out = dsyrk(1.0, x.T, beta=1.0, c=out, trans=0, lower=0, overwrite_c=1)
    return np.asarray(out)
