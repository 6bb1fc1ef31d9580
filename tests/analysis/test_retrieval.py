"""Similarity matrix, top-k neighbours and retrieval metrics: blockwise == full, known answers."""

from __future__ import annotations

import numpy as np
import pytest

from mmcorr._validation import MmcorrError
from mmcorr.analysis import RetrievalMetric, retrieval_metrics, similarity_matrix, top_k_neighbours

R = RetrievalMetric


def _full_cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return a @ b.T


def test_similarity_blockwise_equals_full() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((103, 6)), rng.standard_normal((57, 6))
    s = similarity_matrix(a, b, block_size=10)
    assert s.shape == (103, 57) and s.dtype == np.float32
    np.testing.assert_allclose(s, _full_cosine(a, b), atol=1e-6)
    np.testing.assert_array_equal(s, similarity_matrix(a, b, block_size=1000))
    assert s.max() <= 1.0 and s.min() >= -1.0


def test_similarity_nan_and_zero_rows() -> None:
    a = np.array([[1.0, 0.0], [np.nan, np.nan], [0.0, 0.0]])
    s = similarity_matrix(a, np.array([[1.0, 0.0], [0.0, 2.0]]))
    np.testing.assert_allclose(s[0], [1.0, 0.0])
    assert np.isnan(s[1]).all()
    np.testing.assert_allclose(s[2], [0.0, 0.0])


def test_top_k_blockwise_equals_full_sort() -> None:
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((80, 5)), rng.standard_normal((120, 5))
    idx, scores = top_k_neighbours(a, b, k=7, block_size=9)
    full = _full_cosine(a, b)
    want = np.argsort(-full, axis=1, kind="stable")[:, :7]
    np.testing.assert_array_equal(idx, want)
    np.testing.assert_allclose(scores, np.take_along_axis(full, want, axis=1), atol=1e-12)
    idx2, _ = top_k_neighbours(a, b, k=120, block_size=1000)  # k == n_b: a full sort
    np.testing.assert_array_equal(idx2, np.argsort(-full, axis=1, kind="stable"))


def test_top_k_skips_nan_candidates_and_queries() -> None:
    b = np.array([[1.0, 0.0], [np.nan, 0.0], [0.9, 0.1]])
    a = np.array([[1.0, 0.0], [np.nan, 1.0]])
    idx, scores = top_k_neighbours(a, b, k=2)
    np.testing.assert_array_equal(idx[0], [0, 2])
    np.testing.assert_array_equal(idx[1], [-1, -1])
    assert np.isnan(scores[1]).all()


def test_perfect_alignment() -> None:
    rng = np.random.default_rng(2)
    z = rng.standard_normal((200, 8))
    # A positive rescaling per sample does not change cosine similarity.
    m = retrieval_metrics(z, z * rng.uniform(0.5, 2.0, size=(200, 1)), block_size=17)
    assert m[R.RECALL_1] == 1.0 and m[R.RECALL_5] == 1.0 and m[R.RECALL_10] == 1.0
    assert m[R.MRR] == 1.0 and m[R.MEDIAN_RANK] == 1.0 and m[R.FOSCTTM] == 0.0
    assert set(m) == {k.value for k in R} - {R.CLASS_PRECISION_1.value}


def test_random_pairs_score_chance() -> None:
    rng = np.random.default_rng(3)
    n = 500
    m = retrieval_metrics(rng.standard_normal((n, 8)), rng.standard_normal((n, 8)), block_size=64)
    assert m[R.RECALL_1] < 5 / n
    assert m[R.RECALL_10] == pytest.approx(10 / n, abs=0.02)
    assert m[R.FOSCTTM] == pytest.approx(0.5, abs=0.03)
    assert m[R.MEDIAN_RANK] == pytest.approx(n / 2, rel=0.15)


def test_constant_latents_are_chance_not_perfect() -> None:
    z = np.ones((50, 3))
    m = retrieval_metrics(z, z)
    assert m[R.RECALL_1] == 0.0
    assert m[R.FOSCTTM] == pytest.approx(0.5)
    assert m[R.MEDIAN_RANK] == pytest.approx(25.5)


def test_blockwise_metrics_match_and_noisy_alignment_ranks_known() -> None:
    rng = np.random.default_rng(4)
    z = rng.standard_normal((300, 6))
    zb = z + 0.5 * rng.standard_normal(z.shape)
    m1 = retrieval_metrics(z, zb, block_size=7)
    m2 = retrieval_metrics(z, zb, block_size=4096)
    assert m1 == pytest.approx(m2)
    # Reference by brute force on the full matrix.
    s = _full_cosine(z, zb)
    rank = 1 + (s > np.diag(s)[:, None]).sum(axis=1)
    assert m1[R.RECALL_1] == pytest.approx((rank == 1).mean())
    assert m1[R.MRR] == pytest.approx((1 / rank).mean())
    fos_ab = ((s > np.diag(s)[:, None]).sum(axis=1) / 299).mean()
    fos_ba = ((s > np.diag(s)[None, :]).sum(axis=0) / 299).mean()
    assert m1[R.FOSCTTM] == pytest.approx((fos_ab + fos_ba) / 2)
    assert 0.0 < m1[R.FOSCTTM] < 0.1


def test_class_precision_with_labels() -> None:
    rng = np.random.default_rng(5)
    labels = np.repeat(np.array(["x", "y", "z"]), 40)
    centres = rng.standard_normal((3, 5)) * 5
    lab_idx = np.repeat(np.arange(3), 40)
    za = centres[lab_idx] + rng.standard_normal((120, 5))
    zb = centres[lab_idx] + rng.standard_normal((120, 5))
    m = retrieval_metrics(za, zb, labels)
    assert m[R.CLASS_PRECISION_1] > 0.95
    m_bad = retrieval_metrics(za, zb, rng.permutation(labels))
    assert m_bad[R.CLASS_PRECISION_1] < 0.6


def test_nan_pairs_are_skipped() -> None:
    rng = np.random.default_rng(6)
    z = rng.standard_normal((40, 4))
    zb = z.copy()
    zb[:5] = np.nan
    m = retrieval_metrics(z, zb, labels=np.arange(40) % 2)
    assert m[R.RECALL_1] == 1.0 and m[R.CLASS_PRECISION_1] == 1.0


def test_bad_inputs() -> None:
    z = np.zeros((10, 3))
    with pytest.raises(MmcorrError, match="'zb' parameter must have 3 columns"):
        similarity_matrix(z, np.zeros((10, 2)))
    with pytest.raises(MmcorrError, match="'block_size' parameter must be an int"):
        similarity_matrix(z, z, block_size=0)
    with pytest.raises(MmcorrError, match=r"'k' parameter must be an int in \[1, 10\]"):
        top_k_neighbours(z, z, k=11)
    with pytest.raises(MmcorrError, match="'za' has 10 rows, 'zb' has 9"):
        retrieval_metrics(z, np.zeros((9, 3)))
    with pytest.raises(MmcorrError, match=r"'labels' parameter must have shape \(10,\)"):
        retrieval_metrics(z, z, labels=np.zeros(3))
    with pytest.raises(MmcorrError, match="at least 2 samples present in both"):
        retrieval_metrics(z[:1], z[:1])
    with pytest.raises(MmcorrError, match="'za' parameter must be a 2-D numeric array"):
        retrieval_metrics(np.array(["a", "b"]), z)
