"""The rank-Gaussian (Gaussian copula) preprocessing: each table feature through its training
quantiles to a standard normal, before standardising (``gaussianize=True``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from mmcorr.data import PairedDataset, make_demo
from mmcorr.data.preprocess import Preprocessor


def _dataset(values: dict[str, np.ndarray]) -> PairedDataset:
    n = next(iter(values.values())).shape[0]
    return PairedDataset(
        names=list(values),
        values=values,
        features={k: [f"{k}{i}" for i in range(v.shape[1])] for k, v in values.items()},
        ids=np.array([str(i) for i in range(n)], dtype=object),
        mask=np.ones((n, len(values)), dtype=bool),
    )


def _pair(n: int = 600, seed: int = 0, warp: bool = True) -> PairedDataset:
    """Two views of 2 shared Gaussian factors; with ``warp`` every feature of both views is bent by
    an increasing map (exp, cube), as skewed measurements are."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, 2))
    a = z @ rng.standard_normal((2, 5)) + 0.5 * rng.standard_normal((n, 5))
    b = z @ rng.standard_normal((2, 4)) + 0.5 * rng.standard_normal((n, 4))
    if warp:
        a, b = np.exp(a), b**3
    return _dataset({"a": a.astype(np.float32), "b": b.astype(np.float32)})


def test_training_features_come_out_standard_normal_and_in_rank_order() -> None:
    ds = _pair()
    out = Preprocessor(gaussianize=True).fit(ds).transform(ds)
    for name in ds.names:
        x, y = ds.values[name], out.values[name]
        np.testing.assert_allclose(y.mean(axis=0), 0.0, atol=1e-6)
        np.testing.assert_allclose(y.std(axis=0), 1.0, atol=1e-3)
        for j in range(x.shape[1]):  # monotone per feature: the ranks are kept exactly
            np.testing.assert_array_equal(
                np.argsort(x[:, j], kind="stable"), np.argsort(y[:, j], kind="stable")
            )
        # near-Gaussian: the skew of exp() and the tails of x^3 are gone
        assert np.abs(((y - y.mean(0)) ** 3).mean(0)).max() < 0.05


def test_an_increasing_distortion_of_a_feature_changes_nothing() -> None:
    plain, bent = _pair(warp=False), _pair(warp=False)
    bent.values["a"] = np.exp(bent.values["a"]).astype(np.float32)  # the same ranks
    y0 = Preprocessor(gaussianize=True).fit(plain).transform(plain).values["a"]
    y1 = Preprocessor(gaussianize=True).fit(bent).transform(bent).values["a"]
    np.testing.assert_allclose(y0, y1, atol=0.02)  # to the quantiles' resolution


def test_new_values_beyond_the_training_range_stay_finite() -> None:
    ds = _pair()
    pre = Preprocessor(gaussianize=True).fit(ds.subset(np.arange(300)))
    far = ds.values["a"] * 1e6  # far outside what the quantiles saw
    y = pre.transform_values("a", far)
    assert np.isfinite(y).all() and np.abs(y).max() < 10


def test_ties_and_constant_features_are_handled() -> None:
    rng = np.random.default_rng(1)
    counts = rng.poisson(0.3, size=(400, 3)).astype(np.float32)  # mostly zeros: big ties
    counts[:, 2] = 4.0  # constant
    ds = _dataset({"a": counts, "b": rng.exponential(size=(400, 2)).astype(np.float32)})
    y = Preprocessor(gaussianize=True, log1p=True).fit(ds).transform(ds).values["a"]
    assert np.isfinite(y).all()
    np.testing.assert_allclose(y[:, 2], 0.0)  # a constant feature carries nothing
    zeros = counts[:, 0] == 0
    assert np.ptp(y[zeros, 0]) == 0 and y[zeros, 0].max() < y[~zeros, 0].min()  # one value per tie


def test_inverse_transform_maps_back_to_the_original_units() -> None:
    ds = _pair()
    pre = Preprocessor(gaussianize=True).fit(ds)
    back = pre.inverse_transform("a", pre.transform(ds).values["a"])
    x = ds.values["a"].astype(np.float64)
    np.testing.assert_allclose(back, x, rtol=0.02, atol=0.02 * np.abs(x).mean())


