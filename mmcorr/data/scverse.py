"""AnnData / MuData in and out: in-memory objects as a PairedDataset, latents back into ``obsm``.

muon's conventions: a MuData holds one AnnData per modality under ``mdata.mod[key]``; cells are
paired across modalities by obs name, and a modality may observe only some of them. mmcorr pairs
them with an outer join (the presence mask records who has what). Latents go where MOFA+
(``X_mofa``) and scvi-tools put theirs: each modality's in ``mdata.mod[key].obsm["X_mmcorr"]``, the
joint one in ``mdata.obsm["X_mmcorr"]`` (NaN rows where a cell lacks what they need).
anndata / mudata are optional (``pip install 'mmcorr[scverse]'``); nothing here imports them at
import time.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from mmcorr._validation import DataError, MmcorrError

from ._h5 import LAYER_X, dense_float32, densified_note, merge_obs, obs_frame, sparse_modality
from ._table import NanPolicy, finalize
from .metadata import check_shared_obs, obs_metadata
from .pairing import pair_modalities
from .types import JOINT, SCVERSE_KEYS, Modality, PairedDataset

__all__ = [
    "OBSM_KEY",
    "SCVERSE_KEYS",
    "add_latents",
    "is_scverse",
    "latents_mudata",
    "obs_metadata",
    "paired_from_scverse",
    "write_back",
]

#: The ``obsm`` key mmcorr writes latents under (scverse's ``X_<method>`` convention).
OBSM_KEY = "X_mmcorr"


def _kind(obj: Any) -> str | None:
    """'mudata', 'anndata' or None, from the type's name (without importing either package)."""
    for cls in type(obj).__mro__:
        if cls.__name__ == "MuData" and cls.__module__.startswith("mudata"):
            return "mudata"
        if cls.__name__ == "AnnData" and cls.__module__.startswith("anndata"):
            return "anndata"
    return None


def is_scverse(obj: Any) -> bool:
    """Whether ``obj`` is a MuData or a non-empty mapping of modality name -> AnnData."""
    if _kind(obj) == "mudata":
        return True
    return isinstance(obj, Mapping) and bool(obj) and all(_kind(v) == "anndata" for v in obj.values())


def _anndata_modality(adata: Any, key: str, name: str, layer: str, nan: NanPolicy) -> Modality:
    source = f"modality {key!r}"
    if layer == LAYER_X:
        matrix = adata.X
        if matrix is None:
            raise DataError(f"{source}: has no X matrix; choose one of its layers {sorted(adata.layers)}.")
    elif layer not in adata.layers:
        raise DataError(
            f"{source}: has no layer {layer!r}. Allowed: {[LAYER_X, *sorted(adata.layers)]} "
            f"({LAYER_X!r} is the main matrix)."
        )
    else:
        matrix = adata.layers[layer]
    ids = np.asarray(adata.obs_names, dtype=str).astype(object)
    features = [str(v) for v in adata.var_names]
    if hasattr(matrix, "tocsr") and nan == "error":
        mod = sparse_modality(name, matrix, ids, features, source)
    else:
        mod = finalize(
            name, dense_float32(matrix, source), ids, features, source, id_column="obs_names", nan=nan
        )
        if hasattr(matrix, "tocsr"):
            mod.notes.append(densified_note(matrix.shape, nan))
    mod.obs = obs_frame(adata.obs, ids)
    mod.key = key
    return mod


