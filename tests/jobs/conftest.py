"""Fixtures for the job tests: a private home, huey immediate mode, real worker processes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from jobs_helpers import Processes


@pytest.fixture
def jobs_home(mmcorr_home: Path, monkeypatch: pytest.MonkeyPatch, numba_cache: Path) -> Iterator[Path]:
    from mmcorr.jobs.queue import reset_queues

    monkeypatch.setenv("NUMBA_CACHE_DIR", str(numba_cache))
    monkeypatch.setenv("MMCORR_WORKER_THREADS", "1")
    monkeypatch.setenv("MMCORR_WORKER_WARMUP", "0")
    reset_queues()
    yield mmcorr_home
    reset_queues()


@pytest.fixture
def immediate(jobs_home: Path) -> Iterator[None]:
    """huey runs each task synchronously inside submit() (unit tests of the whole path)."""
    from mmcorr.jobs.queue import get_huey

    get_huey().immediate = True
    yield
    get_huey().immediate = False


@pytest.fixture
def dataset_id(jobs_home: Path) -> str:
    """A small registered synthetic dataset (skips while the data registry is not built yet)."""
    data = pytest.importorskip("mmcorr.data")
    if not hasattr(data, "DatasetRegistry"):
        pytest.skip("mmcorr.data.DatasetRegistry is not available yet")
    ds = data.make_demo("synthetic", seed=0, n_samples=200)
    return str(data.DatasetRegistry().save(ds, "synthetic-small"))


@pytest.fixture
def procs(jobs_home: Path, tmp_path: Path) -> Iterator[Processes]:
    p = Processes(jobs_home, tmp_path)
    yield p
    p.close()
