"""Cross-modal similarity, nearest neighbours and retrieval metrics, computed blockwise.

Everything here is cosine similarity in the aligned shared space: one matrix product per block of
query rows, never a loop over samples. Blocks bound the temporary memory, so n = 100,000 samples
works in a few hundred MB.
"""

from __future__ import annotations

from collections.abc import Iterator
from enum import StrEnum

import numpy as np

from mmcorr._validation import MmcorrError, check_int
from mmcorr.analysis._common import as_matrix, complete_rows

__all__ = ["RetrievalMetric", "similarity_matrix", "top_k_neighbours", "retrieval_metrics"]

# Largest temporary block (rows x n_b float64) one matrix product may allocate.
_BLOCK_BYTES = 64 * 2**20
# Up to this k, top-k uses repeated argmax instead of argpartition (see _block_top_k).
_ARGMAX_K = 32


class RetrievalMetric(StrEnum):
    """Keys of :func:`retrieval_metrics`' result (the values are the JSON keys)."""

    RECALL_1 = "recall@1"
    RECALL_5 = "recall@5"
    RECALL_10 = "recall@10"
    MRR = "mrr"
    MEDIAN_RANK = "median_rank"
    FOSCTTM = "foscttm"
    CLASS_PRECISION_1 = "class_precision@1"


