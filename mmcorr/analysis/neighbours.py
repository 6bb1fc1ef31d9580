"""Held-out cross-modal neighbours: for a query sample, the most similar samples of another modality.

What a person checks after the retrieval numbers: "for this image, which captions does the model
rank first, and is the right one among them?". Cosine similarity in the shared space, exactly as
:func:`~mmcorr.analysis.retrieval.retrieval_metrics` measures it, so the ranks shown agree with the
run's Recall@k. One matrix product per block of queries, ``argpartition`` for the top k.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mmcorr._validation import MmcorrError, check_int
from mmcorr.analysis._common import as_matrix
from mmcorr.analysis.retrieval import _blocks, _unit_rows

__all__ = ["Neighbours", "cross_modal_neighbours"]


@dataclass(frozen=True, eq=False)
class Neighbours:
    """The top-k target samples of each query (best first).

    query_ids: (q,) the queries' sample ids.
    ids: (q, k) ids of the neighbours in the target modality.
    scores: (q, k) their cosine similarities to the query, in [-1, 1].
    correct: (q, k) True where the neighbour is the query's own sample (the true match).
    match_rank: (q,) 1-based rank of the true match among all target samples (1 + how many are
        strictly more similar); 0 where the query has no target latent (the sample lacks the
        target modality) or no source latent.
    Rows of a query without a source latent hold no neighbours: ids "", scores NaN.
    """

    query_ids: np.ndarray
    ids: np.ndarray
    scores: np.ndarray
    correct: np.ndarray
    match_rank: np.ndarray

    @property
    def k(self) -> int:
        return int(self.ids.shape[1])


def _top_k(s: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k largest entries of every row of ``s`` (columns, values), best first, ties by lower column."""
    if k < s.shape[1]:
        part = np.argpartition(-s, k - 1, axis=1)[:, :k]
    else:
        part = np.tile(np.arange(s.shape[1]), (s.shape[0], 1))
    vals = np.take_along_axis(s, part, axis=1)
    order = np.lexsort((part, -vals), axis=1)
    return np.take_along_axis(part, order, axis=1), np.take_along_axis(vals, order, axis=1)


def cross_modal_neighbours(
    z_source: np.ndarray,
    z_target: np.ndarray,
    ids: np.ndarray,
    queries: np.ndarray | None = None,
    *,
    k: int = 5,
    block_size: int = 4096,
) -> Neighbours:
    """The k target samples most cosine-similar to each query's source latent.

    z_source, z_target: (n, d) aligned latents of the held-out samples in two modalities (row i is
        sample ``ids[i]`` in both; NaN rows where a sample lacks the modality).
    ids: (n,) sample ids, unique.
    queries: row indices of the queries (default: every row).
    k: neighbours per query, >= 1 (5 is what a person reads; capped at the targets available).
    block_size: query rows per matrix product; bounds the (rows x n) temporary only.
    Returns :class:`Neighbours`. Target rows with NaN are never neighbours.
    """
    zs = as_matrix("z_source", z_source)
    zt = as_matrix("z_target", z_target, n_rows=zs.shape[0], n_cols=zs.shape[1])
    ids = np.asarray(ids).astype(str)
    if ids.shape != (zs.shape[0],):
        raise MmcorrError(f"The 'ids' parameter must have shape ({zs.shape[0]},). Got {ids.shape}.")
    rows = np.arange(zs.shape[0]) if queries is None else np.asarray(queries, dtype=np.int64).ravel()
    if rows.size and (rows.min() < 0 or rows.max() >= zs.shape[0]):
        raise MmcorrError(f"The 'queries' parameter must hold row indices in [0, {zs.shape[0] - 1}].")
    ut = _unit_rows(zt)
    good_t = np.isfinite(ut).all(axis=1)
    if not good_t.any():
        raise MmcorrError("No held-out sample has a latent in the target modality: nothing to rank.")
    k = min(check_int("k", k, 1), int(good_t.sum()))
    ut = np.where(good_t[:, None], ut, 0.0)
    us = _unit_rows(zs[rows])
    good_q = np.isfinite(us).all(axis=1)
    us = np.where(good_q[:, None], us, 0.0)
    idx = np.zeros((rows.size, k), dtype=np.int64)
    scores = np.empty((rows.size, k))
    rank = np.zeros(rows.size, dtype=np.int64)
    for sl in _blocks(rows.size, zs.shape[0], block_size):
        s = us[sl] @ ut.T
        s[:, ~good_t] = -np.inf
        own = s[np.arange(s.shape[0]), rows[sl]]
        rank[sl] = 1 + np.count_nonzero(s > own[:, None], axis=1)
        idx[sl], scores[sl] = _top_k(s, k)
    np.clip(scores, -1.0, 1.0, out=scores)
    rank[~(good_q & good_t[rows])] = 0
    found = ids[idx]
    correct = idx == rows[:, None]
    found[~good_q] = ""
    scores[~good_q] = np.nan
    correct[~good_q] = False
    return Neighbours(query_ids=ids[rows], ids=found, scores=scores, correct=correct, match_rank=rank)
