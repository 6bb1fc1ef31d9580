"""The feature-by-feature cross-modal correlation map, with a permutation null and BH FDR.

For modalities A and B, observed on the same (held-out) samples, with latents z_a and z_b in the
aligned shared space:

* ``latent_corr[i, j] = clip(sum_c corr(a_i, z_a[:, c]) * corr(b_j, z_b[:, c]), -1, 1)``: the
  product of structure correlations (canonical loadings) through each shared latent component,
  summed over components. It reads "feature a_i and feature b_j load on the same shared factors";
  for exactly aligned, orthonormal latents that fully explain both features it equals their
  correlation explained by the shared space.
* ``pearson[i, j] = corr(a_i, b_j)``: the plain baseline on the same samples.
* ``p_values``: permutation null of the Pearson map: the rows of B are shuffled (pairing broken)
  ``R = permutations`` times, two-sided. With ``null="pair"`` each pair is compared with its own
  shuffles, ``p = (1 + #{|null| >= |observed|}) / (1 + R)``: it cannot go below 1 / (1 + R), so
  with d_a * d_b pairs BH can only reject when R >> d_a * d_b / fdr (40,000 pairs at R = 100 can
  never be significant). The default ``null="pooled"`` therefore pools the shuffled correlations
  of all m non-constant pairs, ``p = (1 + #{pooled |null| >= |observed|}) / (1 + R m)``. Pooling
  is sound here because the permutation distribution of a Pearson correlation has mean 0 and
  variance exactly 1 / (n - 1) for every pair, whatever the features' marginals; only higher
  moments (heavy tails) differ. A constant feature's pairs get p = 1.
  With ``permutations == 0`` the exact Student-t p-value of a Pearson correlation is used instead.
* ``q_values``: Benjamini-Hochberg adjusted p-values over all d_a * d_b pairs;
  ``significant = q_values <= fdr`` controls the expected share of false discoveries at ``fdr``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from mmcorr._validation import MmcorrError, check_choice, check_float, check_int
from mmcorr.analysis._common import as_matrix, complete_rows, rng_for, zscore_columns

__all__ = ["FeatureMap", "FeatureMapColumn", "feature_correlation_map", "benjamini_hochberg"]


class FeatureMapColumn:
    """Column names of :meth:`FeatureMap.to_frame` / :meth:`FeatureMap.top_pairs`."""

    FEATURE_A = "feature_a"
    FEATURE_B = "feature_b"
    LATENT_CORR = "latent_corr"
    PEARSON = "pearson"
    P_VALUE = "p_value"
    Q_VALUE = "q_value"
    SIGNIFICANT = "significant"
    ALL = (FEATURE_A, FEATURE_B, LATENT_CORR, PEARSON, P_VALUE, Q_VALUE, SIGNIFICANT)


def benjamini_hochberg(p_values: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg q-values (same shape as ``p_values``; NaN p-values stay NaN)."""
    p = np.asarray(p_values, dtype=np.float64)
    flat = p.ravel()
    ok = np.isfinite(flat)
    q = np.full(flat.shape, np.nan)
    pv = flat[ok]
    m = pv.size
    if m:
        order = np.argsort(pv, kind="stable")
        scaled = pv[order] * m / np.arange(1, m + 1)
        # The running minimum from the largest p down makes q monotone in p.
        mono = np.minimum.accumulate(scaled[::-1])[::-1]
        qq = np.empty(m)
        qq[order] = np.minimum(mono, 1.0)
        q[ok] = qq
    return q.reshape(p.shape)


