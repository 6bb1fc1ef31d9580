"""The user-facing estimator: ``CorrelationModel`` fit / transform / predict / save / load.

Follows scikit-learn's estimator contract: ``__init__`` only stores parameters, ``fit`` validates and
returns ``self``, learned attributes end in ``_``. Inputs are :class:`~mmcorr.data.types.PairedDataset`
in raw units; the estimator fits and applies its own preprocessing (on the training rows only).
"""

from __future__ import annotations

import dataclasses
import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from mmcorr._cca import canonical_correlations
from mmcorr._io import atomic_write_bytes, atomic_write_text, json_safe
from mmcorr._memory import check_fit_memory
from mmcorr._validation import MmcorrError, check_choice
from mmcorr._version import BUNDLE_FORMAT, __version__
from mmcorr.config import DataConfig, ModelConfig, TrainConfig, from_dict, resolve_lr, to_dict
from mmcorr.data.types import PairedDataset
from mmcorr.models import LinearCCA, MultimodalModel, get_model_class
from mmcorr.models.heads import LinearHeads, fit_alignment, fit_ridge, quick_cca
from mmcorr.training import Callback, TensorData, Trainer, TrainingCancelled, resolve_device

if TYPE_CHECKING:
    from mmcorr.data.preprocess import Preprocessor

__all__ = ["CorrelationModel", "JOINT", "MODEL_FILE", "CONFIG_FILE", "HISTORY_FILE"]

#: Key of the fused latent in :meth:`CorrelationModel.transform`'s result.
JOINT = "joint"
CONFIG_FILE = "config.json"
MODEL_FILE = "model.pt"
HISTORY_FILE = "history.jsonl"
# Share of `train` held out for early stopping when no validation set is given.
_VAL_FRACTION = 0.15
# Training rows the per-epoch validation correlation fits its CCA on: a k x k CCA is well estimated
# from ~20k rows, and encoding fewer rows keeps this per-epoch work small next to the epoch's steps
# (2000 rows made it ~16% of a small-data fit).
_VAL_METRIC_MIN_ROWS = 512
_VAL_METRIC_ROWS_PER_DIM = 20
# Early stopping of dccae (on val_corr) counts an epoch as better only when the mean validation
# canonical correlation (in [0, 1]) rises by more than this: later gains of ~1e-3 per epoch move the
# held-out correlation sum by < 0.1 while costing most of the epochs.
_VAL_CORR_MIN_DELTA = 2e-3
_CHUNK = 8192

_MODEL_FIELDS = {f.name for f in dataclasses.fields(ModelConfig)}
_TRAIN_FIELDS = {f.name for f in dataclasses.fields(TrainConfig)}
_DATA_FIELDS = ("standardize", "log1p", "pca_dim")