def paired_from_scverse(
    obj: Any,
    *,
    layers: Mapping[str, str] | None = None,
    how: Literal["inner", "outer"] = "outer",
    label_column: str | None = None,
    nan: NanPolicy = "error",
) -> PairedDataset:
    """A MuData (or a dict of modality name -> AnnData) as a PairedDataset.

    layers: modality key -> layer to read instead of ``X`` (e.g. ``{"rna": "counts"}``).
    how: "outer" (default, muon's convention) keeps every cell with a presence mask; "inner" keeps
        cells observed in every modality. Cells pair by obs name.
    label_column: an ``obs`` column (a MuData's global one, or ``"<key>:<col>"``) used as labels.
    ``obs`` columns become ``metadata``, ``var_names`` the feature names; a sparse matrix stays a
    float32 CSR matrix (densified one batch at a time by the fit) unless ``nan="impute"``, which
    densifies it (a modality note says so).
    """
    if not is_scverse(obj):
        raise MmcorrError(
            "The data must be a MuData or a dict of modality name -> AnnData. "
            f"Got {type(obj).__name__} instead."
        )
    from .loaders import sanitize_name

    items = list(obj.mod.items()) if _kind(obj) == "mudata" else list(obj.items())
    layers = dict(layers or {})
    unknown = sorted(set(layers) - {str(k) for k, _ in items})
    if unknown:
        raise DataError(
            f"The layers name modalities {unknown} that the data does not hold. Allowed: {[k for k, _ in items]}."
        )
    mods = [
        _anndata_modality(a, str(k), sanitize_name(str(k)), layers.get(str(k), LAYER_X), nan)
        for k, a in items
    ]
    check_shared_obs(mods)
    # muon keeps per-modality columns as "<key>:<col>" and global ones (a MuData's own obs) bare.
    shared = obj.obs if _kind(obj) == "mudata" else pd.DataFrame()
    for m in mods:
        m.obs = merge_obs(shared, m)
    ds, _ = pair_modalities(mods, how=how, by="id")
    meta, _warnings = obs_metadata(mods, ds.ids)
    if label_column is not None and (meta is None or label_column not in meta.columns):
        cols = [] if meta is None else list(meta.columns)
        raise DataError(
            f"The 'label_column' must be one of the obs columns {cols[:20]}. Got {label_column!r}."
        )
    ds.metadata, ds.label_column = meta, label_column
    ds.info[SCVERSE_KEYS] = {m.name: m.key for m in mods}
    return ds


def _rows(ids: np.ndarray, wanted: Any) -> np.ndarray:
    """Positions of ``wanted`` obs names in ``ids`` (-1 where absent)."""
    return np.asarray(pd.Index(ids, dtype=object).get_indexer(pd.Index(np.asarray(wanted, dtype=str))))