def _unit_rows(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length; a zero row stays zero (similarity 0), a NaN row stays NaN."""
    norm = np.sqrt((x**2).sum(axis=1, keepdims=True))
    return x / np.where(norm > 0, norm, 1.0)


def _pair(za: object, zb: object) -> tuple[np.ndarray, np.ndarray]:
    a = as_matrix("za", za)
    b = as_matrix("zb", zb, n_cols=a.shape[1])
    return a, b


def _blocks(n_rows: int, n_cols: int, block_size: int) -> Iterator[slice]:
    block_size = check_int("block_size", block_size, 1)
    rows = max(1, min(block_size, _BLOCK_BYTES // max(1, n_cols * 8)))
    for start in range(0, n_rows, rows):
        yield slice(start, min(start + rows, n_rows))


def _block_top_k(s: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top k columns of every row of ``s`` (modified in place), best first, ties by lower index."""
    if k <= _ARGMAX_K:
        # k passes of argmax (a loop over k, not samples) beat argpartition several times over for
        # the small k of retrieval, and argmax's first-index rule gives the tie order for free.
        rows = np.arange(s.shape[0])
        idx = np.empty((s.shape[0], k), dtype=np.int64)
        vals = np.empty((s.shape[0], k))
        for j in range(k):
            best = s.argmax(axis=1)
            idx[:, j] = best
            vals[:, j] = s[rows, best]
            s[rows, best] = -np.inf
        return idx, vals
    if k < s.shape[1]:
        part = np.argpartition(-s, k - 1, axis=1)[:, :k]
    else:
        part = np.tile(np.arange(s.shape[1]), (s.shape[0], 1))
    part_vals = np.take_along_axis(s, part, axis=1)
    order = np.lexsort((part, -part_vals), axis=1)  # score descending, then index ascending
    return np.take_along_axis(part, order, axis=1), np.take_along_axis(part_vals, order, axis=1)


def similarity_matrix(za: np.ndarray, zb: np.ndarray, *, block_size: int = 4096) -> np.ndarray:
    """Cosine similarity of every sample of A with every sample of B in the shared space.

    za: (n_a, k) latents of modality A; zb: (n_b, k) latents of modality B (same k).
    block_size: query rows per matrix product (>= 1); only bounds temporaries, not the result.
    Returns float32 (n_a, n_b) in [-1, 1]; a NaN latent row (absent modality) gives a NaN row /
    column, an all-zero latent gives 0.
    """
    a, b = _pair(za, zb)
    ua = _unit_rows(a).astype(np.float32)
    ub_t = np.ascontiguousarray(_unit_rows(b).astype(np.float32).T)
    out = np.empty((a.shape[0], b.shape[0]), dtype=np.float32)
    for sl in _blocks(a.shape[0], b.shape[0], block_size):
        out[sl] = ua[sl] @ ub_t
    np.clip(out, -1.0, 1.0, out=out)
    return out


def top_k_neighbours(
    za: np.ndarray, zb: np.ndarray, k: int = 10, *, block_size: int = 4096
) -> tuple[np.ndarray, np.ndarray]:
    """The k most cosine-similar samples of B for every sample of A, in bounded memory.

    za: (n_a, d), zb: (n_b, d). k: neighbours per query, 1 <= k <= n_b.
    Returns (indices int64 (n_a, k), scores float64 (n_a, k)), best first (ties: lower index first).
    Rows of zb with NaN are never returned; a query row with NaN gets indices -1 and NaN scores.
    """
    a, b = _pair(za, zb)
    k = check_int("k", k, 1, b.shape[0])
    ua, ub = _unit_rows(a), _unit_rows(b)
    bad_b = ~np.isfinite(ub).all(axis=1)
    ub = np.where(bad_b[:, None], 0.0, ub)
    bad_a = ~np.isfinite(ua).all(axis=1)
    idx = np.empty((a.shape[0], k), dtype=np.int64)
    scores = np.empty((a.shape[0], k))
    for sl in _blocks(a.shape[0], b.shape[0], block_size):
        s = ua[sl] @ ub.T
        s[:, bad_b] = -np.inf
        idx[sl], scores[sl] = _block_top_k(s, k)
    idx[bad_a] = -1
    scores[bad_a] = np.nan
    return idx, scores


def retrieval_metrics(
    za: np.ndarray,
    zb: np.ndarray,
    labels: np.ndarray | None = None,
    *,
    block_size: int = 4096,
) -> dict[str, float]:
    """Cross-modal retrieval from A to B where sample i of A's true match is sample i of B.

    za, zb: (n, k) paired latents; pairs with NaN in either (absent modality) are skipped.
    labels: optional (n,) class labels; adds class_precision@1 (share of queries whose nearest
        B sample has the query's class).
    block_size: query rows per matrix product.

    Returns a dict keyed by :class:`RetrievalMetric` values: ``recall@1/5/10`` (share of queries
    whose true match ranks within the top 1/5/10), ``mrr`` (mean reciprocal rank), ``median_rank``
    (1-based), ``foscttm`` (fraction of samples closer than the true match, averaged over both
    directions A->B and B->A; 0 is perfect, 0.5 is chance). Ties with the true match count half,
    so constant latents score chance, not perfection.
    """
    a, b = _pair(za, zb)
    if b.shape[0] != a.shape[0]:
        raise MmcorrError(
            f"Retrieval needs paired latents: 'za' has {a.shape[0]} rows, 'zb' has {b.shape[0]}."
        )
    lab: np.ndarray | None = None
    if labels is not None:
        lab = np.asarray(labels)
        if lab.shape != (a.shape[0],):
            raise MmcorrError(
                f"The 'labels' parameter must have shape ({a.shape[0]},), one per sample. Got {lab.shape}."
            )
    keep = complete_rows(a, b)
    a, b = a[keep], b[keep]
    n = a.shape[0]
    if n < 2:
        raise MmcorrError(f"Retrieval needs at least 2 samples present in both modalities. Got {n}.")
    if lab is not None:
        lab = lab[keep]
    # float32: the (rows x n) blocks are memory-bound, and cosine ranks need no more precision.
    ua = _unit_rows(a).astype(np.float32)
    ub_t = np.ascontiguousarray(_unit_rows(b).astype(np.float32).T)
    diag = np.einsum("ij,ji->i", ua, ub_t)  # similarity of each true pair
    rank = np.empty(n)
    top1 = np.empty(n, dtype=np.int64)
    col_beat = np.zeros(n)  # B->A: how many A samples beat the true match of each B sample
    for sl in _blocks(n, n, block_size):
        s = ua[sl] @ ub_t
        rows = np.arange(sl.start, sl.stop)
        s[rows - sl.start, rows] = diag[sl]  # exact ties with the diagonal, whatever BLAS rounding
        d_row = diag[sl, None]
        # count_nonzero is several times faster than bool.sum on these (rows x n) masks.
        beat = np.count_nonzero(s > d_row, axis=1) + 0.5 * (np.count_nonzero(s == d_row, axis=1) - 1)
        rank[sl] = 1.0 + beat
        col_beat += np.count_nonzero(s > diag[None, :], axis=0)
        col_beat += 0.5 * np.count_nonzero(s == diag[None, :], axis=0)
        top1[sl] = s.argmax(axis=1)
    col_beat -= 0.5  # each column's own diagonal entry counted as a tie above
    out = {
        RetrievalMetric.RECALL_1.value: float((rank <= 1).mean()),
        RetrievalMetric.RECALL_5.value: float((rank <= 5).mean()),
        RetrievalMetric.RECALL_10.value: float((rank <= 10).mean()),
        RetrievalMetric.MRR.value: float((1.0 / rank).mean()),
        RetrievalMetric.MEDIAN_RANK.value: float(np.median(rank)),
        RetrievalMetric.FOSCTTM.value: float(0.5 * ((rank - 1.0).mean() + col_beat.mean()) / (n - 1)),
    }
    if lab is not None:
        out[RetrievalMetric.CLASS_PRECISION_1.value] = float((lab[top1] == lab).mean())
    return out
