"""A saved model's files: config.json, model.pt (tensors only) and history.jsonl.

model.pt is read with ``torch.load(weights_only=True)``: a saved model never unpickles objects. A
custom encoder's module is therefore not saved as code: config.json names the modalities that had
one, and loading needs the same module passed again (its weights come from model.pt).
"""

from __future__ import annotations

import dataclasses
import io
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from mmcorr._io import atomic_write_bytes, atomic_write_text, json_safe
from mmcorr._validation import MmcorrError
from mmcorr._version import BUNDLE_FORMAT, __version__
from mmcorr.config import DataConfig, ModelConfig, TrainConfig, from_dict, to_dict
from mmcorr.data.types import MediaSpec
from mmcorr.models import MultimodalModel, get_model_class
from mmcorr.models.heads import LinearHeads

__all__ = ["CONFIG_FILE", "HISTORY_FILE", "MODEL_FILE", "SavedModel", "read_model", "write_model"]

CONFIG_FILE = "config.json"
MODEL_FILE = "model.pt"
HISTORY_FILE = "history.jsonl"
# config.json keys of the architecture beyond the widths (absent in models saved before conv
# modalities, which load as all-MLP): name -> per-sample shape, name -> kind, the modalities with a
# custom encoder, and name -> MediaSpec JSON of the raw modalities fitted on.
_SHAPES, _KINDS, _CUSTOM, _MEDIA = "model_shapes", "model_kinds", "model_custom_encoders", "media"


@dataclasses.dataclass
class SavedModel:
    """Everything a saved model holds (the estimator's learned attributes but the preprocessing)."""

    configs: tuple[ModelConfig, TrainConfig, DataConfig]
    names: list[str]
    dims: dict[str, int]
    features: dict[str, list[str]]
    module: MultimodalModel
    heads: LinearHeads
    history: list[dict[str, Any]]
    media: dict[str, MediaSpec] = dataclasses.field(default_factory=dict)


def write_model(out: Path, saved: SavedModel) -> None:
    """Write model.pt, history.jsonl and, last, config.json into the existing folder ``out``."""
    mcfg, tcfg, dcfg = saved.configs
    config = {
        "bundle_format": BUNDLE_FORMAT,
        "mmcorr_version": __version__,
        "model": to_dict(mcfg),
        "train": to_dict(tcfg),
        "data": to_dict(dcfg),
        "names": saved.names,
        "dims": saved.dims,
        "features": saved.features,
        "model_dims": saved.module.dims,
        _SHAPES: {n: list(shape) for n, shape in saved.module.shapes.items()},
        _KINDS: dict(saved.module.kinds),
        _CUSTOM: list(saved.module.custom_encoders),
        _MEDIA: {n: spec.to_json() for n, spec in saved.media.items()},
    }
    state = {
        "module": {k: v.detach().cpu() for k, v in saved.module.state_dict().items()},
        "heads": {k: torch.as_tensor(v) for k, v in saved.heads.to_tensors().items()},
    }
    buf = io.BytesIO()
    torch.save(state, buf)
    atomic_write_bytes(out / MODEL_FILE, buf.getvalue())
    atomic_write_text(
        out / HISTORY_FILE,
        "".join(json.dumps(json_safe(r), allow_nan=False) + "\n" for r in saved.history),
    )
    atomic_write_text(out / CONFIG_FILE, json.dumps(config, indent=2, sort_keys=True))


def _read_config(src: Path) -> dict[str, Any]:
    for name in (CONFIG_FILE, MODEL_FILE):
        if not (src / name).is_file():
            raise MmcorrError(f"{src} is not a saved mmcorr model: {name} is missing.")
    try:
        config = json.loads((src / CONFIG_FILE).read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise MmcorrError(f"{src / CONFIG_FILE} is not valid JSON ({exc}).") from None
    found = config.get("bundle_format") if isinstance(config, dict) else None
    if found != BUNDLE_FORMAT:
        version = config.get("mmcorr_version", "unknown") if isinstance(config, dict) else "unknown"
        raise MmcorrError(
            f"The model in {src} has bundle format version {found!r} (written by mmcorr {version}); "
            f"this mmcorr {__version__} reads bundle format version {BUNDLE_FORMAT}. "
            "Retrain the model or use the matching mmcorr version."
        )
    return config


def _encoders(
    src: Path, config: dict[str, Any], encoders: Mapping[str, nn.Module] | None
) -> dict[str, nn.Module]:
    """The custom encoders the saved model was fitted with, from ``encoders`` (used as given)."""
    given = dict(encoders or {})
    for name in config.get(_CUSTOM, []):
        if name not in given:
            raise MmcorrError(
                f"The model in {src} was fitted with a custom encoder for modality '{name}'; pass the "
                f"same module again: CorrelationModel.load(path, encoders={{'{name}': module}})."
            )
    return {n: given[n] for n in config.get(_CUSTOM, [])}


def read_model(
    src: Path, device: str, torch_device: torch.device, encoders: Mapping[str, nn.Module] | None = None
) -> SavedModel:
    """Read a folder written by :func:`write_model` onto ``torch_device``; the saved TrainConfig's
    device becomes ``device``; ``encoders``: the custom encoder modules it was fitted with (name ->
    module; others are ignored). Raises MmcorrError naming a missing file, another format version
    or a missing custom encoder."""
    config = _read_config(src)
    mcfg = from_dict(ModelConfig, config["model"])
    tcfg = dataclasses.replace(from_dict(TrainConfig, config["train"]), device=device)  # type: ignore[arg-type]
    dcfg = from_dict(DataConfig, config["data"])
    names = list(config["names"])
    state = torch.load(src / MODEL_FILE, map_location=torch_device, weights_only=True)
    module = get_model_class(mcfg.model)(
        names,
        config["model_dims"],
        mcfg,
        shapes=config.get(_SHAPES),
        kinds=config.get(_KINDS),
        encoders=_encoders(src, config, encoders),
    ).to(torch_device)
    module.load_state_dict(state["module"])
    module.eval()
    hist = src / HISTORY_FILE
    history = (
        [json.loads(line) for line in hist.read_text(encoding="utf-8").splitlines() if line.strip()]
        if hist.exists()
        else []
    )
    return SavedModel(
        configs=(mcfg, tcfg, dcfg),
        names=names,
        dims={k: int(v) for k, v in config["dims"].items()},
        features={k: list(v) for k, v in config["features"].items()},
        module=module,
        heads=LinearHeads.from_tensors({k: v.cpu().numpy() for k, v in state["heads"].items()}),
        history=history,
        media={n: MediaSpec.from_json(spec) for n, spec in config.get(_MEDIA, {}).items()},
    )
