"""Per-modality preprocessing fitted on the training split only, saved with every run.

Order of steps for each modality: optional log1p (counts), optional standardisation (zero mean,
unit variance per feature), optional PCA to at most ``pca_dim`` components for wide modalities.
Every statistic comes from the rows given to ``fit`` where the modality is present, so nothing of
the validation / test samples leaks into training.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mmcorr._io import atomic_write_bytes, atomic_write_text
from mmcorr._validation import DataError, MmcorrError, check_int

from .types import PairedDataset

if TYPE_CHECKING:
    from mmcorr.config import DataConfig

__all__ = ["Preprocessor", "PREPROCESSING_JSON", "PREPROCESSING_NPZ"]

PREPROCESSING_JSON = "preprocessing.json"
PREPROCESSING_NPZ = "preprocessing.npz"
_FORMAT = 1
# Array kinds stored per modality in preprocessing.npz as "<modality>__<kind>".
_KINDS = ("mean", "scale", "pca_mean", "components")


class Preprocessor:
    """Fit-on-train preprocessing for every modality of a PairedDataset.

    standardize: scale each feature to zero mean and unit variance (features constant on the
        training rows are only centred).
    log1p: apply log(1 + x) first; every value must be >= 0 (counts).
    pca_dim: project each modality wider than this onto its top ``pca_dim`` principal components
        (1-100000; 50-500 is typical for 10^4-feature omics); None keeps every feature.

    Learned (after ``fit``): ``names_``, ``in_dims_``, and per modality the arrays ``mean`` (d,),
    ``scale`` (d,), and for PCA ``pca_mean`` (d,) and ``components`` (k, d).
    """

    def __init__(self, standardize: bool = True, log1p: bool = False, pca_dim: int | None = None) -> None:
        self.standardize = bool(standardize)
        self.log1p = bool(log1p)
        if pca_dim is not None:
            check_int("pca_dim", pca_dim, 1, 100000)
        self.pca_dim = pca_dim
        self.names_: list[str] = []
        self.in_dims_: dict[str, int] = {}
        self.params_: dict[str, dict[str, np.ndarray]] = {}

    @classmethod
    def from_config(cls, config: DataConfig) -> Preprocessor:
        return cls(standardize=config.standardize, log1p=config.log1p, pca_dim=config.pca_dim)

    # ---- fitting ----------------------------------------------------------------------------

    def fit(self, ds: PairedDataset) -> Preprocessor:
        """Learn the statistics from ``ds`` (pass the training split), ignoring absent rows."""
        params: dict[str, dict[str, np.ndarray]] = {}
        for j, name in enumerate(ds.names):
            x = np.asarray(ds.values[name][ds.mask[:, j]], dtype=np.float64)
            if len(x) < 2:
                raise DataError(
                    f"Modality {name!r} is present in {len(x)} training sample(s); preprocessing needs at least 2."
                )
            x = self._log(name, x, ds.features[name])
            d = x.shape[1]
            p: dict[str, np.ndarray] = {"mean": np.zeros(d), "scale": np.ones(d)}
            if self.standardize:
                std = x.std(axis=0)
                p["mean"] = x.mean(axis=0)
                p["scale"] = np.where(std > 1e-12, std, 1.0)  # constant on train: centre only
                x = (x - p["mean"]) / p["scale"]
            if self.pca_dim is not None and d > self.pca_dim:
                p["pca_mean"], p["components"] = _pca(x, min(self.pca_dim, len(x)))
            params[name] = p
        self.names_ = list(ds.names)
        self.in_dims_ = ds.dims
        self.params_ = params
        return self

    def _log(self, name: str, x: np.ndarray, features: list[str] | None = None) -> np.ndarray:
        if not self.log1p:
            return x
        if x.size and x.min() < 0:
            j = int(np.argmin(x.min(axis=0)))
            what = f"feature {features[j]!r}" if features else f"feature {j}"
            raise DataError(
                f"log1p needs non-negative values, but modality {name!r} {what} has {float(x[:, j].min()):g}. "
                "Turn log1p off for this data."
            )
        return np.log1p(x)

    # ---- applying ---------------------------------------------------------------------------

    def _check_fitted(self) -> None:
        if not self.params_:
            raise MmcorrError("This Preprocessor is not fitted yet; call fit(train) first.")

    @property
    def out_dims(self) -> dict[str, int]:
        """Output width per modality: pca components where PCA applies, else the input width."""
        self._check_fitted()
        return {
            n: int(self.params_[n]["components"].shape[0])
            if "components" in self.params_[n]
            else self.in_dims_[n]
            for n in self.names_
        }

    def transform_values(self, name: str, values: np.ndarray) -> np.ndarray:
        """Apply the fitted steps of modality ``name`` to values (n, d_in) -> float32 (n, d_out)."""
        self._check_fitted()
        if name not in self.params_:
            raise MmcorrError(f"Modality {name!r} was not seen in fit; known: {self.names_}.")
        x = np.asarray(values, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.in_dims_[name]:
            raise DataError(
                f"Modality {name!r} must have {self.in_dims_[name]} features (as in training); got shape {x.shape}."
            )
        p = self.params_[name]
        x = (self._log(name, x) - p["mean"]) / p["scale"]
        if "components" in p:
            x = (x - p["pca_mean"]) @ p["components"].T
        return x.astype(np.float32)

    def transform(self, ds: PairedDataset) -> PairedDataset:
        """``ds`` with every modality preprocessed; rows where a modality is absent stay zero."""
        self._check_fitted()
        if list(ds.names) != self.names_:
            raise DataError(
                f"The dataset has modalities {ds.names}; this preprocessor was fitted on {self.names_}."
            )
        values: dict[str, np.ndarray] = {}
        features: dict[str, list[str]] = {}
        for j, name in enumerate(ds.names):
            present = ds.mask[:, j]
            raw = ds.values[name]
            # Absent rows hold zeros that log1p would accept; only present rows are checked.
            out = np.zeros((ds.n_samples, self.out_dims[name]), dtype=np.float32)
            out[present] = self.transform_values(name, raw[present])
            values[name] = out
            k = self.out_dims[name]
            features[name] = (
                [f"pc{i + 1}" for i in range(k)]
                if "components" in self.params_[name]
                else list(ds.features[name])
            )
        return dataclasses.replace(ds, values=values, features=features)

    def inverse_transform(self, name: str, values: np.ndarray) -> np.ndarray:
        """Map preprocessed values (n, d_out) of modality ``name`` back to original units (n, d_in);
        for PCA this is the reconstruction from the kept components."""
        self._check_fitted()
        if name not in self.params_:
            raise MmcorrError(f"Modality {name!r} was not seen in fit; known: {self.names_}.")
        p = self.params_[name]
        x = np.asarray(values, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.out_dims[name]:
            raise DataError(
                f"Modality {name!r} values must have {self.out_dims[name]} columns; got shape {x.shape}."
            )
        if "components" in p:
            x = x @ p["components"] + p["pca_mean"]
        x = x * p["scale"] + p["mean"]
        if self.log1p:
            x = np.expm1(x)
        return x

    # ---- persistence ------------------------------------------------------------------------

    def save(self, directory: str | os.PathLike[str]) -> None:
        """Write preprocessing.json and preprocessing.npz into ``directory`` (each atomically)."""
        self._check_fitted()
        out = Path(directory)
        meta: dict[str, Any] = {
            "format": _FORMAT,
            "standardize": self.standardize,
            "log1p": self.log1p,
            "pca_dim": self.pca_dim,
            "names": self.names_,
            "in_dims": self.in_dims_,
        }
        arrays = {f"{n}__{k}": v for n, p in self.params_.items() for k, v in p.items()}
        buf = io.BytesIO()
        np.savez(buf, **arrays)  # type: ignore[arg-type]
        atomic_write_bytes(out / PREPROCESSING_NPZ, buf.getvalue())
        atomic_write_text(out / PREPROCESSING_JSON, json.dumps(meta, indent=2))

    @classmethod
    def load(cls, directory: str | os.PathLike[str]) -> Preprocessor:
        """Read what :meth:`save` wrote (never unpickling)."""
        src = Path(directory)
        try:
            meta = json.loads((src / PREPROCESSING_JSON).read_text(encoding="utf-8"))
            with np.load(src / PREPROCESSING_NPZ, allow_pickle=False) as npz:
                arrays = {k: np.asarray(npz[k]) for k in npz.files}
        except FileNotFoundError as exc:
            raise MmcorrError(f"{src}: missing preprocessing file {Path(str(exc.filename)).name}.") from None
        except (ValueError, OSError) as exc:
            raise MmcorrError(f"{src}: unreadable preprocessing files ({exc}).") from None
        if meta.get("format") != _FORMAT:
            raise MmcorrError(
                f"{src}: preprocessing format {meta.get('format')!r} is not supported (expected {_FORMAT})."
            )
        pre = cls(standardize=meta["standardize"], log1p=meta["log1p"], pca_dim=meta["pca_dim"])
        pre.names_ = list(meta["names"])
        pre.in_dims_ = {k: int(v) for k, v in meta["in_dims"].items()}
        pre.params_ = {
            n: {k: arrays[f"{n}__{k}"] for k in _KINDS if f"{n}__{k}" in arrays} for n in pre.names_
        }
        return pre


def _pca(x: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Principal axes of x (n, d): (mean (d,), components (k, d)), signs fixed for determinism."""
    mean = x.mean(axis=0)
    xc = x - mean
    if k < 0.5 * min(xc.shape):
        from sklearn.utils.extmath import randomized_svd

        _, _, vt = randomized_svd(xc, n_components=k, random_state=0)
    else:
        _, _, vt = np.linalg.svd(xc, full_matrices=False)
        vt = vt[:k]
    # Make the largest-magnitude loading of each component positive, so refits agree in sign.
    signs = np.sign(vt[np.arange(len(vt)), np.argmax(np.abs(vt), axis=1)])
    return mean, vt * signs[:, None]
