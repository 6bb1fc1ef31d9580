"""Demo datasets generated on request (no download): ``digits-media``, ``digits-noisy`` and ``synthetic``."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from mmcorr._validation import MmcorrError, check_choice, check_int

from .types import PairedDataset

__all__ = [
    "DEMO_NAMES",
    "DEMO_SPLIT_COLUMN",
    "DemoName",
    "make_demo",
    "synthetic_parts",
    "SYNTHETIC_SIGNAL",
    "SYNTHETIC_NOISE",
]

DemoName = Literal["digits-media", "digits-noisy", "synthetic"]
DEMO_NAMES: tuple[str, ...] = ("digits-media", "digits-noisy", "synthetic")
#: digits-noisy's metadata column with the train / val / test split its pairs were drawn within (not
#: named "split", which is reserved for a run's own split column).
DEMO_SPLIT_COLUMN = "demo_split"

#: Standard deviations of the 5 shared factors in every synthetic modality (decreasing signal).
SYNTHETIC_SIGNAL = np.array([2.0, 1.5, 1.0, 0.7, 0.4])
#: Per-modality noise standard deviation on the shared coordinates, and feature counts.
SYNTHETIC_NOISE: dict[str, float] = {"a": 0.5, "b": 1.0, "c": 0.75}
SYNTHETIC_DIMS: dict[str, int] = {"a": 20, "b": 30, "c": 15}


def make_demo(name: DemoName, *, seed: int = 0, n_samples: int | None = None) -> PairedDataset:
    """Generate a demo dataset.

    name: "digits-media" (scikit-learn's digits as three raw modalities: a 32x32 image, a caption
        and a sound per sample sharing per-sample thickness, slant and size; see
        :mod:`mmcorr.data.demos_media`), "digits-noisy" (two views of scikit-learn's 8x8 digits,
        1797 samples, label 'digit') or "synthetic" (modalities a, b, c with known canonical
        correlations, default 2000 samples).
    seed: the same seed gives the same data.
    n_samples: digits-media / digits-noisy: at most 1797 (a seeded subset); synthetic: 20-1,000,000.
    """
    check_choice("name", name, DEMO_NAMES)
    check_int("seed", seed, 0, 2**32 - 1)
    if name == "digits-media":
        return _digits_media(seed, n_samples)
    if name == "digits-noisy":
        return _digits_noisy(seed, n_samples)
    return _synthetic(seed, 2000 if n_samples is None else check_int("n_samples", n_samples, 20, 1_000_000))


def _digits_media(seed: int, n_samples: int | None) -> PairedDataset:
    """The three raw modalities, written as the files a user would have (a zip of PNGs, a caption
    table, a zip of WAVs, a label table) and read back through the same loaders as uploads."""
    import tempfile

    from .demos_media import write_digits_media
    from .pairing import load_paired

    with tempfile.TemporaryDirectory(prefix="mmcorr-demo-") as tmp:
        files = write_digits_media(Path(tmp), seed=seed, n=n_samples)
        ds, _ = load_paired(
            {"image": files["image"], "text": f"{files['text']}:caption", "audio": files["audio"]},
            labels=files["labels"],
            label_column="digit",
        )
    ds.info.update({"demo": "digits-media", "seed": seed})
    return ds


def _digits_noisy(seed: int, n_samples: int | None) -> PairedDataset:
    """Noisy MNIST two-view protocol (Wang et al. 2015, DCCAE) at 8x8 scale.

    Images are split into train / val / test first (stratified 70/15/15, recorded in metadata column
    'demo_split'), so that a view-2 partner never crosses splits. View 1: the image rotated by an angle
    drawn from U[-45, 45] degrees. View 2: a different random image of the same class from the same
    split, plus U(0, 1) pixel noise, clipped to [0, 1].
    """
    from scipy.ndimage import map_coordinates
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = (digits.images / 16.0).astype(np.float64)  # (1797, 8, 8) in [0, 1]
    labels = digits.target.astype(np.int64)
    rng = np.random.default_rng(seed)
    if n_samples is not None:
        check_int("n_samples", n_samples, 20, len(labels))
        keep = np.sort(rng.choice(len(labels), size=n_samples, replace=False))
        images, labels = images[keep], labels[keep]
    n = len(labels)
    from .split import split_indices

    split = split_indices(labels, seed=seed)
    split_of = np.empty(n, dtype=np.int64)
    split_of[split.train], split_of[split.val], split_of[split.test] = 0, 1, 2

    # View 1: rotate every image at once by sampling the stack at rotated coordinates (bilinear).
    angles = np.deg2rad(rng.uniform(-45.0, 45.0, size=n))
    rr, cc = np.meshgrid(np.arange(8.0), np.arange(8.0), indexing="ij")
    center = 3.5
    cos, sin = np.cos(angles)[:, None, None], np.sin(angles)[:, None, None]
    src_r = center + cos * (rr - center) - sin * (cc - center)
    src_c = center + sin * (rr - center) + cos * (cc - center)
    img_idx = np.broadcast_to(np.arange(n, dtype=np.float64)[:, None, None], src_r.shape)
    view1 = map_coordinates(images, [img_idx, src_r, src_c], order=1, mode="constant", cval=0.0)

    # View 2: within each (split, class) group, a random permutation shifted by one gives every
    # image a different partner of the same class and split.
    order = np.lexsort((rng.random(n), labels, split_of))
    group = split_of[order] * 10 + labels[order]
    starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
    sizes = np.diff(np.r_[starts, n])
    pos = np.arange(n) - np.repeat(starts, sizes)
    nxt = np.repeat(starts, sizes) + (pos + 1) % np.repeat(sizes, sizes)
    partner = np.empty(n, dtype=np.int64)
    partner[order] = order[nxt]
    view2 = np.clip(images[partner] + rng.uniform(0.0, 1.0, size=images.shape), 0.0, 1.0)

    ids = np.array([f"d{i:04d}" for i in range(n)], dtype=object)
    pixels = [f"px{r}_{c}" for r in range(8) for c in range(8)]
    meta = pd.DataFrame(
        {"digit": labels, DEMO_SPLIT_COLUMN: np.array(["train", "val", "test"], dtype=object)[split_of]},
        index=pd.Index(ids, name="id"),
    )
    return PairedDataset(
        names=["view1", "view2"],
        values={
            "view1": view1.reshape(n, 64).astype(np.float32),
            "view2": view2.reshape(n, 64).astype(np.float32),
        },
        features={"view1": list(pixels), "view2": list(pixels)},
        ids=ids,
        mask=np.ones((n, 2), dtype=bool),
        metadata=meta,
        label_column="digit",
        info={"demo": "digits-noisy", "seed": seed, "protocol": "Wang et al. 2015 noisy two-view digits"},
    )


def _nonlinearity(name: str, y: np.ndarray) -> np.ndarray:
    # Strictly increasing elementwise maps, so each is invertible and keeps all the information.
    if name == "a":
        return y + np.tanh(2.0 * y)
    if name == "b":
        return np.sinh(y)
    return y**3 / 3.0 + y


def synthetic_parts(seed: int, n: int) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], dict[str, Any]]:
    """The synthetic demo's pieces: (observed views, linear pre-map views, true correlations).

    Shared factors z ~ N(0, I_5) scaled by SYNTHETIC_SIGNAL s; modality m sees u_m = s*z + e_m with
    e_m ~ N(0, sigma_m^2 I), beside d_m - 5 private N(0, 1) factors; y_m = Q_m [u_m; private] with a
    fixed random orthogonal Q_m, and x_m = g_m(y_m) elementwise with a strictly increasing g_m.
    Canonical correlations are invariant to the invertible Q_m, so for modalities m, l they are
    rho_j = s_j^2 / sqrt((s_j^2 + sigma_m^2)(s_j^2 + sigma_l^2)), j = 1..5. For Gaussian variables
    the maximal (nonlinear) correlation equals the linear one, so this is also the ceiling for any
    model of the observed x_m.
    """
    if n < 2:
        raise MmcorrError(f"The 'n_samples' parameter must be at least 2. Got {n}.")
    mix_rng = np.random.default_rng(12345)  # the maps are fixed: the same for every seed
    rng = np.random.default_rng(seed)
    k = len(SYNTHETIC_SIGNAL)
    z = rng.standard_normal((n, k))
    observed: dict[str, np.ndarray] = {}
    linear: dict[str, np.ndarray] = {}
    for name, sigma in SYNTHETIC_NOISE.items():
        d = SYNTHETIC_DIMS[name]
        q, r = np.linalg.qr(mix_rng.standard_normal((d, d)))
        q = q * np.sign(np.diag(r))  # a uniformly random orthogonal matrix
        u = z * SYNTHETIC_SIGNAL + sigma * rng.standard_normal((n, k))
        latent = np.concatenate([u, rng.standard_normal((n, d - k))], axis=1)
        y = latent @ q.T
        linear[name] = y
        observed[name] = _nonlinearity(name, y)
    s2 = SYNTHETIC_SIGNAL**2
    names = list(SYNTHETIC_NOISE)
    truth = {
        f"{a}|{b}": (s2 / np.sqrt((s2 + SYNTHETIC_NOISE[a] ** 2) * (s2 + SYNTHETIC_NOISE[b] ** 2))).tolist()
        for i, a in enumerate(names)
        for b in names[i + 1 :]
    }
    return observed, linear, truth


def _synthetic(seed: int, n: int) -> PairedDataset:
    observed, _, truth = synthetic_parts(seed, n)
    rng = np.random.default_rng(seed + 1)
    ids = np.array([f"s{i:06d}" for i in range(n)], dtype=object)
    # A coarse label for colouring plots: the quartile of the strongest shared direction of 'a'.
    first = observed["a"] @ rng.standard_normal(observed["a"].shape[1])
    quartile = np.searchsorted(np.quantile(first, [0.25, 0.5, 0.75]), first)
    meta = pd.DataFrame({"group": quartile.astype(np.int64)}, index=pd.Index(ids, name="id"))
    return PairedDataset(
        names=list(observed),
        values={k: v.astype(np.float32) for k, v in observed.items()},
        features={k: [f"{k}{j}" for j in range(v.shape[1])] for k, v in observed.items()},
        ids=ids,
        mask=np.ones((n, len(observed)), dtype=bool),
        metadata=meta,
        label_column="group",
        info={"demo": "synthetic", "seed": seed, "true_correlations": truth},
    )
