"""UMAP of all modalities' latents: shape, columns, ids, seeding, NaN rows, subsampling."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mmcorr._validation import MmcorrError
from mmcorr.analysis import UmapColumn, umap_embedding, warm_umap

C = UmapColumn


def _latents(n: int = 60, seed: int = 0) -> tuple[dict[str, np.ndarray], np.ndarray]:
    rng = np.random.default_rng(seed)
    s = rng.standard_normal((n, 4))
    lat = {
        "rna": (s + 0.05 * rng.standard_normal((n, 4))).astype(np.float32),
        "protein": (s + 0.05 * rng.standard_normal((n, 4))).astype(np.float32),
    }
    return lat, np.array([f"cell{i}" for i in range(n)], dtype=object)


def test_shape_columns_ids_and_seed() -> None:
    lat, ids = _latents()
    lat["protein"][:7] = np.nan  # absent modality for 7 samples
    df = umap_embedding(lat, ids, n_neighbors=10, min_dist=0.2, seed=3)
    assert isinstance(df, pd.DataFrame)
    assert list(df.columns) == list(C.ALL)
    assert len(df) == 60 + 53
    assert (df[C.MODALITY] == "rna").sum() == 60 and (df[C.MODALITY] == "protein").sum() == 53
    assert set(df.loc[df[C.MODALITY] == "protein", C.ID]) == set(ids[7:])
    assert list(df.loc[df[C.MODALITY] == "rna", C.ID]) == list(ids)
    assert np.isfinite(df[[C.X, C.Y]].to_numpy()).all()
    again = umap_embedding(lat, ids, n_neighbors=10, min_dist=0.2, seed=3)
    pd.testing.assert_frame_equal(df, again)
    other = umap_embedding(lat, ids, n_neighbors=10, min_dist=0.2, seed=4)
    assert not np.allclose(df[C.X].to_numpy(), other[C.X].to_numpy())


def test_aligned_points_of_one_sample_land_close() -> None:
    lat, ids = _latents(n=80, seed=1)
    df = umap_embedding(lat, ids, n_neighbors=10, seed=0)
    xy = df[[C.X, C.Y]].to_numpy()
    rna, prot = xy[:80], xy[80:]
    linked = np.linalg.norm(rna - prot, axis=1).mean()
    shuffled = np.linalg.norm(rna - prot[np.random.default_rng(0).permutation(80)], axis=1).mean()
    assert linked < 0.5 * shuffled


def test_subsampling_keeps_whole_samples() -> None:
    lat, ids = _latents(n=60)
    df = umap_embedding(lat, ids, n_neighbors=5, max_points=40, seed=0)
    assert len(df) <= 40
    per_id = df.groupby(C.ID)[C.MODALITY].nunique()
    assert (per_id == 2).all()


def test_warm_umap_runs() -> None:
    assert warm_umap() is None


def test_bad_inputs() -> None:
    lat, ids = _latents(n=20)
    with pytest.raises(MmcorrError, match="'latents' parameter must be a non-empty dict"):
        umap_embedding({}, ids)
    with pytest.raises(MmcorrError, match="'ids' parameter must be 1-D"):
        umap_embedding(lat, ids.reshape(4, 5))
    with pytest.raises(MmcorrError, match=r"'latents\['protein'\]' parameter must have 4 columns"):
        umap_embedding({"rna": lat["rna"], "protein": lat["protein"][:, :3]}, ids)
    with pytest.raises(MmcorrError, match=r"'latents\['rna'\]' parameter must have 20 rows"):
        umap_embedding({"rna": lat["rna"][:10]}, ids)
    with pytest.raises(MmcorrError, match=r"'n_neighbors' parameter must be an int in \[2, 200\]"):
        umap_embedding(lat, ids, n_neighbors=1)
    with pytest.raises(MmcorrError, match="'min_dist' parameter"):
        umap_embedding(lat, ids, min_dist=1.5)
    with pytest.raises(MmcorrError, match="'max_points' parameter"):
        umap_embedding(lat, ids, max_points=5)
    nan = {"rna": np.full((20, 4), np.nan)}
    with pytest.raises(MmcorrError, match="at least 4 latent points without NaN"):
        umap_embedding(nan, ids)
