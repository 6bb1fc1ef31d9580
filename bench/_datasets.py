"""Benchmark datasets: mmcorr's demos, scikit-learn digits split into halves, and a scalable synthetic.

All come back as (train, val, test) PairedDatasets split with mmcorr.data.split_indices, so every
method sees the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from mmcorr.data import DEMO_SPLIT_COLUMN, PairedDataset, make_demo, split_indices

QUALITY_DATASETS = ("synthetic", "digits-noisy", "digits-halves")


@dataclass
class BenchData:
    name: str
    train: PairedDataset
    val: PairedDataset
    test: PairedDataset
    ceiling: list[float] | None  # closed-form canonical correlations of the first two modalities


def digits_halves() -> PairedDataset:
    """scikit-learn digits (1797 8x8 images): left 4 columns vs right 4 columns, 32 pixels each.

    The classic two-view deep-CCA setting (Andrew et al. 2013 use MNIST halves); labels are the digit.
    """
    from sklearn.datasets import load_digits

    d = load_digits()
    img = d.images.astype(np.float32)  # (n, 8, 8)
    left = np.ascontiguousarray(img[:, :, :4].reshape(len(img), -1))
    right = np.ascontiguousarray(img[:, :, 4:].reshape(len(img), -1))
    n = len(img)
    ids = np.array([f"d{i}" for i in range(n)], dtype=object)
    meta = pd.DataFrame({"label": d.target.astype(str)}, index=pd.Index(ids, name="id"))
    return PairedDataset(
        names=["left", "right"],
        values={"left": left, "right": right},
        features={
            "left": [f"px{r}_{c}" for r in range(8) for c in range(4)],
            "right": [f"px{r}_{c}" for r in range(8) for c in range(4, 8)],
        },
        ids=ids,
        mask=np.ones((n, 2), dtype=bool),
        metadata=meta,
        label_column="label",
        info={"source": "sklearn.datasets.load_digits, left/right halves"},
    )


def load_quality(name: str, *, seed: int = 0, n_samples: int | None = None) -> BenchData:
    """One of QUALITY_DATASETS restricted to its first two modalities, split 70/15/15 (stratified)."""
    if name == "digits-halves":
        ds = digits_halves()
    else:
        ds = make_demo(name, seed=seed, n_samples=n_samples)
    ceiling = None
    true = ds.info.get("true_correlations")
    if true:
        ceiling = [float(r) for r in true[f"{ds.names[0]}|{ds.names[1]}"]]
    # cca-zoo's DCCA is two-view only, so every method sees the same first two modalities.
    ds = ds.select(ds.names[:2])
    if n_samples is not None and ds.n_samples > n_samples:
        ds = ds.subset(np.random.default_rng(seed).permutation(ds.n_samples)[:n_samples])
    if ds.metadata is not None and DEMO_SPLIT_COLUMN in ds.metadata.columns:
        # digits-noisy pairs each image with a partner from its own split: keep that split, or a
        # test sample's partner could be a training image.
        col = ds.metadata[DEMO_SPLIT_COLUMN].to_numpy()
        parts = [np.flatnonzero(col == s) for s in ("train", "val", "test")]
    else:
        sp = split_indices(ds.n_samples, seed=seed, stratify=ds.labels)
        parts = [sp.train, sp.val, sp.test]
    return BenchData(name, *(ds.subset(p) for p in parts), ceiling)


def synthetic_pair(n: int, d: int, *, rank: int = 10, seed: int = 0) -> PairedDataset:
    """Two float32 modalities of d features sharing a rank-``rank`` latent; built without float64 copies.

    Memory is exactly 2 * n * d * 4 bytes of values (plus ids), so growth runs can compare peak RSS
    with the data size.
    """
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, rank), dtype=np.float32)
    values = {}
    for name in ("a", "b"):
        w = rng.standard_normal((rank, d), dtype=np.float32) / np.float32(np.sqrt(rank))
        x = rng.standard_normal((n, d), dtype=np.float32)
        x += z @ w
        values[name] = x
    ids = np.char.add("s", np.arange(n).astype(str)).astype(object)
    return PairedDataset(
        names=["a", "b"],
        values=values,
        features={m: [f"{m}{j}" for j in range(d)] for m in ("a", "b")},
        ids=ids,
        mask=np.ones((n, 2), dtype=bool),
    )
