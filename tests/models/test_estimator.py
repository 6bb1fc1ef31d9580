"""CorrelationModel: fit / transform / predict / save / load, partial data, and bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from model_testdata import small_paired  # type: ignore[import-not-found]

from mmcorr import CorrelationModel, MmcorrError
from mmcorr.config import RECOMMENDED_LR, DataConfig, ModelConfig, TrainConfig
from mmcorr.training import TrainingCancelled

TINY: dict[str, Any] = {"hidden": (16,), "epochs": 3, "batch_size": 32, "device": "cpu"}


@pytest.mark.parametrize("name", ["cca", "ae", "corrae", "dccae", "mvae"])
def test_every_model_fits_transforms_and_predicts(name: str) -> None:
    ds = small_paired()
    model = CorrelationModel(name, 2, **TINY).fit(ds)
    out = model.transform(ds)
    assert set(out) == {"a", "b", "joint"}
    assert all(z.shape == (200, 2) and z.dtype == np.float32 and np.isfinite(z).all() for z in out.values())
    pred = model.predict(ds, source="a", target="b")
    assert pred.shape == (200, 4) and np.isfinite(pred).all()
    assert abs(float(pred.mean()) - 5.0) < 1.0  # back in b's original units (offset 5)
    rec = model.history_[-1]
    assert {"epoch", "epochs", "train", "val", "val_corr", "seconds"} <= set(rec)
    assert model.names_ == ["a", "b"] and model.dims_ == {"a": 6, "b": 4}


@pytest.mark.parametrize("name", ["ae", "mvae"])
def test_partially_paired_training_and_encoding_from_any_subset(name: str) -> None:
    ds = small_paired(missing_b=0.3)
    model = CorrelationModel(name, 2, **TINY).fit(ds)
    out = model.transform(ds)
    assert np.isnan(out["b"][:60]).all() and np.isfinite(out["b"][60:]).all()
    assert np.isfinite(out["joint"]).all()  # fused from whatever is present
    only_a = model.transform(ds.select(["a"]))
    assert set(only_a) == {"a", "joint"}
    np.testing.assert_allclose(only_a["a"], out["a"], atol=1e-5)
    assert np.isfinite(model.transform(ds, modalities=["b"])["joint"][60:]).all()


def test_full_pair_models_train_on_complete_rows_only() -> None:
    model = CorrelationModel("dccae", 2, **TINY).fit(small_paired(missing_b=0.3))
    assert np.isfinite(model.transform(small_paired())["joint"]).all()


def test_save_load_round_trip_gives_identical_outputs(tmp_path: Path) -> None:
    ds = small_paired()
    model = CorrelationModel("dccae", 2, **TINY).fit(ds)
    model.save(tmp_path / "m")
    assert {"config.json", "model.pt", "history.jsonl", "preprocessing.json", "preprocessing.npz"} <= {
        p.name for p in (tmp_path / "m").iterdir()
    }
    loaded = CorrelationModel.load(tmp_path / "m")
    a, b = model.transform(ds), loaded.transform(ds)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert np.array_equal(model.predict(ds, "b", "a"), loaded.predict(ds, "b", "a"))
    assert loaded.history_ == json.loads(json.dumps(model.history_))
    assert loaded.get_configs() == model.get_configs()


def test_saved_history_is_strict_json_with_null_for_non_finite_values(tmp_path: Path) -> None:
    model = CorrelationModel("cca", 2, device="cpu").fit(small_paired())
    model.history_[0]["val_corr"] = float("nan")  # e.g. a validation split too small to correlate
    model.save(tmp_path)
    line = (tmp_path / "history.jsonl").read_text(encoding="utf-8").splitlines()[0]
    assert "NaN" not in line and json.loads(line, parse_constant=_reject)["val_corr"] is None


def _reject(name: str) -> None:
    raise AssertionError(f"non-standard JSON constant {name}")


def test_loading_another_bundle_format_names_both_versions(tmp_path: Path) -> None:
    CorrelationModel("cca", 2, device="cpu").fit(small_paired()).save(tmp_path)
    cfg = json.loads((tmp_path / "config.json").read_text())
    cfg["bundle_format"] = 99
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(MmcorrError, match=r"bundle format version 99 .* reads bundle format version 1"):
        CorrelationModel.load(tmp_path)


def test_loading_a_folder_without_a_model_fails_clearly(tmp_path: Path) -> None:
    with pytest.raises(MmcorrError, match=r"not a saved mmcorr model: config\.json is missing"):
        CorrelationModel.load(tmp_path)


def test_cancel_keeps_history_and_raises() -> None:
    class StopAt2:
        def on_epoch_end(self, record: dict[str, Any]) -> bool | None:
            return record["epoch"] >= 2

    model = CorrelationModel("dccae", 2, **{**TINY, "epochs": 10})
    with pytest.raises(TrainingCancelled):
        model.fit(small_paired(), callbacks=[StopAt2()])
    assert [r["epoch"] for r in model.history_] == [1, 2]


def test_linear_cca_records_one_history_row() -> None:
    model = CorrelationModel("cca", 2, device="cpu").fit(small_paired())
    assert len(model.history_) == 1 and model.history_[0]["val_corr"] > 0.5


def test_from_configs_round_trips_the_configs() -> None:
    configs = (
        ModelConfig(model="ae", latent_dim=3),
        TrainConfig(epochs=7),
        DataConfig(log1p=True, test_fraction=0.2),
    )
    model = CorrelationModel.from_configs(*configs)
    assert model.get_configs() == configs
    assert model.model == "ae" and model.epochs == 7 and model.log1p is True


def test_lr_none_uses_the_family_rate_and_an_explicit_lr_is_kept() -> None:
    assert CorrelationModel("dccae").get_configs()[1].lr == RECOMMENDED_LR["dccae"] == 5e-3
    assert CorrelationModel("mvae").get_configs()[1].lr == RECOMMENDED_LR["mvae"] == 1e-3
    assert CorrelationModel("dccae", lr=2e-4).get_configs()[1].lr == 2e-4
    assert CorrelationModel("dccae").get_params()["lr"] is None


# -- one test per bad input ----------------------------------------------------------------------
def test_unknown_model_name_is_rejected() -> None:
    with pytest.raises(MmcorrError, match="'model' parameter must be one of"):
        CorrelationModel("pca").fit(small_paired())


def test_bad_latent_dim_is_rejected() -> None:
    with pytest.raises(MmcorrError, match=r"'latent_dim' parameter must be an int in \[1, 512\]. Got 0"):
        CorrelationModel("ae", 0).fit(small_paired())


def test_cca_latent_dim_above_smallest_modality_is_rejected() -> None:
    with pytest.raises(MmcorrError, match="'latent_dim' parameter must be at most 4 for model 'cca'"):
        CorrelationModel("cca", 5, device="cpu").fit(small_paired())


def test_non_dataset_input_is_rejected() -> None:
    with pytest.raises(
        MmcorrError,
        match=r"'train' data must be a PairedDataset, a list of arrays \(one per modality\), a MuData "
        r"or a dict of AnnData\. Got ndarray instead",
    ):
        CorrelationModel().fit(np.zeros((10, 3)))


def test_single_modality_is_rejected() -> None:
    with pytest.raises(MmcorrError, match="at least 2 modalities"):
        CorrelationModel().fit(small_paired().select(["a"]))


def test_nan_values_are_rejected() -> None:
    ds = small_paired()
    ds.values["a"][3, 1] = np.nan
    with pytest.raises(MmcorrError, match="modality 'a' of the 'train' data contains NaN"):
        CorrelationModel("ae", 2, **TINY).fit(ds)


def test_too_few_samples_are_rejected() -> None:
    with pytest.raises(MmcorrError, match="too few to hold out a validation set"):
        CorrelationModel("ae", 10, **TINY).fit(small_paired(n=20))


def test_transform_before_fit_is_rejected() -> None:
    with pytest.raises(MmcorrError, match="not fitted yet"):
        CorrelationModel().transform(small_paired())


def test_wrong_feature_count_at_transform_is_rejected() -> None:
    model = CorrelationModel("cca", 2, device="cpu").fit(small_paired())
    ds = small_paired()
    ds.values["b"] = np.zeros((200, 3), dtype=np.float32)
    with pytest.raises(
        MmcorrError, match=r"modality 'b' must have 4 features like the training data\. Got 3"
    ):
        model.transform(ds)


def test_unknown_modality_in_predict_is_rejected() -> None:
    model = CorrelationModel("cca", 2, device="cpu").fit(small_paired())
    with pytest.raises(MmcorrError, match=r"'target' parameter must be one of 'a', 'b'\. Got 'rna'"):
        model.predict(small_paired(), source="a", target="rna")


def test_same_source_and_target_is_rejected() -> None:
    model = CorrelationModel("cca", 2, device="cpu").fit(small_paired())
    with pytest.raises(MmcorrError, match="'source' and 'target' modalities must differ"):
        model.predict(small_paired(), source="a", target="a")


@pytest.mark.parametrize("name", ["cca", "dccae"])
def test_three_modalities_share_one_aligned_space(name: str) -> None:
    from mmcorr.data import make_demo

    ds = make_demo("synthetic", n_samples=300, seed=1)
    model = CorrelationModel(name, 3, **{**TINY, "batch_size": 64, "epochs": 20}).fit(ds)
    out = model.transform(ds)
    assert set(out) == {"a", "b", "c", "joint"} and out["c"].shape == (300, 3)
    # Aligned canonical variates: the first component of every modality agrees across samples.
    for other in ("b", "c"):
        assert np.corrcoef(out["a"][:, 0], out[other][:, 0])[0, 1] > 0.5
    assert model.predict(ds, "c", "a").shape == (300, 20)
