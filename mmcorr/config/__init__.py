"""Every option declared once: frozen configuration dataclasses whose fields carry their metadata.

Each field is made by :func:`option` with its default, type, range, choices, help text and how the
command line and the Train page show it. :func:`options` lists them as :class:`Option` records, from
which ``__post_init__`` validates, the ``mmcorr train`` / ``mmcorr jobs submit`` flags are generated
(``mmcorr/_cli/options.py``) and the Train page's widgets are drawn (``pages/_config_widgets.py``).
The four parts (model, train, data, analysis) are declared in ``_parts.py``, the :class:`Option`
record in ``_option.py``; model names, tuned rates and when each family is the right choice in
``_models.py``; all are re-exported here. :func:`build_job_spec` is the one place a :class:`JobSpec` is
built from those surfaces: its one ``seed`` sets the split, the weights and the analyses alike.
``to_dict`` / ``from_dict`` round-trip through plain JSON types; ``from_dict`` rejects unknown keys
and bad values with a :class:`MmcorrError` that names the field (a hand-edited job spec fails clearly).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from mmcorr._validation import MmcorrError
from mmcorr.config._models import (
    AUTO,
    AUTO_BUDGET_S,
    MODEL_GUIDE,
    MODEL_NAMES,
    PREFERRED_FAMILY,
    RECOMMENDED_LR,
    ModelGuide,
    ModelName,
    model_help,
)
from mmcorr.config._option import Option, OptionKind, document, parse_sizes
from mmcorr.config._parts import (
    NAME_MAX,
    PARTS,
    SECTIONS,
    SEED_MAX,
    UMAP_AUTO_MIN_SAMPLES,
    AnalysisConfig,
    DataConfig,
    ModelConfig,
    TrainConfig,
    all_options,
    options,
    resolve_lr,
)

__all__ = [
    "AUTO",
    "AUTO_BUDGET_S",
    "MODEL_GUIDE",
    "MODEL_NAMES",
    "PREFERRED_FAMILY",
    "ModelGuide",
    "model_help",
    "RECOMMENDED_LR",
    "SEED_MAX",
    "NAME_MAX",
    "resolve_lr",
    "ModelName",
    "ModelConfig",
    "TrainConfig",
    "DataConfig",
    "AnalysisConfig",
    "JobSpec",
    "Option",
    "OptionKind",
    "options",
    "all_options",
    "build_job_spec",
    "parse_sizes",
    "max_latent_dim",
    "UMAP_AUTO_MIN_SAMPLES",
]


@dataclass(frozen=True)
class JobSpec:
    """One training job: which registered dataset, and every configuration. The worker's only input.

    val_dataset_id / test_dataset_id: registered datasets (the training dataset's modalities and
    features) used as the validation (early-stopping) / test (held-out analyses) set instead of a
    fraction of ``dataset_id``; None (default) splits ``dataset_id`` by ``data``'s fractions.
    """

    dataset_id: str
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    data: DataConfig = field(default_factory=DataConfig)
    analysis: AnalysisConfig = field(default_factory=AnalysisConfig)
    name: str = ""
    val_dataset_id: str | None = None
    test_dataset_id: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.dataset_id, str) or not self.dataset_id:
            raise MmcorrError(
                f"The 'dataset_id' parameter must be a registered dataset id. Got {self.dataset_id!r}."
            )
        if not isinstance(self.name, str):
            raise MmcorrError(
                f"The 'name' parameter must be a string. Got {type(self.name).__name__} instead."
            )
        if len(self.name) > NAME_MAX:
            raise MmcorrError(
                f"The 'name' parameter (the run name) must be at most {NAME_MAX} characters. "
                f"Got {len(self.name)} characters instead."
            )
        taken = [self.dataset_id]  # a given set is never the training (or validation) dataset
        for what, value in (
            ("val_dataset_id", self.val_dataset_id),
            ("test_dataset_id", self.test_dataset_id),
        ):
            if value is None:
                continue
            if not isinstance(value, str) or not value:
                raise MmcorrError(
                    f"The {what!r} parameter must be a registered dataset id or None. Got {value!r}."
                )
            if value in taken:
                raise MmcorrError(
                    f"The {what!r} parameter must name a dataset other than the training (and "
                    f"validation) dataset. Got {value!r}."
                )
            taken.append(value)

    def to_dict(self) -> dict[str, Any]:
        return to_dict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> JobSpec:
        return from_dict(cls, d)

    @classmethod
    def from_json(cls, text: str) -> JobSpec:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise MmcorrError(f"The job spec is not valid JSON: {exc}.") from None
        return cls.from_dict(data)


_T = TypeVar("_T")


def _by_name() -> dict[str, Option]:
    """The options a surface offers, by name (each name once: the seeds that follow the one seed
    have no surface of their own, so a flat name is enough everywhere)."""
    offered = [opt for opt in all_options() if not opt.follows_seed]
    by_name = {opt.name: opt for opt in offered}
    assert len(by_name) == len(offered), "option names must be unique across the JobSpec parts"
    return by_name


def build_job_spec(dataset_id: str, *, name: str = "", seed: int = 0, **overrides: Any) -> JobSpec:
    """The one builder of a :class:`JobSpec` from the command line or the Train page.

    ``overrides`` are option values by name (``latent_dim=3``, ``log1p=True``; see
    :func:`all_options`); the rest keep their defaults. ``seed`` seeds the split, the weight
    initialisation and the analyses alike. ``lr=None`` (or no ``lr``) takes the model family's
    tuned rate (:func:`resolve_lr`). Bad values raise the MmcorrError of the option they belong to.
    """
    by_name = _by_name()
    unknown = sorted(set(overrides) - set(by_name))
    if unknown:
        raise MmcorrError(f"Unknown option(s) {unknown}. Allowed: {sorted(by_name)}.")
    values: dict[str, dict[str, Any]] = {section: {} for section in PARTS}
    for opt in all_options():
        if opt.follows_seed or opt.name == "seed":
            values[opt.section][opt.name] = seed
        elif opt.name in overrides:
            value = overrides[opt.name]
            values[opt.section][opt.name] = tuple(value) if isinstance(value, list) else value
    model = values["model"].get("model", ModelConfig.model)
    values["train"]["lr"] = resolve_lr(model, values["train"].get("lr"))
    parts = {section: cls(**values[section]) for section, cls in PARTS.items()}
    return JobSpec(dataset_id=dataset_id, name=name, **parts)


def max_latent_dim(model: str, widths: Iterable[int], pca_dim: int | None = None) -> int:
    """The largest ``latent_dim`` that ``model`` can fit on modalities with these feature counts.

    Linear CCA finds at most as many components as the narrowest modality has features (after PCA
    to ``pca_dim``, when set); the deep models allow the option's whole range.
    """
    hi = int(_by_name()["latent_dim"].hi or 0)
    if model != "cca":
        return hi
    counts = [min(int(w), pca_dim) if pca_dim else int(w) for w in widths]
    return min([hi, *counts])


def to_dict(obj: Any) -> dict[str, Any]:
    """A config dataclass as plain JSON types (tuples become lists)."""
    return json.loads(json.dumps(dataclasses.asdict(obj)))


def from_dict(cls: type[_T], d: Any) -> _T:
    """Build config dataclass ``cls`` from ``d``, naming any unknown key or bad value."""
    if not isinstance(d, dict):
        raise MmcorrError(f"{cls.__name__} must be a JSON object. Got {type(d).__name__} instead.")
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(d) - names)
    if unknown:
        raise MmcorrError(f"Unknown {cls.__name__} field(s) {unknown}. Allowed: {sorted(names)}.")
    kwargs: dict[str, Any] = {}
    sizes = {opt.name for opt in options(cls) if opt.kind == "sizes"} if cls in SECTIONS else set()
    for key, value in d.items():
        if cls is JobSpec and key in PARTS:
            value = from_dict(PARTS[key], value)
        elif key in sizes and isinstance(value, list):
            value = tuple(value)
        kwargs[key] = value
    return cls(**kwargs)


for _cls in PARTS.values():  # each field's help, range and default in its class docstring
    document(_cls, options(_cls))
