"""Helpers of the dashboard tests: page switching, chart lookup, fixture run bundles."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


def page(app: Any, path: str) -> Any:
    """Run the app once (st.navigation registers the pages), then open ``path`` and run it."""
    app.run()
    app.switch_page(path)
    return app.run()


def plotly_charts(app: Any) -> list[Any]:
    return list(app.get("plotly_chart"))


def trace_types(chart: Any) -> list[str]:
    """The trace types of one rendered plotly chart (its data, not its template)."""
    spec = json.loads(chart.proto.spec)
    return [str(t.get("type", "scatter")) for t in spec.get("data", [])]


def heatmap_z(chart: Any) -> np.ndarray:
    """The z matrix of a rendered heatmap (plotly 6 ships arrays base64-encoded as 'bdata')."""
    z = json.loads(chart.proto.spec)["data"][0]["z"]
    if isinstance(z, dict):
        shape = tuple(int(v) for v in str(z["shape"]).split(","))
        return np.frombuffer(base64.b64decode(z["bdata"]), dtype=np.dtype(z["dtype"])).reshape(shape)
    return np.array(z, dtype=np.float64)


def no_exceptions(app: Any) -> None:
    assert [e.value for e in app.exception] == []


def write_run(
    home: Path,
    run_id: str,
    *,
    dataset_id: str = "ds-demo",
    model: str = "dccae",
    name: str | None = None,
    recall1: float = 0.5,
    n: int = 40,
    k: int = 3,
    n_test: int | None = None,
    features: tuple[int, int] = (5, 4),
    seed: int = 0,
) -> Path:
    """A complete run bundle written with the bundle module's own writers (fixture / benchmark).

    Two modalities a and b with ``features`` features, n samples (the first n_test, default all,
    form the test split and the similarity matrix), latent size k (<= 3 canonical correlations).
    """
    from mmcorr.runs.bundle import (
        BundleFile,
        MetricsKey,
        SimilarityKey,
        write_frame,
        write_json,
        write_similarity,
    )

    rng = np.random.default_rng(seed)
    run_dir = home / "runs" / run_id
    run_dir.mkdir(parents=True)
    ids = np.array([f"s{i:05d}" for i in range(n)], dtype=object)
    n_test = n if n_test is None else n_test
    za = rng.normal(size=(n, k)).astype(np.float32)
    zb = (za + 0.3 * rng.normal(size=(n, k))).astype(np.float32)
    corr = [0.9, 0.6, 0.2] if k == 3 else np.linspace(0.9, 0.1, k).round(3).tolist()
    write_json(
        run_dir,
        BundleFile.METRICS,
        {
            MetricsKey.BUNDLE_FORMAT.value: 1,
            MetricsKey.CREATED.value: f"2026-01-01T00:00:{seed:02d}",
            MetricsKey.RUN.value: {"name": name or run_id, "dataset_id": dataset_id, "model": model},
            MetricsKey.CANONICAL.value: {
                "a|b": {
                    "correlations": corr,
                    "total": float(sum(corr)),
                    "p_values": np.linspace(0.01, 0.5, k).round(3).tolist(),
                    "null_low": [0.0] * k,
                    "null_high": [0.3] * k,
                }
            },
            MetricsKey.RETRIEVAL.value: {"a->b": {"recall@1": recall1, "recall@10": 0.9, "mrr": 0.6}},
            MetricsKey.PREDICTION_R2.value: {"a->b": 0.42},
            MetricsKey.SUMMARY.value: {"recall@1": recall1, "cc_total": float(sum(corr)), "foscttm": 0.1},
        },
    )
    history = "\n".join(
        f'{{"epoch": {e}, "epochs": 3, "train": {{"loss": {1.0 / e}}}, "val": {{"loss": {1.2 / e}}}, '
        f'"val_corr": {0.2 * e}, "seconds": 0.1}}'
        for e in (1, 2, 3)
    )
    (run_dir / BundleFile.HISTORY.value).write_text(history + "\n", encoding="utf-8")
    split = np.where(np.arange(n) < n_test, "test", "train")
    latents = pd.DataFrame({"id": ids, "split": split})
    for i in range(k):
        latents[f"a_{i}"] = za[:, i]
        latents[f"b_{i}"] = zb[:, i]
        latents[f"joint_{i}"] = (za[:, i] + zb[:, i]) / 2
    latents["label"] = np.arange(n) % 3
    write_frame(run_dir, BundleFile.LATENTS, latents)
    umap = pd.DataFrame(
        {
            "id": np.concatenate([ids, ids]),
            "modality": ["a"] * n + ["b"] * n,
            "x": rng.normal(size=2 * n),
            "y": rng.normal(size=2 * n),
            "split": np.tile(split, 2),
            "label": np.tile(np.arange(n) % 3, 2).astype(str),
        }
    )
    write_frame(run_dir, BundleFile.UMAP, umap)
    fa, fb = [f"ga{i}" for i in range(features[0])], [f"pb{j}" for j in range(features[1])]
    grid = pd.MultiIndex.from_product([fa, fb], names=["feature_a", "feature_b"]).to_frame(index=False)
    grid["pair"] = "a|b"
    grid["latent_corr"] = rng.uniform(-1, 1, size=len(grid))
    grid["pearson"] = rng.uniform(-1, 1, size=len(grid))
    grid["p_value"] = rng.uniform(0, 1, size=len(grid))
    grid["q_value"] = grid["p_value"]
    grid["significant"] = grid["q_value"] < 0.3
    write_frame(run_dir, BundleFile.FEATURE_CORR, grid)
    za_n = za[:n_test] / np.linalg.norm(za[:n_test], axis=1, keepdims=True)
    zb_n = zb[:n_test] / np.linalg.norm(zb[:n_test], axis=1, keepdims=True)
    write_similarity(
        run_dir,
        {
            SimilarityKey.PAIR: np.array(["a", "b"]),
            SimilarityKey.IDS_A: ids[:n_test],
            SimilarityKey.IDS_B: ids[:n_test],
            SimilarityKey.MATRIX: za_n @ zb_n.T,
        },
    )
    (run_dir / BundleFile.REPORT.value).write_text("<html><body>report</body></html>", encoding="utf-8")
    return run_dir
