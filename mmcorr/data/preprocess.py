"""Per-modality preprocessing fitted on the training split only, saved with every run.

Order of steps for each modality: optional log1p (counts), optional rank-Gaussian map (each
feature through its training quantiles to a standard normal: a Gaussian copula transform),
optional standardisation (zero mean, unit variance per feature), optional PCA to at most
``pca_dim`` components for wide modalities.
Every statistic comes from the rows given to ``fit`` where the modality is present, so nothing of
the validation / test samples leaks into training.

Raw modalities (``PairedDataset.media``) differ: a text modality's hashed term counts are weighted
by TF-IDF, whose inverse document frequencies are fitted here on the training rows (scikit-learn's
smoothed formula), and each row is L2-normalised, before standardisation; images and audio are
pixel / log-mel grids read by convolutional encoders, so they get no log1p and no PCA (which would
destroy the grid).
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mmcorr._io import atomic_write_bytes, atomic_write_text
from mmcorr._validation import DataError, MmcorrError, check_int

from ._chunks import column_mean_var, iter_chunks
from ._fit_steps import fit_quantiles, from_normal, idf_weights, principal_axes, to_normal
from .types import PairedDataset

if TYPE_CHECKING:
    from mmcorr.config import DataConfig

__all__ = ["Preprocessor", "PREPROCESSING_JSON", "PREPROCESSING_NPZ"]

PREPROCESSING_JSON = "preprocessing.json"
PREPROCESSING_NPZ = "preprocessing.npz"
_FORMAT = 1
# Array kinds stored per modality in preprocessing.npz as "<modality>__<kind>".
_KINDS = ("mean", "scale", "pca_mean", "components", "idf", "norm", "quantiles")


class Preprocessor:
    """Fit-on-train preprocessing for every modality of a PairedDataset.

    standardize: scale each feature to zero mean and unit variance (features constant on the
        training rows are only centred).
    log1p: apply log(1 + x) first; every value must be >= 0 (counts).
    gaussianize: map each feature of a table through its training quantiles to a standard normal
        (after log1p, before standardising): robust to skew and outliers, and the same for any
        increasing distortion of a feature. Not applied to raw media (images, audio, text).
    pca_dim: project each modality wider than this onto its top ``pca_dim`` principal components
        (1-100000; 50-500 is typical for 10^4-feature omics); None keeps every feature.

    Learned (after ``fit``): ``names_``, ``in_dims_``, and per modality the arrays ``mean`` (d,),
    ``scale`` (d,), for PCA ``pca_mean`` (d,) and ``components`` (k, d), for the rank-Gaussian map
    ``quantiles`` (q, d).
    """

    def __init__(
        self,
        standardize: bool = True,
        log1p: bool = False,
        pca_dim: int | None = None,
        gaussianize: bool = False,
    ) -> None:
        self.standardize = bool(standardize)
        self.log1p = bool(log1p)
        self.gaussianize = bool(gaussianize)
        if pca_dim is not None:
            check_int("pca_dim", pca_dim, 1, 100000)
        self.pca_dim = pca_dim
        self.names_: list[str] = []
        self.in_dims_: dict[str, int] = {}
        self.params_: dict[str, dict[str, np.ndarray]] = {}
        self.kinds_: dict[str, str] = {}

    @classmethod
    def from_config(cls, config: DataConfig) -> Preprocessor:
        return cls(
            standardize=config.standardize,
            log1p=config.log1p,
            pca_dim=config.pca_dim,
            gaussianize=config.gaussianize_on,
        )

    # ---- fitting ----------------------------------------------------------------------------

    def fit(self, ds: PairedDataset, rows: np.ndarray | None = None) -> Preprocessor:
        """Learn the statistics from ``ds`` (pass the training split), ignoring absent rows.

        rows: optional integer indices of the training rows of ``ds`` (default: every row), so a
        caller can fit on a split without copying it. Statistics are accumulated in float64 over
        row chunks: the extra memory stays a few 32 MiB chunks (plus a d x d covariance for PCA).
        """
        params: dict[str, dict[str, np.ndarray]] = {}
        for j, name in enumerate(ds.names):
            values = ds.values[name]
            sel, _ = _present(ds.mask, j, rows)
            m = values.shape[0] if sel is None else len(sel)
            if m < 2:
                raise DataError(
                    f"Modality {name!r} is present in {m} training sample(s); preprocessing needs at least 2."
                )
            kind = ds.media[name].kind if name in ds.media else ""
            self.kinds_[name] = kind
            d = values.shape[1]
            p: dict[str, np.ndarray] = {"mean": np.zeros(d), "scale": np.ones(d)}
            if kind == "text":
                p["idf"], p["norm"] = idf_weights(values, sel, m)
            log = self._prep(name, p, ds.features[name])
            if self.gaussianize and not kind:  # quantiles of the log1p'd values; then map through them
                p["quantiles"] = fit_quantiles(values, sel, m, log)
                log = self._prep(name, p, ds.features[name])
            mu, var = column_mean_var(values, sel, log)
            if self.standardize:
                std = np.sqrt(var)
                p["mean"] = mu
                p["scale"] = np.where(std > 1e-12, std, 1.0)  # constant on train: centre only
            if self.pca_dim is not None and d > self.pca_dim and kind not in ("image", "audio"):
                # The mean of the standardised rows follows from mu: no pass needed.
                pca_mean = (mu - p["mean"]) / p["scale"]
                k = min(self.pca_dim, m)
                p["pca_mean"] = pca_mean
                p["components"] = principal_axes(values, sel, m, self._scaler(log, p), pca_mean, k)
            params[name] = p
        self.names_ = list(ds.names)
        self.in_dims_ = ds.dims
        self.params_ = params
        self.kinds_ = {n: k for n, k in self.kinds_.items() if k and n in params}
        return self

    def _prep(
        self, name: str, p: dict[str, np.ndarray], features: list[str] | None = None
    ) -> Callable[[np.ndarray], np.ndarray] | None:
        """What comes before centring on a float64 chunk: TF-IDF for text, log1p (if on) for tables,
        nothing for images and audio."""
        kind = self.kinds_.get(name, "")
        if kind == "text":
            idf = p["idf"]

            def tfidf(x: np.ndarray) -> np.ndarray:
                x *= idf
                x /= np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
                return x

            return tfidf
        if kind:
            return None
        log = self._log_prep(name, features)
        if "quantiles" not in p:
            return log
        normal = to_normal(p["quantiles"])
        return normal if log is None else lambda x: normal(log(x))

    def _log_prep(
        self, name: str, features: list[str] | None = None
    ) -> Callable[[np.ndarray], np.ndarray] | None:
        """log1p in place on a float64 chunk (checking it is >= 0), or None without log1p."""
        if not self.log1p:
            return None

        def log(x: np.ndarray) -> np.ndarray:
            if x.size and x.min() < 0:
                j = int(np.argmin(x.min(axis=0)))
                what = f"feature {features[j]!r}" if features else f"feature {j}"
                raise DataError(
                    f"log1p needs non-negative values, but modality {name!r} {what} has "
                    f"{float(x[:, j].min()):g}. Turn log1p off for this data."
                )
            return np.log1p(x, out=x)

        return log

    @staticmethod
    def _scaler(
        log: Callable[[np.ndarray], np.ndarray] | None, p: dict[str, np.ndarray]
    ) -> Callable[[np.ndarray], np.ndarray]:
        """The step before centring (log1p, TF-IDF; if any), centring and scaling, in place on a
        float64 chunk."""

        def scale(x: np.ndarray) -> np.ndarray:
            if log is not None:
                x = log(x)
            x -= p["mean"]
            x /= p["scale"]
            return x

        return scale

    def _full(self, name: str, features: list[str] | None = None) -> Callable[[np.ndarray], np.ndarray]:
        """Every fitted step of ``name`` on a float64 chunk (n_chunk, d_in) -> (n_chunk, d_out)."""
        p = self.params_[name]
        scale = self._scaler(self._prep(name, p, features), p)
        if "components" not in p:
            return scale
        comps_t = np.ascontiguousarray(p["components"].T)

        def project(x: np.ndarray) -> np.ndarray:
            x = scale(x)
            x -= p["pca_mean"]
            return x @ comps_t

        return project

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

    def _check_width(self, name: str, values: np.ndarray) -> None:
        if values.ndim != 2 or values.shape[1] != self.in_dims_[name]:
            raise DataError(
                f"Modality {name!r} must have {self.in_dims_[name]} features (as in training); "
                f"got shape {values.shape}."
            )

    def transform_values(
        self, name: str, values: Any, rows: np.ndarray | None = None, features: list[str] | None = None
    ) -> np.ndarray:
        """Apply the fitted steps of modality ``name`` to ``values`` (n, d_in), dense or CSR, or to
        its ``rows`` only (integer indices, e.g. a batch) -> float32 (n or len(rows), d_out), in
        ~32 MiB float64 row chunks (CSR densified a chunk at a time); ``values`` is not modified.
        ``features``: the names a log1p error quotes."""
        self._check_fitted()
        if name not in self.params_:
            raise MmcorrError(f"Modality {name!r} was not seen in fit; known: {self.names_}.")
        x = values if hasattr(values, "tocsr") else np.asarray(values)
        self._check_width(name, x)
        out = np.empty((x.shape[0] if rows is None else len(rows), self.out_dims[name]), dtype=np.float32)
        for pos, chunk in iter_chunks(x, rows, self._full(name, features)):
            out[pos] = chunk
        return out

    def transform(self, ds: PairedDataset, rows: np.ndarray | None = None) -> PairedDataset:
        """``ds`` (or its ``rows``, integer indices) with every modality preprocessed into new
        float32 arrays; rows where a modality is absent stay zero. Works in row chunks, so beside
        the output it needs only a few 32 MiB temporaries; ``ds`` is never modified."""
        self._check_fitted()
        if list(ds.names) != self.names_:
            raise DataError(
                f"The dataset has modalities {ds.names}; this preprocessor was fitted on {self.names_}."
            )
        values: dict[str, np.ndarray] = {}
        features: dict[str, list[str]] = {}
        if rows is not None:
            rows = np.asarray(rows)
            rows = np.flatnonzero(rows) if rows.dtype == bool else rows
        n_out = ds.n_samples if rows is None else len(rows)
        for j, name in enumerate(ds.names):
            raw = ds.values[name]
            self._check_width(name, raw)
            k = self.out_dims[name]
            # Absent rows hold zeros that log1p would accept; only present rows are read.
            src, dst = _present(ds.mask, j, rows)
            out = np.zeros((n_out, k), dtype=np.float32)
            step = self._full(name, ds.features[name])
            for pos, chunk in iter_chunks(raw, src, step):
                out[pos if dst is None else dst[pos]] = chunk
            values[name] = out
            features[name] = (
                [f"pc{i + 1}" for i in range(k)]
                if "components" in self.params_[name]
                else list(ds.features[name])
            )
        if rows is None:
            return dataclasses.replace(ds, values=values, features=features)
        return dataclasses.replace(ds.subset(rows, values=values), features=features)

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
        if "quantiles" in p:
            x = from_normal(p["quantiles"], x)
        kind = self.kinds_.get(name, "")
        if kind == "text":  # normalised TF-IDF weights back to (relative) term counts
            # The rows were L2-normalised: scale back by the training rows' mean TF-IDF norm, so
            # a prediction is in the units of term counts (a typical-length text), not of unit rows.
            x = x * (p["norm"][0] if "norm" in p else 1.0) / p["idf"]
        elif self.log1p and not kind:
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
            "gaussianize": self.gaussianize,
            "pca_dim": self.pca_dim,
            "names": self.names_,
            "in_dims": self.in_dims_,
            "kinds": self.kinds_,
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
        pre = cls(
            standardize=meta["standardize"],
            log1p=meta["log1p"],
            pca_dim=meta["pca_dim"],
            gaussianize=bool(meta.get("gaussianize", False)),  # files written before it: off
        )
        pre.names_ = list(meta["names"])
        pre.in_dims_ = {k: int(v) for k, v in meta["in_dims"].items()}
        pre.kinds_ = {k: str(v) for k, v in (meta.get("kinds") or {}).items()}
        pre.params_ = {
            n: {k: arrays[f"{n}__{k}"] for k in _KINDS if f"{n}__{k}" in arrays} for n in pre.names_
        }
        return pre


def _present(
    mask: np.ndarray, j: int, rows: np.ndarray | None
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Where modality ``j`` is present among ``rows``: (source rows of the data, their positions
    in the output); None for "all of them in order", so the common case reads contiguous views."""
    if rows is not None:
        rows = np.asarray(rows)
        if rows.dtype == bool:
            rows = np.flatnonzero(rows)
    present = mask[:, j] if rows is None else mask[rows, j]
    if present.all():
        return rows, None
    dst = np.flatnonzero(present)
    return (dst if rows is None else rows[dst]), dst