def _take(z: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """Rows ``pos`` of latent ``z`` as float32, NaN where ``pos`` is -1."""
    out = np.full((len(pos), z.shape[1]), np.nan, dtype=np.float32)
    out[pos >= 0] = z[pos[pos >= 0]]
    return out


def _key_of(name: str, keys: Mapping[str, str], mod_keys: list[str]) -> str | None:
    """The MuData key latents of mmcorr modality ``name`` go under (None when the data has none)."""
    from .loaders import sanitize_name

    if name in keys and keys[name] in mod_keys:
        return keys[name]
    for k in mod_keys:
        if name in (k, sanitize_name(k)) or name.endswith("_" + sanitize_name(k)):
            return k
    return None


def add_latents(
    mdata: Any, latents: Mapping[str, np.ndarray], ids: np.ndarray, keys: Mapping[str, str] | None = None
) -> list[str]:
    """Write ``latents`` (name -> (n, k), rows in ``ids`` order; ``"joint"`` for the fused one) into
    ``mdata`` (a MuData, or a dict of AnnData: no joint latent then) in place, matched by obs name;
    returns the ``obsm`` locations written."""
    container = mdata.mod if _kind(mdata) == "mudata" else mdata
    mod_keys = [str(k) for k in container]
    written: list[str] = []
    for name, z in latents.items():
        if name == JOINT:
            continue
        key = _key_of(name, keys or {}, mod_keys)
        if key is None:
            raise DataError(
                f"The MuData has no modality for the latent {name!r}. Its modalities: {mod_keys}."
            )
        adata = container[key]
        adata.obsm[OBSM_KEY] = _take(np.asarray(z), _rows(ids, adata.obs_names))
        written.append(f"mod[{key!r}].obsm[{OBSM_KEY!r}]")
    if JOINT in latents and _kind(mdata) == "mudata":
        mdata.obsm[OBSM_KEY] = _take(np.asarray(latents[JOINT]), _rows(ids, mdata.obs_names))
        written.append(f"obsm[{OBSM_KEY!r}]")
    return written


def latents_mudata(
    latents: Mapping[str, np.ndarray],
    ids: np.ndarray,
    present: Mapping[str, np.ndarray],
    keys: Mapping[str, str] | None = None,
) -> Any:
    """A new MuData holding only latents: one modality per entry of ``present`` (name -> bool (n,)
    rows observed), each with its latent in ``obsm["X_mmcorr"]``; the joint one in the MuData's.
    keys: modality name -> the key to file it under (the input MuData's key; default the name)."""
    import anndata
    import mudata

    mods = {}
    for name, rows in present.items():
        obs = pd.DataFrame(index=pd.Index(np.asarray(ids[rows], dtype=str)))
        adata = anndata.AnnData(obs=obs)
        adata.obsm[OBSM_KEY] = np.asarray(latents[name], dtype=np.float32)[rows]
        mods[(keys or {}).get(name, name)] = adata
    mdata = mudata.MuData(mods)
    if JOINT in latents:
        mdata.obsm[OBSM_KEY] = _take(np.asarray(latents[JOINT]), _rows(ids, mdata.obs_names))
    return mdata


def write_back(
    path: str | os.PathLike[str],
    latents: Mapping[str, np.ndarray],
    ids: np.ndarray,
    keys: Mapping[str, str],
    *,
    modality: str | None = None,
) -> list[str]:
    """Add ``latents`` to the user's .h5mu or .h5ad file at ``path`` atomically: the file is read, the
    latents are added, and the result is written to a temporary file beside it that replaces it, so
    the file is never left half-written. Returns the ``obsm`` locations written.

    An .h5mu gets each modality's latent in ``mod[KEY].obsm["X_mmcorr"]`` and the joint one in its
    ``obsm`` (:func:`add_latents`). An .h5ad holds one modality: it gets that modality's latent in
    ``obsm["X_mmcorr"]`` -- ``modality`` (the latent read from this file), or the only one given."""
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix not in (".h5mu", ".h5ad") or not target.is_file():
        raise MmcorrError(
            f"The --write-back file must be an existing .h5mu or .h5ad file. Got {str(target)!r}."
        )
    if suffix == ".h5ad":
        return _write_back_h5ad(target, latents, ids, modality)
    import mudata

    try:
        mdata = mudata.read_h5mu(target)
    except Exception as exc:  # h5py / anndata raise many types for a damaged file
        raise DataError(f"{target.name}: not a readable .h5mu file ({type(exc).__name__}: {exc}).") from None
    written = add_latents(mdata, latents, ids, keys)
    write_h5mu(mdata, target)
    return written


def _write_back_h5ad(
    target: Path, latents: Mapping[str, np.ndarray], ids: np.ndarray, modality: str | None
) -> list[str]:
    """One modality's latent into the .h5ad at ``target`` (``obsm["X_mmcorr"]``, matched by obs name)."""
    import anndata

    names = [n for n in latents if n != JOINT]
    name = modality if modality in names else (names[0] if len(names) == 1 else None)
    if name is None:
        raise MmcorrError(
            f"The --write-back file {target.name} is an .h5ad (one modality): give it as one of the "
            f"--modality files, or encode one modality. Got latents for {names}."
        )
    try:
        adata = anndata.read_h5ad(target)
    except Exception as exc:  # h5py / anndata raise many types for a damaged file
        raise DataError(f"{target.name}: not a readable .h5ad file ({type(exc).__name__}: {exc}).") from None
    pos = _rows(ids, adata.obs_names)
    if not (pos >= 0).any():
        raise DataError(
            f"{target.name}: none of its obs names are among the encoded samples; write back to the "
            "file the latents were computed from."
        )
    adata.obsm[OBSM_KEY] = _take(np.asarray(latents[name]), pos)
    write_h5mu(adata, target)
    return [f"obsm[{OBSM_KEY!r}] ({name})"]


def write_h5mu(mdata: Any, target: Path) -> None:
    """Write ``mdata`` (a MuData, or an AnnData for an .h5ad ``target``) to ``target`` through a
    temporary file beside it and ``os.replace``."""
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp{target.suffix.lower()}")
    try:
        mdata.write(tmp)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
