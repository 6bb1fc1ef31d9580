"""The four parts of a :class:`~mmcorr.config.JobSpec` (model, train, data, analysis): frozen
dataclasses whose fields carry their :class:`~mmcorr.config._option.Option` metadata, validated
from it; and :func:`options`, the records a surface reads. Re-exported by :mod:`mmcorr.config`."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal, get_args

from mmcorr.config._models import (
    AUTO,
    AUTO_BUDGET_S,
    MODEL_NAMES,
    RECOMMENDED_LR,
    ModelName,
    lr_text,
    model_help,
)
from mmcorr.config._option import Option, option

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
    gaussianize: Literal["auto", "on", "off"] = option(
        "auto", "Rank-Gaussian", "Map every feature of a table through its training quantiles to a "
        "standard normal (after log1p, before standardising): for skewed features, outliers or "
        "monotone distortions. on, off, or auto: model auto cross-validates linear CCA with and "
        "without it on the training rows and uses it for every family when it scores over 2% higher; "
        "a family named explicitly runs without it.",
        choices=("auto", "on", "off"))  # fmt: skip
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
        if isinstance(self.gaussianize, bool):  # configs and estimators from before it had "auto"
            object.__setattr__(self, "gaussianize", "on" if self.gaussianize else "off")
        _validate(self)

    @property
    def gaussianize_on(self) -> bool:
        """Whether a fit maps its inputs through the rank-Gaussian transform ("auto" is resolved by
        model auto, :mod:`mmcorr.estimator._auto`; for a chosen family it is off)."""
        return self.gaussianize == "on"


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


#: The JobSpec part each config dataclass fills, in the order they are built and validated.
PARTS: dict[str, type] = {
    "model": ModelConfig,
    "train": TrainConfig,
    "data": DataConfig,
    "analysis": AnalysisConfig,
}
SECTIONS: dict[type, str] = {cls: section for section, cls in PARTS.items()}


def options(cls: type) -> list[Option]:
    """The :class:`Option` records of config dataclass ``cls``, in declaration order."""
    section = SECTIONS[cls]
    return [
        Option(section=section, name=f.name, default=f.default, **f.metadata["option"])
        for f in dataclasses.fields(cls)
    ]


def all_options() -> list[Option]:
    """Every option of every JobSpec part (model, train, data, analysis), in that order."""
    return [opt for cls in PARTS.values() for opt in options(cls)]
