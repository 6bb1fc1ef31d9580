"""CorrelationModel keeps scikit-learn's estimator contract, takes its defaults from the configs,
and reads models saved by earlier versions."""

from __future__ import annotations

import dataclasses
import inspect
import json
from pathlib import Path

import numpy as np
import pytest
from model_testdata import small_paired  # type: ignore[import-not-found]
from sklearn.base import BaseEstimator, clone

from mmcorr import CorrelationModel, MmcorrError
from mmcorr.config import DataConfig, ModelConfig, TrainConfig, resolve_lr
from mmcorr.estimator._params import DATA_PARAMS, OBJECT_PARAMS, configs_from_params, param_names

# Written by mmcorr at commit e6f0b8e (estimator.py before it became a package), see README.md there.
SAVED_V1 = Path(__file__).parent / "saved_v1"


def test_parameters_are_exactly_the_config_fields_and_default_to_none() -> None:
    sig = inspect.signature(CorrelationModel.__init__)
    params = [p for p in sig.parameters.values() if p.name != "self"]
    fields = [f.name for cfg in (ModelConfig, TrainConfig) for f in dataclasses.fields(cfg)]
    # ``encoders`` holds user torch modules (OBJECT_PARAMS): a parameter, never a config field.
    assert [p.name for p in params] == [*fields, *DATA_PARAMS, *OBJECT_PARAMS] == list(param_names())
    assert len(set(param_names())) == len(param_names())  # no field name shared between configs
    assert all(p.default is None for p in params)
    assert set(DATA_PARAMS) <= {f.name for f in dataclasses.fields(DataConfig)}


def test_default_parameters_give_the_default_configs() -> None:
    mcfg, tcfg, dcfg = CorrelationModel().get_configs()
    assert mcfg == ModelConfig()
    assert tcfg == TrainConfig(lr=resolve_lr(ModelConfig().model))
    assert dcfg == DataConfig()


def test_sklearn_get_params_set_params_and_clone() -> None:
    model = CorrelationModel("dccae", latent_dim=10, epochs=100)  # the README's call
    assert isinstance(model, BaseEstimator)
    params = model.get_params(deep=False)
    assert set(params) == set(param_names())
    assert params["model"] == "dccae" and params["latent_dim"] == 10 and params["epochs"] == 100
    assert params["hidden"] is None and params["lr"] is None
    assert model.set_params(latent_dim=4) is model and model.latent_dim == 4
    copy = clone(model)
    assert copy is not model and copy.get_params(deep=False) == model.get_params(deep=False)
    assert copy.get_configs() == model.get_configs() and copy.get_configs()[0].latent_dim == 4
    assert not hasattr(copy, "module_")


def test_set_params_with_a_bad_value_fails_at_fit_naming_it() -> None:
    model = CorrelationModel("ae").set_params(dropout=2.0)
    with pytest.raises(MmcorrError, match=r"'dropout' parameter must be a number in \[0\.0, 0\.9\]"):
        model.fit(small_paired())


def test_from_configs_keeps_the_split_fields_and_none_means_the_default() -> None:
    data = DataConfig(pca_dim=3, val_fraction=0.3, split_seed=7, stratify=True)
    model = CorrelationModel.from_configs(ModelConfig(model="cca", latent_dim=2), TrainConfig(lr=0.01), data)
    assert model.get_configs()[2] == data and model.pca_dim == 3 and model.lr == 0.01
    model.set_params(pca_dim=None)  # None: DataConfig's default (no PCA), not the value given before
    assert model.get_configs()[2] == dataclasses.replace(data, pca_dim=None)


def test_lists_become_tuples_like_in_json() -> None:
    assert configs_from_params({"hidden": [8, 4]})[0].hidden == (8, 4)


def test_saved_configs_are_those_fitted_with(tmp_path: Path) -> None:
    model = CorrelationModel("cca", 2, device="cpu").fit(small_paired())
    fitted = model.get_configs()
    model.set_params(latent_dim=3)  # after fit: the saved model still describes the fitted one
    loaded = CorrelationModel.load(model.save(tmp_path / "m"))
    assert loaded.configs_ == fitted and loaded.get_configs() == fitted
    assert loaded.transform(small_paired())["joint"].shape == (200, 2)


@pytest.mark.parametrize("name", ["cca", "dccae", "mvae"])
def test_models_saved_by_the_previous_layout_load_and_give_the_same_outputs(name: str) -> None:
    expected = np.load(SAVED_V1 / "expected.npz", allow_pickle=False)
    model = CorrelationModel.load(SAVED_V1 / name)
    ds = small_paired()
    assert model.names_ == ["a", "b"] and model.get_configs()[0].model == name
    np.testing.assert_array_equal(model.transform(ds)["joint"], expected[f"{name}_joint"])
    np.testing.assert_array_equal(model.predict(ds, "a", "b"), expected[f"{name}_b_from_a"])
    history = (SAVED_V1 / name / "history.jsonl").read_text(encoding="utf-8").splitlines()
    assert model.history_ == [json.loads(line) for line in history]


def test_the_model_of_a_run_bundle_written_at_19e73bb_reproduces_its_saved_latents() -> None:
    import pandas as pd

    from mmcorr.data import JOINT, make_demo

    bundle = Path(__file__).parents[1] / "fixtures" / "bundle_v1"  # see its README.md
    model = CorrelationModel.load(bundle)
    saved = pd.read_parquet(bundle / "latents.parquet")
    ds = make_demo("synthetic", n_samples=150, seed=0)  # the run's dataset
    order = {sid: i for i, sid in enumerate(ds.ids)}
    out = model.transform(ds.subset(np.array([order[sid] for sid in saved["id"]])))
    for name in [*model.names_, JOINT]:
        cols = [f"{name}_{j}" for j in range(model.get_configs()[0].latent_dim)]
        np.testing.assert_array_equal(out[name], saved[cols].to_numpy())


def test_check_memory_uses_the_parameters_and_counts_every_familys_ridge_heads(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from mmcorr._memory import ENV_LIMIT, estimate_fit_bytes

    monkeypatch.setenv(ENV_LIMIT, str(2**40))
    wide = {"a": 5000, "b": 4000}
    decoding, ridge = CorrelationModel("ae"), CorrelationModel("dccae")
    # every family fits the tuned ridge maps (a decoder family's decoders compete with them)
    assert ridge.check_memory(10_000, wide).heads == decoding.check_memory(10_000, wide).heads
    arch = {"pca_dim": None, "hidden": (256, 256), "latent_dim": 10}
    without = estimate_fit_bytes(10_000, wide, ridge_heads=False, **arch)  # type: ignore[arg-type]
    assert decoding.check_memory(10_000, wide).heads > without.heads
    fewer = CorrelationModel("ae", pca_dim=50).check_memory(10_000, wide)
    assert fewer.data < decoding.check_memory(10_000, wide).data
    assert decoding.check_memory(10_000, wide, copies=2**20).copies == 2**20
    monkeypatch.setenv(ENV_LIMIT, str(2**20))
    with pytest.raises(
        MmcorrError, match=r"Not enough memory to fit: 10,000 samples x \(a 5,000 \+ b 4,000\)"
    ):
        decoding.check_memory(10_000, wide)
