"""Tiny seeded paired data shared by the model tests (a uniquely named module, importable from them)."""

from __future__ import annotations

import numpy as np

from mmcorr.data.types import PairedDataset


def small_paired(n: int = 200, seed: int = 0, missing_b: float = 0.0) -> PairedDataset:
    """Two related modalities (a: 6 features, b: 4) with optional absent b rows."""
    rng = np.random.default_rng(seed)
    shared = rng.normal(size=(n, 2))
    a = np.tanh(shared @ rng.normal(size=(2, 6))) + 0.3 * rng.normal(size=(n, 6))
    b = shared @ rng.normal(size=(2, 4)) + 0.3 * rng.normal(size=(n, 4)) + 5.0
    mask = np.ones((n, 2), dtype=bool)
    mask[: int(missing_b * n), 1] = False
    b[~mask[:, 1]] = 0.0
    return PairedDataset(
        names=["a", "b"],
        values={"a": a.astype(np.float32), "b": b.astype(np.float32)},
        features={"a": [f"a{i}" for i in range(6)], "b": [f"b{i}" for i in range(4)]},
        ids=np.array([f"s{i}" for i in range(n)], dtype=object),
        mask=mask,
    )
