"""Splits: deterministic from the seed, disjoint, covering, stratified proportions."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mmcorr import DataConfig, DataError, MmcorrError
from mmcorr.data import make_demo, split_dataset, split_indices


def test_same_seed_same_split_other_seed_other_split() -> None:
    a, b, c = split_indices(100, seed=7), split_indices(100, seed=7), split_indices(100, seed=8)
    for part in ("train", "val", "test"):
        np.testing.assert_array_equal(getattr(a, part), getattr(b, part))
    assert not np.array_equal(a.test, c.test)
    assert (len(a.train), len(a.val), len(a.test)) == (70, 15, 15)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(3, 500), val=st.floats(0, 0.45), test=st.floats(0, 0.45), seed=st.integers(0, 2**32 - 1))
def test_parts_are_disjoint_and_cover(n: int, val: float, test: float, seed: int) -> None:
    s = split_indices(n, val_fraction=val, test_fraction=test, seed=seed)
    allidx = np.concatenate([s.train, s.val, s.test])
    assert sorted(allidx.tolist()) == list(range(n)) and len(s.train) >= 1


def test_stratified_keeps_class_proportions() -> None:
    labels = np.repeat(np.array(["x", "y", "z"]), [60, 30, 10])
    s = split_indices(labels, seed=1)
    for part in (s.train, s.val, s.test):
        counts = {k: int((labels[part] == k).sum()) for k in "xyz"}
        share = len(part) / 100
        assert abs(counts["x"] - 60 * share) <= 1 and abs(counts["y"] - 30 * share) <= 1


def test_split_dataset_from_config() -> None:
    ds = make_demo("digits-noisy", n_samples=200)
    parts = split_dataset(ds, DataConfig(stratify=True, split_seed=3))
    assert parts.train.n_samples + parts.val.n_samples + parts.test.n_samples == 200
    assert set(parts.test.labels) == set(range(10))  # type: ignore[arg-type]


def test_bad_fraction() -> None:
    with pytest.raises(
        MmcorrError, match=r"The 'val_fraction' parameter must be a number in \[0\.0, 0\.5\]\. Got 0\.9"
    ):
        split_indices(10, val_fraction=0.9)


def test_too_few_samples() -> None:
    with pytest.raises(MmcorrError, match=r"The 'n_samples' parameter must be an int in \[3, inf\)\. Got 2"):
        split_indices(2)


def test_stratify_wrong_shape() -> None:
    with pytest.raises(MmcorrError, match=r"The 'stratify' labels must have shape \(10,\); got \(3,\)"):
        split_indices(10, stratify=np.array([1, 2, 3]))


def test_stratify_with_missing_labels() -> None:
    with pytest.raises(DataError, match=r"'stratify' labels contain missing values"):
        split_indices(10, stratify=np.array([1.0] * 9 + [np.nan]))


def test_stratify_without_labels() -> None:
    ds = make_demo("synthetic", n_samples=50)
    ds.metadata, ds.label_column = None, None
    with pytest.raises(DataError, match=r"needs a dataset with a label column"):
        split_dataset(ds, DataConfig(stratify=True))


def test_every_class_keeps_a_training_sample() -> None:
    s = split_indices(np.array([0, 0, 1, 2, 2, 2]), val_fraction=0.5, test_fraction=0.5)
    assert sorted(np.array([0, 0, 1, 2, 2, 2])[s.train].tolist()) == [0, 1, 2]
