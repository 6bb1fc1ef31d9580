"""A user's torch module as a modality's encoder: trained with the model, saved as weights only."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.base import clone
from test_conv import TINY, image_paired  # type: ignore[import-not-found]
from torch import nn

from mmcorr import CorrelationModel, MmcorrError
from mmcorr.config import ModelConfig
from mmcorr.data.types import MediaSpec
from mmcorr.estimator._prepare import architecture
from mmcorr.models import DeepCCAE


def _small_cnn() -> nn.Module:
    """(n, 1, 16, 16) -> (n, 4, 2, 2): the wrapper flattens it to 16 features."""
    torch.manual_seed(123)
    return nn.Sequential(nn.Conv2d(1, 4, 3, stride=2, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(2))


def _same(a: nn.Module, b: nn.Module) -> bool:
    return all(
        torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values(), strict=True)
    )


@pytest.mark.parametrize("family", ["ae", "dccae", "mvae"])
def test_a_custom_encoder_is_trained_on_a_copy(family: str) -> None:
    mine = _small_cnn()
    pristine = copy.deepcopy(mine)
    model = CorrelationModel(family, 2, encoders={"img": mine}, **TINY).fit(image_paired())  # type: ignore[arg-type]
    wrapped = model.module_.encoders["img"]
    assert isinstance(wrapped, nn.Sequential) and isinstance(wrapped[-1], nn.Linear)
    assert wrapped[-1].in_features == 16  # found by one forward pass of a zero batch
    used = wrapped[1]
    assert used is not mine and isinstance(used, nn.Sequential) and isinstance(used[0], nn.Conv2d)
    assert not _same(used, pristine)  # its weights got gradients and moved
    assert _same(mine, pristine) and mine.training  # the user's module is untouched, mode kept
    assert model.module_.custom_encoders == ["img"]


def test_a_custom_encoder_of_a_flat_modality_sees_rows() -> None:
    mine = nn.Sequential(nn.Linear(8, 5), nn.Tanh())
    model = CorrelationModel("dccae", 2, encoders={"txt": mine}, **TINY).fit(image_paired())  # type: ignore[arg-type]
    assert model.transform(image_paired())["txt"].shape == (64, 2)
    wrapped = model.module_.encoders["txt"]
    assert isinstance(wrapped, nn.Sequential) and isinstance(wrapped[0], nn.Identity)


def test_load_needs_the_same_module_and_reproduces_the_transform(tmp_path: Path) -> None:
    ds = image_paired()
    model = CorrelationModel("dccae", 2, encoders={"img": _small_cnn()}, **TINY).fit(ds)  # type: ignore[arg-type]
    out = model.save(tmp_path / "m")
    with pytest.raises(MmcorrError, match=r"custom encoder for modality 'img'; pass the same module again"):
        CorrelationModel.load(out)
    fresh = nn.Sequential(nn.Conv2d(1, 4, 3, stride=2, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(2))
    loaded = CorrelationModel.load(out, encoders={"img": fresh})
    np.testing.assert_array_equal(model.transform(ds)["img"], loaded.transform(ds)["img"])
    assert loaded.encoders == {"img": fresh}


def test_clone_keeps_the_encoders_parameter() -> None:
    model = CorrelationModel("ae", 2, encoders={"img": _small_cnn()})
    copied = clone(model)
    assert set(copied.get_params()["encoders"]) == {"img"}
    assert "encoders" not in {f for cfg in copied.get_configs() for f in cfg.__dataclass_fields__}


def test_custom_encoders_on_cca_are_refused() -> None:
    with pytest.raises(MmcorrError, match=r"Model 'cca' builds no encoders.*\['img'\]"):
        CorrelationModel("cca", 2, encoders={"img": _small_cnn()}, **TINY).fit(image_paired())  # type: ignore[arg-type]


def test_encoders_must_be_a_dict_of_modules_naming_known_modalities() -> None:
    with pytest.raises(MmcorrError, match=r"'encoders' parameter must be a dict .* Got list"):
        CorrelationModel("ae", 2, encoders=[_small_cnn()], **TINY).fit(image_paired())  # type: ignore[arg-type]
    with pytest.raises(MmcorrError, match=r"'encoders' parameter names modalities \['sound'\]"):
        CorrelationModel("ae", 2, encoders={"sound": _small_cnn()}, **TINY).fit(image_paired())  # type: ignore[arg-type]
    cfg = ModelConfig(model="dccae", latent_dim=2)
    with pytest.raises(MmcorrError, match=r"custom encoder of modality 'b' must be a torch.nn.Module"):
        DeepCCAE(["a", "b"], {"a": 6, "b": 4}, cfg, encoders={"b": "resnet"})  # type: ignore[dict-item]


def test_an_encoder_returning_no_batch_of_features_is_refused() -> None:
    class Scalar(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x.sum()

    cfg = ModelConfig(model="dccae", latent_dim=2)
    with pytest.raises(
        TypeError, match=r"encoder of modality 'b' must return .* \(n, 4\)\. Got a tensor of shape \(\)"
    ):
        DeepCCAE(["a", "b"], {"a": 6, "b": 4}, cfg, encoders={"b": Scalar()})


def test_a_custom_encoder_of_an_image_reduced_by_preprocessing_is_refused() -> None:
    media = {"img": MediaSpec("image", (1, 16, 16))}
    assert architecture(media, {"img": 256, "txt": 8}, {}) == ({"img": (1, 16, 16)}, {"img": "image"})
    assert architecture(media, {"img": 5, "txt": 8}, {}) == ({}, {})  # no grid left: the MLP
    with pytest.raises(MmcorrError, match=r"custom encoder of modality 'img' needs its \(1, 16, 16\)"):
        architecture(media, {"img": 5, "txt": 8}, {"img": _small_cnn()})
