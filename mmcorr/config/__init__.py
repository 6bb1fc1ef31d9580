"""Every option declared once: frozen configuration dataclasses whose fields carry their metadata.

Each field is made by :func:`option` with its default, type, range, choices, help text and how the
command line and the Train page show it. :func:`options` lists them as :class:`Option` records, from
which ``__post_init__`` validates, the ``mmcorr train`` / ``mmcorr jobs submit`` flags are generated
(``mmcorr/_cli/options.py``) and the Train page's widgets are drawn (``pages/_config_widgets.py``).
The :class:`Option` record lives in ``_option.py``; model names, tuned rates and when each family is
the right choice in ``_models.py``. :func:`build_job_spec` is the one place a :class:`JobSpec` is
built from those surfaces: its one ``seed`` sets the split, the weights and the analyses alike.
``to_dict`` / ``from_dict`` round-trip through plain JSON types; ``from_dict`` rejects unknown keys
and bad values with a :class:`MmcorrError` that names the field (a hand-edited job spec fails clearly).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar, get_args

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
    lr_text,
    model_help,
)
from mmcorr.config._option import Option, OptionKind, document, option, parse_sizes

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

Activation = Literal["relu", "gelu", "tanh", "leaky_relu", "elu"]
Device = Literal["auto", "cpu", "cuda", "mps"]
#: Largest seed (numpy's SeedSequence takes any non-negative int; 2**32 - 1 keeps it portable).
SEED_MAX = 2**32 - 1
#: Longest run / job name (characters): a name is a label in tables and titles, not a description.
NAME_MAX = 200


def resolve_lr(model: str, lr: float | None = None) -> float:
    """``lr`` when given, else the model family's tuned rate (``TrainConfig.lr`` for an unknown
    name, which ModelConfig then rejects with its own message)."""
    return lr if lr is not None else RECOMMENDED_LR.get(model, TrainConfig.lr)


def _validate(obj: Any) -> None:
    for opt in options(type(obj)):
        opt.check(getattr(obj, opt.name))


@dataclass(frozen=True)
class ModelConfig:
    """What model to build."""

    model: ModelName = option(  # noqa: RUF009 (option() is a dataclasses.field)
        AUTO, "Model", model_help(), choices=MODEL_NAMES, advanced=False)  # fmt: skip
    latent_dim: int = option(
        10, "Latent size", "Size k of the shared latent space (2-50 typical); linear CCA allows at most "
        "the narrowest modality's feature count.", lo=1, hi=512, advanced=False)  # fmt: skip
    hidden: tuple[int, ...] = option(
        (256, 256), "Hidden layers", "Hidden layer sizes of every modality's encoder, e.g. 256,256; "
        "decoders mirror them.", lo=1, hi=8192)  # fmt: skip
    activation: Activation = option(  # noqa: RUF009 (option() is a dataclasses.field)
        "relu", "Activation", "Hidden-layer nonlinearity.", choices=get_args(Activation)
    )
    dropout: float = option(
        0.0, "Dropout", "Dropout probability after each hidden layer (0-0.3 typical).", lo=0.0, hi=0.9,
        step=0.05, slider=True)  # fmt: skip
    batch_norm: bool = option(False, "Batch norm", "Batch normalisation after each hidden linear layer.")
    recon_weight: float = option(
        1.0, "Reconstruction weight", "Weight of the reconstruction loss (lambda in DCCAE; 0.1-10 "
        "typical).", lo=0.0, hi=100.0)  # fmt: skip
    corr_weight: float = option(
        1.0, "Correlation weight", "Weight of the correlation term of corrae and dccae (lambda in "
        "CorrNet; 0.1-10 typical).", lo=0.0, hi=100.0)  # fmt: skip
    kl_weight: float = option(
        1.0, "KL weight (mvae)", "Weight (beta) of the multimodal VAE's KL term (0.1-1 typical).",
        lo=0.0, hi=100.0)  # fmt: skip
    modality_dropout: float = option(
        0.3, "Modality dropout", "Probability of hiding modalities during ae / mvae training, so the "
        "model learns to infer them (0-0.5 typical).", lo=0.0, hi=0.9, step=0.05, slider=True)  # fmt: skip
    cca_reg: float = option(
        1e-2, "CCA ridge", "Ridge added to covariance matrices (linear CCA and the DCCA loss); raise it "
        "when samples are few relative to features (1e-6 to 1e-1 typical).", lo=1e-8, hi=1.0,
        fmt="%.0e")  # fmt: skip

    def __post_init__(self) -> None:
        _validate(self)


@dataclass(frozen=True)
class TrainConfig:
    """How to train."""

    epochs: int = option(
        100, "Epochs", "Maximum passes over the training split; early stopping may end sooner.",
        lo=1, hi=10000, advanced=False, deep_only=True)  # fmt: skip
    batch_size: int = option(
        256, "Batch size", "Samples per optimisation step (32-1024 typical); CCA losses need more "
        "samples per batch than latent dimensions.", lo=2, hi=65536, advanced=False, deep_only=True)  # fmt: skip
    lr: float = option(
        1e-3, "Learning rate", f"AdamW learning rate (1e-4 to 1e-2 typical); by default the model "
        f"family's tuned rate ({lr_text()}).", lo=1e-6, hi=1.0, step=1e-4, fmt="%.1e",
        per_model_default=True, advanced=False, deep_only=True)  # fmt: skip
    weight_decay: float = option(
        1e-4, "Weight decay", "AdamW decoupled weight decay.", lo=0.0, hi=1.0, step=1e-4, fmt="%.1e")  # fmt: skip
    patience: int = option(
        10, "Early-stopping patience", "Epochs without validation improvement before stopping "
        "early; 0 disables.", lo=0, hi=10000)  # fmt: skip
    grad_clip: float = option(
        5.0, "Gradient clip", "Maximum global gradient norm; 0 disables clipping.", lo=0.0, hi=1e6)  # fmt: skip
    seed: int = option(
        0, "Seed", "Seeds the train / validation / test split, weight initialisation, batching, dropout "
        "and the analyses: the same seed gives the same run.", lo=0, hi=SEED_MAX)  # fmt: skip
    device: Device = option(  # noqa: RUF009 (option() is a dataclasses.field)
        "auto", "Device", "Where to train: auto picks cuda, then mps, then cpu.",
        choices=get_args(Device))  # fmt: skip
    threads: int | None = option(
        None, "CPU threads", "Torch CPU threads.", kind="int", lo=1, hi=256, optional=True,
        none_means="torch's default")  # fmt: skip
    checkpoint_every: int = option(
        10, "Checkpoint every", "Save a resumable checkpoint every N epochs; 0 disables.", lo=0,
        hi=10000)  # fmt: skip
    auto_budget_s: float = option(
        AUTO_BUDGET_S, "Auto: time budget (s)", "For model auto only: seconds the choice may spend "
        "training candidate families (60-3600 typical). A family starts only while the budget lasts "
        "and when the slowest one so far would still fit in what is left; linear CCA always runs.",
        lo=0.0, hi=86400.0, step=30.0)  # fmt: skip

    def __post_init__(self) -> None:
        _validate(self)


@dataclass(frozen=True)
class DataConfig:
    """How to preprocess and split a dataset (preprocessing is fitted on the training split only), and
    how long ``model="auto"`` may spend choosing a family on that split."""

    standardize: bool = option(True, "Standardize", "Scale every feature to zero mean and unit variance.")
    log1p: bool = option(False, "log1p", "Apply log(1 + x) first: for non-negative counts such as RNA.")
    pca_dim: int | None = option(
        None, "PCA dims", "Reduce each modality wider than this to this many principal components "
        "(50-500 typical).", kind="int", lo=1, hi=100000, optional=True, none_means="off")  # fmt: skip
    val_fraction: float = option(
        0.15, "Validation share", "Share of samples held out for early stopping.", lo=0.0, hi=0.5,
        lo_open=True, step=0.01)  # fmt: skip
    test_fraction: float = option(
        0.15, "Test share", "Share of samples held out for the final held-out metrics; 0 keeps no "
        "test set, and the held-out figures then come from the validation split (labelled so).",
        lo=0.0, hi=0.5, step=0.01)  # fmt: skip
    split_seed: int = option(
        0, "Split seed", "Seeds the train / validation / test split.", lo=0, hi=SEED_MAX,
        follows_seed=True)  # fmt: skip
    stratify: bool = option(
        False, "Stratify by label", "Stratify the split by the dataset's label column (when it has one)."
    )

    def __post_init__(self) -> None:
        _validate(self)


#: Below this many samples ``umap="auto"`` skips UMAP: 15 neighbours would span 1/3+ of the points.
UMAP_AUTO_MIN_SAMPLES = 50


@dataclass(frozen=True)
class AnalysisConfig:
    """Which held-out analyses to run after training."""

    permutations: int = option(
        100, "Null permutations", "Rounds of the shuffled-pairing null behind the p-values of canonical "
        "correlations and feature maps (100-1000 typical).", lo=0, hi=100000)  # fmt: skip
    umap: Literal["auto", "on", "off"] = option(
        "auto", "UMAP", "Embed the latents with UMAP (Explore, report): on, off, or auto: skipped, "
        f"with a note, below {UMAP_AUTO_MIN_SAMPLES} samples (too few for a neighbour graph).",
        choices=("auto", "on", "off"))  # fmt: skip
    umap_neighbors: int = option(
        15, "UMAP neighbours", "UMAP n_neighbors (5-50 typical; larger favours global structure).",
        lo=2, hi=200)  # fmt: skip
    umap_min_dist: float = option(
        0.1, "UMAP min distance", "UMAP min_dist (0-0.5 typical; smaller packs clusters tighter).",
        lo=0.0, hi=0.99)  # fmt: skip
    max_umap_points: int = option(
        100000, "UMAP points", "Points embedded by UMAP; larger runs are subsampled with the seed.",
        lo=10, hi=10_000_000)  # fmt: skip
    top_features: int = option(
        200, "Top features", "Features per modality kept in the feature-by-feature map (highest "
        "variance).", lo=2, hi=10000)  # fmt: skip
    fdr: float = option(
        0.05, "FDR", "Benjamini-Hochberg false discovery rate for significant feature pairs.", lo=0.0,
        hi=1.0, lo_open=True, step=0.01)  # fmt: skip
    seed: int = option(
        0, "Analysis seed", "Seeds the permutations and UMAP.", lo=0, hi=SEED_MAX, follows_seed=True
    )

    def __post_init__(self) -> None:
        _validate(self)


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
#: The JobSpec part each config dataclass fills, in the order they are built and validated.
_NESTED: dict[str, type] = {
    "model": ModelConfig,
    "train": TrainConfig,
    "data": DataConfig,
    "analysis": AnalysisConfig,
}
_SECTIONS: dict[type, str] = {cls: section for section, cls in _NESTED.items()}


def options(cls: type) -> list[Option]:
    """The :class:`Option` records of config dataclass ``cls``, in declaration order."""
    section = _SECTIONS[cls]
    return [
        Option(section=section, name=f.name, default=f.default, **f.metadata["option"])
        for f in dataclasses.fields(cls)
    ]


def all_options() -> list[Option]:
    """Every option of every JobSpec part (model, train, data, analysis), in that order."""
    return [opt for cls in _NESTED.values() for opt in options(cls)]


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
    values: dict[str, dict[str, Any]] = {section: {} for section in _NESTED}
    for opt in all_options():
        if opt.follows_seed or opt.name == "seed":
            values[opt.section][opt.name] = seed
        elif opt.name in overrides:
            value = overrides[opt.name]
            values[opt.section][opt.name] = tuple(value) if isinstance(value, list) else value
    model = values["model"].get("model", ModelConfig.model)
    values["train"]["lr"] = resolve_lr(model, values["train"].get("lr"))
    parts = {section: cls(**values[section]) for section, cls in _NESTED.items()}
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
    sizes = {opt.name for opt in options(cls) if opt.kind == "sizes"} if cls in _SECTIONS else set()
    for key, value in d.items():
        if cls is JobSpec and key in _NESTED:
            value = from_dict(_NESTED[key], value)
        elif key in sizes and isinstance(value, list):
            value = tuple(value)
        kwargs[key] = value
    return cls(**kwargs)


for _cls in _NESTED.values():  # each field's help, range and default in its class docstring
    document(_cls, options(_cls))
