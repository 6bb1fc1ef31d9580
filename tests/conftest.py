"""Shared fixtures: a private MMCORR_HOME per test and tiny seeded data."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture
def mmcorr_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh, private data home; no worker is auto-started unless a test asks for one."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("MMCORR_HOME", str(home))
    monkeypatch.setenv("MMCORR_AUTOSTART_WORKER", "0")
    yield home


@pytest.fixture(scope="session")
def numba_cache() -> Path:
    """One numba cache shared by every process the tests start (and by later sessions): UMAP's JIT
    compiles once, not once per process. Compiled code is keyed by source and signature, so sharing is
    safe."""
    path = Path(os.environ.get("NUMBA_CACHE_DIR") or Path(tempfile.gettempdir()) / "mmcorr-test-numba-cache")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def media_run_builder() -> Callable[[Path, str, str], tuple[Path, Any]]:
    """Builds the tiny run with raw modalities that the preview and inspector tests read: cca on
    120 digits-media samples (image, text, audio), no UMAP, every caption ending in ``suffix``
    (hostile markup the pages and the report must show as text). Returns (run folder, dataset)."""

    def build(folder: Path, suffix: str, name: str) -> tuple[Path, Any]:
        import numpy as np
        import torch

        from mmcorr.config import AnalysisConfig, JobSpec, ModelConfig, TrainConfig
        from mmcorr.data import make_demo
        from mmcorr.runs.pipeline import train_and_bundle

        torch.set_num_threads(1)
        ds = make_demo("digits-media", n_samples=120, seed=0)
        ds.previews["text"] = np.array([str(t) + suffix for t in ds.previews["text"]], dtype=object)
        spec = JobSpec(
            dataset_id="digits-media",
            model=ModelConfig(model="cca", latent_dim=4),
            train=TrainConfig(epochs=1, device="cpu", threads=1, seed=0),
            analysis=AnalysisConfig(permutations=10, top_features=4, umap="off"),
            name=name,
        )
        return train_and_bundle(ds, spec, folder), ds

    return build
