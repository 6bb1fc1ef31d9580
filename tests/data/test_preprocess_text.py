"""A text modality's preprocessing: TF-IDF fitted on the training rows only, and predictions mapped
back to term counts (the L2 row normalisation undone with the training rows' mean norm)."""

from __future__ import annotations

import numpy as np

from mmcorr.data import MediaSpec, PairedDataset, Preprocessor


def _dataset(counts: np.ndarray) -> PairedDataset:
    n = counts.shape[0]
    rng = np.random.default_rng(0)
    return PairedDataset(
        names=["text", "x"],
        values={"text": counts.astype(np.float32), "x": rng.normal(size=(n, 3)).astype(np.float32)},
        features={"text": [f"t{j}" for j in range(counts.shape[1])], "x": ["a", "b", "c"]},
        ids=np.array([f"s{i}" for i in range(n)], dtype=object),
        mask=np.ones((n, 2), dtype=bool),
        media={"text": MediaSpec("text", (counts.shape[1],))},
    )


def test_idf_comes_from_the_training_rows_and_rows_are_unit_tfidf() -> None:
    counts = np.array([[1, 0, 2, 0], [0, 1, 1, 0], [1, 1, 0, 0], [3, 0, 0, 1]] * 5, dtype=float)
    pre = Preprocessor(standardize=False).fit(_dataset(counts), rows=np.arange(12))
    df = (counts[:12] > 0).sum(axis=0)
    np.testing.assert_allclose(pre.params_["text"]["idf"], np.log(13 / (1 + df)) + 1)
    out = pre.transform(_dataset(counts)).values["text"]
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, rtol=1e-5)


def test_inverse_transform_returns_term_counts_for_rows_of_typical_length() -> None:
    # Every row has the same TF-IDF norm, so undoing the normalisation with the mean norm is exact.
    counts = np.tile(np.array([[2.0, 1.0, 0.0, 1.0], [1.0, 0.0, 2.0, 1.0]]), (10, 1))
    counts[1::2] = counts[1::2][:, [2, 3, 0, 1]]  # the same multiset of counts: equal norms
    ds = _dataset(counts)
    pre = Preprocessor().fit(ds)
    back = pre.inverse_transform("text", pre.transform(ds).values["text"])
    np.testing.assert_allclose(back, counts, atol=1e-4)