class CorrelationModel:
    """Learn one shared latent space for two or more paired modalities.

    model: ``cca`` (linear CCA / MCCA, closed form, the baseline), ``ae`` (joint multimodal
        autoencoder), ``corrae`` (CorrNet), ``dccae`` (deep CCA + autoencoders, the default),
        ``mvae`` (multimodal VAE, product of experts). ``cca``, ``corrae`` and ``dccae`` train on the
        samples present in every modality; ``ae`` and ``mvae`` also learn from partially paired ones.
    latent_dim: size k of the shared space, 1-512 (2-50 typical; ``cca`` needs k <= smallest d).
    The other parameters are those of :class:`~mmcorr.config.ModelConfig` (architecture and loss
    weights), :class:`~mmcorr.config.TrainConfig` (optimisation) and the preprocessing fields of
    :class:`~mmcorr.config.DataConfig` (standardize, log1p, pca_dim), with the same ranges.
    ``lr=None`` uses the family's tuned rate, :data:`~mmcorr.config.RECOMMENDED_LR` (5e-3 for dccae,
    1e-3 for the others).

    Early stopping (``patience``) watches ``val_corr`` for ``dccae`` (an epoch counts as better when
    it rises by more than 0.002) and the validation loss for the other families; the best epoch's
    weights are kept.

    Learned attributes: ``names_`` (modality order), ``dims_`` (raw feature counts),
    ``preprocessor_``, ``module_`` (the torch model), ``history_`` (one record per epoch, see
    :class:`~mmcorr.training.Callback`), ``heads_`` (alignment and ridge maps), ``device_``.

    ``history_[i]["val_corr"]`` is the mean held-out canonical correlation of the first two
    modalities: a linear CCA fitted on (up to 2000) training latents of that epoch, applied to
    the validation latents.
    """

    def __init__(
        self,
        model: str = "dccae",
        latent_dim: int = 10,
        *,
        hidden: Sequence[int] = (256, 256),
        activation: str = "relu",
        dropout: float = 0.0,
        batch_norm: bool = False,
        recon_weight: float = 1.0,
        corr_weight: float = 1.0,
        kl_weight: float = 1.0,
        modality_dropout: float = 0.3,
        cca_reg: float = 1e-2,
        epochs: int = 100,
        batch_size: int = 256,
        lr: float | None = None,
        weight_decay: float = 1e-4,
        patience: int = 10,
        grad_clip: float = 5.0,
        seed: int = 0,
        device: str = "auto",
        threads: int | None = None,
        checkpoint_every: int = 10,
        standardize: bool = True,
        log1p: bool = False,
        pca_dim: int | None = None,
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
        self.standardize = standardize
        self.log1p = log1p
        self.pca_dim = pca_dim

    # -- configuration -----------------------------------------------------------------------------
    def get_params(self) -> dict[str, Any]:
        """The constructor parameters (scikit-learn convention)."""
        return {k: getattr(self, k) for k in (*_MODEL_FIELDS, *_TRAIN_FIELDS, *_DATA_FIELDS)}

    def get_configs(self) -> tuple[ModelConfig, TrainConfig, DataConfig]:
        """The parameters as validated config dataclasses (raises MmcorrError naming a bad one)."""
        p = self.get_params()
        p["lr"] = resolve_lr(p["model"], p["lr"])
        hidden = p["hidden"]
        if isinstance(hidden, list):
            hidden = tuple(hidden)
        mcfg = ModelConfig(**{**{k: p[k] for k in _MODEL_FIELDS}, "hidden": hidden})
        tcfg = TrainConfig(**{k: p[k] for k in _TRAIN_FIELDS})
        base: DataConfig = getattr(self, "_data_config", DataConfig())
        dcfg = dataclasses.replace(base, **{k: p[k] for k in _DATA_FIELDS})
        return mcfg, tcfg, dcfg

    @classmethod
    def from_configs(cls, model: ModelConfig, train: TrainConfig, data: DataConfig) -> CorrelationModel:
        """Build from the config dataclasses of a job spec (the split fields of ``data`` are kept)."""
        params = {**to_dict(model), **to_dict(train), **{k: getattr(data, k) for k in _DATA_FIELDS}}
        params["hidden"] = tuple(params["hidden"])
        name, k = params.pop("model"), params.pop("latent_dim")
        est = cls(name, k, **params)
        est._data_config = data  # type: ignore[attr-defined]
        return est

    # -- fitting -----------------------------------------------------------------------------------
    def fit(
        self,
        train: PairedDataset,
        *,
        validation: PairedDataset | None = None,
        callbacks: Sequence[Callback] = (),
        checkpoint_dir: Path | None = None,
        resume: bool = False,
    ) -> CorrelationModel:
        """Fit preprocessing (on ``train`` only) and the model; returns self.

        train: the training samples, raw units. validation: early-stopping data; when None, 15%
        of ``train`` (chosen with ``seed``) is held out. callbacks: see :class:`~mmcorr.training.Callback`
        (a cancel raises TrainingCancelled, ``history_`` is kept). checkpoint_dir / resume: see
        :class:`~mmcorr.training.Trainer`. Before any work, raises a MmcorrError naming the sizes
        when the fit's estimated memory exceeds what the machine has (``mmcorr._memory``; cap it
        with the environment variable ``MMCORR_MEMORY_LIMIT_BYTES``).
        """
        from mmcorr.data.preprocess import Preprocessor

        mcfg, tcfg, dcfg = self.get_configs()
        _check_kind(train, "train")
        if validation is not None:
            _check_kind(validation, "validation")
        cls = get_model_class(mcfg.model)
        # Before any copy: fail now, with the sizes, rather than be killed by the OS mid-fit.
        check_fit_memory(
            train.n_samples + (0 if validation is None else validation.n_samples),
            train.dims,
            pca_dim=dcfg.pca_dim,
            hidden=mcfg.hidden,
            latent_dim=mcfg.latent_dim,
            ridge_heads=not cls.cross_decoder,
        )
        _check_dataset(train, "train")
        k = mcfg.latent_dim
        # The splits are row indices into the caller's arrays: the preprocessor reads those rows
        # in chunks and writes the float32 results, so no raw copy of the data is ever made.
        tr_rows: np.ndarray = np.arange(train.n_samples)
        if validation is None:
            order = np.random.default_rng(tcfg.seed).permutation(train.n_samples)
            n_val = max(round(_VAL_FRACTION * train.n_samples), k + 2)
            if train.n_samples - n_val < k + 2:
                raise MmcorrError(
                    f"The training data has {train.n_samples} samples: too few to hold out a validation "
                    f"set and fit a {k}-dimensional latent. Give at least {2 * (k + 2)} samples or lower "
                    "'latent_dim'."
                )
            tr_rows, va_rows = np.sort(order[n_val:]), np.sort(order[:n_val])
            va_src = train
        else:
            _check_dataset(validation, "validation")
            va_src, va_rows = validation, np.arange(validation.n_samples)
        if va_src.names != train.names:
            raise MmcorrError(
                f"The validation data must have the modalities {train.names} in that order. "
                f"Got {va_src.names}."
            )
        if cls.needs_full_pairs:
            tr_rows = tr_rows[train.fully_paired[tr_rows]]
            va_rows = va_rows[va_src.fully_paired[va_rows]]
            if len(tr_rows) < k + 2 or len(va_rows) < 2:
                raise MmcorrError(
                    f"Model '{mcfg.model}' trains on samples present in every modality; only "
                    f"{len(tr_rows)} training and {len(va_rows)} validation samples are. "
                    "Use 'ae' or 'mvae' for partially paired data."
                )

        pre = Preprocessor.from_config(dcfg).fit(train, rows=tr_rows)
        tr, va = pre.transform(train, rows=tr_rows), pre.transform(va_src, rows=va_rows)
        del tr_rows, va_rows, va_src
        dims = dict(pre.out_dims)
        if cls is LinearCCA and k > min(dims.values()):
            raise MmcorrError(
                f"The 'latent_dim' parameter must be at most {min(dims.values())} for model 'cca' "
                f"(the smallest modality's feature count after preprocessing). Got {k}."
            )
        device = resolve_device(tcfg.device)
        torch.manual_seed(tcfg.seed)
        module = cls(list(train.names), dims, mcfg).to(device)
        self.names_ = list(train.names)
        self.dims_ = train.dims
        self.features_ = {n: list(train.features[n]) for n in train.names}
        self.preprocessor_: Preprocessor = pre
        self.module_: MultimodalModel = module
        self.device_ = device
        self.heads_ = LinearHeads()
        self.history_: list[dict[str, Any]] = []
        tr_t, va_t = self._tensors(tr), self._tensors(va)

        if isinstance(module, LinearCCA):
            self._fit_closed_form(module, tr, va, callbacks)
        else:
            on_corr = module.early_stop_on == "val_corr"
            trainer = Trainer(
                tcfg,
                callbacks=callbacks,
                checkpoint_dir=checkpoint_dir,
                resume=resume,
                val_metric=lambda m: self._val_corr(m, tr_t, va_t),
                monitor="metric" if on_corr else "loss",
                min_delta=_VAL_CORR_MIN_DELTA if on_corr else 0.0,
            )
            try:
                self.history_ = trainer.fit(module, tr_t, va_t)
            except TrainingCancelled as exc:
                self.history_ = exc.history
                raise
        self._fit_heads(tr, tr_t)
        return self

    def _tensors(self, ds: PairedDataset) -> TensorData:
        xs = {
            n: torch.as_tensor(np.ascontiguousarray(ds.values[n], dtype=np.float32), device=self.device_)
            for n in ds.names
        }
        return TensorData(xs, torch.as_tensor(ds.mask, dtype=torch.bool, device=self.device_))

    @torch.no_grad()
    def _latents(self, module: MultimodalModel, data: TensorData) -> dict[str, np.ndarray]:
        """Each modality's raw model latent for every row, (n, k) float64, chunked."""
        module.eval()
        parts: dict[str, list[np.ndarray]] = {n: [] for n in module.names}
        for start in range(0, data.n, _CHUNK):
            idx = torch.arange(start, min(start + _CHUNK, data.n), device=data.mask.device)
            for n, z in module.encode(data.take(idx).xs).items():
                parts[n].append(z.double().cpu().numpy())
        return {n: np.concatenate(p) if p else np.zeros((0, module.latent_dim)) for n, p in parts.items()}

    def _val_corr(self, module: MultimodalModel, tr: TensorData, va: TensorData) -> float:
        a, b = module.names[:2]
        fit_rows = max(_VAL_METRIC_MIN_ROWS, _VAL_METRIC_ROWS_PER_DIM * module.latent_dim)
        rows_tr = (tr.mask[:, 0] & tr.mask[:, 1]).nonzero().flatten()
        if rows_tr.numel() > fit_rows:  # evenly spaced, so data sorted by group is still covered
            rows_tr = rows_tr[torch.linspace(0, rows_tr.numel() - 1, fit_rows, device=rows_tr.device).long()]
        rows_va = (va.mask[:, 0] & va.mask[:, 1]).nonzero().flatten()
        if rows_tr.numel() < 3 or rows_va.numel() < 2:
            return float("nan")
        zt, zv = self._latents(module, tr.take(rows_tr)), self._latents(module, va.take(rows_va))
        ma, wa, mb, wb = quick_cca(zt[a], zt[b], reg=1e-3)
        return float(np.mean(canonical_correlations((zv[a] - ma) @ wa, (zv[b] - mb) @ wb)))

    def _fit_closed_form(
        self, module: LinearCCA, tr: PairedDataset, va: PairedDataset, callbacks: Sequence[Callback]
    ) -> None:
        import time

        t0 = time.perf_counter()
        fit = module.fit_closed_form([tr.values[n].astype(np.float64) for n in tr.names])
        zv = self._latents(module, self._tensors(va))
        val = canonical_correlations(zv[tr.names[0]], zv[tr.names[1]]) if va.n_samples >= 2 else np.zeros(1)
        record: dict[str, Any] = {
            "epoch": 1,
            "epochs": 1,
            "train": {"corr": float(fit.correlations.sum()), "total": -float(fit.correlations.sum())},
            "val": {"corr": float(val.sum()), "total": -float(val.sum())},
            "val_corr": float(val.mean()),
            "seconds": time.perf_counter() - t0,
        }
        self.history_ = [record]
        if any([bool(cb.on_epoch_end(record)) for cb in callbacks]):
            raise TrainingCancelled(1, self.history_)

    def _fit_heads(self, tr: PairedDataset, tr_t: TensorData) -> None:
        module = self.module_
        raw = self._latents(module, tr_t)
        full = tr.fully_paired
        if module.align_after_fit and full.sum() >= 3:
            self.heads_.align = fit_alignment(
                self.names_, [raw[n][full] for n in self.names_], module.latent_dim, self.cca_reg
            )
        if not module.cross_decoder:
            for j, s in enumerate(self.names_):
                zs = self.heads_.aligned(s, raw[s])
                for i, t in enumerate(self.names_):
                    rows = tr.mask[:, j] & tr.mask[:, i]
                    if s != t and rows.sum() >= 2:
                        targets = None if rows.all() else np.flatnonzero(rows)  # read in place
                        self.heads_.ridge[(s, t)] = fit_ridge(zs[rows], tr.values[t], targets)

    # -- using a fitted model ----------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "module_"):
            raise MmcorrError(
                "This CorrelationModel is not fitted yet. Call fit(dataset) or load(dir) first."
            )

    def _prepare(
        self, ds: PairedDataset, modalities: Sequence[str] | None
    ) -> tuple[list[str], PairedDataset]:
        """Validate ``ds`` against the fitted modalities; return the used names and the preprocessed
        full-width dataset (absent modalities as zero rows with mask False)."""
        self._check_fitted()
        if not isinstance(ds, PairedDataset):
            raise MmcorrError(f"Expected a PairedDataset. Got {type(ds).__name__} instead.")
        use = list(modalities) if modalities is not None else [n for n in self.names_ if n in ds.names]
        for n in use:
            check_choice("modality", n, self.names_)
            if n not in ds.names:
                raise MmcorrError(f"The modality '{n}' is not in the given data (it has {ds.names}).")
            d = ds.values[n].shape[1]
            if d != self.dims_[n]:
                raise MmcorrError(
                    f"The modality '{n}' must have {self.dims_[n]} features like the training data. Got {d}."
                )
        if not use:
            raise MmcorrError(
                f"The data shares no modality with the model (model: {self.names_}; data: {ds.names})."
            )
        n_rows = ds.n_samples
        mask = np.zeros((n_rows, len(self.names_)), dtype=bool)
        values: dict[str, np.ndarray] = {}
        for j, name in enumerate(self.names_):
            if name in use:
                mask[:, j] = ds.mask[:, ds.names.index(name)]
                vals = np.asarray(ds.values[name], dtype=np.float32)
                if not np.isfinite(vals[mask[:, j]]).all():
                    raise MmcorrError(
                        f"The modality '{name}' contains NaN or infinite values; impute or drop them."
                    )
                values[name] = np.where(mask[:, j : j + 1], vals, 0.0).astype(np.float32)
            else:
                values[name] = np.zeros((n_rows, self.dims_[name]), dtype=np.float32)
        full = PairedDataset(
            names=list(self.names_),
            values=values,
            features={m: list(self.features_[m]) for m in self.names_},
            ids=np.asarray(ds.ids),
            mask=mask,
        )
        return use, self.preprocessor_.transform(full)

    def _encode(self, pre: PairedDataset) -> tuple[dict[str, np.ndarray], np.ndarray | None]:
        """Aligned per-modality latents (n, k) and, for fusing models, their joint latent."""
        data = self._tensors(pre)
        raw = self._latents(self.module_, data)
        aligned = {n: self.heads_.aligned(n, raw[n]) for n in self.names_}
        joint = None
        if self.module_.cross_decoder and not self.module_.align_after_fit:
            with torch.no_grad():
                parts = [
                    self.module_.encode_joint(
                        *_xs_mask(data.take(torch.arange(s, min(s + _CHUNK, data.n), device=self.device_)))
                    )
                    for s in range(0, data.n, _CHUNK)
                ]
            joint = torch.cat(parts).double().cpu().numpy() if parts else np.zeros((0, self.latent_dim))
        return aligned, joint

    def transform(self, ds: PairedDataset, modalities: Sequence[str] | None = None) -> dict[str, np.ndarray]:
        """Latents of ``ds`` (raw units; the fitted preprocessing is applied).

        modalities: which modalities to encode (default: every fitted one present in ``ds``).
        Returns name -> (n, k) float32 latent from that modality alone (NaN rows where it is absent)
        and ``"joint"`` -> (n, k) fused from the requested modalities present per sample (NaN when
        none is). For ``cca`` / ``corrae`` / ``dccae`` the latents are aligned canonical variates and
        the joint latent is their mean; ``ae`` / ``mvae`` fuse with the model itself.
        """
        use, pre = self._prepare(ds, modalities)
        aligned, joint = self._encode(pre)
        cols = [self.names_.index(n) for n in use]
        mask = pre.mask[:, cols]
        out: dict[str, np.ndarray] = {}
        for j, n in enumerate(use):
            z = aligned[n].astype(np.float32)
            z[~mask[:, j]] = np.nan
            out[n] = z
        if joint is None:
            stack = np.stack([np.nan_to_num(out[n]) for n in use], axis=1)
            joint = (stack * mask[:, :, None]).sum(axis=1) / np.maximum(mask.sum(axis=1), 1)[:, None]
        joint = joint.astype(np.float32)
        joint[~mask.any(axis=1)] = np.nan
        out[JOINT] = joint
        return out

    def predict(self, ds: PairedDataset, source: str, target: str) -> np.ndarray:
        """Predict modality ``target`` from modality ``source`` alone: (n, d_target) in the target's
        original units (NaN rows where ``source`` is absent). Decoding models decode the source's
        latent; ``cca`` / ``dccae`` use a ridge map from the aligned latent fitted on training data."""
        self._check_fitted()
        check_choice("target", target, self.names_)
        check_choice("source", source, self.names_)
        if source == target:
            raise MmcorrError(f"The 'source' and 'target' modalities must differ. Got {source!r} for both.")
        _, pre = self._prepare(ds, [source])
        present = pre.mask[:, self.names_.index(source)]
        if self.module_.cross_decoder:
            data = self._tensors(pre)
            z = self._latents(self.module_, data)[source]
            with torch.no_grad():
                zt = torch.as_tensor(z, dtype=torch.float32, device=self.device_)
                y = self.module_.decode(zt, target).double().cpu().numpy() if len(z) else np.zeros((0, 1))
        else:
            aligned, _ = self._encode(pre)
            y = self.heads_.predict(source, target, aligned[source])
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
        mcfg, tcfg, dcfg = self.get_configs()
        config = {
            "bundle_format": BUNDLE_FORMAT,
            "mmcorr_version": __version__,
            "model": to_dict(mcfg),
            "train": to_dict(tcfg),
            "data": to_dict(dcfg),
            "names": self.names_,
            "dims": self.dims_,
            "features": self.features_,
            "model_dims": self.module_.dims,
        }
        state = {
            "module": {k: v.detach().cpu() for k, v in self.module_.state_dict().items()},
            "heads": {k: torch.as_tensor(v) for k, v in self.heads_.to_tensors().items()},
        }
        buf = io.BytesIO()
        torch.save(state, buf)
        atomic_write_bytes(out / MODEL_FILE, buf.getvalue())
        self.preprocessor_.save(out)
        atomic_write_text(
            out / HISTORY_FILE,
            "".join(json.dumps(json_safe(r), allow_nan=False) + "\n" for r in self.history_),
        )
        atomic_write_text(out / CONFIG_FILE, json.dumps(config, indent=2, sort_keys=True))
        return out

    @classmethod
    def load(cls, path: str | Path, *, device: str = "cpu") -> CorrelationModel:
        """Load a model written by :meth:`save` (weights read with ``torch.load(weights_only=True)``)."""
        from mmcorr.data.preprocess import Preprocessor

        src = Path(path)
        for name in (CONFIG_FILE, MODEL_FILE):
            if not (src / name).is_file():
                raise MmcorrError(f"{src} is not a saved mmcorr model: {name} is missing.")
        try:
            config = json.loads((src / CONFIG_FILE).read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise MmcorrError(f"{src / CONFIG_FILE} is not valid JSON ({exc}).") from None
        found = config.get("bundle_format") if isinstance(config, dict) else None
        if found != BUNDLE_FORMAT:
            raise MmcorrError(
                f"The model in {src} has bundle format version {found!r} (written by mmcorr "
                f"{config.get('mmcorr_version', 'unknown') if isinstance(config, dict) else 'unknown'}); "
                f"this mmcorr {__version__} reads bundle format version {BUNDLE_FORMAT}. "
                "Retrain the model or use the matching mmcorr version."
            )
        mcfg = from_dict(ModelConfig, config["model"])
        tcfg = dataclasses.replace(from_dict(TrainConfig, config["train"]), device=device)  # type: ignore[arg-type]
        est = cls.from_configs(mcfg, tcfg, from_dict(DataConfig, config["data"]))
        est.names_ = list(config["names"])
        est.dims_ = {k: int(v) for k, v in config["dims"].items()}
        est.features_ = {k: list(v) for k, v in config["features"].items()}
        est.device_ = resolve_device(device)
        est.preprocessor_ = Preprocessor.load(src)
        state = torch.load(src / MODEL_FILE, map_location=est.device_, weights_only=True)
        module = get_model_class(mcfg.model)(est.names_, config["model_dims"], mcfg).to(est.device_)
        module.load_state_dict(state["module"])
        module.eval()
        est.module_ = module
        est.heads_ = LinearHeads.from_tensors({k: v.cpu().numpy() for k, v in state["heads"].items()})
        hist = src / HISTORY_FILE
        est.history_ = (
            [json.loads(line) for line in hist.read_text(encoding="utf-8").splitlines() if line.strip()]
            if hist.exists()
            else []
        )
        return est


def _xs_mask(data: TensorData) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    return data.xs, data.mask


def _check_kind(ds: Any, what: str) -> None:
    if not isinstance(ds, PairedDataset):
        raise MmcorrError(f"The '{what}' data must be a PairedDataset. Got {type(ds).__name__} instead.")
    if len(ds.names) < 2:
        raise MmcorrError(f"The '{what}' data must have at least 2 modalities to relate. Got {ds.names}.")


def _check_dataset(ds: Any, what: str) -> None:
    _check_kind(ds, what)
    for j, n in enumerate(ds.names):
        values = ds.values[n]
        # Row chunks of ~32 MiB of booleans: no copy of the present rows, bounded temporaries.
        step = max(1, 2**25 // max(values.shape[1], 1))
        for s in range(0, ds.n_samples, step):
            bad = ~np.isfinite(values[s : s + step]).all(axis=1) & ds.mask[s : s + step, j]
            if bad.any():
                raise MmcorrError(
                    f"The modality '{n}' of the '{what}' data contains NaN or infinite values "
                    f"(first at sample {ds.ids[s + int(np.argmax(bad))]!r}); "
                    "load it with nan='impute' or drop those samples."
                )
