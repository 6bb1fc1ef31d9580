"""The datasets of bench/frontier.py (issue 15 goals 1-4), each with what its goal measures.

- ``sim``: two views of 4 shared Gaussian factors of decreasing strength (the weakest has canonical
  correlation 0.50) behind fixed orthogonal mixing and strictly increasing elementwise maps, beside
  private factors. The closed-form ceiling of the held-out correlation and the best possible R^2 of
  each factor are known (:func:`sim`).
- ``small``: p >> n, 40 samples of 120 vs 21 features sharing 3 linear factors, 4 folds.
- ``three``: scikit-learn's 8x8 digits cut into three column bands (24, 24, 16 pixels), a three-view
  benchmark with class labels.
- ``digits-noisy``: mmcorr's two-view demo (bench/_datasets.py), its own split.

Every builder is seeded: the same seed gives the same rows and split.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from mmcorr.data import PairedDataset, split_indices

#: Standard deviations of the shared factors and each view's noise on them (``sim``).
SIM_SIGNAL = np.array([2.0, 1.5, 1.0, 0.6])
SIM_NOISE = {"a": 0.5, "b": 0.7}
SIM_DIMS = {"a": 20, "b": 30}


@dataclass
class Split:
    """Train (the estimator holds out its own validation share), optional validation, and test."""

    train: PairedDataset
    test: PairedDataset
    val: PairedDataset | None = None
    factors: tuple[np.ndarray, np.ndarray] | None = None  # (train, test) true shared factors
    info: dict[str, list[float]] = field(default_factory=dict)


def _paired(values: dict[str, np.ndarray], labels: np.ndarray | None = None) -> PairedDataset:
    n = len(next(iter(values.values())))
    ids = np.array([f"s{i:05d}" for i in range(n)], dtype=object)
    meta = None if labels is None else pd.DataFrame({"label": labels}, index=pd.Index(ids, name="id"))
    return PairedDataset(
        names=list(values),
        values={k: np.ascontiguousarray(v, dtype=np.float32) for k, v in values.items()},
        features={k: [f"{k}{j}" for j in range(v.shape[1])] for k, v in values.items()},
        ids=ids,
        mask=np.ones((n, len(values)), dtype=bool),
        metadata=meta,
        label_column=None if labels is None else "label",
    )


def _warp(name: str, y: np.ndarray) -> np.ndarray:
    # Strictly increasing elementwise maps: invertible, so the ceiling is that of the linear views.
    return y + np.tanh(2.0 * y) if name == "a" else np.sinh(y)


def sim(seed: int, n: int = 2000) -> Split:
    """The known-factor simulation, split 70 / 30 into train / test.

    info["ceiling"]: the closed-form canonical correlations rho_j = s_j^2 / sqrt((s_j^2 + sa^2)
    (s_j^2 + sb^2)) (for Gaussian factors also the nonlinear ceiling). info["oracle_r2"]: the best
    R^2 of factor j from both views, s^2 (1/sa^2 + 1/sb^2) / (1 + s^2 (1/sa^2 + 1/sb^2)).
    """
    mix = np.random.default_rng(12345)  # fixed maps, the same for every seed
    rng = np.random.default_rng(seed)
    k = len(SIM_SIGNAL)
    z = rng.standard_normal((n, k))
    views = {}
    for name, sigma in SIM_NOISE.items():
        d = SIM_DIMS[name]
        q, r = np.linalg.qr(mix.standard_normal((d, d)))
        u = z * SIM_SIGNAL + sigma * rng.standard_normal((n, k))
        latent = np.concatenate([u, rng.standard_normal((n, d - k))], axis=1)
        views[name] = _warp(name, latent @ (q * np.sign(np.diag(r))).T)
    s2, (va, vb) = SIM_SIGNAL**2, (s**2 for s in SIM_NOISE.values())
    snr = s2 * (1 / va + 1 / vb)
    ds = _paired(views)
    order = np.random.default_rng(seed + 1).permutation(n)
    tr, te = order[: int(0.7 * n)], order[int(0.7 * n) :]
    return Split(
        ds.subset(tr),
        ds.subset(te),
        factors=(z[tr], z[te]),
        info={
            "ceiling": (s2 / np.sqrt((s2 + va) * (s2 + vb))).tolist(),
            "oracle_r2": (snr / (1 + snr)).tolist(),
        },
    )


def small(seed: int, n: int = 40, folds: int = 4) -> list[Split]:
    """p >> n: 120 vs 21 features sharing 3 linear factors, ``folds``-fold splits."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, 3)) * np.array([1.5, 1.0, 0.7])
    a = z @ rng.standard_normal((3, 120)) / 2 + 0.5 * rng.standard_normal((n, 120))
    b = z @ rng.standard_normal((3, 21)) + 0.7 * rng.standard_normal((n, 21))
    ds = _paired({"a": a, "b": b})
    order = np.random.default_rng(seed + 1).permutation(n)
    parts = np.array_split(order, folds)
    return [
        Split(ds.subset(np.sort(np.concatenate(parts[:i] + parts[i + 1 :]))), ds.subset(np.sort(p)))
        for i, p in enumerate(parts)
    ]


def three(seed: int) -> Split:
    """Digits (1797 8x8 images) as three column bands, split 70 / 15 / 15 stratified by digit."""
    from sklearn.datasets import load_digits

    d = load_digits()
    img = d.images.astype(np.float64)
    views = {"left": img[:, :, :3], "middle": img[:, :, 3:6], "right": img[:, :, 6:]}
    ds = _paired({k: v.reshape(len(img), -1) for k, v in views.items()}, d.target.astype(str))
    sp = split_indices(ds.n_samples, seed=seed, stratify=ds.labels)
    return Split(ds.subset(sp.train), ds.subset(sp.test), val=ds.subset(sp.val))


def digits_noisy(seed: int) -> Split:
    """mmcorr's digits-noisy demo with its own 70 / 15 / 15 split (bench/_datasets.py)."""
    from _datasets import load_quality

    data = load_quality("digits-noisy", seed=seed)
    return Split(data.train, data.test, val=data.val)
