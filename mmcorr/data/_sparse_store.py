"""A sparse (CSR) modality on disk: the registry's ``<modality>.npz``, never densified.

The file holds four plain numeric arrays (``data`` float32, ``indices``, ``indptr``, ``shape``),
written by :func:`numpy.savez` and read with ``allow_pickle=False``, so a registered dataset whose
modality came from an AnnData / MuData sparse matrix takes its CSR size on disk and in memory, not
n x d floats. Matrices are kept canonical (sorted column indices, no stored zeros) so the content
fingerprint of a dataset is the same whether it was just loaded or read back from the registry.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np

from mmcorr._validation import DataError

__all__ = ["canonical_csr", "csr_digest", "expand_rows", "load_csr", "save_csr"]

_KEYS = ("data", "indices", "indptr", "shape")


def canonical_csr(x: Any) -> Any:
    """``x`` as a float32 CSR matrix with sorted column indices and no stored zeros (a copy only
    when one of those differs)."""
    import scipy.sparse as sp

    out = x if sp.isspmatrix_csr(x) and x.dtype == np.float32 else sp.csr_matrix(x, dtype=np.float32)
    if not out.has_canonical_format or (out.data.size and not out.data.all()):
        out = out.copy()
        out.eliminate_zeros()
        out.sum_duplicates()  # sorts the indices too
    return out


def csr_digest(h: hashlib._Hash, x: Any) -> None:
    """Add the canonical CSR content of ``x`` (shape, row pointers, columns, values) to ``h``."""
    c = canonical_csr(x)
    h.update(b"csr" + np.asarray(c.shape, dtype=np.int64).tobytes())
    h.update(np.asarray(c.indptr, dtype=np.int64).tobytes())
    h.update(np.asarray(c.indices, dtype=np.int64).tobytes())
    h.update(np.ascontiguousarray(c.data, dtype=np.float32).tobytes())


def save_csr(path: Path, x: Any) -> None:
    """Write ``x`` (canonical float32 CSR) to ``path`` (an ``.npz`` of four numeric arrays)."""
    c = canonical_csr(x)
    with open(path, "wb") as fh:
        np.savez(
            fh,
            data=c.data,
            indices=c.indices,
            indptr=c.indptr,
            shape=np.asarray(c.shape, dtype=np.int64),
        )


def load_csr(path: Path) -> Any:
    """The CSR matrix saved at ``path`` by :func:`save_csr`; a damaged file raises DataError."""
    import scipy.sparse as sp

    try:
        with np.load(path, allow_pickle=False) as f:
            parts = {k: f[k] for k in _KEYS}
        n, d = (int(v) for v in parts["shape"])
        return sp.csr_matrix(
            (parts["data"].astype(np.float32, copy=False), parts["indices"], parts["indptr"]), shape=(n, d)
        )
    except (OSError, KeyError, ValueError, TypeError) as exc:
        raise DataError(f"{path.name}: not a readable sparse modality file ({exc}).") from None


def expand_rows(x: Any, rows: np.ndarray, n: int) -> Any:
    """A (n, d) CSR matrix whose rows ``rows`` (sorted positions, one per row of ``x``) are ``x``'s
    rows and every other row is empty: a modality's present rows put back in dataset order."""
    import scipy.sparse as sp

    counts = np.zeros(n, dtype=np.int64)
    counts[rows] = np.diff(x.indptr)
    indptr = np.concatenate([[0], np.cumsum(counts)])
    return sp.csr_matrix((x.data, x.indices, indptr), shape=(n, x.shape[1]))
