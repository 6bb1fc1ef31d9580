"""Input checks and small numeric helpers shared by the analyses (numpy only)."""

from __future__ import annotations

import numpy as np

from mmcorr._validation import MmcorrError

__all__ = ["as_matrix", "complete_rows", "zscore_columns", "rng_for"]


def as_matrix(
    name: str, value: object, *, n_rows: int | None = None, n_cols: int | None = None
) -> np.ndarray:
    """``value`` as a float64 2-D array, or a MmcorrError naming ``name`` and the shape wanted."""
    a = np.asarray(value)
    if a.ndim != 2 or not (np.issubdtype(a.dtype, np.number) or a.dtype == np.bool_):
        raise MmcorrError(
            f"The '{name}' parameter must be a 2-D numeric array (n_samples, n_features). "
            f"Got shape {a.shape} and dtype {a.dtype}."
        )
    if n_rows is not None and a.shape[0] != n_rows:
        raise MmcorrError(
            f"The '{name}' parameter must have {n_rows} rows (one per paired sample). Got {a.shape[0]}."
        )
    if n_cols is not None and a.shape[1] != n_cols:
        raise MmcorrError(f"The '{name}' parameter must have {n_cols} columns. Got {a.shape[1]}.")
    return a.astype(np.float64, copy=False)


def complete_rows(*arrays: np.ndarray) -> np.ndarray:
    """Boolean (n,): rows finite in every array (absent modalities have NaN latents)."""
    keep = np.ones(arrays[0].shape[0], dtype=bool)
    for a in arrays:
        keep &= np.isfinite(a).all(axis=1)
    return keep


def zscore_columns(x: np.ndarray) -> np.ndarray:
    """Columns centred and scaled to unit Euclidean norm, so ``a.T @ b`` is a Pearson matrix.

    A constant column becomes all zeros, so its correlations read 0 instead of NaN.
    """
    c = x - x.mean(axis=0)
    norm = np.sqrt((c**2).sum(axis=0))
    # Relative threshold: a constant column leaves only rounding noise of its magnitude behind.
    floor = 1e-12 * np.sqrt(x.shape[0]) * np.abs(x).max(axis=0, initial=0.0) + 1e-300
    return c / np.where(norm > floor, norm, np.inf)


def rng_for(seed: int) -> np.random.Generator:
    """The analyses' random source: numpy's PCG64 seeded by ``seed`` (same seed, same numbers)."""
    return np.random.default_rng(seed)
