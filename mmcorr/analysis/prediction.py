"""Cross-modal prediction R-squared and the linear-probe accuracy of latents."""

from __future__ import annotations

from typing import Literal

import numpy as np

from mmcorr._validation import MmcorrError, check_int
from mmcorr.analysis._common import as_matrix, complete_rows

__all__ = ["prediction_r2", "linear_probe_accuracy"]


def prediction_r2(
    y_true: np.ndarray, y_pred: np.ndarray, *, weighting: Literal["uniform", "variance"] = "uniform"
) -> tuple[float, np.ndarray]:
    """Coefficient of determination of a cross-modal prediction, overall and per target feature.

    y_true, y_pred: (n, d) in the same units (rows with NaN in either are skipped).
    weighting: how ``overall`` combines the features. ``"uniform"``: the mean of the per-feature
        R^2 (scikit-learn's ``r2_score`` default), where one near-constant feature can drag it to
        -30 (digit images: a border pixel almost always 0). ``"variance"``: ``1 - sum SS_res /
        sum SS_tot`` over features (``multioutput="variance_weighted"``), the share of the target's
        total variance explained, which the run headlines use.
    Returns (overall, per_feature (d,)): per feature ``1 - SS_res / SS_tot``. A constant target
    feature scores 1.0 when predicted exactly and 0.0 otherwise (scikit-learn's ``force_finite``),
    never NaN. R^2 can be negative: worse than predicting the mean.
    """
    if weighting not in ("uniform", "variance"):
        raise MmcorrError(
            f"The 'weighting' parameter must be 'uniform' or 'variance'. Got {weighting!r} instead."
        )
    t = as_matrix("y_true", y_true)
    p = as_matrix("y_pred", y_pred, n_rows=t.shape[0], n_cols=t.shape[1])
    keep = complete_rows(t, p)
    t, p = t[keep], p[keep]
    if t.shape[0] < 2:
        raise MmcorrError(f"R-squared needs at least 2 complete samples. Got {t.shape[0]}.")
    ss_res = ((t - p) ** 2).sum(axis=0)
    ss_tot = ((t - t.mean(axis=0)) ** 2).sum(axis=0)
    return r2_from_sums(ss_res, ss_tot, (t**2).sum(axis=0), weighting=weighting)


def r2_from_sums(
    ss_res: np.ndarray,
    ss_tot: np.ndarray,
    sq: np.ndarray,
    *,
    weighting: Literal["uniform", "variance"] = "uniform",
) -> tuple[float, np.ndarray]:
    """:func:`prediction_r2` from per-feature sums over the rows, for callers that accumulate them
    in row chunks: ``ss_res`` (residual sum of squares), ``ss_tot`` (sum of squared deviations from
    the target's mean) and ``sq`` (the target's sum of squares, for the constant-feature test)."""
    const = ss_tot <= 1e-12 * np.maximum(1.0, sq)
    per = np.where(const, np.where(ss_res <= 1e-12, 1.0, 0.0), 1.0 - ss_res / np.where(const, 1.0, ss_tot))
    if weighting == "variance" and ss_tot.sum() > 0:
        return float(1.0 - ss_res.sum() / ss_tot.sum()), per
    return float(per.mean()), per


def linear_probe_accuracy(
    z_train: np.ndarray,
    y_train: np.ndarray,
    z_test: np.ndarray,
    y_test: np.ndarray,
    seed: int = 0,
) -> float:
    """Test accuracy of a multinomial logistic regression trained on latents (a linear probe).

    z_train: (n_train, k), y_train: (n_train,) class labels; z_test: (n_test, k), y_test: (n_test,).
    Rows with NaN latents are skipped. Features are standardised on the training rows; L2 strength
    C = 1, lbfgs up to 1000 iterations. seed: the solver's random_state.
    Test classes unseen in training count as errors.
    """
    from sklearn.linear_model import LogisticRegression  # lazy: sklearn import costs ~1 s
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    seed = check_int("seed", seed, 0, 2**32 - 1)
    ztr = as_matrix("z_train", z_train)
    zte = as_matrix("z_test", z_test, n_cols=ztr.shape[1])
    ytr = np.asarray(y_train)
    yte = np.asarray(y_test)
    if ytr.shape != (ztr.shape[0],):
        raise MmcorrError(
            f"The 'y_train' parameter must have shape ({ztr.shape[0]},), one label per row. Got {ytr.shape}."
        )
    if yte.shape != (zte.shape[0],):
        raise MmcorrError(
            f"The 'y_test' parameter must have shape ({zte.shape[0]},), one label per row. Got {yte.shape}."
        )
    keep_tr = complete_rows(ztr)
    keep_te = complete_rows(zte)
    ztr, ytr, zte, yte = ztr[keep_tr], ytr[keep_tr], zte[keep_te], yte[keep_te]
    if np.unique(ytr).size < 2:
        raise MmcorrError("The linear probe needs at least 2 classes among the training labels. Got 1.")
    if zte.shape[0] == 0:
        raise MmcorrError("The linear probe needs at least 1 test sample with a complete latent. Got 0.")
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000, random_state=seed))
    clf.fit(ztr, ytr)
    return float((clf.predict(zte) == yte).mean())
