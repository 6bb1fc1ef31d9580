"""The registry's column reads that the Explore page colours the UMAP with (no whole-matrix load)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mmcorr._validation import MmcorrError
from mmcorr.data import DatasetRegistry, PairedDataset


def _registered(root: Path) -> tuple[DatasetRegistry, str]:
    n = 6
    ids = np.array([f"s{i}" for i in range(n)], dtype=object)
    mask = np.ones((n, 2), dtype=bool)
    mask[:2, 1] = False  # the first two samples lack b
    ds = PairedDataset(
        names=["a", "b"],
        values={"a": np.arange(2 * n, dtype=np.float32).reshape(n, 2), "b": np.ones((n, 3), np.float32)},
        features={"a": ["g0", "g1"], "b": ["p0", "p1", "p2"]},
        ids=ids,
        mask=mask,
    )
    reg = DatasetRegistry(root)
    return reg, reg.save(ds, "tiny")


def test_feature_names_and_one_column(tmp_path: Path) -> None:
    reg, dataset_id = _registered(tmp_path)
    assert reg.feature_names(dataset_id, "b") == ["p0", "p1", "p2"]
    values = reg.feature_values(dataset_id, "a", "g1")
    assert list(values.index) == [f"s{i}" for i in range(6)]
    np.testing.assert_array_equal(values.to_numpy(), np.arange(1, 12, 2, dtype=np.float64))
    assert len(reg.feature_values(dataset_id, "b", "p0")) == 4  # only the samples that have b


def test_unknown_modality_feature_or_dataset(tmp_path: Path) -> None:
    reg, dataset_id = _registered(tmp_path)
    with pytest.raises(
        MmcorrError, match=r"The 'modality' parameter must be one of .*\['a', 'b'\]\. Got 'c'"
    ):
        reg.feature_names(dataset_id, "c")
    with pytest.raises(MmcorrError, match=r"has no feature 'nope'"):
        reg.feature_values(dataset_id, "a", "nope")
    with pytest.raises(MmcorrError, match=r"No registered dataset has id 'gone-1'"):
        reg.feature_names("gone-1", "a")
