"""Read AnnData (.h5ad, one modality) and MuData (.h5mu, several) files element by element.

Only what a modality needs is read: its matrix (``X`` or the chosen layer), ``var`` (feature names)
and ``obs`` (sample ids and annotations), through ``anndata.io.read_elem``; the rest of the file
(other layers, ``obsm``, ``uns``...) is never loaded. A sparse matrix stays a float32 CSR matrix
(:func:`sparse_modality`; the fit densifies one batch at a time), so reading it costs its CSR
arrays; only ``nan="impute"`` densifies it (converted to float32 first, then densified once).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd

from mmcorr._validation import DataError

from ._table import NanPolicy, check_unique_columns, check_unique_ids, finalize
from .types import Modality

__all__ = [
    "LAYER_X",
    "dense_float32",
    "densified_note",
    "merge_obs",
    "obs_frame",
    "read_h5ad",
    "read_h5mu",
    "sparse_modality",
]

#: The layer name that means the main matrix ``X`` (the default when no layer is chosen).
LAYER_X = "X"
#: ``obs`` dtypes kept as labels / metadata (numbers, booleans, text, categories).
_OBS_KINDS = "biufOSUb"


def _anndata_io(source: str) -> Any:
    try:
        import anndata.io as aio
    except ImportError:
        raise DataError(
            f"{source}: reading AnnData / MuData files needs the optional 'anndata' package: "
            "pip install 'mmcorr[scverse]' (or pip install anndata mudata)."
        ) from None
    return aio


def dense_float32(x: Any, source: str) -> np.ndarray:
    """A numeric matrix (numpy or scipy.sparse) as a C-contiguous float32 array."""
    dtype = np.dtype(getattr(x, "dtype", np.float32))
    if dtype.kind not in "biuf":
        raise DataError(f"{source}: the matrix must be numeric; got dtype {dtype}.")
    with np.errstate(over="ignore"):  # values beyond float32 become inf, reported as non-finite
        if hasattr(x, "toarray"):  # sparse: cast the stored values first, then densify once
            return np.ascontiguousarray(x.astype(np.float32).toarray())
        return np.ascontiguousarray(np.asarray(x), dtype=np.float32)


def sparse_modality(name: str, matrix: Any, ids: np.ndarray, features: list[str], source: str) -> Modality:
    """A Modality whose values stay a float32 CSR matrix: the checks of ``finalize`` (ids, feature
    names, no NaN / inf, constant features dropped) done on the stored values, never densified."""
    import scipy.sparse as sp

    if np.dtype(matrix.dtype).kind not in "biuf":
        raise DataError(f"{source}: the matrix must be numeric; got dtype {matrix.dtype}.")
    x = sp.csr_matrix(matrix, dtype=np.float32)
    if x.shape[0] == 0 or x.shape[1] == 0:
        raise DataError(f"{source}: the matrix is empty (shape {x.shape}).")
    check_unique_columns(features, source)
    check_unique_ids(ids, source)
    bad = ~np.isfinite(x.data)
    if bad.any():
        k = int(np.argmax(bad))
        row = int(np.searchsorted(x.indptr, k, side="right")) - 1
        raise DataError(
            f"{source}: feature {features[int(x.indices[k])]!r} of obs {ids[row]!r} holds a NaN or infinite "
            f"value ({int(bad.sum())} in all); fill them in (sparse matrices are not imputed)."
        )
    lo, hi = x.min(axis=0).toarray().ravel(), x.max(axis=0).toarray().ravel()
    constant = lo == hi
    dropped = {features[j]: f"constant (every value is {float(lo[j]):g})" for j in np.flatnonzero(constant)}
    if constant.all():
        raise DataError(f"{source}: no usable features: every feature is constant.")
    if constant.any():
        x = x[:, np.flatnonzero(~constant)]
        features = [f for f, c in zip(features, constant, strict=True) if not c]
    x.sort_indices()
    # A CSR matrix where the type says ndarray: it supports what the estimator's path does with it
    # (shape, row indexing, chunked densifying in mmcorr.data._chunks).
    return Modality(
        name=name,
        values=cast(np.ndarray, x),
        ids=ids,
        features=features,
        source=source,
        id_column="obs_names",
        dropped=dropped,
    )


def densified_note(shape: tuple[int, ...], nan: NanPolicy) -> str:
    """The modality note of a sparse matrix densified because ``nan`` is not "error"."""
    n, d = int(shape[0]), int(shape[1])
    return (
        f"sparse matrix densified ({n:,} x {d:,} float32, {n * d * 4 / 2**20:,.0f} MiB) because "
        f"nan={nan!r} fills missing values on dense values only; with nan='error' it stays sparse "
        "and is densified one batch at a time"
    )


def obs_frame(obs: pd.DataFrame, ids: np.ndarray) -> pd.DataFrame:
    """The ``obs`` columns usable as labels / metadata (numbers, text, categories), indexed by ids."""
    keep = [c for c in obs.columns if getattr(obs[c].dtype, "kind", "O") in _OBS_KINDS]
    frame = obs[keep].copy()
    for c in keep:
        if isinstance(frame[c].dtype, pd.CategoricalDtype):
            frame[c] = frame[c].astype(object)
    frame.index = pd.Index(ids, dtype=object)
    frame.columns = [str(c) for c in frame.columns]
    return frame


def merge_obs(shared: pd.DataFrame, mod: Modality) -> pd.DataFrame:
    """A MuData modality's annotations: the global ``obs`` columns (bare) and its own, prefixed
    ``<key>:`` as muon does (a global column of the same name gives way to the modality's own)."""
    own = (mod.obs if mod.obs is not None else pd.DataFrame(index=mod.ids)).add_prefix(f"{mod.key}:")
    glob = obs_frame(shared, np.asarray(shared.index, dtype=object))
    glob = glob.drop(columns=[c for c in glob.columns if c in own.columns]).reindex(mod.ids)
    return pd.concat([glob, own], axis=1)


def _layer_of(layers: Mapping[str, str], *keys: str) -> str:
    for k in keys:
        if k in layers:
            return layers[k]
    return LAYER_X


def _read_group(
    aio: Any, group: Any, name: str, source: str, layer: str, nan: NanPolicy, key: str | None
) -> Modality:
    """One AnnData (the file root of an .h5ad or ``mod/<key>`` of an .h5mu) as a Modality."""
    if layer == LAYER_X:
        if "X" not in group:
            raise DataError(f"{source}: holds no X matrix; choose one of its layers {_layers(group)}.")
        matrix = aio.read_elem(group["X"])
    else:
        if layer not in _layers(group):
            raise DataError(
                f"{source}: has no layer {layer!r}. Allowed: {[LAYER_X, *_layers(group)]} "
                f"({LAYER_X!r} is the main matrix)."
            )
        matrix = aio.read_elem(group["layers"][layer])
    obs = aio.read_elem(group["obs"])
    var = aio.read_elem(group["var"])
    ids = np.asarray(obs.index, dtype=str).astype(object)
    features = [str(v) for v in var.index]
    if hasattr(matrix, "tocsr") and nan == "error":  # stays CSR: densified one batch at a time
        mod = sparse_modality(name, matrix, ids, features, source)
    else:
        shape = matrix.shape
        sparse = hasattr(matrix, "tocsr")
        values = dense_float32(matrix, source)
        del matrix
        mod = finalize(name, values, ids, features, source, id_column="obs_names", nan=nan)
        if sparse:
            mod.notes.append(densified_note(shape, nan))
    mod.obs = obs_frame(obs, ids)
    mod.key = key
    if layer != LAYER_X:
        mod.notes.append(f"values from layer {layer!r}")
    return mod


def _layers(group: Any) -> list[str]:
    return sorted(group["layers"]) if "layers" in group else []


def _open(path: Path, source: str, kind: str) -> Any:
    import h5py

    try:
        return h5py.File(path, "r")
    except OSError as exc:
        raise DataError(f"{source}: not a readable {kind} file ({exc}).") from None


def read_h5ad(path: Path, name: str, *, layers: Mapping[str, str], nan: NanPolicy) -> list[Modality]:
    """The one modality of an .h5ad file, named ``name``; ``layers`` may map ``name`` to a layer."""
    source = path.name
    aio = _anndata_io(source)
    with _open(path, source, ".h5ad") as f:
        try:
            return [_read_group(aio, f, name, source, _layer_of(layers, name), nan, None)]
        except (DataError, MemoryError):
            raise
        except Exception as exc:  # h5py / anndata raise many types for a damaged file
            raise DataError(f"{source}: not a readable .h5ad file ({type(exc).__name__}: {exc}).") from None


def read_h5mu(
    path: Path,
    prefix: str | None,
    *,
    layers: Mapping[str, str],
    nan: NanPolicy,
    name_of: Callable[[str], str],
) -> list[Modality]:
    """Every modality of an .h5mu file (named ``name_of("<prefix>_<key>")`` with a prefix, else
    ``name_of(key)``).

    layers: modality -> layer, keyed by the MuData key (``rna``) or the mmcorr name (``<prefix>_rna``).
    The file's global ``obs`` columns join each modality's own (those prefixed ``<key>:``, muon's
    convention).
    """
    source = path.name
    aio = _anndata_io(source)
    out: list[Modality] = []
    with _open(path, source, ".h5mu") as f:
        try:
            if "mod" not in f or not len(f["mod"]):
                raise DataError(f"{source}: the MuData file holds no modalities.")
            order = [str(k) for k in f["mod"].attrs.get("mod-order", sorted(f["mod"]))]
            glob = aio.read_elem(f["obs"]) if "obs" in f else pd.DataFrame()
            for key in order:
                name = name_of(f"{prefix}_{key}" if prefix else key)
                layer = _layer_of(layers, key, name)
                mod = _read_group(aio, f["mod"][key], name, f"{source}[{key}]", layer, nan, key)
                mod.obs = merge_obs(glob, mod)
                out.append(mod)
        except (DataError, MemoryError):
            raise
        except Exception as exc:  # h5py / anndata raise many types for a damaged file
            raise DataError(f"{source}: not a readable .h5mu file ({type(exc).__name__}: {exc}).") from None
    return out
