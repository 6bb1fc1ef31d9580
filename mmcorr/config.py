"""Frozen configuration dataclasses, serialised to JSON for the worker and the run bundle.

Every field has a documented default. ``to_dict`` / ``from_dict`` round-trip through plain JSON
types; ``from_dict`` rejects unknown keys and bad values with a :class:`MmcorrError` that names the
field, so a hand-edited job spec fails clearly.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar, get_args

from mmcorr._validation import MmcorrError, check_choice, check_float, check_int

__all__ = [
    "MODEL_NAMES",
    "RECOMMENDED_LR",
    "resolve_lr",
    "ModelName",
    "ModelConfig",
    "TrainConfig",
    "DataConfig",
    "AnalysisConfig",
    "JobSpec",
]

ModelName = Literal["cca", "ae", "corrae", "dccae", "mvae"]
MODEL_NAMES: tuple[str, ...] = get_args(ModelName)
Activation = Literal["relu", "gelu", "tanh", "leaky_relu", "elu"]
Device = Literal["auto", "cpu", "cuda", "mps"]
#: Each family's tuned AdamW learning rate, used by ``CorrelationModel(lr=None)`` (the default).
#: dccae's correlation objective needs ~5x the autoencoders' rate: at 1e-3 it was still improving
#: after 100 epochs and often left one canonical direction unlearned (test correlation < 0), while
#: the VAE's KL term destabilises at 3e-3 (bench/RESULTS.md, Quality).
RECOMMENDED_LR: dict[str, float] = {"cca": 1e-3, "ae": 1e-3, "corrae": 1e-3, "dccae": 5e-3, "mvae": 1e-3}


def resolve_lr(model: str, lr: float | None = None) -> float:
    """``lr`` when given, else the model family's tuned rate (``TrainConfig.lr`` for an unknown
    name, which ModelConfig then rejects with its own message)."""
    return lr if lr is not None else RECOMMENDED_LR.get(model, TrainConfig.lr)


@dataclass(frozen=True)
class ModelConfig:
    """What model to build.

    model: one of ``cca`` (regularised linear CCA, closed form), ``ae`` (joint multimodal
        autoencoder), ``corrae`` (correlational autoencoder), ``dccae`` (deep CCA with
        autoencoders), ``mvae`` (multimodal VAE, product of experts).
    latent_dim: size k of the shared latent space, 1-512; 2-50 is typical.
    hidden: hidden layer sizes of every modality's MLP encoder (decoders mirror them).
    activation: hidden-layer nonlinearity.
    dropout: dropout probability after each hidden layer, 0-0.9 (0-0.3 is typical).
    batch_norm: batch normalisation after each hidden linear layer.
    recon_weight: weight of the reconstruction loss (lambda in DCCAE), 0-100.
    corr_weight: weight of the correlation term (lambda in CorrNet), 0-100.
    kl_weight: weight of the KL term of the multimodal VAE (beta), 0-100.
    modality_dropout: probability of hiding modalities during ``ae`` / ``mvae`` training, 0-0.9.
    cca_reg: ridge regularisation added to covariance matrices (linear CCA and the DCCA loss),
        1e-8-1; raise it when n_samples is small relative to the features.
    """

    model: ModelName = "dccae"
    latent_dim: int = 10
    hidden: tuple[int, ...] = (256, 256)
    activation: Activation = "relu"
    dropout: float = 0.0
    batch_norm: bool = False
    recon_weight: float = 1.0
    corr_weight: float = 1.0
    kl_weight: float = 1.0
    modality_dropout: float = 0.3
    cca_reg: float = 1e-2

    def __post_init__(self) -> None:
        check_choice("model", self.model, MODEL_NAMES)
        check_int("latent_dim", self.latent_dim, 1, 512)
        if not isinstance(self.hidden, tuple) or not all(
            isinstance(h, int) and not isinstance(h, bool) and 1 <= h <= 8192 for h in self.hidden
        ):
            raise MmcorrError(
                "The 'hidden' parameter must be a sequence of layer sizes, each an int in [1, 8192]. "
                f"Got {self.hidden!r} instead."
            )
        check_choice("activation", self.activation, get_args(Activation))
        check_float("dropout", self.dropout, 0.0, 0.9)
        check_float("recon_weight", self.recon_weight, 0.0, 100.0)
        check_float("corr_weight", self.corr_weight, 0.0, 100.0)
        check_float("kl_weight", self.kl_weight, 0.0, 100.0)
        check_float("modality_dropout", self.modality_dropout, 0.0, 0.9)
        check_float("cca_reg", self.cca_reg, 1e-8, 1.0)


@dataclass(frozen=True)
class TrainConfig:
    """How to train.

    epochs: maximum passes over the training split, 1-10000.
    batch_size: samples per optimisation step, 2-65536 (CCA losses need >= latent_dim + 1).
    lr: AdamW learning rate, 1e-6-1 (1e-4-1e-2 is typical; ``RECOMMENDED_LR`` holds each model
        family's tuned rate, e.g. 5e-3 for dccae).
    weight_decay: AdamW decoupled weight decay, 0-1.
    patience: epochs without validation improvement before stopping early; 0 disables.
    grad_clip: maximum global gradient norm; 0 disables clipping.
    seed: seeds weight initialisation, batching and dropout; the same seed gives the same run.
    device: ``auto`` picks cuda, then mps, then cpu.
    threads: torch CPU threads; None leaves torch's default.
    checkpoint_every: save a resumable checkpoint every N epochs; 0 disables.
    """

    epochs: int = 100
    batch_size: int = 256
    lr: float = 1e-3
    weight_decay: float = 1e-4
    patience: int = 10
    grad_clip: float = 5.0
    seed: int = 0
    device: Device = "auto"
    threads: int | None = None
    checkpoint_every: int = 10

    def __post_init__(self) -> None:
        check_int("epochs", self.epochs, 1, 10000)
        check_int("batch_size", self.batch_size, 2, 65536)
        check_float("lr", self.lr, 1e-6, 1.0)
        check_float("weight_decay", self.weight_decay, 0.0, 1.0)
        check_int("patience", self.patience, 0, 10000)
        check_float("grad_clip", self.grad_clip, 0.0, 1e6)
        check_int("seed", self.seed, 0, 2**32 - 1)
        check_choice("device", self.device, get_args(Device))
        if self.threads is not None:
            check_int("threads", self.threads, 1, 256)
        check_int("checkpoint_every", self.checkpoint_every, 0, 10000)


@dataclass(frozen=True)
class DataConfig:
    """How to preprocess and split a dataset (preprocessing is fitted on the training split only).

    standardize: scale every feature to zero mean and unit variance.
    log1p: apply log(1 + x) first (for non-negative counts).
    pca_dim: reduce each modality wider than this to this many principal components; None keeps all.
    val_fraction / test_fraction: shares of samples held out for early stopping / final metrics.
    split_seed: seeds the train / validation / test split.
    stratify: stratify the split by the dataset's label column (when it has one).
    """

    standardize: bool = True
    log1p: bool = False
    pca_dim: int | None = None
    val_fraction: float = 0.15
    test_fraction: float = 0.15
    split_seed: int = 0
    stratify: bool = False

    def __post_init__(self) -> None:
        if self.pca_dim is not None:
            check_int("pca_dim", self.pca_dim, 1, 100000)
        check_float("val_fraction", self.val_fraction, 0.0, 0.5, lo_open=True)
        check_float("test_fraction", self.test_fraction, 0.0, 0.5, lo_open=True)
        check_int("split_seed", self.split_seed, 0, 2**32 - 1)


@dataclass(frozen=True)
class AnalysisConfig:
    """Which held-out analyses to run after training.

    permutations: rounds of the shuffled-pairing null for canonical correlations and feature maps.
    umap_neighbors: UMAP n_neighbors, 2-200 (5-50 is typical; larger favours global structure).
    umap_min_dist: UMAP min_dist, 0-0.99 (0-0.5 is typical; smaller packs clusters tighter).
    max_umap_points: points embedded by UMAP; larger runs are subsampled with the seed.
    top_features: features per modality kept in the feature-by-feature map (highest variance).
    fdr: Benjamini-Hochberg false discovery rate for significant feature pairs.
    seed: seeds the permutations and UMAP.
    """

    permutations: int = 100
    umap_neighbors: int = 15
    umap_min_dist: float = 0.1
    max_umap_points: int = 100000
    top_features: int = 200
    fdr: float = 0.05
    seed: int = 0

    def __post_init__(self) -> None:
        check_int("permutations", self.permutations, 0, 100000)
        check_int("umap_neighbors", self.umap_neighbors, 2, 200)
        check_float("umap_min_dist", self.umap_min_dist, 0.0, 0.99)
        check_int("max_umap_points", self.max_umap_points, 10, 10_000_000)
        check_int("top_features", self.top_features, 2, 10000)
        check_float("fdr", self.fdr, 0.0, 1.0, lo_open=True)
        check_int("seed", self.seed, 0, 2**32 - 1)


@dataclass(frozen=True)
class JobSpec:
    """One training job: which registered dataset, and every configuration. The worker's only input."""

    dataset_id: str
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    data: DataConfig = field(default_factory=DataConfig)
    analysis: AnalysisConfig = field(default_factory=AnalysisConfig)
    name: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.dataset_id, str) or not self.dataset_id:
            raise MmcorrError(
                f"The 'dataset_id' parameter must be a registered dataset id. Got {self.dataset_id!r}."
            )

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
_NESTED: dict[str, type] = {
    "model": ModelConfig,
    "train": TrainConfig,
    "data": DataConfig,
    "analysis": AnalysisConfig,
}


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
    for key, value in d.items():
        if cls is JobSpec and key in _NESTED:
            value = from_dict(_NESTED[key], value)
        elif key == "hidden" and isinstance(value, list):
            value = tuple(value)
        kwargs[key] = value
    return cls(**kwargs)
