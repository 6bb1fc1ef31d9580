"""Held-out cross-modal neighbours: known matches, agreement with the retrieval metrics, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from mmcorr._validation import MmcorrError
from mmcorr.analysis import cross_modal_neighbours, retrieval_metrics


def _ids(n: int) -> np.ndarray:
    return np.array([f"s{i:03d}" for i in range(n)], dtype=object)


def test_identical_latents_rank_the_true_match_first() -> None:
    z = np.random.default_rng(0).normal(size=(40, 6))
    nb = cross_modal_neighbours(z, z.copy(), _ids(40), k=5)
    assert nb.ids.shape == nb.scores.shape == nb.correct.shape == (40, 5) and nb.k == 5
    assert (nb.ids[:, 0] == nb.query_ids).all() and nb.correct[:, 0].all() and not nb.correct[:, 1:].any()
    assert np.allclose(nb.scores[:, 0], 1.0) and (np.diff(nb.scores, axis=1) <= 1e-12).all()
    assert (nb.match_rank == 1).all()


def test_a_constructed_case_gives_the_known_order_and_rank() -> None:
    # targets on the unit circle at 0, 30, 60, 90 degrees; the source of sample 0 points at 50 deg
    angles = np.deg2rad([0.0, 30.0, 60.0, 90.0])
    target = np.column_stack([np.cos(angles), np.sin(angles)])
    source = target.copy()
    source[0] = [np.cos(np.deg2rad(50)), np.sin(np.deg2rad(50))]
    nb = cross_modal_neighbours(source, target, _ids(4), np.array([0]), k=3)
    assert nb.query_ids.tolist() == ["s000"]
    assert nb.ids[0].tolist() == ["s002", "s001", "s003"]  # 10, 20 and 40 degrees away
    assert np.allclose(nb.scores[0], np.cos(np.deg2rad([10, 20, 40])))
    assert not nb.correct.any() and nb.match_rank.tolist() == [4]  # 0 deg is 50 away: last


def test_recall_at_1_agrees_with_the_retrieval_metrics() -> None:
    rng = np.random.default_rng(1)
    za = rng.normal(size=(120, 4))
    zb = za + 0.8 * rng.normal(size=(120, 4))
    nb = cross_modal_neighbours(za, zb, _ids(120), k=10, block_size=7)  # several blocks
    metrics = retrieval_metrics(za, zb)
    assert nb.correct[:, 0].mean() == pytest.approx(metrics["recall@1"])
    assert nb.correct.any(axis=1).mean() == pytest.approx(metrics["recall@10"])
    assert (nb.match_rank <= 10).mean() == pytest.approx(metrics["recall@10"])


def test_absent_samples_are_never_neighbours_and_absent_queries_get_none() -> None:
    z = np.random.default_rng(2).normal(size=(10, 3))
    target, source = z.copy(), z.copy()
    target[3] = np.nan  # sample 3 lacks the target modality
    source[5] = np.nan  # sample 5 lacks the source modality
    nb = cross_modal_neighbours(source, target, _ids(10), k=9)
    assert "s003" not in set(nb.ids[nb.query_ids != "s005"].ravel())
    row5 = list(nb.query_ids).index("s005")
    assert (nb.ids[row5] == "").all() and np.isnan(nb.scores[row5]).all() and nb.match_rank[row5] == 0
    assert nb.match_rank[3] == 0  # its true match is absent
    # k is capped at the targets there are
    assert cross_modal_neighbours(source, target, _ids(10), k=50).k == 9


def test_bad_input_says_what_was_wrong() -> None:
    z = np.zeros((4, 2))
    with pytest.raises(MmcorrError, match=r"'ids' parameter must have shape \(4,\)"):
        cross_modal_neighbours(z, z, _ids(3))
    with pytest.raises(MmcorrError, match=r"'z_target' parameter must have 4 rows"):
        cross_modal_neighbours(z, np.zeros((3, 2)), _ids(4))
    with pytest.raises(MmcorrError, match=r"'queries' parameter must hold row indices in \[0, 3\]"):
        cross_modal_neighbours(z, z, _ids(4), np.array([4]))
    with pytest.raises(MmcorrError, match=r"'k' parameter must be an int in \[1, inf\)"):
        cross_modal_neighbours(z, z, _ids(4), k=0)
    with pytest.raises(MmcorrError, match=r"No held-out sample has a latent in the target"):
        cross_modal_neighbours(z, np.full((4, 2), np.nan), _ids(4))
