"""Held-out canonical correlations between two modalities' latents, with a permutation null."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from mmcorr._cca import (
    MIN_FIT_ROWS_PER_DIM,
    canonical_correlations,
    cca_transform,
    fit_cca,
    validation_fit_wins,
)
from mmcorr._validation import MmcorrError, check_float, check_int
from mmcorr.analysis._common import as_matrix, complete_rows, rng_for, zscore_columns

__all__ = ["ALIGN_FIT_ON", "MIN_FIT_ROWS_PER_DIM", "CanonicalResult", "canonical_correlation_test"]

#: Which latents the post-hoc linear CCA is fitted on: ``"train"`` (the network's own training
#: pairs) or ``"validation"`` (pairs it did not train on; see the README's glossary).
ALIGN_FIT_ON = ("train", "validation", "auto")
AlignFitOn = Literal["train", "validation", "auto"]

# Memory cap for one vectorised chunk of permutation rounds (rounds x n x k float64).
_CHUNK_BYTES = 64 * 2**20
# Fewer complete test pairs than this make a correlation meaningless.
_MIN_TEST = 3


@dataclass(frozen=True, eq=False)
class CanonicalResult:
    """Canonical correlations measured on held-out pairs.

    correlations: (k,) per-component Pearson correlation of the test canonical variates (the CCA is
        fitted on training latents only, so a model that memorised its training pairs scores low).
    null: (permutations, k) the same statistic with the test pairing shuffled.
    p_values: (k,) one-sided permutation p-value ``(1 + #{null >= observed}) / (1 + permutations)``
        per component; NaN when permutations == 0.
    total: sum of ``correlations`` (the usual "canonical correlation sum" out of k).
    n_train / n_test: complete pairs used (rows with NaN in either latent are skipped).
    train_correlations: (k,) descending, the canonical correlations of a CCA fitted on the
        training pairs and measured on them: how well the latents pair up the samples the network
        trained on. val_correlations: (k,) the reported components on the validation pairs (None
        without validation latents). Their sums beside ``total`` show memorisation.
    ordered_by: ``"validation"`` when the components are ordered by validation correlation (so
        component 1 is the best direction found without looking at the test set), else ``"train"``.
    fit_on: the pairs the linear CCA was fitted on (``"train"`` or ``"validation"``).
    """

    correlations: np.ndarray
    null: np.ndarray
    p_values: np.ndarray
    total: float
    n_train: int
    n_test: int
    train_correlations: np.ndarray | None = None
    val_correlations: np.ndarray | None = None
    ordered_by: str = "train"
    fit_on: str = "train"

    @property
    def n_components(self) -> int:
        return int(self.correlations.shape[0])

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types; NaN becomes None. Includes the null's 5% / 95% quantiles for plots."""

        def clean(v: np.ndarray) -> list[Any]:
            return [None if not math.isfinite(float(x)) else float(x) for x in np.ravel(v)]

        has_null = self.null.shape[0] > 0
        q05 = np.quantile(self.null, 0.05, axis=0) if has_null else np.full(self.n_components, np.nan)
        q95 = np.quantile(self.null, 0.95, axis=0) if has_null else np.full(self.n_components, np.nan)
        return {
            "correlations": clean(self.correlations),
            "p_values": clean(self.p_values),
            "total": float(self.total),
            "n_components": self.n_components,
            "n_train": self.n_train,
            "n_test": self.n_test,
            "permutations": int(self.null.shape[0]),
            "null_q05": clean(q05),
            "null_q95": clean(q95),
            "null": [clean(row) for row in self.null],
        }


def _permutation_null(za: np.ndarray, zb: np.ndarray, rounds: int, seed: int) -> np.ndarray:
    """(rounds, k) per-component correlations of za against row-shuffled zb.

    Columns are z-scored once: shuffling rows changes neither mean nor norm, so every round is a
    single gather + multiply-sum, vectorised over a chunk of rounds at a time.
    """
    n, k = za.shape
    a = zscore_columns(za)
    b = zscore_columns(zb)
    rng = rng_for(seed)
    out = np.empty((rounds, k))
    chunk = max(1, _CHUNK_BYTES // max(1, n * k * 8))
    for start in range(0, rounds, chunk):
        size = min(chunk, rounds - start)
        perms = rng.permuted(np.tile(np.arange(n), (size, 1)), axis=1)  # (size, n)
        out[start : start + size] = np.einsum("nk,rnk->rk", a, b[perms])
    return out


def _pairs(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    keep = complete_rows(a, b)
    return a[keep], b[keep]


def _validation(
    val_a: np.ndarray | None, val_b: np.ndarray | None, ka: int, kb: int, fit_on: str
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """The complete validation pairs, or (None, None) when absent or too few to order by."""
    if val_a is None or val_b is None:
        return None, None
    va0 = as_matrix("val_a", val_a, n_cols=ka)
    va, vb = _pairs(va0, as_matrix("val_b", val_b, n_rows=va0.shape[0], n_cols=kb))
    if va.shape[0] >= _MIN_TEST:
        return va, vb
    if fit_on == "validation":
        raise MmcorrError(
            f"Fitting the alignment on validation pairs needs at least {_MIN_TEST} validation "
            f"samples present in both modalities. Got {va.shape[0]}."
        )
    return None, None  # too few to order by: keep the training order


def _check_fit_on(fit_on: str, val_a: np.ndarray | None, val_b: np.ndarray | None) -> None:
    if fit_on not in ALIGN_FIT_ON:
        raise MmcorrError(f"The 'fit_on' parameter must be one of {list(ALIGN_FIT_ON)}. Got {fit_on!r}.")
    if (val_a is None) != (val_b is None):
        raise MmcorrError("The 'val_a' and 'val_b' parameters must be given together. Got only one.")
    if fit_on == "validation" and val_a is None:
        raise MmcorrError("The 'fit_on' parameter 'validation' needs 'val_a' and 'val_b'. Got neither.")


def _fit_rows(
    fit_on: str,
    train: tuple[np.ndarray, np.ndarray],
    va: np.ndarray | None,
    vb: np.ndarray | None,
    reg: float,
) -> tuple[np.ndarray, np.ndarray]:
    """The pairs the CCA is fitted on: validation ones when ``fit_on`` asks for them (or, for
    ``"auto"``, when they score higher out of sample), else the training ones."""
    if va is None or vb is None or fit_on == "train":
        return train
    k = min(train[0].shape[1], train[1].shape[1], max(1, train[0].shape[0] - 1))
    if fit_on == "validation" or validation_fit_wins(list(train), [va, vb], k, reg):
        return va, vb
    return train


def _project_ordered(
    fit: Any,
    train: tuple[np.ndarray, np.ndarray],
    test: tuple[np.ndarray, np.ndarray],
    va: np.ndarray | None,
    vb: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """Test variates and train / validation correlations, ordered by validation when given."""
    train_corr = canonical_correlations(*cca_transform(fit, list(train)))
    za, zb = cca_transform(fit, list(test))
    if va is None or vb is None:
        return za, zb, train_corr, None
    val_corr = canonical_correlations(*cca_transform(fit, [va, vb]))
    order = np.argsort(-val_corr, kind="stable")  # best validation direction first
    return za[:, order], zb[:, order], train_corr[order], val_corr[order]


def canonical_correlation_test(
    train_a: np.ndarray,
    train_b: np.ndarray,
    test_a: np.ndarray,
    test_b: np.ndarray,
    *,
    val_a: np.ndarray | None = None,
    val_b: np.ndarray | None = None,
    fit_on: AlignFitOn = "train",
    n_components: int | None = None,
    reg: float = 1e-3,
    permutations: int = 100,
    seed: int = 0,
) -> CanonicalResult:
    """Fit linear CCA on training (or validation) latents, measure test correlations against a null.

    train_a, train_b: (n_train, k_a), (n_train, k_b) paired training latents of modalities A and B.
    test_a, test_b: (n_test, k_a), (n_test, k_b) paired held-out latents.
    val_a, val_b: optional (n_val, k_a), (n_val, k_b) validation latents (pairs the network did not
        train on). Given, the components are ordered by their validation correlation, descending,
        so component 1 is the best direction chosen without the test set; without them, by the
        training correlation of the CCA (arbitrary for a model that fits its training pairs ~1.0).
        Rows with NaN in either member of a pair (absent modality) are skipped.
    fit_on: ``"train"`` fits the CCA on the training pairs, ``"validation"`` on the validation pairs
        (needs val_a / val_b with at least 3 complete pairs), ``"auto"`` on whichever scores the
        higher validation total out of sample (:func:`mmcorr._cca.validation_fit_wins`); test pairs never decide.
    n_components: canonical pairs, 1 <= k <= min(k_a, k_b, n_fit - 1); None takes the maximum.
    reg: ridge of the linear CCA (relative, see :func:`mmcorr._cca.fit_cca`), 0-1; 1e-3 is typical.
    permutations: rounds of the null (test pairing shuffled, CCA weights kept), 0-100000; 100 gives
        p-values down to ~0.01, 1000 down to ~0.001. seed: seeds the shuffles.
    """
    ta = as_matrix("train_a", train_a)
    tb = as_matrix("train_b", train_b, n_rows=ta.shape[0])
    ea = as_matrix("test_a", test_a, n_cols=ta.shape[1])
    eb = as_matrix("test_b", test_b, n_rows=ea.shape[0], n_cols=tb.shape[1])
    _check_fit_on(fit_on, val_a, val_b)
    reg = check_float("reg", reg, 0.0, 1.0)
    permutations = check_int("permutations", permutations, 0, 100000)
    seed = check_int("seed", seed, 0, 2**32 - 1)

    ta, tb = _pairs(ta, tb)
    ea, eb = _pairs(ea, eb)
    if ea.shape[0] < _MIN_TEST:
        raise MmcorrError(
            f"The held-out canonical correlations need at least {_MIN_TEST} test samples present in "
            f"both modalities. Got {ea.shape[0]}."
        )
    va, vb = _validation(val_a, val_b, ta.shape[1], tb.shape[1], fit_on)
    fa, fb = _fit_rows(fit_on, (ta, tb), va, vb, reg)
    kmax = min(ta.shape[1], tb.shape[1], max(1, fa.shape[0] - 1))
    k = kmax if n_components is None else check_int("n_components", n_components, 1, kmax)

    fit = fit_cca([fa, fb], n_components=k, reg=reg)
    za, zb, train_corr, val_corr = _project_ordered(fit, (ta, tb), (ea, eb), va, vb)
    if fa is not ta:  # what the latents reach on the pairs the network trained on: fit there too
        train_corr = fit_cca([ta, tb], n_components=min(k, max(1, ta.shape[0] - 1)), reg=reg).correlations
    train_corr = np.sort(train_corr)[::-1]
    corr = canonical_correlations(za, zb)
    if permutations:
        null = _permutation_null(za, zb, permutations, seed)
        p_values = (1.0 + (null >= corr[None, :]).sum(axis=0)) / (1.0 + permutations)
    else:
        null = np.empty((0, k))
        p_values = np.full(k, np.nan)
    return CanonicalResult(
        correlations=corr,
        null=null,
        p_values=p_values,
        total=float(corr.sum()),
        n_train=int(ta.shape[0]),
        n_test=int(ea.shape[0]),
        train_correlations=train_corr,
        val_correlations=val_corr,
        ordered_by="train" if val_corr is None else "validation",
        fit_on="validation" if fa is va else "train",
    )
