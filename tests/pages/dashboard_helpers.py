"""Helpers of the dashboard tests: page switching, chart lookup, fixture run bundles."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mmcorr.runs import (
    CanonicalCorrelations,
    Direction,
    EpochRecord,
    HeldOutResults,
    Pair,
    Retrieval,
    RunDetails,
    RunMetrics,
    RunSummary,
    SimilarityData,
    TrainingHistory,
)


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


def fake_history(epochs: int) -> TrainingHistory:
    """A dccae-like history: the loss parts the real trainer logs (total, corr, recon) per epoch."""
    return TrainingHistory(
        tuple(
            EpochRecord(
                epoch=e,
                epochs=epochs,
                train={"total": 1.0 / e, "corr": -0.5 * e / epochs, "recon": 1.5 / e},
                val={"total": 1.2 / e, "corr": -0.4 * e / epochs, "recon": 1.6 / e},
                val_corr=0.2 * e,
                seconds=0.1,
            )
            for e in range(1, epochs + 1)
        )
    )


def fake_metrics(
    *,
    name: str,
    dataset_id: str,
    model: str,
    corr: list[float],
    recall1: float,
    n: int,
    n_test: int,
    created: str,
) -> RunMetrics:
    """Metrics of a two-modality run (a, b) through the real schema, with the given headline numbers."""
    k = len(corr)
    ab = Direction("a", "b")
    canonical = CanonicalCorrelations(
        correlations=tuple(corr),
        total=float(sum(corr)),
        p_values=tuple(np.linspace(0.01, 0.5, k).round(3).tolist()),
        n_test=n_test,
        permutations=100,
        null_low=(0.0,) * k,
        null_high=(0.3,) * k,
        null_mean=(0.15,) * k,
    )
    retrieval = Retrieval(
        recall_at_1=recall1, recall_at_5=0.8, recall_at_10=0.9, mrr=0.6, median_rank=2.0, foscttm=0.1
    )
    results = HeldOutResults(
        canonical={Pair("a", "b"): canonical},
        retrieval={ab: retrieval},
        prediction_r2={ab: 0.42},
        summary=RunSummary(
            canonical_total=float(sum(corr)), recall_at_1=recall1, foscttm=0.1, prediction_r2=0.42
        ),
    )
    details = RunDetails(
        name=name,
        dataset_id=dataset_id,
        model=model,
        latent_dim=k,
        label_column="label",
        n_samples=n,
        n_train=n - n_test,
        n_val=0,
        n_test=n_test,
        train_seconds=1.0,
        epochs_run=3,
        seed=0,
    )
    return RunMetrics(
        run=details, modalities=("a", "b"), results=results, created=created, mmcorr_version="0.1.0"
    )


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
    """A complete run bundle written with the pipeline's own writers and types (fixture / benchmark).

    Two modalities a and b with ``features`` features, n samples (the first n_test, default all,
    form the test split and the similarity matrix), latent size k (<= 3 canonical correlations).
    """
    from mmcorr.runs import BundleFile, write_frame, write_history, write_metrics, write_similarity

    rng = np.random.default_rng(seed)
    run_dir = home / "runs" / run_id
    run_dir.mkdir(parents=True)
    ids = np.array([f"s{i:05d}" for i in range(n)], dtype=object)
    n_test = n if n_test is None else n_test
    za = rng.normal(size=(n, k)).astype(np.float32)
    zb = (za + 0.3 * rng.normal(size=(n, k))).astype(np.float32)
    corr = [0.9, 0.6, 0.2] if k == 3 else np.linspace(0.9, 0.1, k).round(3).tolist()
    write_metrics(
        run_dir,
        fake_metrics(
            name=name or run_id,
            dataset_id=dataset_id,
            model=model,
            corr=corr,
            recall1=recall1,
            n=n,
            n_test=n_test,
            created=f"2026-01-01T00:00:{seed:02d}",
        ),
    )
    write_history(run_dir, fake_history(3))
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
        run_dir, SimilarityData(Pair("a", "b"), ids[:n_test], ids[:n_test], matrix=za_n @ zb_n.T)
    )
    (run_dir / BundleFile.REPORT.value).write_text("<html><body>report</body></html>", encoding="utf-8")
    return run_dir
