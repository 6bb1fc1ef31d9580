"""Regularised linear CCA in closed form (numpy only): two views and multi-view (MCCA / GCCA).

Two views: classical CCA (Hotelling 1936) with ridge-regularised covariances, solved by whitening each
view and taking the SVD of the whitened cross-covariance. More than two views: MCCA in the MAXVAR /
generalised-eigenproblem form used by cca-zoo's ``MCCA`` (Kettenring 1971): maximise
``sum_ij a_i' C_ij a_j`` subject to ``sum_i a_i' (C_ii + r_i I) a_i = 1``.

Two ways to the same answer. With fewer features than samples (sum d_i <= n, up to
:data:`COV_MAX_D`), each view is whitened in the eigenbasis of its covariance, and the covariances are
summed over row chunks (:func:`cca_moments`): no centred or whitened copy of the (n, d_i) data, so a
CCA of a million latents costs a few (d, d) matrices (bench/RESULTS.md, "Memory, per-batch
preprocessing"). Otherwise each view is whitened in its thin-SVD basis (rank <= min(n - 1, d_i)), so a
view with many more features than samples (d >> n) costs O(n d min(n, d)) instead of an O(d^3)
eigendecomposition. The two agree to rounding (~1e-12 on well-conditioned data). The ridge term is
exactly equivalent to adding ``r_i I`` to the full d x d covariance: weight vectors of the
regularised problem always lie in the row space of the centred data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Literal

import numpy as np
from scipy.linalg import block_diag
from scipy.linalg.blas import dsyrk

from mmcorr._validation import MmcorrError, check_choice, check_float, check_int
from mmcorr.data._chunks import chunk_rows

__all__ = [
    "CCAFit",
    "COV_MAX_D",
    "SOLVERS",
    "Solver",
    "cca_moments",
    "MIN_FIT_ROWS_PER_DIM",
    "fit_cca",
    "cca_transform",
    "canonical_correlations",
    "validation_fit_wins",
]

#: Paired rows per latent dimension a post-hoc k x k CCA (or a ridge strength) is fitted / chosen
#: on before validation rows are trusted for it; below this the training rows are used instead.
MIN_FIT_ROWS_PER_DIM = 5

# Singular values below this fraction of the largest are numerical noise (collinear or constant
# features): dropping them keeps the whitening finite even when reg == 0.
_RANK_TOL = 1e-10
# The covariance form's counterpart, on variances: eigh resolves a covariance's eigenvalues only to
# ~1e-16 of the largest (the SVD resolves variances to ~1e-32), so directions below this fraction
# are dropped. Both keep the same directions unless the data's condition number exceeds ~1e6.
_COV_RANK_TOL = 1e-12
#: How :func:`fit_cca` whitens the views (see its ``solver``).
Solver = Literal["auto", "covariance", "svd"]
SOLVERS: tuple[Solver, ...] = ("auto", "covariance", "svd")
#: Widest total feature count (sum of d_i) fitted from (D, D) covariances (128 MiB at 4,096) when
#: there are at least as many rows; wider or shorter data uses the thin SVD of the centred views.
COV_MAX_D = 4096


@dataclass(frozen=True, eq=False)
class CCAFit:
    """A fitted linear CCA.

    means: per view, the training feature means, shape (d_i,).
    weights: per view, the projection, shape (d_i, k); ``(x - means[i]) @ weights[i]`` gives that
        view's canonical variates, with unit variance on the training data (up to the ridge).
    correlations: training canonical correlations, shape (k,), descending, in [0, 1]. For more than
        two views this is the MCCA eigenvalue mapped to an average pairwise correlation,
        ``(lambda - 1) / (m - 1)`` (exactly the canonical correlation when m = 2).
    reg: the ridge used (relative, see :func:`fit_cca`).
    """

    means: list[np.ndarray]
    weights: list[np.ndarray]
    correlations: np.ndarray
    reg: float

    @property
    def n_components(self) -> int:
        return int(self.correlations.shape[0])

    @property
    def n_views(self) -> int:
        return len(self.weights)


def _check_views(views: Sequence[np.ndarray], *, min_views: int = 2) -> list[np.ndarray]:
    """The views as arrays of their own dtype, shapes and row counts checked (not yet finiteness)."""
    if not isinstance(views, (list, tuple)) or len(views) < min_views:
        got = len(views) if isinstance(views, (list, tuple)) else type(views).__name__
        raise MmcorrError(f"The 'views' parameter must be a list of at least {min_views} arrays. Got {got}.")
    out: list[np.ndarray] = []
    for i, v in enumerate(views):
        a = np.asarray(v)
        if a.ndim != 2 or not np.issubdtype(a.dtype, np.number):
            raise MmcorrError(
                f"views[{i}] must be a 2-D numeric array (n_samples, n_features). "
                f"Got shape {a.shape} and dtype {a.dtype}."
            )
        out.append(a)
    n = out[0].shape[0]
    for i, a in enumerate(out):
        if a.shape[0] != n:
            raise MmcorrError(
                f"All views must have the same number of rows (paired samples): views[0] has {n}, "
                f"views[{i}] has {a.shape[0]}."
            )
    return out


def _check_finite(i: int, x: np.ndarray) -> None:
    if not np.isfinite(x).all():
        raise MmcorrError(
            f"views[{i}] contains NaN or infinite values; CCA needs complete rows. "
            "Drop or impute the missing samples first."
        )


def cca_moments(views: Sequence[np.ndarray]) -> tuple[list[np.ndarray], np.ndarray]:
    """Per-view means (d_i,) and the joint covariance (D, D), D = sum d_i (ddof 1), of paired views
    of any float dtype, summed over float64 row chunks of ~32 MiB (two passes: the means, then the
    centred products, so a large offset cancels no digits). No copy of the data is made.

    Block (i, j) of the covariance is ``cov(view_i, view_j)``. Raises MmcorrError naming a view
    with NaN or infinite values.
    """
    xs = _check_views(views)
    dims = [a.shape[1] for a in xs]
    edges = np.cumsum([0, *dims])
    n, total = xs[0].shape[0], int(edges[-1])
    step = chunk_rows(total)
    buf = np.empty((min(step, max(n, 1)), total))

    def fill(start: int) -> np.ndarray:
        m = min(step, n - start)
        for a, lo, hi in zip(xs, edges[:-1], edges[1:], strict=True):
            buf[:m, lo:hi] = a[start : start + m]
        return buf[:m]

    sums = np.zeros(total)
    for start in range(0, n, step):
        chunk = fill(start)
        for i, (lo, hi) in enumerate(pairwise(edges)):
            _check_finite(i, chunk[:, lo:hi])
        sums += chunk.sum(axis=0)
    mean = sums / max(n, 1)
    cov = np.zeros((total, total), order="F")
    for start in range(0, n, step):
        chunk = fill(start)
        chunk -= mean
        # BLAS symmetric rank-k update in place (upper triangle): no (D, D) temporary per chunk.
        cov = dsyrk(1.0, chunk.T, beta=1.0, c=cov, trans=0, lower=0, overwrite_c=1)
    upper = np.triu(cov)
    cov = (upper + np.triu(upper, 1).T) / max(n - 1, 1)
    return [mean[lo:hi] for lo, hi in pairwise(edges)], cov


def _whitened_basis(x: np.ndarray, reg: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Whiten a centred view in its thin-SVD basis.

    x: centred data, shape (n, d). Returns (xw (n, r), to_orig (d, r), shrink (r,)): ``xw`` has
    covariance diag(shrink) with shrink = s2 / (s2 + ridge) <= 1, and a weight w in the whitened
    basis maps to ``to_orig @ w`` in feature space. The ridge is ``reg`` times the mean feature
    variance, so the same ``reg`` means the same amount of shrinkage whatever the data's units.
    """
    n = x.shape[0]
    _, s, vt = np.linalg.svd(x, full_matrices=False)
    keep = s > _RANK_TOL * max(float(s[0]) if s.size else 0.0, 1e-300)
    s, vt = s[keep], vt[keep]
    var = s**2 / (n - 1)  # variances along the principal axes
    ridge = reg * float((x**2).sum() / ((n - 1) * x.shape[1]))
    scale = 1.0 / np.sqrt(var + ridge)
    xw = (x @ vt.T) * scale
    to_orig = vt.T * scale
    return xw, to_orig, var / (var + ridge)


