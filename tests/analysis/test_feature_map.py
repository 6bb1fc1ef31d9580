"""The feature x feature cross-modal map: planted pairs found after BH, random pairs not."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mmcorr._validation import MmcorrError
from mmcorr.analysis import FeatureMap, FeatureMapColumn, benjamini_hochberg, feature_correlation_map

C = FeatureMapColumn


def _planted(n: int = 300, seed: int = 0) -> tuple[np.ndarray, ...]:
    """A: 12 features, B: 10 features; a_0~b_0, a_1~b_1 (via shared factors s_0, s_1); rest noise."""
    rng = np.random.default_rng(seed)
    s = rng.standard_normal((n, 2))
    xa = rng.standard_normal((n, 12))
    xb = rng.standard_normal((n, 10))
    xa[:, :2] += 1.5 * s
    xb[:, :2] -= 1.5 * s  # negative: the map must keep signs
    za = s + 0.1 * rng.standard_normal((n, 2))
    zb = s + 0.1 * rng.standard_normal((n, 2))
    return xa * 7.0 + 3.0, xb, za, zb


def test_planted_pairs_significant_random_not() -> None:
    xa, xb, za, zb = _planted()
    fm = feature_correlation_map(
        xa, xb, za, zb,
        features_a=[f"a{i}" for i in range(12)], features_b=[f"b{j}" for j in range(10)],
        permutations=400, fdr=0.05, seed=0,
    )  # fmt: skip
    assert isinstance(fm, FeatureMap)
    assert fm.latent.shape == fm.pearson.shape == fm.p_values.shape == (12, 10)
    planted = np.zeros((12, 10), dtype=bool)
    planted[0, 0] = planted[1, 1] = True
    assert fm.significant[planted].all()
    # 118 null pairs at FDR 0.05: expect ~0-1 false discoveries among ~2 true ones; allow 3.
    assert fm.significant[~planted].sum() <= 3
    # Latent-mediated map: strong and negative on planted pairs, near 0 elsewhere.
    assert np.all(fm.latent[planted] < -0.6)
    assert np.abs(fm.latent[2:, :]).max() < 0.3 and np.abs(fm.latent[:, 2:]).max() < 0.3
    assert np.all(fm.pearson[planted] < -0.5)
    np.testing.assert_allclose(fm.pearson[0, 0], np.corrcoef(xa[:, 0], xb[:, 0])[0, 1], atol=1e-12)
    assert np.all((fm.latent >= -1) & (fm.latent <= 1))


def test_pure_noise_fdr_roughly_controlled() -> None:
    rng = np.random.default_rng(1)
    n = 200
    xa, xb = rng.standard_normal((n, 15)), rng.standard_normal((n, 15))
    z = rng.standard_normal((n, 3))
    fm = feature_correlation_map(
        xa, xb, z, z, features_a=list("abcdefghijklmno"), features_b=list("ABCDEFGHIJKLMNO"),
        permutations=200, fdr=0.1, seed=3,
    )  # fmt: skip
    # Under the global null, BH at 10% rejects nothing with probability ~0.9; allow a couple.
    assert fm.significant.sum() <= 2
    # Permutation p-values are ~uniform under the null.
    assert 0.4 < fm.p_values.mean() < 0.6
    assert (fm.p_values < 0.05).mean() < 0.1


def test_parametric_fallback_and_seed() -> None:
    xa, xb, za, zb = _planted(n=150, seed=2)
    kw = {"features_a": [str(i) for i in range(12)], "features_b": [str(j) for j in range(10)]}
    fm0 = feature_correlation_map(xa, xb, za, zb, permutations=0, **kw)  # type: ignore[arg-type]
    from scipy import stats

    want = stats.pearsonr(xa[:, 3], xb[:, 4]).pvalue
    assert fm0.p_values[3, 4] == pytest.approx(want, rel=1e-6)
    f1 = feature_correlation_map(xa, xb, za, zb, permutations=30, seed=5, **kw)  # type: ignore[arg-type]
    f2 = feature_correlation_map(xa, xb, za, zb, permutations=30, seed=5, **kw)  # type: ignore[arg-type]
    np.testing.assert_array_equal(f1.p_values, f2.p_values)
    # Pooled null: resolution 1 / (1 + rounds * pairs).
    assert f1.p_values.min() == pytest.approx(1 / (1 + 30 * 120))
    fp = feature_correlation_map(xa, xb, za, zb, permutations=30, seed=5, null="pair", **kw)  # type: ignore[arg-type]
    assert fp.p_values.min() == pytest.approx(1 / 31)


def test_pooled_null_agrees_with_parametric_and_per_pair() -> None:
    rng = np.random.default_rng(8)
    n = 400
    xa, xb = rng.standard_normal((n, 10)), rng.standard_normal((n, 10))
    xb[:, 0] += 0.12 * xa[:, 0]  # a weak effect: p around 0.01
    z = rng.standard_normal((n, 2))
    kw = {"features_a": [str(i) for i in range(10)], "features_b": [str(j) for j in range(10)]}
    pooled = feature_correlation_map(xa, xb, z, z, permutations=300, seed=1, **kw)  # type: ignore[arg-type]
    pair = feature_correlation_map(xa, xb, z, z, permutations=300, seed=1, null="pair", **kw)  # type: ignore[arg-type]
    exact = feature_correlation_map(xa, xb, z, z, permutations=0, **kw)  # type: ignore[arg-type]
    mid = exact.p_values > 0.05
    np.testing.assert_allclose(pooled.p_values[mid], exact.p_values[mid], atol=0.03)
    np.testing.assert_allclose(pair.p_values[mid], exact.p_values[mid], atol=0.1)
    assert pooled.p_values[0, 0] == pytest.approx(exact.p_values[0, 0], rel=0.5, abs=0.003)


def test_frames() -> None:
    xa, xb, za, zb = _planted(n=120, seed=3)
    fa, fb = [f"a{i}" for i in range(12)], [f"b{j}" for j in range(10)]
    fm = feature_correlation_map(xa, xb, za, zb, features_a=fa, features_b=fb, permutations=20)
    df = fm.to_frame()
    assert isinstance(df, pd.DataFrame) and list(df.columns) == list(C.ALL) and len(df) == 120
    row = df[(df[C.FEATURE_A] == "a3") & (df[C.FEATURE_B] == "b7")].iloc[0]
    assert row[C.PEARSON] == fm.pearson[3, 7] and row[C.LATENT_CORR] == fm.latent[3, 7]
    top = fm.top_pairs(5)
    assert len(top) == 5 and list(top.columns) == list(C.ALL)
    assert set(top[C.FEATURE_A][:2]) == {"a0", "a1"} and set(top[C.FEATURE_B][:2]) == {"b0", "b1"}
    assert np.all(np.diff(np.abs(top[C.LATENT_CORR].to_numpy())) <= 0)
    assert len(fm.top_pairs(1000)) == 120
    top_p = fm.top_pairs(3, by="pearson")
    assert np.all(np.diff(np.abs(top_p[C.PEARSON].to_numpy())) <= 0)


def test_benjamini_hochberg_known_values() -> None:
    p = np.array([0.01, 0.04, 0.03, 0.5, np.nan])
    q = benjamini_hochberg(p)
    # Sorted p 0.01, 0.03, 0.04, 0.5 (m = 4): 0.04, 0.053.., 0.053.., 0.5.
    np.testing.assert_allclose(q[:4], [0.04, 0.16 / 3, 0.16 / 3, 0.5])
    assert np.isnan(q[4])
    from scipy.stats import false_discovery_control

    p2 = np.random.default_rng(0).uniform(size=(7, 5))
    np.testing.assert_allclose(benjamini_hochberg(p2), false_discovery_control(p2.ravel()).reshape(7, 5))


def test_constant_feature_and_nan_rows() -> None:
    xa, xb, za, zb = _planted(n=100, seed=4)
    xa[:, 5] = 2.0
    za[:3] = np.nan
    fm = feature_correlation_map(
        xa, xb, za, zb, features_a=list("abcdefghijkl"), features_b=list("ABCDEFGHIJ"), permutations=10
    )
    assert fm.n_samples == 97
    assert np.all(fm.pearson[5] == 0) and np.all(fm.latent[5] == 0) and np.all(fm.p_values[5] == 1)
    assert not fm.significant[5].any()


def test_bad_inputs() -> None:
    xa, xb, za, zb = _planted(n=50, seed=5)
    fa, fb = [str(i) for i in range(12)], [str(j) for j in range(10)]
    with pytest.raises(MmcorrError, match="'features_a' parameter must list 12 feature names"):
        feature_correlation_map(xa, xb, za, zb, features_a=fa[:3], features_b=fb)
    with pytest.raises(MmcorrError, match="'features_b' parameter must list 10 feature names"):
        feature_correlation_map(xa, xb, za, zb, features_a=fa, features_b=[*fb, "x"])
    with pytest.raises(MmcorrError, match="'xb' parameter must have 50 rows"):
        feature_correlation_map(xa, xb[:40], za, zb, features_a=fa, features_b=fb)
    with pytest.raises(MmcorrError, match="'zb' parameter must have 2 columns"):
        feature_correlation_map(xa, xb, za, zb[:, :1], features_a=fa, features_b=fb)
    with pytest.raises(MmcorrError, match="'fdr' parameter"):
        feature_correlation_map(xa, xb, za, zb, features_a=fa, features_b=fb, fdr=0.0)
    with pytest.raises(MmcorrError, match="'permutations' parameter"):
        feature_correlation_map(xa, xb, za, zb, features_a=fa, features_b=fb, permutations=-5)
    with pytest.raises(MmcorrError, match="at least 4 samples"):
        feature_correlation_map(xa[:3], xb[:3], za[:3], zb[:3], features_a=fa, features_b=fb)
    with pytest.raises(MmcorrError, match="'null' parameter must be one of 'pooled', 'pair'"):
        feature_correlation_map(xa, xb, za, zb, features_a=fa, features_b=fb, null="x")  # type: ignore[arg-type]
    fm = feature_correlation_map(xa, xb, za, zb, features_a=fa, features_b=fb, permutations=5)
    with pytest.raises(MmcorrError, match="'by' parameter must be one of 'latent', 'pearson'"):
        fm.top_pairs(5, by="q")  # type: ignore[arg-type]
    with pytest.raises(MmcorrError, match="'n' parameter"):
        fm.top_pairs(0)


def test_false_discovery_proportion_near_nominal() -> None:
    # 30 x 30 = 900 pairs, 30 planted (a_i ~ b_i for i < 30 would be all; plant 15 of them).
    rng = np.random.default_rng(11)
    n, d = 250, 30
    xa, xb = rng.standard_normal((n, d)), rng.standard_normal((n, d))
    xb[:, :15] += np.linspace(0.25, 0.6, 15) * xa[:, :15]
    z = rng.standard_normal((n, 2))
    names = [str(i) for i in range(d)]
    fm = feature_correlation_map(xa, xb, z, z, features_a=names, features_b=names, permutations=100, fdr=0.1)
    planted = np.zeros((d, d), dtype=bool)
    planted[np.arange(15), np.arange(15)] = True
    found = fm.significant.sum()
    false = (fm.significant & ~planted).sum()
    assert fm.significant[planted].sum() >= 12  # power: most planted pairs found
    assert false / max(found, 1) <= 0.25  # FDP near the nominal 0.1, with margin for one draw