def test_saved_and_loaded_it_transforms_the_same(tmp_path: Path) -> None:
    ds = _pair()
    pre = Preprocessor(gaussianize=True, pca_dim=3).fit(ds)
    pre.save(tmp_path)
    again = Preprocessor.load(tmp_path)
    assert again.gaussianize
    np.testing.assert_array_equal(again.transform(ds).values["a"], pre.transform(ds).values["a"])


def test_a_sparse_modality_gives_what_the_dense_one_gives() -> None:
    dense = _pair()
    sparse = _pair()
    sparse.values["a"] = sp.csr_matrix(sparse.values["a"])
    y0 = Preprocessor(gaussianize=True).fit(dense).transform(dense).values["a"]
    y1 = Preprocessor(gaussianize=True).fit(sparse).transform(sparse).values["a"]
    np.testing.assert_allclose(y0, y1, atol=1e-6)


def test_raw_media_are_left_alone() -> None:
    ds = make_demo("digits-media", n_samples=60, seed=0)
    pre = Preprocessor(gaussianize=True).fit(ds)
    assert all("quantiles" not in pre.params_[n] for n in ds.media)


def test_linear_cca_recovers_more_of_warped_factors() -> None:
    """What the option is for: on monotone-distorted features linear CCA's held-out correlation
    rises (seeds 2-4: 1.06-1.26 -> 1.57-1.69, of at most 2)."""
    from mmcorr.estimator import CorrelationModel

    train, test = _pair(n=1500, seed=2), _pair(n=1500, seed=2)
    rows = np.arange(1500)
    train, test = train.subset(rows[:1000]), test.subset(rows[1000:])
    plain = CorrelationModel("cca", latent_dim=2, seed=0).fit(train).score(test)
    copula = CorrelationModel("cca", latent_dim=2, seed=0, gaussianize=True).fit(train).score(test)
    assert copula > plain + 0.1, (plain, copula)


@pytest.mark.parametrize("value", ["yes", 1.5])
def test_a_bad_value_names_the_parameter(value: object) -> None:
    from mmcorr.estimator import CorrelationModel

    with pytest.raises(Exception, match="gaussianize"):
        CorrelationModel("cca", gaussianize=value).fit(_pair(n=60))


def test_a_fit_on_few_rows_notes_that_the_quantiles_are_coarse() -> None:
    from mmcorr.estimator import CorrelationModel

    few = CorrelationModel("cca", latent_dim=2, gaussianize=True).fit(_pair(n=60))
    assert "gaussianize: its quantiles come from" in few.history_[0]["note"]
    enough = CorrelationModel("cca", latent_dim=2, gaussianize=True).fit(_pair(n=600))
    assert "gaussianize" not in enough.history_[0].get("note", "")
    plain = CorrelationModel("cca", latent_dim=2).fit(_pair(n=60))
    assert "gaussianize" not in plain.history_[0].get("note", "")


def test_true_and_false_mean_on_and_off_and_a_chosen_family_leaves_auto_off() -> None:
    """Configs and estimators written when the option was a bool still mean what they said; the
    default "auto" maps nothing unless model auto decides to (tests/models/test_auto_inputs.py)."""
    from mmcorr.config import DataConfig
    from mmcorr.estimator import CorrelationModel

    assert DataConfig(gaussianize=True).gaussianize == "on"  # type: ignore[arg-type]
    assert DataConfig(gaussianize=False).gaussianize == "off"  # type: ignore[arg-type]
    assert DataConfig().gaussianize == "auto"
    ds = _pair(n=300)
    default = CorrelationModel("cca", latent_dim=2, seed=0).fit(ds)
    off = CorrelationModel("cca", latent_dim=2, seed=0, gaussianize="off").fit(ds)
    np.testing.assert_array_equal(default.transform(ds)["a"], off.transform(ds)["a"])
    on = CorrelationModel("cca", latent_dim=2, seed=0, gaussianize=True).fit(ds)
    assert on.get_configs()[2].gaussianize == "on"
    assert not np.allclose(on.transform(ds)["a"], off.transform(ds)["a"])
