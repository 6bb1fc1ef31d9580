"""A tiny seeded CITE-seq-like MuData in muon's conventions (a uniquely named module for the tests)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

anndata = pytest.importorskip("anndata")
mudata = pytest.importorskip("mudata")
sp = pytest.importorskip("scipy.sparse")

N_CELLS = 120
N_PROT = 96  # prot observes only the first 96 cells: a partially observed modality


def cite(seed: int = 0, n: int = N_CELLS, n_prot: int = N_PROT) -> Any:
    """rna (sparse X of normalised values, a ``counts`` layer of integers; obs celltype) and prot
    (dense, a subset of the cells, listed in another order); cells paired by obs name."""
    rng = np.random.default_rng(seed)
    shared = rng.normal(size=(n, 2))
    counts = rng.poisson(np.exp(1.0 + 0.8 * np.tanh(shared @ rng.normal(size=(2, 12))))).astype(np.float32)
    counts[:, 0] += 1  # no constant feature
    rna = anndata.AnnData(sp.csr_matrix(np.log1p(counts)))
    rna.layers["counts"] = sp.csr_matrix(counts)
    rna.obs_names = [f"cell{i}" for i in range(n)]
    rna.var_names = [f"gene{j}" for j in range(12)]
    rna.obs["celltype"] = np.where(shared[:, 0] > 0, "T", "B")
    prot_x = shared @ rng.normal(size=(2, 5)) + 0.3 * rng.normal(size=(n, 5))
    order = rng.permutation(n_prot)
    prot = anndata.AnnData(prot_x[order].astype(np.float32))
    prot.obs_names = [f"cell{i}" for i in order]
    prot.var_names = [f"CD{j}" for j in range(5)]
    mdata = mudata.MuData({"rna": rna, "prot": prot})
    mdata.obs["batch"] = np.where(np.arange(mdata.n_obs) % 2 == 0, "b1", "b2")
    return mdata
