"""Tiny seeded files for the data-layer tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest


@pytest.fixture
def write_csv(tmp_path: Path) -> Callable[..., Path]:
    """Write raw text to tmp_path/<name> and return the path."""

    def _write(text: str, name: str = "x.csv") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return _write


@pytest.fixture
def pair_files(tmp_path: Path) -> dict[str, Path]:
    """Two CSV modalities sharing 20 of their ids (rna: 25 samples x 4, prot: 22 samples x 3)."""
    rng = np.random.default_rng(0)
    ids_a = [f"c{i}" for i in range(25)]
    ids_b = [f"c{i}" for i in range(5, 25)] + ["x1", "x2"]
    a = pd.DataFrame(rng.normal(size=(25, 4)), columns=["g1", "g2", "g3", "g4"])
    a.insert(0, "sample_id", ids_a)
    b = pd.DataFrame(rng.normal(size=(22, 3)), columns=["p1", "p2", "p3"])
    b.insert(0, "sample_id", ids_b)
    pa_, pb = tmp_path / "rna.csv", tmp_path / "prot.csv"
    a.to_csv(pa_, index=False)
    b.to_csv(pb, index=False)
    return {"rna": pa_, "prot": pb}
