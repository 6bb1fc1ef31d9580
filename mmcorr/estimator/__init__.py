"""The user-facing estimator: ``CorrelationModel`` fit / transform / predict / save / load.

Follows scikit-learn's estimator contract: ``__init__`` only stores parameters, ``fit`` validates and
returns ``self``, learned attributes end in ``_``. Inputs are :class:`~mmcorr.data.types.PairedDataset`
in raw units; the estimator fits and applies its own preprocessing (on the training rows only).
The estimator knows no model family: it reads the hooks of :class:`~mmcorr.models.MultimodalModel`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from sklearn.base import BaseEstimator

from mmcorr._memory import FitMemory
from mmcorr._validation import MmcorrError, check_choice
from mmcorr.config import DataConfig, ModelConfig, TrainConfig
from mmcorr.data.types import JOINT, SCVERSE_KEYS, MediaSpec, PairedDataset
from mmcorr.estimator._auto import AUTO, fit_auto
from mmcorr.estimator._batches import RowBatches
from mmcorr.estimator._data import check_dataset as _check_dataset
from mmcorr.estimator._data import check_kind as _check_kind
from mmcorr.estimator._data import conform, joint_latent, latents, with_joint
from mmcorr.estimator._fit import add_note, fit_closed_form, fit_heads, train_module
from mmcorr.estimator._inputs import MultiView, as_dataset, correlation_sum
from mmcorr.estimator._io import CONFIG_FILE, HISTORY_FILE, MODEL_FILE, SavedModel, read_model, write_model
from mmcorr.estimator._params import configs_from_params, params_from_configs
from mmcorr.estimator._predict import choose_paths, predict_preprocessed, prediction_path
from mmcorr.estimator._prepare import architecture, copy_encoders, preprocessing_note
from mmcorr.estimator._prepare import check_memory as _check_memory
from mmcorr.estimator._prepare import preprocess as _preprocess
from mmcorr.estimator._search import GridSearchCV
from mmcorr.models import MultimodalModel, get_model_class
from mmcorr.models.heads import LinearHeads
from mmcorr.training import Callback, TrainingCancelled, resolve_device

if TYPE_CHECKING:
    from torch import nn

    from mmcorr.data.preprocess import Preprocessor

__all__ = [
    "CorrelationModel",
    "GridSearchCV",
    "JOINT",
    "MODEL_FILE",
    "CONFIG_FILE",
    "HISTORY_FILE",
    "MultiView",
]


class CorrelationModel(BaseEstimator):
    """Learn one shared latent space for two or more paired modalities.

    model: ``auto`` (the default: trains the families below on one split within ``auto_budget_s``
        seconds and keeps the best by validation canonical correlation, :mod:`mmcorr.estimator._auto`),
        ``cca`` (linear CCA / MCCA, closed form, the baseline), ``ae`` (joint multimodal
        autoencoder), ``corrae`` (CorrNet), ``dccae`` (deep CCA + autoencoders, auto's first deep
        candidate), ``mvae`` (multimodal VAE, product of experts). ``cca``, ``corrae`` and ``dccae``
        train on the samples present in every modality; ``ae`` and ``mvae`` also learn from partially
        paired ones. After an auto fit, ``auto_`` lists every candidate's validation score and time.
    latent_dim: size k of the shared space (2-50 typical; ``cca`` needs k <= the narrowest
        modality after preprocessing).
    The other parameters are those of :class:`~mmcorr.config.ModelConfig` (architecture and loss
    weights), :class:`~mmcorr.config.TrainConfig` (optimisation) and the preprocessing fields of
    :class:`~mmcorr.config.DataConfig` (standardize, log1p, pca_dim, gaussianize), with the same meaning and
    ranges, declared there once. A parameter left at ``None`` takes that config's default;
    ``lr=None`` takes the family's tuned rate, :data:`~mmcorr.config.RECOMMENDED_LR`.
    gaussianize: "auto" (the default: model auto decides by cross-validated linear CCA, a named
        family runs without it), "on" or "off"; True / False mean on / off.
    When no validation set is given, ``DataConfig.val_fraction`` of the training data is held out.
    encoders: modality name -> a ``torch.nn.Module`` used as that modality's encoder: it takes
        (n, *shape) for a raw modality (``PairedDataset.media``, e.g. (n, C, H, W) images) or
        (n, d) for a table and returns (n, f) features, mapped to the latent by one linear layer
        and trained with the model (load pretrained weights into it first). ``fit`` trains a copy;
        ``load`` needs the same module again. Without one, image and audio modalities get conv
        encoders and decoders (:mod:`mmcorr.models.conv`), the others MLPs.

    Early stopping (``patience``) watches what the family's ``early_stop_on`` names: ``val_corr``
    for ``dccae`` (an epoch counts as better when it rises by more than
    ``mmcorr.estimator._fit.VAL_CORR_MIN_DELTA``) and the validation loss for the other families;
    the best epoch's weights are kept.

    Learned attributes: ``names_`` (modality order), ``dims_`` (raw feature counts), ``features_``,
    ``configs_`` (the (ModelConfig, TrainConfig, DataConfig) fitted with), ``preprocessor_``,
    ``module_`` (the torch model), ``media_`` (name -> MediaSpec of the raw modalities), ``history_`` (one record per epoch, see
    :class:`~mmcorr.training.Callback`), ``heads_`` (alignment and ridge maps), ``device_``,
    ``prediction_choice_`` ((source, target) -> :class:`~mmcorr.models.heads.PredictionChoice`:
    ridge map or decoder, whichever had the higher validation R^2; see
    :mod:`mmcorr.estimator._predict`).

    ``history_[i]["val_corr"]`` is the mean held-out canonical correlation of the first two
    modalities: a linear CCA fitted on a bounded, evenly spaced subset of that epoch's training
    latents, applied to the validation latents.
    """

    def __init__(
        self,
        model: str | None = None,
        latent_dim: int | None = None,
        *,
        hidden: Sequence[int] | None = None,
        activation: str | None = None,
        dropout: float | None = None,
        batch_norm: bool | None = None,
        recon_weight: float | None = None,
        corr_weight: float | None = None,
        kl_weight: float | None = None,
        modality_dropout: float | None = None,
        cca_reg: float | None = None,
        epochs: int | None = None,
        batch_size: int | None = None,
        lr: float | None = None,
        weight_decay: float | None = None,
        patience: int | None = None,
        grad_clip: float | None = None,
        seed: int | None = None,
        device: str | None = None,
        threads: int | None = None,
        checkpoint_every: int | None = None,
        auto_budget_s: float | None = None,
        standardize: bool | None = None,
        log1p: bool | None = None,
        pca_dim: int | None = None,
        gaussianize: str | bool | None = None,
        encoders: Mapping[str, nn.Module] | None = None,
    ) -> None:
        self.model = model
        self.latent_dim = latent_dim
        self.hidden = hidden
        self.activation = activation
        self.dropout = dropout
        self.batch_norm = batch_norm
        self.recon_weight = recon_weight
        self.corr_weight = corr_weight
        self.kl_weight = kl_weight
        self.modality_dropout = modality_dropout
        self.cca_reg = cca_reg
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.patience = patience
        self.grad_clip = grad_clip
        self.seed = seed
        self.device = device
        self.threads = threads
        self.checkpoint_every = checkpoint_every
        self.auto_budget_s = auto_budget_s
        self.standardize = standardize
        self.log1p = log1p
        self.pca_dim = pca_dim
        self.gaussianize = gaussianize
        self.encoders = encoders

    # -- configuration -----------------------------------------------------------------------------
    def get_configs(self) -> tuple[ModelConfig, TrainConfig, DataConfig]:
        """The parameters as validated config dataclasses (raises MmcorrError naming a bad one)."""
        base: DataConfig | None = getattr(self, "_data_config", None)
        return configs_from_params(self.get_params(deep=False), base)

    @classmethod
    def from_configs(cls, model: ModelConfig, train: TrainConfig, data: DataConfig) -> CorrelationModel:
        """Build from the config dataclasses of a job spec: every parameter takes the configs' value,
        and the split fields of ``data`` (not estimator parameters) are kept for ``get_configs``
        (``sklearn.base.clone`` copies parameters only, so a clone has DataConfig's split defaults)."""
        est = cls(**params_from_configs(model, train, data))
        est._data_config = data
        return est

    def check_memory(self, n_samples: int, dims: Mapping[str, int], *, copies: int = 0) -> FitMemory:
        """Raise a MmcorrError naming the sizes when fitting ``n_samples`` rows of modalities with
        ``dims`` (name -> raw feature count) would exceed the memory available; return the estimate
        otherwise. ``copies``: bytes of raw copies the caller makes first (e.g. split subsets).
        ``fit`` runs the same check; see :func:`mmcorr._memory.check_fit_memory`."""
        return _check_memory(self.get_configs(), n_samples, dims, copies=copies)

    # -- fitting -----------------------------------------------------------------------------------
    def fit(
        self,
        train: Any,
        y: None = None,
        *,
        validation: Any = None,
        callbacks: Sequence[Callback] = (),
        checkpoint_dir: Path | None = None,
        resume: bool = False,
        layers: Mapping[str, str] | None = None,
    ) -> CorrelationModel:
        """Fit preprocessing (on ``train`` only) and the model; returns self.

        train: the training samples, raw units: a PairedDataset, a list of (n, d_m) arrays (one per
        modality, rows paired by position; named ``view0``, ``view1``...), a MuData or a dict of
        modality name -> AnnData (cells paired by obs name, partially observed modalities kept).
        y: ignored (scikit-learn's signature). validation: early-stopping data of the same kind;
        when None, ``DataConfig.val_fraction`` of ``train`` (chosen with ``seed``) is held out.
        callbacks: see :class:`~mmcorr.training.Callback` (a cancel raises TrainingCancelled,
        ``history_`` is kept). checkpoint_dir / resume: see :class:`~mmcorr.training.Trainer`.
        layers: for AnnData / MuData, modality key -> layer to read instead of ``X`` (kept for
        ``transform`` as ``layers_``).
        Before any work, raises a MmcorrError naming the sizes when the fit's estimated memory
        exceeds what the machine has (``mmcorr._memory``; cap it with the environment variable
        ``MMCORR_MEMORY_LIMIT_BYTES``).
        """
        mcfg, tcfg, _ = configs = self.get_configs()
        train, _kind = as_dataset(train, "train", layers=layers)
        _check_kind(train, "train")
        if validation is not None:
            validation, _kind = as_dataset(validation, "validation", layers=layers)
            _check_kind(validation, "validation")
        if mcfg.model == AUTO:  # the candidates' fits; then this estimator becomes the best one
            return fit_auto(self, train, validation, callbacks, layers, None, checkpoint_dir, resume)
        family = get_model_class(mcfg.model)
        # Before any copy: fail now, with the sizes, rather than be killed by the OS mid-fit.
        n_rows = train.n_samples + (0 if validation is None else validation.n_samples)
        _check_memory(configs, n_rows, train.dims)
        _check_dataset(train, "train")
        if validation is not None:
            _check_dataset(validation, "validation")
        device = resolve_device(tcfg.device)
        # The training data stays as given: each batch is preprocessed when the trainer reads it.
        pre, tr, va = _preprocess(train, validation, family, configs, device)
        family.check_dims(pre.out_dims, mcfg.latent_dim)
        custom = copy_encoders(self.encoders)
        media = {n: spec for n, spec in train.media.items() if n in train.names}
        shapes, kinds = architecture(media, pre.out_dims, custom)
        torch.manual_seed(tcfg.seed)
        module = family(
            list(train.names), dict(pre.out_dims), mcfg, shapes=shapes, kinds=kinds, encoders=custom
        ).to(device)
        self.media_: dict[str, MediaSpec] = media
        self.names_ = list(train.names)
        self.layers_ = dict(layers or {})
        self.dims_ = train.dims
        self.features_ = {n: list(train.features[n]) for n in train.names}
        self.configs_ = configs
        self.preprocessor_: Preprocessor = pre
        self.module_: MultimodalModel = module
        self.device_ = device
        self.heads_ = LinearHeads()
        self.history_: list[dict[str, Any]] = []
        try:
            if family.fits_in_closed_form:
                self.history_ = fit_closed_form(module, tr, va, callbacks)
            else:
                self.history_ = train_module(module, tcfg, tr, va, callbacks, checkpoint_dir, resume)
        except TrainingCancelled as exc:
            self.history_ = exc.history
            raise
        if self.history_:
            add_note(self.history_[0], preprocessing_note(configs[2], tr.n))
        self.heads_ = fit_heads(module, tr, va)
        choose_paths(module, self.heads_, pre, va)
        self.prediction_choice_ = dict(self.heads_.choice)
        return self

    # -- using a fitted model ----------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "module_"):
            raise MmcorrError(
                "This CorrelationModel is not fitted yet. Call fit(dataset) or load(dir) first."
            )

    def _prepare(self, ds: PairedDataset, modalities: Sequence[str] | None) -> tuple[list[str], RowBatches]:
        """Validate ``ds`` against the fitted modalities; return the used names and its rows of
        every fitted modality (absent ones as zero rows with mask False), preprocessed per chunk
        as they are encoded."""
        self._check_fitted()
        use, full = conform(ds, self.names_, self.dims_, self.features_, modalities)
        return use, RowBatches(full, self.preprocessor_, self.device_)

    def _encode(self, data: RowBatches) -> tuple[dict[str, np.ndarray], np.ndarray | None]:
        """Aligned per-modality latents (n, k) and, for models that fuse themselves, their joint
        latent (None where the joint latent is the mean of the aligned ones)."""
        raw = latents(self.module_, data)
        aligned = {n: self.heads_.aligned(n, raw[n]) for n in self.names_}
        fuses = self.module_.cross_decoder and not self.module_.align_after_fit
        return aligned, joint_latent(self.module_, data) if fuses else None

    def _latents(self, ds: PairedDataset, modalities: Sequence[str] | None) -> dict[str, np.ndarray]:
        use, pre = self._prepare(ds, modalities)
        aligned, joint = self._encode(pre)
        return with_joint(aligned, joint, use, pre.present[:, [self.names_.index(n) for n in use]])

    def transform(self, ds: Any, modalities: Sequence[str] | None = None, *, inplace: bool = False) -> Any:
        """Latents of ``ds`` (raw units; the fitted preprocessing is applied).

        ds: a PairedDataset, a MuData / dict of AnnData (read with the ``layers_`` fitted with), or a
        list of arrays, one per fitted modality in order (as given to ``fit``).
        modalities: which modalities to encode (default: every fitted one present in ``ds``).
        Returns, for a PairedDataset or AnnData / MuData, name -> (n, k) float32 latent from that
        modality alone (NaN rows where it is absent) and ``"joint"`` -> (n, k) fused from the
        requested modalities present per sample (NaN when none is); for a list, the list of the
        per-modality latents in the order given. For ``cca`` / ``corrae`` / ``dccae`` the latents are
        aligned canonical variates and the joint latent is their mean; ``ae`` / ``mvae`` fuse with
        the model itself.
        inplace: for a MuData (or dict of AnnData), write each modality's latent into its
        ``obsm["X_mmcorr"]`` and the joint one into ``mdata.obsm["X_mmcorr"]`` and return None.
        """
        self._check_fitted()
        data, kind = as_dataset(ds, "data", layers=getattr(self, "layers_", None), fitted=self.names_)
        if inplace and kind != "scverse":
            raise MmcorrError(
                f"The 'inplace' parameter needs a MuData or a dict of AnnData to write into. Got {type(ds).__name__}."
            )
        out = self._latents(data, modalities)
        if kind == "views":
            return [out[n] for n in data.names]
        if inplace:
            from mmcorr.data.scverse import add_latents

            add_latents(ds, out, data.ids, data.info.get(SCVERSE_KEYS))
            return None
        return out

    def score(self, X: Any, y: None = None) -> float:
        """Held-out canonical correlation sum of ``X`` (any input ``transform`` takes): the sum
        over latent dimensions of the correlation between two modalities' latents, averaged over
        modality pairs (see :func:`mmcorr.estimator._inputs.correlation_sum`); higher is better.
        y: ignored. This is what scikit-learn's ``GridSearchCV`` maximises by default."""
        self._check_fitted()
        data, _ = as_dataset(X, "X", layers=getattr(self, "layers_", None), fitted=self.names_)
        use = [n for n in self.names_ if n in data.names]
        return correlation_sum(self._latents(data, use), use)

    def predict(self, ds: PairedDataset, source: str, target: str) -> np.ndarray:
        """Predict modality ``target`` from modality ``source`` alone: (n, d_target) in the target's
        original units (NaN rows where ``source`` is absent). Decoding models decode the source's
        latent or use a ridge map from the aligned latent fitted on training data, whichever
        predicted the validation pairs better (``prediction_choice_``); ``cca`` has the ridge only."""
        self._check_fitted()
        check_choice("target", target, self.names_)
        check_choice("source", source, self.names_)
        if source == target:
            raise MmcorrError(f"The 'source' and 'target' modalities must differ. Got {source!r} for both.")
        _, pre = self._prepare(ds, [source])
        present = pre.present[:, self.names_.index(source)]
        path = prediction_path(self.module_, self.heads_, source, target)
        y = predict_preprocessed(self.module_, self.heads_, pre, source, target, path)
        y = np.asarray(self.preprocessor_.inverse_transform(target, y), dtype=np.float32)
        y[~present] = np.nan
        return y

    # -- persistence -------------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write config.json, model.pt (tensors only), the preprocessing and history.jsonl into
        ``path`` (created if missing, may exist). Returns the directory."""
        self._check_fitted()
        out = Path(path)
        out.mkdir(parents=True, exist_ok=True)
        self.preprocessor_.save(out)
        saved = SavedModel(
            configs=self.configs_,
            names=self.names_,
            dims=self.dims_,
            features=self.features_,
            module=self.module_,
            heads=self.heads_,
            history=self.history_,
            media=getattr(self, "media_", {}),
        )
        write_model(out, saved)
        return out

    @classmethod
    def load(
        cls, path: str | Path, *, device: str = "cpu", encoders: Mapping[str, nn.Module] | None = None
    ) -> CorrelationModel:
        """Load a model written by :meth:`save` (weights read with ``torch.load(weights_only=True)``).

        encoders: the custom encoder modules the model was fitted with (modality name -> module;
        their saved weights replace the given ones in a copy); a MmcorrError names a missing one."""
        from mmcorr.data.preprocess import Preprocessor

        src = Path(path)
        saved = read_model(src, device, resolve_device(device), copy_encoders(encoders))
        est = cls.from_configs(*saved.configs)
        est.encoders, est.media_ = encoders, saved.media
        est.names_, est.dims_, est.features_ = saved.names, saved.dims, saved.features
        est.configs_ = saved.configs
        est.device_ = resolve_device(device)
        est.preprocessor_ = Preprocessor.load(src)
        est.module_, est.heads_, est.history_ = saved.module, saved.heads, saved.history
        est.prediction_choice_ = dict(saved.heads.choice)
        return est
