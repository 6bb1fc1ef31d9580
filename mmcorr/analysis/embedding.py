"""UMAP of every modality's latents in one shared 2-D embedding (umap-learn, seeded)."""

from __future__ import annotations

import os
import sys
import warnings
from types import ModuleType

import numpy as np
import pandas as pd

from mmcorr._validation import MmcorrError, check_float, check_int
from mmcorr.analysis._common import as_matrix, rng_for
from mmcorr.paths import state_dir

__all__ = ["UmapColumn", "umap_embedding", "warm_umap"]

# UMAP's spectral initialisation needs a connected-enough graph; below this many points a random
# initialisation is the robust choice.
_SPECTRAL_MIN_POINTS = 50


class UmapColumn:
    """Column names of :func:`umap_embedding`'s result."""

    ID = "id"
    MODALITY = "modality"
    X = "x"
    Y = "y"
    ALL = (ID, MODALITY, X, Y)


def _exact_knn(x: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact k nearest neighbours (self first), shape (n, k) each, as umap's precomputed_knn.

    Latents are low-dimensional (k <= 512, usually ~10), where a KD-tree / ball-tree is fast and
    exact. Handing umap these neighbours skips pynndescent, whose numba compilation alone costs
    tens of seconds in every fresh process for datasets above umap's 4096-point exact threshold.
    """
    from sklearn.neighbors import NearestNeighbors

    nn = NearestNeighbors(n_neighbors=k).fit(x)
    dist, idx = nn.kneighbors(x)
    return idx.astype(np.int32), dist.astype(np.float32)


# umap-learn's numba functions on our path that it compiles without cache=True, so every fresh
# process compiled them again: 3.8 s of a 4,000-point embedding's 9.4 s, and 40 MiB of LLVM memory.
# Their dispatchers' cache is turned on before their first call (numba's Dispatcher.enable_caching,
# what cache=True does); the layout's per-epoch function is made anew by every call, so it cannot be.
_UNCACHED = ("smooth_knn_dist", "compute_membership_strengths")


def _import_umap() -> ModuleType:
    """Import umap, numba's compiled code cached under the mmcorr home for every entry point.

    The one place that sets NUMBA_CACHE_DIR (``<home>/state/numba_cache``): numba reads it when it
    is first imported, which is here (umap is the only user of numba), so the CLI, the worker and
    the API all reuse the code one process compiled, even where umap's own folder is read-only. A
    cache directory the user chose (the variable already set) is kept. The functions umap-learn
    compiles uncached (:data:`_UNCACHED`) are cached there too.
    """
    if "numba" not in sys.modules:
        os.environ.setdefault("NUMBA_CACHE_DIR", str(state_dir() / "numba_cache"))
    import umap  # lazy: importing umap loads numba (seconds)
    import umap.umap_
    from numba.core.caching import NullCache

    for name in _UNCACHED:  # still uncached (None: a umap-learn without it; a cache: already on)
        dispatcher = getattr(umap.umap_, name, None)
        if dispatcher is not None and isinstance(getattr(dispatcher, "_cache", None), NullCache):
            dispatcher.enable_caching()
    return umap


def _fit_umap(x: np.ndarray, n_neighbors: int, min_dist: float, seed: int) -> np.ndarray:
    umap = _import_umap()
    n = x.shape[0]
    k = max(2, min(n_neighbors, n - 1))
    reducer = umap.UMAP(
        n_components=2,
        n_neighbors=k,
        min_dist=min_dist,
        random_state=seed,  # also makes umap single-threaded, hence reproducible
        init="spectral" if n >= _SPECTRAL_MIN_POINTS else "random",
        transform_seed=seed,
        n_jobs=1,  # random_state forces one thread anyway; saying so avoids umap's warning
        precomputed_knn=_exact_knn(x, k),
    )
    with warnings.catch_warnings():
        # Without an NNDescent index umap warns that .transform() on new data is unavailable:
        # we never call it.
        warnings.filterwarnings("ignore", message=r".*knn_search_index.*", category=UserWarning)
        return np.asarray(reducer.fit_transform(x), dtype=np.float32)


def umap_embedding(
    latents: dict[str, np.ndarray],
    ids: np.ndarray,
    *,
    n_neighbors: int = 15,
    min_dist: float = 0.1,
    seed: int = 0,
    max_points: int = 100000,
) -> pd.DataFrame:
    """Embed all modalities' latents together in 2-D, so one sample's points can be linked.

    latents: modality name (or "joint") -> (n, k) latents, row i belonging to sample ``ids[i]``;
        every array has the same shape. Rows with NaN (absent modality) are skipped.
    ids: (n,) sample ids.
    n_neighbors: UMAP neighbourhood size, 2-200 (5-50 typical; larger favours global structure);
        capped at the number of points - 1.
    min_dist: UMAP minimum distance between embedded points, 0-0.99 (0-0.5 typical).
    seed: seeds the subsampling and UMAP; the same seed gives the same embedding.
    max_points: at most this many points are embedded (10-10,000,000); beyond it whole samples are
        drawn at random (seeded), so every kept sample keeps all its modalities' points.

    Returns a DataFrame with columns id, modality, x, y (float32), modalities in dict order.
    """
    if not isinstance(latents, dict) or not latents:
        raise MmcorrError(
            "The 'latents' parameter must be a non-empty dict of modality name -> (n, k) array."
        )
    ids_arr = np.asarray(ids)
    if ids_arr.ndim != 1:
        raise MmcorrError(f"The 'ids' parameter must be 1-D, one id per row. Got shape {ids_arr.shape}.")
    n = ids_arr.shape[0]
    mats: dict[str, np.ndarray] = {}
    k: int | None = None
    for name, z in latents.items():
        m = as_matrix(f"latents[{name!r}]", z, n_rows=n, n_cols=k)
        k = m.shape[1]
        mats[str(name)] = m
    n_neighbors = check_int("n_neighbors", n_neighbors, 2, 200)
    min_dist = check_float("min_dist", min_dist, 0.0, 0.99)
    seed = check_int("seed", seed, 0, 2**32 - 1)
    max_points = check_int("max_points", max_points, 10, 10_000_000)

    rows = np.arange(n)
    total = sum(int(np.isfinite(m).all(axis=1).sum()) for m in mats.values())
    if total > max_points:
        keep_n = max(1, n * max_points // total)
        rows = np.sort(rng_for(seed).choice(n, size=keep_n, replace=False))
    parts_x, parts_id, parts_mod = [], [], []
    for name, m in mats.items():
        sub = m[rows]
        ok = np.isfinite(sub).all(axis=1)
        parts_x.append(sub[ok])
        parts_id.append(ids_arr[rows][ok])
        parts_mod.append(np.full(int(ok.sum()), name, dtype=object))
    x = np.vstack(parts_x)
    if x.shape[0] < 4:
        raise MmcorrError(f"UMAP needs at least 4 latent points without NaN. Got {x.shape[0]}.")
    xy = _fit_umap(x, n_neighbors, min_dist, seed)
    c = UmapColumn
    return pd.DataFrame(
        {
            c.ID: np.concatenate(parts_id),
            c.MODALITY: np.concatenate(parts_mod),
            c.X: xy[:, 0],
            c.Y: xy[:, 1],
        }
    )


def warm_umap() -> None:
    """Compile umap's numba code on a tiny input, so the first real embedding is not slow."""
    # 64 points: above _SPECTRAL_MIN_POINTS, so the spectral-initialisation path is compiled too.
    x = rng_for(0).standard_normal((64, 3))
    _fit_umap(x, n_neighbors=5, min_dist=0.1, seed=0)