@dataclass(frozen=True, eq=False)
class FeatureMap:
    """A d_a x d_b cross-modal feature map (see the module docstring for the definitions).

    features_a / features_b: the d_a / d_b feature names.
    latent: (d_a, d_b) latent-mediated correlation in [-1, 1].
    pearson: (d_a, d_b) plain Pearson correlation on the same samples.
    p_values / q_values: (d_a, d_b) permutation p-values of ``pearson`` and their BH q-values.
    significant: (d_a, d_b) bool, ``q_values <= fdr``.
    fdr: the false discovery rate used; permutations: rounds of the null (0: parametric p-values).
    n_samples: complete samples used.
    """

    features_a: list[str]
    features_b: list[str]
    latent: np.ndarray
    pearson: np.ndarray
    p_values: np.ndarray
    q_values: np.ndarray
    significant: np.ndarray
    fdr: float
    permutations: int
    n_samples: int

    def to_frame(self) -> pd.DataFrame:
        """Long format, one row per feature pair (row-major: a_0 x b_0, a_0 x b_1, ...)."""
        da, db = self.latent.shape
        c = FeatureMapColumn
        return pd.DataFrame(
            {
                c.FEATURE_A: np.repeat(np.asarray(self.features_a, dtype=object), db),
                c.FEATURE_B: np.tile(np.asarray(self.features_b, dtype=object), da),
                c.LATENT_CORR: self.latent.ravel(),
                c.PEARSON: self.pearson.ravel(),
                c.P_VALUE: self.p_values.ravel(),
                c.Q_VALUE: self.q_values.ravel(),
                c.SIGNIFICANT: self.significant.ravel(),
            }
        )

    def top_pairs(self, n: int = 50, by: Literal["latent", "pearson"] = "latent") -> pd.DataFrame:
        """The n feature pairs with the largest |latent_corr| (or |pearson|), strongest first.

        Ties are broken by the smaller q-value. Same columns as :meth:`to_frame`.
        """
        n = check_int("n", n, 1)
        by = check_choice("by", by, ("latent", "pearson"))  # type: ignore[assignment]
        score = np.abs(self.latent if by == "latent" else self.pearson).ravel()
        q = np.nan_to_num(self.q_values.ravel(), nan=1.0)
        n = min(n, score.size)
        cand = np.argpartition(-score, n - 1)[:n] if n < score.size else np.arange(score.size)
        cand = cand[np.lexsort((q[cand], -score[cand]))]
        return self.to_frame().iloc[cand].reset_index(drop=True)


def _permutation_p(
    sa: np.ndarray, sb: np.ndarray, pearson: np.ndarray, rounds: int, null: str, seed: int
) -> np.ndarray:
    """Permutation p-values of ``pearson`` (see the module docstring); one matrix product per round."""
    rng = rng_for(seed)
    n = sa.shape[0]
    # Constant features have no null distribution (always 0): p = 1, and they stay out of the pool.
    valid = np.outer(np.abs(sa).sum(axis=0) > 0, np.abs(sb).sum(axis=0) > 0)
    obs = np.abs(pearson) - 1e-12  # tolerance: a permuted value equal up to rounding counts
    sa_t = np.ascontiguousarray(sa.T)
    if null == "pair":
        exceed = np.zeros(pearson.shape, dtype=np.int64)
        for _ in range(rounds):
            exceed += np.abs(sa_t @ sb[rng.permutation(n)]) >= obs
        p = (1.0 + exceed) / (1.0 + rounds)
    else:
        obs_valid = obs[valid]
        order = np.argsort(obs_valid)
        sorted_obs = obs_valid[order]
        m = sorted_obs.size
        hits = np.zeros(m + 1, dtype=np.int64)
        for _ in range(rounds):
            vals = np.abs(sa_t @ sb[rng.permutation(n)])[valid]
            # Each null value counts for every observed value <= it: bin by how many those are.
            hits += np.bincount(np.searchsorted(sorted_obs, vals, side="right"), minlength=m + 1)
        # exceed[i] = #null values whose bin index > i, i.e. >= sorted_obs[i].
        exceed_sorted = np.cumsum(hits[::-1])[::-1][1:]
        exceed_valid = np.empty(m, dtype=np.int64)
        exceed_valid[order] = exceed_sorted
        p_valid = (1.0 + exceed_valid) / (1.0 + rounds * m)
        p = np.ones(pearson.shape)
        p[valid] = p_valid
    return np.where(valid, p, 1.0)


