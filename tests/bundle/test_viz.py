from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from mmcorr import viz
from mmcorr._validation import MmcorrError


def test_similarity_heatmap_subsamples_rows_in_order() -> None:
    sim = np.eye(1000, dtype=np.float32)
    fig = viz.similarity_heatmap(sim, max_rows=100)
    z = np.asarray(fig.data[0].z)
    assert z.shape == (100, 100)
    # an ordered subsample of the same rows and columns keeps the true pairs on the diagonal
    assert np.allclose(np.diag(z), 1.0)
    assert fig.data[0].zmin == -1 and fig.data[0].zmax == 1


def test_similarity_heatmap_rejects_1d() -> None:
    with pytest.raises(MmcorrError, match="2-D"):
        viz.similarity_heatmap(np.zeros(3))


def test_cluster_order_groups_related_rows() -> None:
    m = np.array([[1, 0], [0, 1], [1.01, 0], [0, 0.99]])
    order = list(viz.cluster_order(m))
    pos = {r: order.index(r) for r in range(4)}
    assert abs(pos[0] - pos[2]) == 1 and abs(pos[1] - pos[3]) == 1


def test_feature_corr_heatmap_from_matrix_masks_nonsignificant() -> None:
    z = np.array([[0.9, -0.2], [0.1, -0.8], [0.5, 0.5]])
    sig = np.array([[True, False], [False, True], [False, False]])
    fig = viz.feature_corr_heatmap(
        z, features_a=["x", "y", "w"], features_b=["p", "q"], significant=sig, mask_nonsignificant=True
    )
    shown = np.asarray(fig.data[0].z, dtype=float)
    assert np.isnan(shown).sum() == 4
    assert sorted(np.round(shown[~np.isnan(shown)], 2)) == [-0.8, 0.9]
    assert fig.data[0].colorscale is not None and fig.data[0].zmin == -1 and fig.data[0].zmax == 1


def test_feature_corr_heatmap_from_long_frame() -> None:
    frame = pd.DataFrame(
        {
            "feature_a": ["x", "x", "y", "y"],
            "feature_b": ["p", "q", "p", "q"],
            "latent_corr": [0.1, 0.2, 0.3, 0.4],
            "significant": [True, False, True, True],
        }
    )
    fig = viz.feature_corr_heatmap(frame, cluster=False)
    assert list(fig.data[0].y) == ["x", "y"] and list(fig.data[0].x) == ["p", "q"]
    assert np.allclose(np.asarray(fig.data[0].z, dtype=float), [[0.1, 0.2], [0.3, 0.4]])


def test_feature_corr_heatmap_missing_column() -> None:
    with pytest.raises(MmcorrError, match="feature_b"):
        viz.feature_corr_heatmap(pd.DataFrame({"feature_a": ["x"], "latent_corr": [0.1]}))


def test_canonical_bars_null_band_from_permutations() -> None:
    null = np.tile(np.linspace(0, 0.2, 101)[:, None], (1, 3))
    fig = viz.canonical_bars([0.9, 0.6, 0.3], null, ceiling=[0.95, 0.7, 0.4])
    names = [t.name for t in fig.data]
    assert "null 95% band" in names and "ceiling" in names
    high = next(t for t in fig.data if t.name == "null 95% band")
    assert np.allclose(high.y, 0.195)


def _umap_frame(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    ids = np.array([f"s{i}" for i in range(n)])
    return pd.DataFrame(
        {
            "id": np.concatenate([ids, ids]),
            "modality": ["a"] * n + ["b"] * n,
            "x": rng.normal(size=2 * n),
            "y": rng.normal(size=2 * n),
            "label": np.tile(np.arange(n) % 3, 2),
            "score": rng.normal(size=2 * n),
        }
    )


def test_umap_scatter_one_trace_per_category_and_links() -> None:
    df = _umap_frame(50)
    fig = viz.umap_scatter(df, "modality", link=True)
    kinds = [type(t).__name__ for t in fig.data]
    assert all(k == "Scattergl" for k in kinds)
    assert [t.name for t in fig.data] == ["same sample", "a", "b"]
    link = fig.data[0]
    assert len(link.x) == 3 * 50  # one segment per sample, NaN separated
    xs = np.asarray(link.x, dtype=float)
    assert np.isnan(xs[2::3]).all()
    # link segments join the two points of the same sample
    s0 = df[df["id"] == "s0"]["x"].to_numpy()
    assert sorted(xs[:2]) == sorted(s0)


def test_umap_scatter_continuous_and_label_colour() -> None:
    df = _umap_frame(60)
    fig = viz.umap_scatter(df, "score")
    assert len(fig.data) == 1 and fig.data[0].marker.showscale
    fig2 = viz.umap_scatter(df, "label")
    assert [t.name for t in fig2.data] == ["0", "1", "2"]


def test_umap_scatter_scales_to_100k_points() -> None:
    fig = viz.umap_scatter(_umap_frame(50000), "modality", link=True)
    assert sum(len(t.x) for t in fig.data) == 100000 + 3 * 20000


def test_umap_scatter_bad_colour_column() -> None:
    with pytest.raises(MmcorrError, match="color_by"):
        viz.umap_scatter(_umap_frame(5), "nope")


def test_training_curves_and_leaderboard() -> None:
    hist = pd.DataFrame(
        {"epoch": [1, 2], "train_loss": [1.0, 0.5], "val_loss": [1.1, 0.7], "val_corr": [0.2, 0.4]}
    )
    fig = viz.training_curves(hist)
    assert {t.name for t in fig.data} == {"train_loss", "val_loss", "val_corr"}
    board = pd.DataFrame({"name": ["r1", "r2", "r3"], "recall@1": [0.2, np.nan, 0.5]})
    fig2 = viz.leaderboard_bars(board, "recall@1")
    assert list(fig2.data[0].y) == ["r1", "r3"]  # best last = on top of a horizontal bar chart
    assert isinstance(fig2, go.Figure)


def test_leaderboard_unknown_metric() -> None:
    with pytest.raises(MmcorrError, match="no column 'mrr'"):
        viz.leaderboard_bars(pd.DataFrame({"name": ["r"]}), "mrr")
