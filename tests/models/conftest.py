"""Tiny seeded data for the model tests; every test here trains with one CPU thread."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mmcorr._cca import canonical_correlations, fit_cca
from mmcorr.data import make_demo
from mmcorr.data.types import PairedDataset


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def synthetic_ab() -> tuple[PairedDataset, PairedDataset, np.ndarray]:
    """(train 1600, test 400) of the synthetic demo's modalities a and b, and their true ceiling."""
    ds = make_demo("synthetic", n_samples=2000, seed=0)
    ceiling = np.asarray(ds.info["true_correlations"]["a|b"])
    ab = ds.select(["a", "b"])
    return ab.subset(np.arange(1600)), ab.subset(np.arange(1600, 2000)), ceiling


def _heldout_correlation_sum(
    za_tr: np.ndarray, zb_tr: np.ndarray, za_te: np.ndarray, zb_te: np.ndarray
) -> float:
    """Sum over components of held-out canonical correlations of a linear CCA fitted on train latents."""
    k = za_tr.shape[1]
    fit = fit_cca([za_tr, zb_tr], k, reg=1e-3)
    ca = (za_te - fit.means[0]) @ fit.weights[0]
    cb = (zb_te - fit.means[1]) @ fit.weights[1]
    return float(canonical_correlations(ca, cb).sum())


@pytest.fixture
def heldout_sum() -> object:
    """The held-out canonical-correlation measure (see _heldout_correlation_sum)."""
    return _heldout_correlation_sum
