"""The estimator's parameters <-> the config dataclasses, by one generic mapping.

``CorrelationModel``'s keyword parameters are the fields of :class:`~mmcorr.config.ModelConfig`,
:class:`~mmcorr.config.TrainConfig` and the preprocessing fields of :class:`~mmcorr.config.DataConfig`.
A parameter left at ``None`` takes the config's own default (``lr`` the model family's tuned rate,
:func:`~mmcorr.config.resolve_lr`), so no default is written twice. The :data:`OBJECT_PARAMS`
(torch modules a user passes in) are estimator parameters but no config field: they never reach a
config, a job spec or a saved config.json.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, TypeVar

from mmcorr.config import DataConfig, ModelConfig, TrainConfig, resolve_lr

__all__ = ["DATA_PARAMS", "OBJECT_PARAMS", "configs_from_params", "param_names", "params_from_configs"]

#: The DataConfig fields that are estimator parameters: the preprocessing the estimator fits. The
#: others (the split of a run) belong to the run; ``from_configs`` keeps them as given.
DATA_PARAMS: tuple[str, ...] = ("standardize", "log1p", "pca_dim", "gaussianize")

#: Estimator parameters that hold Python objects rather than config values: ``encoders`` (modality
#: name -> a user's ``torch.nn.Module``), last in the signature.
OBJECT_PARAMS: tuple[str, ...] = ("encoders",)

_C = TypeVar("_C")


def _field_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls))


def param_names() -> tuple[str, ...]:
    """Every estimator parameter, in ModelConfig, TrainConfig, DataConfig, object order."""
    return (*_field_names(ModelConfig), *_field_names(TrainConfig), *DATA_PARAMS, *OBJECT_PARAMS)


def _build(cls: type[_C], given: Mapping[str, Any], **fixed: Any) -> _C:
    names = set(_field_names(cls))
    return cls(**{k: v for k, v in given.items() if k in names}, **fixed)


def configs_from_params(
    params: Mapping[str, Any], data: DataConfig | None = None
) -> tuple[ModelConfig, TrainConfig, DataConfig]:
    """Validated configs from estimator parameters (raises the configs' MmcorrError naming a bad one).

    Only parameters that are not None are passed on (lists become tuples, as in JSON); the split
    fields of the DataConfig come from ``data`` when given, else from DataConfig's defaults; the
    :data:`OBJECT_PARAMS` are left out.
    """
    given: dict[str, Any] = {
        k: tuple(v) if isinstance(v, list) else v
        for k, v in params.items()
        if v is not None and k not in OBJECT_PARAMS
    }
    model = _build(ModelConfig, given)
    train = _build(TrainConfig, {**given, "lr": resolve_lr(model.model, given.get("lr"))})
    pre = _build(DataConfig, {k: v for k, v in given.items() if k in DATA_PARAMS})
    if data is not None:  # the run's split fields, as given
        split = {k: getattr(data, k) for k in _field_names(DataConfig) if k not in DATA_PARAMS}
        pre = dataclasses.replace(pre, **split)
    return model, train, pre


def params_from_configs(model: ModelConfig, train: TrainConfig, data: DataConfig) -> dict[str, Any]:
    """The estimator parameters that reproduce these configs exactly (every value explicit)."""
    params: dict[str, Any] = {}
    for cfg in (model, train):
        params.update({k: getattr(cfg, k) for k in _field_names(type(cfg))})
    params.update({k: getattr(data, k) for k in DATA_PARAMS})
    return params