def _whitening_from_cov(cov: np.ndarray, reg: float) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_whitened_basis` from a view's covariance (d, d): (to_orig (d, r), shrink (r,)), the
    same basis up to the order and signs of its columns (which the solution does not depend on)."""
    var, vecs = np.linalg.eigh(cov)
    keep = var > _COV_RANK_TOL * max(float(var[-1]) if var.size else 0.0, 1e-300)
    var, vecs = var[keep], vecs[:, keep]
    ridge = reg * float(np.trace(cov) / cov.shape[0])
    scale = 1.0 / np.sqrt(var + ridge)
    return vecs * scale, var / (var + ridge)


def _whitened_problem(
    xs: list[np.ndarray], reg: float, solver: Solver
) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray], np.ndarray]:
    """(means, to_orig maps, shrinks, whitened covariance) by the covariance form when the data is
    tall and narrow enough, else by each view's thin SVD. The whitened covariance is the cross
    block (r_0, r_1) for two views, else the joint (R, R), R = sum of the ranks r_i."""
    n = xs[0].shape[0]
    total = sum(a.shape[1] for a in xs)
    if solver == "covariance" or (solver == "auto" and total <= min(n, COV_MAX_D)):
        means, cov = cca_moments(xs)
        edges = np.cumsum([0, *(a.shape[1] for a in xs)])
        blocks = [_whitening_from_cov(cov[lo:hi, lo:hi], reg) for lo, hi in pairwise(edges)]
        maps, shrinks = [b[0] for b in blocks], [b[1] for b in blocks]
        if len(xs) == 2:
            return means, maps, shrinks, maps[0].T @ cov[: edges[1], edges[1] :] @ maps[1]
        proj = block_diag(*maps)  # (D, R): every view's whitening map on its own rows
        return means, maps, shrinks, proj.T @ cov @ proj
    views = [a.astype(np.float64, copy=False) for a in xs]
    for i, a in enumerate(views):
        _check_finite(i, a)
    means = [a.mean(axis=0) for a in views]
    bases = [_whitened_basis(a - mu, reg) for a, mu in zip(views, means, strict=True)]
    if len(xs) == 2:
        whitened = bases[0][0].T @ bases[1][0] / (n - 1)
    else:
        xw_all = np.hstack([b[0] for b in bases])
        whitened = xw_all.T @ xw_all / (n - 1)
    return means, [b[1] for b in bases], [b[2] for b in bases], whitened


def fit_cca(
    views: list[np.ndarray], n_components: int, reg: float = 1e-3, *, solver: Solver = "auto"
) -> CCAFit:
    """Fit regularised linear CCA (two views) or MCCA (three or more views) in closed form.

    views: m >= 2 arrays, each (n, d_i), rows paired across views; complete (no NaN); any float
        dtype (read in float64 row chunks by the covariance solver, copied as float64 by the SVD).
    n_components: k, the number of canonical pairs, 1 <= k <= min(n - 1, d_1, ..., d_m).
    reg: ridge added to every view's covariance, relative to its mean feature variance
        (``C_ii + reg * mean(diag C_ii) * I``), in [0, 1]. 1e-4-1e-2 is typical; raise it when
        n is small relative to d (reg > 0 keeps d > n well-posed instead of giving correlation 1).
    solver: ``"covariance"`` (the views' covariances, summed over row chunks: no copy of the data),
        ``"svd"`` (each centred view's thin SVD: O(n d min(n, d)), for d > n), or ``"auto"``: the
        covariance form when sum d_i <= min(n, :data:`COV_MAX_D`). Both give the same fit to rounding.

    Returns a :class:`CCAFit`; components are ordered by descending training correlation and
    signed so that each view-0 weight column has its largest entry positive (deterministic).
    """
    xs = _check_views(views)
    n = xs[0].shape[0]
    reg = check_float("reg", reg, 0.0, 1.0)
    if n < 3:
        raise MmcorrError(f"CCA needs at least 3 paired samples. Got {n}.")
    kmax = min([n - 1, *(a.shape[1] for a in xs)])
    k = check_int("n_components", n_components, 1, kmax)

    check_choice("solver", solver, SOLVERS)
    means, maps, shrinks, big = _whitened_problem(xs, reg, solver)
    m = len(xs)
    ranks = [p.shape[1] for p in maps]
    if m == 2:
        u, s, vt = np.linalg.svd(big, full_matrices=False)
        w_blocks = [u, vt.T]
        corr = s
    else:
        # big is (sum r_i) square; its diagonal blocks are diag(shrink_i).
        evals, evecs = np.linalg.eigh(big)
        order = np.argsort(evals)[::-1]
        evals, evecs = evals[order], evecs[:, order]
        w_blocks = np.split(evecs, np.cumsum(ranks)[:-1], axis=0)
        corr = (evals - 1.0) / (m - 1)
        # Give every view's variate unit (regularised) variance, like the two-view solution.
        w_blocks = [
            w / np.maximum(np.sqrt(((w**2) * sh[:, None]).sum(axis=0)), 1e-12)
            for w, sh in zip(w_blocks, shrinks, strict=True)
        ]

    avail = min(w.shape[1] for w in w_blocks)
    weights: list[np.ndarray] = []
    for w, p in zip(w_blocks, maps, strict=True):
        full = np.zeros((p.shape[0], k))
        take = min(k, avail)
        full[:, :take] = p @ w[:, :take]  # rank-deficient data: surplus components stay zero
        weights.append(full)
    correlations = np.zeros(k)
    correlations[: min(k, avail)] = np.clip(corr[: min(k, avail)], 0.0, 1.0)

    # Deterministic signs: SVD / eigh signs are arbitrary, so fix them by view 0's largest entry.
    pivot = weights[0][np.abs(weights[0]).argmax(axis=0), np.arange(k)]
    sign = np.where(pivot < 0, -1.0, 1.0)
    weights = [w * sign for w in weights]
    return CCAFit(means=means, weights=weights, correlations=correlations, reg=reg)


def cca_transform(fit: CCAFit, views: list[np.ndarray]) -> list[np.ndarray]:
    """Project views with a fitted CCA: returns per view an array (n_i, k) of canonical variates.

    views: the same number of views as the fit, each (n_i, d_i) with the fit's feature counts;
    different views may have different row counts (they are projected independently).
    """
    if not isinstance(views, (list, tuple)) or len(views) != fit.n_views:
        got = len(views) if isinstance(views, (list, tuple)) else type(views).__name__
        raise MmcorrError(f"The 'views' parameter must be a list of {fit.n_views} arrays. Got {got}.")
    out: list[np.ndarray] = []
    for i, (v, mu, w) in enumerate(zip(views, fit.means, fit.weights, strict=True)):
        a = np.asarray(v, dtype=np.float64)
        if a.ndim != 2 or a.shape[1] != w.shape[0]:
            raise MmcorrError(
                f"views[{i}] must have shape (n, {w.shape[0]}) like the data CCA was fitted on. "
                f"Got {a.shape}."
            )
        out.append((a - mu) @ w)
    return out


def canonical_correlations(za: np.ndarray, zb: np.ndarray) -> np.ndarray:
    """Per-component Pearson correlation of already-projected columns.

    za, zb: (n, k) paired canonical variates. Returns (k,); a constant column gives 0, not NaN.
    """
    a = np.asarray(za, dtype=np.float64)
    b = np.asarray(zb, dtype=np.float64)
    if a.ndim != 2 or a.shape != b.shape:
        raise MmcorrError(
            f"The canonical variates 'za' and 'zb' must be 2-D arrays of the same shape (n, k). "
            f"Got {a.shape} and {b.shape}."
        )
    if a.shape[0] < 2:
        raise MmcorrError(f"Correlations need at least 2 paired samples. Got {a.shape[0]}.")
    a = a - a.mean(axis=0)
    b = b - b.mean(axis=0)
    num = (a * b).sum(axis=0)
    den = np.sqrt((a**2).sum(axis=0) * (b**2).sum(axis=0))
    safe = den > 1e-300
    return np.where(safe, num / np.where(safe, den, 1.0), 0.0)


def _pair_sum(fit: CCAFit, views: list[np.ndarray]) -> float:
    z = cca_transform(fit, views)
    return float(sum(canonical_correlations(z[i], z[j]).sum() for i in range(len(z)) for j in range(i)))


def validation_fit_wins(train: list[np.ndarray], val: list[np.ndarray], k: int, reg: float) -> bool:
    """Whether a CCA fitted on the validation pairs beats one fitted on the training pairs, judged
    on validation pairs neither fit saw (issue 16; bench/RESULTS.md, "Post-hoc alignment").

    train, val: per view (n, d_i) complete paired rows. The training fit is scored on every
    validation pair; the validation fit by two-fold cross-validation within them (even rows fit,
    odd rows score, and back), so both scores are out of sample and the test pairs never decide.
    The score is the sum of canonical correlations over view pairs. False with fewer than
    ``2 * MIN_FIT_ROWS_PER_DIM * k`` validation rows (too few to fit on half of them).
    """
    n = val[0].shape[0]
    if n < 2 * MIN_FIT_ROWS_PER_DIM * k:
        return False
    train_score = _pair_sum(fit_cca(train, k, reg=reg), val)
    even = np.arange(n) % 2 == 0
    cv = [_pair_sum(fit_cca([v[f] for v in val], k, reg=reg), [v[~f] for v in val]) for f in (even, ~even)]
    return float(np.mean(cv)) > train_score
