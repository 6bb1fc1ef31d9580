"""Read AnnData (.h5ad, one modality) and MuData (.h5mu, several) files element by element.

Only what a modality needs is read: its matrix (``X`` or the chosen layer), ``var`` (feature names)
and ``obs`` (sample ids and annotations), through ``anndata.io.read_elem``; the rest of the file
(other layers, ``obsm``, ``uns``...) is never loaded. A sparse matrix is converted to float32
before it is densified, so the peak is its CSR arrays plus the float32 result.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mmcorr._validation import DataError

from ._table import NanPolicy, finalize
from .types import Modality

__all__ = ["LAYER_X", "dense_float32", "merge_obs", "obs_frame", "read_h5ad", "read_h5mu"]

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
    values = dense_float32(matrix, source)
    del matrix
    obs = aio.read_elem(group["obs"])
    var = aio.read_elem(group["var"])
    ids = np.asarray(obs.index, dtype=str).astype(object)
    features = [str(v) for v in var.index]
    mod = finalize(name, values, ids, features, source, id_column="obs_names", nan=nan)
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