def _parametric_p(r: np.ndarray, n: int) -> np.ndarray:
    from scipy import stats  # lazy: only for permutations == 0

    r = np.clip(r, -1 + 1e-15, 1 - 1e-15)
    t = r * np.sqrt((n - 2) / (1 - r**2))
    return np.asarray(2 * stats.t.sf(np.abs(t), n - 2))


def feature_correlation_map(
    xa: np.ndarray,
    xb: np.ndarray,
    za: np.ndarray,
    zb: np.ndarray,
    *,
    features_a: list[str],
    features_b: list[str],
    permutations: int = 100,
    fdr: float = 0.05,
    seed: int = 0,
    null: Literal["pooled", "pair"] = "pooled",
) -> FeatureMap:
    """Map how each feature of A relates to each feature of B through the shared latent space.

    xa: (n, d_a) and xb: (n, d_b) features of the same n samples (held-out, in any units);
    za: (n, k) and zb: (n, k) their latents from modality A alone and B alone (aligned space).
    Rows with NaN anywhere are skipped. features_a / features_b: d_a / d_b names.
    permutations: null rounds, 0-100000; each is one (d_a x n) @ (n x d_b) product. 100 is typical
        with the pooled null; 0 uses parametric Student-t p-values.
    fdr: Benjamini-Hochberg false discovery rate in (0, 1]; 0.05 is typical.
    seed: seeds the shuffles.
    null: "pooled" (default) compares each pair with the shuffled correlations of all pairs,
        "pair" only with its own (needs permutations >> d_a * d_b / fdr to reach significance).
    See the module docstring for the exact definitions of every returned map.
    """
    a = as_matrix("xa", xa)
    n = a.shape[0]
    b = as_matrix("xb", xb, n_rows=n)
    z_a = as_matrix("za", za, n_rows=n)
    z_b = as_matrix("zb", zb, n_rows=n, n_cols=z_a.shape[1])
    for name, names, d in (("features_a", features_a, a.shape[1]), ("features_b", features_b, b.shape[1])):
        if len(names) != d:
            raise MmcorrError(
                f"The '{name}' parameter must list {d} feature names (one per column). Got {len(names)}."
            )
    permutations = check_int("permutations", permutations, 0, 100000)
    fdr = check_float("fdr", fdr, 0.0, 1.0, lo_open=True)
    seed = check_int("seed", seed, 0, 2**32 - 1)
    null = check_choice("null", null, ("pooled", "pair"))  # type: ignore[assignment]
    keep = complete_rows(a, b, z_a, z_b)
    a, b, z_a, z_b = a[keep], b[keep], z_a[keep], z_b[keep]
    n = a.shape[0]
    if n < 4:
        raise MmcorrError(f"The feature map needs at least 4 samples complete in both modalities. Got {n}.")

    sa, sb = zscore_columns(a), zscore_columns(b)
    load_a = sa.T @ zscore_columns(z_a)  # (d_a, k) structure correlations
    load_b = sb.T @ zscore_columns(z_b)  # (d_b, k)
    latent = np.clip(load_a @ load_b.T, -1.0, 1.0)
    pearson = np.clip(sa.T @ sb, -1.0, 1.0)

    if permutations:
        p_values = _permutation_p(sa, sb, pearson, permutations, null, seed)
    else:
        p_values = _parametric_p(pearson, n)
    q_values = benjamini_hochberg(p_values)
    return FeatureMap(
        features_a=[str(f) for f in features_a],
        features_b=[str(f) for f in features_b],
        latent=latent,
        pearson=pearson,
        p_values=p_values,
        q_values=q_values,
        significant=q_values <= fdr,
        fdr=fdr,
        permutations=permutations,
        n_samples=n,
    )
