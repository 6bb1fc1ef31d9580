"""The multi-view side of scikit-learn's contract: ``fit(Xs)`` / ``transform(Xs)`` on a list of
arrays (cca-zoo / mvlearn), ``score`` as the held-out canonical correlation sum, GridSearchCV."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from model_testdata import small_paired  # type: ignore[import-not-found]
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV as SklearnGridSearchCV

from mmcorr import CorrelationModel, MmcorrError
from mmcorr.estimator import GridSearchCV, MultiView


def _views(n: int = 200, seed: int = 0) -> list[np.ndarray]:
    ds = small_paired(n=n, seed=seed)
    return [ds.values["a"], ds.values["b"]]


def test_fit_and_transform_take_a_list_of_arrays_and_give_a_list() -> None:
    xs = _views()
    model = CorrelationModel("cca", 2, device="cpu").fit(xs)
    assert model.names_ == ["view0", "view1"] and model.dims_ == {"view0": 6, "view1": 4}
    z = model.transform(xs)
    assert isinstance(z, list) and [v.shape for v in z] == [(200, 2), (200, 2)]
    # The same numbers as through a PairedDataset named like the views.
    ds = small_paired()
    ds.names, ds.values = ["view0", "view1"], {"view0": xs[0], "view1": xs[1]}
    ds.features = {"view0": [f"f{j}" for j in range(6)], "view1": [f"f{j}" for j in range(4)]}
    np.testing.assert_allclose(z[1], model.transform(ds)["view1"])


def test_score_is_the_held_out_canonical_correlation_sum() -> None:
    a, b = _views(n=400)
    model = CorrelationModel("cca", 2, device="cpu").fit([a[:200], b[:200]])
    held_out = a[200:], b[200:]
    score = model.score(list(held_out))
    za, zb = model.transform(list(held_out))
    expected = sum(float(np.corrcoef(za[:, i], zb[:, i])[0, 1]) for i in range(2))
    assert score == pytest.approx(expected, rel=1e-5)
    assert 1.0 < score <= 2.0  # two strongly shared directions in this data


def test_grid_search_over_latent_dim_and_family_end_to_end() -> None:
    xs = _views()
    search = GridSearchCV(
        CorrelationModel(device="cpu", epochs=2, batch_size=64, hidden=(16,)),
        {"model": ["cca", "ae"], "latent_dim": [1, 2]},
        cv=2,
    ).fit(xs)
    assert search.cv_results_["mean_test_score"].shape == (4,)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert search.best_params_ == {"model": "cca", "latent_dim": 2}  # the data has 2 shared directions
    assert isinstance(search.best_estimator_, CorrelationModel)
    assert [z.shape for z in search.best_estimator_.transform(xs)] == [(200, 2), (200, 2)]


def test_sklearns_own_grid_search_runs_on_a_multiview() -> None:
    search = SklearnGridSearchCV(CorrelationModel("cca", device="cpu"), {"latent_dim": [1, 2]}, cv=3)
    search.fit(MultiView(tuple(_views())))
    assert search.best_params_ == {"latent_dim": 2}


def test_a_clone_refits_to_the_same_latents(tmp_path: Path) -> None:
    xs = _views()
    model = CorrelationModel("cca", 2, device="cpu").fit(xs)
    again = clone(model).fit(xs)
    np.testing.assert_allclose(model.transform(xs)[0], again.transform(xs)[0], rtol=1e-5)
    loaded = CorrelationModel.load(model.save(tmp_path / "m"))
    np.testing.assert_allclose(loaded.transform(xs)[0], model.transform(xs)[0], rtol=1e-6)


# ---- bad input: one test each ---------------------------------------------------------------------


def test_arrays_with_different_row_counts() -> None:
    xs = _views()
    with pytest.raises(
        MmcorrError, match=r"'train' arrays must have the same number of rows .*Got \[200, 150\]"
    ):
        CorrelationModel("cca", 2).fit([xs[0], xs[1][:150]])


def test_a_list_of_one_array() -> None:
    with pytest.raises(
        MmcorrError, match=r"'train' list must hold at least 2 arrays, one per modality\. Got 1"
    ):
        CorrelationModel("cca", 2).fit([_views()[0]])


def test_a_one_dimensional_view() -> None:
    xs = _views()
    with pytest.raises(MmcorrError, match=r"must hold 2-D numeric arrays .*array 1 has shape \(200,\)"):
        CorrelationModel("cca", 2).fit([xs[0], xs[1][:, 0]])


def test_transform_with_the_wrong_number_of_views() -> None:
    xs = _views()
    model = CorrelationModel("cca", 2, device="cpu").fit(xs)
    with pytest.raises(
        MmcorrError, match=r"modality 'view1' must have 4 features like the training data\. Got 6"
    ):
        model.transform([xs[0], xs[0]])


def test_a_model_fitted_on_named_modalities_takes_a_list_in_their_order() -> None:
    ds = small_paired()
    model = CorrelationModel("cca", 2, device="cpu").fit(ds)
    z = model.transform([ds.values["a"], ds.values["b"]])
    np.testing.assert_allclose(z[0], model.transform(ds)["a"])
    assert model.score([ds.values["a"], ds.values["b"]]) == pytest.approx(model.score(ds))


def test_a_list_with_more_arrays_than_fitted_modalities() -> None:
    xs = _views()
    model = CorrelationModel("cca", 2, device="cpu").fit(xs)
    with pytest.raises(
        MmcorrError, match=r"'data' list must hold 2 arrays, one per fitted modality \['view0', 'view1'\]"
    ):
        model.transform([*xs, xs[0]])
