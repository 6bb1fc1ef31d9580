"""Cross-modal prediction R^2 and the linear probe."""

from __future__ import annotations

import numpy as np
import pytest

from mmcorr._validation import MmcorrError
from mmcorr.analysis import linear_probe_accuracy, prediction_r2


def test_r2_perfect_and_mean_prediction() -> None:
    rng = np.random.default_rng(0)
    y = rng.standard_normal((50, 4)) * [1, 10, 100, 0.1]
    overall, per = prediction_r2(y, y)
    assert overall == 1.0 and per.shape == (4,)
    np.testing.assert_array_equal(per, 1.0)
    overall, per = prediction_r2(y, np.tile(y.mean(axis=0), (50, 1)))
    np.testing.assert_allclose(per, 0.0, atol=1e-12)
    assert prediction_r2(y, -y)[0] < 0


def test_r2_matches_sklearn_and_constant_feature() -> None:
    from sklearn.metrics import r2_score

    rng = np.random.default_rng(1)
    y = rng.standard_normal((60, 3))
    p = y + 0.5 * rng.standard_normal(y.shape)
    overall, per = prediction_r2(y, p)
    assert overall == pytest.approx(r2_score(y, p))
    np.testing.assert_allclose(per, r2_score(y, p, multioutput="raw_values"))
    yc = np.column_stack([y[:, 0], np.full(60, 3.0)])
    _, per_c = prediction_r2(yc, np.column_stack([p[:, 0], np.full(60, 3.0)]))
    assert per_c[1] == 1.0
    _, per_c = prediction_r2(yc, np.column_stack([p[:, 0], np.full(60, 2.0)]))
    assert per_c[1] == 0.0


def test_r2_skips_nan_rows_and_rejects_bad_shapes() -> None:
    y = np.arange(12.0).reshape(6, 2)
    p = y.copy()
    p[0] = np.nan
    assert prediction_r2(y, p)[0] == 1.0
    with pytest.raises(MmcorrError, match="'y_pred' parameter must have 2 columns"):
        prediction_r2(y, y[:, :1])
    with pytest.raises(MmcorrError, match="'y_pred' parameter must have 6 rows"):
        prediction_r2(y, y[:3])


def test_linear_probe_separable_and_random() -> None:
    rng = np.random.default_rng(2)
    y = rng.integers(0, 3, size=300)
    centres = np.array([[4.0, 0, 0], [0, 4.0, 0], [0, 0, 4.0]])
    z = centres[y] + rng.standard_normal((300, 3))
    acc = linear_probe_accuracy(z[:200], y[:200], z[200:], y[200:])
    assert acc > 0.95
    noise = rng.standard_normal((300, 3))
    acc_rand = linear_probe_accuracy(noise[:200], y[:200], noise[200:], y[200:])
    assert acc_rand < 0.6
    # String labels and NaN rows are fine.
    z[5] = np.nan
    labels = np.array(["a", "b", "c"])[y]
    assert linear_probe_accuracy(z[:200], labels[:200], z[200:], labels[200:], seed=1) > 0.95


def test_linear_probe_bad_input() -> None:
    z = np.zeros((10, 2))
    with pytest.raises(MmcorrError, match="at least 2 classes"):
        linear_probe_accuracy(z, np.zeros(10), z, np.zeros(10))
    with pytest.raises(MmcorrError, match=r"'y_train' parameter must have shape \(10,\)"):
        linear_probe_accuracy(z, np.zeros(9), z, np.zeros(10))
    with pytest.raises(MmcorrError, match=r"'y_test' parameter must have shape \(10,\)"):
        linear_probe_accuracy(z, np.arange(10) % 2, z, np.zeros(3))
    with pytest.raises(MmcorrError, match="'z_test' parameter must have 2 columns"):
        linear_probe_accuracy(z, np.arange(10) % 2, np.zeros((10, 3)), np.zeros(10))
