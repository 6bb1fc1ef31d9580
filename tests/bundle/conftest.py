"""Fixtures for the bundle tests: a hand-built run bundle (no training) and tiny paired files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mmcorr.config import JobSpec
from mmcorr.runs import (
    BundleFile,
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
    write_frame,
    write_history,
    write_metrics,
    write_similarity,
)


def fake_history(epochs: int = 3) -> TrainingHistory:
    """A history with the loss parts the real trainer logs for dccae (total, corr, recon)."""
    return TrainingHistory(
        tuple(
            EpochRecord(
                epoch=e,
                epochs=epochs,
                train={"total": 1.0 / e, "corr": 0.5 / e, "recon": 0.5 / e},
                val={"total": 1.2 / e, "corr": 0.6 / e, "recon": 0.6 / e},
                val_corr=0.3 * e,
                seconds=0.1,
            )
            for e in range(1, epochs + 1)
        )
    )


def fake_metrics(n: int, created: str) -> RunMetrics:
    """Well-formed metrics of a two-modality run (what the pipeline writes, with fixed numbers)."""
    ab, ba = Direction("a", "b"), Direction("b", "a")
    retrieval = {
        d: Retrieval(
            recall_at_1=r1,
            recall_at_5=0.6,
            recall_at_10=0.8,
            mrr=0.5,
            median_rank=2.0,
            foscttm=0.1,
            class_precision_at_1=0.6,
        )
        for d, r1 in ((ab, 0.4), (ba, 0.3))
    }
    results = HeldOutResults(
        canonical={
            Pair("a", "b"): CanonicalCorrelations(
                correlations=(0.9, 0.5, 0.1),
                total=1.5,
                p_values=(0.01, 0.02, 0.5),
                n_test=5,
                permutations=20,
                null_low=(0.0, 0.0, 0.0),
                null_high=(0.3, 0.2, 0.1),
                null_mean=(0.1, 0.1, 0.05),
                ceiling=(0.95, 0.6, 0.2),
                fraction_of_ceiling=1.5 / 1.75,
            )
        },
        retrieval=retrieval,
        prediction_r2={ab: 0.2, ba: float("nan")},
        linear_probe_accuracy=0.7,
        summary=RunSummary(canonical_total=1.5, recall_at_1=0.35, train_seconds=0.3),
    )
    details = RunDetails(
        name="fake",
        dataset_id="ds1",
        model="cca",
        latent_dim=3,
        label_column="label",
        n_samples=n,
        n_train=n - 10,
        n_val=5,
        n_test=5,
        train_seconds=0.3,
        epochs_run=3,
        seed=0,
    )
    return RunMetrics(
        run=details, modalities=("a", "b"), results=results, created=created, mmcorr_version="0.1.0"
    )


def make_fake_run(
    run_dir: Path, *, n: int = 30, k: int = 3, created: str = "2026-01-01T00:00:00+00:00"
) -> Path:
    """A complete bundle with random but well-formed contents, written by the pipeline's writers."""
    rng = np.random.default_rng(0)
    run_dir.mkdir(parents=True)
    ids = np.array([f"s{i}" for i in range(n)], dtype=object)
    split = np.array(["train"] * (n - 10) + ["val"] * 5 + ["test"] * 5, dtype=object)
    lat = {"id": ids, "split": split, "label": rng.integers(0, 3, n)}
    for name in ("a", "b", "joint"):
        for i in range(k):
            lat[f"{name}_{i}"] = rng.normal(size=n).astype(np.float32)
    write_frame(run_dir, BundleFile.LATENTS, pd.DataFrame(lat))
    um = pd.DataFrame(
        {
            "id": np.concatenate([ids, ids]),
            "modality": ["a"] * n + ["b"] * n,
            "x": rng.normal(size=2 * n),
            "y": rng.normal(size=2 * n),
            "label": np.concatenate([lat["label"], lat["label"]]).astype(str),
        }
    )
    write_frame(run_dir, BundleFile.UMAP, um)
    fa, fb = [f"ga{i}" for i in range(4)], [f"pb{i}" for i in range(5)]
    fc = pd.DataFrame(
        {
            "pair": "a|b",
            "feature_a": np.repeat(fa, len(fb)),
            "feature_b": np.tile(fb, len(fa)),
            "latent_corr": rng.uniform(-1, 1, 20),
            "pearson": rng.uniform(-1, 1, 20),
            "p_value": rng.uniform(0, 1, 20),
            "q_value": rng.uniform(0, 1, 20),
            "significant": rng.uniform(0, 1, 20) > 0.5,
        }
    )
    write_frame(run_dir, BundleFile.FEATURE_CORR, fc)
    write_frame(
        run_dir, BundleFile.PREDICTION_R2, pd.DataFrame({"pair": ["a->b"], "feature": ["pb0"], "r2": [0.5]})
    )
    write_similarity(
        run_dir,
        SimilarityData(
            Pair("a", "b"), ids[-5:], ids[-5:], matrix=rng.uniform(-1, 1, (5, 5)).astype(np.float32)
        ),
    )
    write_history(run_dir, fake_history())
    (run_dir / BundleFile.SPEC.value).write_text(JobSpec(dataset_id="ds1", name="fake").to_json())
    write_metrics(run_dir, fake_metrics(n, created))
    return run_dir


@pytest.fixture
def fake_run(tmp_path: Path) -> Path:
    return make_fake_run(tmp_path / "runs" / "run1")


@pytest.fixture
def make_run() -> Callable[..., Path]:
    """The bundle builder itself, for tests that need several runs."""
    return make_fake_run


def write_paired_files(
    folder: Path, *, n: int = 90, seed: int = 0, shuffle_b: bool = False
) -> dict[str, Path]:
    """Two small correlated modalities as csv files with an id column, and a labels table.

    a (6 features) and b (5 features) share a 2-d signal t; b is a nonlinear view of it. The label is
    the sign pattern of t (3 classes). ``shuffle_b`` breaks the pairing (a null dataset).
    """
    rng = np.random.default_rng(seed)
    t = rng.normal(size=(n, 2))
    a = t @ rng.normal(size=(2, 6)) + 0.3 * rng.normal(size=(n, 6))
    b = np.tanh(t @ rng.normal(size=(2, 5))) + 0.3 * rng.normal(size=(n, 5))
    if shuffle_b:
        b = b[rng.permutation(n)]
    ids = [f"s{i:03d}" for i in range(n)]
    folder.mkdir(parents=True, exist_ok=True)
    fa = pd.DataFrame(a, columns=[f"ga{i}" for i in range(6)]).assign(id=ids)[
        ["id", *[f"ga{i}" for i in range(6)]]
    ]
    fb = pd.DataFrame(b, columns=[f"pb{i}" for i in range(5)]).assign(id=ids)[
        ["id", *[f"pb{i}" for i in range(5)]]
    ]
    labels = pd.DataFrame(
        {"id": ids, "cls": np.where(t[:, 0] > 0.5, "hi", np.where(t[:, 0] < -0.5, "lo", "mid"))}
    )
    paths = {"a": folder / "a.csv", "b": folder / "b.csv", "labels": folder / "labels.csv"}
    fa.to_csv(paths["a"], index=False)
    fb.to_csv(paths["b"], index=False)
    labels.to_csv(paths["labels"], index=False)
    return paths


@pytest.fixture(scope="session")
def paired_files() -> Callable[..., dict[str, Path]]:
    """The tiny paired-csv writer (see write_paired_files)."""
    return write_paired_files
