"""Pair modalities on sample ids (or row order) into one PairedDataset, with a report.

Inner join (default) keeps samples present in every modality; outer join keeps every sample and
records which modalities each one has in the presence mask (n, M), which the multimodal VAE uses.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from mmcorr._validation import DataError, MmcorrError, check_choice, check_identifier

from ._table import NanPolicy
from .loaders import load_file
from .metadata import attach_labels, check_shared_obs, obs_metadata
from .report import ModalitySummary, PairingReport
from .types import SCVERSE_KEYS, MediaSpec, Modality, PairedDataset

__all__ = ["MIN_PAIRED", "JOINS", "PAIR_BY", "pair_modalities", "load_paired"]

#: Fewer fully paired samples than this cannot support any correlation estimate.
MIN_PAIRED = 10
JOINS: tuple[str, ...] = ("inner", "outer")
PAIR_BY: tuple[str, ...] = ("id", "order")


def _examples(ids: np.ndarray, k: int = 5) -> list[str]:
    return [str(v) for v in ids[:k]]


def pair_modalities(
    modalities: list[Modality],
    *,
    how: Literal["inner", "outer"] = "inner",
    by: Literal["id", "order"] = "id",
) -> tuple[PairedDataset, PairingReport]:
    """Align ``modalities`` on their sample ids (``by="id"``) or on row order (``by="order"``).

    how: "inner" keeps samples in every modality (mask all True); "outer" keeps every sample, with
        absent rows zero-filled and ``mask[i, j]`` False.
    Sample order follows the first modality, then new ids of later ones in their order.
    Raises DataError for fewer than 2 modalities, bad / duplicate names, duplicate ids, differing
    row counts (by order), no common ids, or fewer than 10 samples present in every modality.
    """
    check_choice("how", how, JOINS)
    check_choice("by", by, PAIR_BY)
    if len(modalities) < 2:
        raise DataError(
            f"Pairing needs at least 2 modalities; got {len(modalities)}. Give one file per modality "
            "(or an .h5mu file with several modalities)."
        )
    names = [m.name for m in modalities]
    for n in names:
        check_identifier("modality", n)
    dup_names = sorted({n for n in names if names.count(n) > 1})
    if dup_names:
        raise DataError(
            f"Modality names must be distinct; {dup_names} appear more than once. Name them apart."
        )
    for m in modalities:
        dup = pd.Index(m.ids).duplicated()
        if dup.any():
            raise DataError(
                f"{m.source or m.name}: {int(dup.sum())} duplicate sample id(s), e.g. {_examples(m.ids[dup])}."
            )

    if by == "order":
        counts = {m.source or m.name: m.n_samples for m in modalities}
        if len(set(counts.values())) > 1:
            raise DataError(
                f"Pairing by row order needs the same number of rows in every file; got {counts}. "
                "Give an id column (id_column / --id-column) to pair by sample id instead."
            )
        ids = np.asarray(modalities[0].ids, dtype=object)
        index = [np.arange(len(ids))] * len(modalities)
    else:
        ids, index = _align_ids(modalities, how)

    mask = np.stack([ix >= 0 for ix in index], axis=1)
    values: dict[str, np.ndarray] = {}
    previews: dict[str, np.ndarray] = {}
    for m, ix in zip(modalities, index, strict=True):
        if hasattr(m.values, "tocsr"):  # sparse stays sparse: absent rows are an empty row
            values[m.name] = _sparse_rows(m.values, ix)
            continue
        present = ix >= 0
        out = np.zeros((len(ids), m.n_features), dtype=np.float32)
        out[present] = m.values[ix[present]]
        values[m.name] = out
        if m.previews is not None:
            shown = np.full(len(ids), None, dtype=object)
            shown[present] = m.previews[ix[present]]
            previews[m.name] = shown
    n_paired = int(mask.all(axis=1).sum())
    if n_paired < MIN_PAIRED:
        raise DataError(
            f"Only {n_paired} sample(s) are present in every modality ({', '.join(names)}); at least "
            f"{MIN_PAIRED} are needed. Check that the files share sample ids."
        )
    ds = PairedDataset(
        names=names,
        values=values,
        features={m.name: list(m.features) for m in modalities},
        ids=ids,
        mask=mask,
        media={m.name: m.media for m in modalities if m.media is not None},
        previews=previews,
    )
    report = _report(modalities, ds, how, by)
    return ds, report


def _sparse_rows(values: Any, ix: np.ndarray) -> Any:
    """CSR rows ``values[ix]`` with an empty row where ``ix`` is -1 (an absent sample)."""
    import scipy.sparse as sp

    padded = sp.vstack([values.tocsr(), sp.csr_matrix((1, values.shape[1]), dtype=values.dtype)]).tocsr()
    return padded[np.where(ix >= 0, ix, values.shape[0])]


def _align_ids(modalities: list[Modality], how: str) -> tuple[np.ndarray, list[np.ndarray]]:
    indexes = [pd.Index(np.asarray(m.ids, dtype=object)) for m in modalities]
    if how == "inner":
        common = indexes[0]
        for other in indexes[1:]:
            common = common[common.isin(other)]
        if len(common) == 0:
            a, b = modalities[0], modalities[1]
            raise DataError(
                f"No sample id is shared by all modalities; e.g. {a.source or a.name} has "
                f"{_examples(a.ids, 3)} and {b.source or b.name} has {_examples(b.ids, 3)}. "
                "Check the id column (id_column / --id-column)."
            )
        all_ids = common
    else:
        all_ids = indexes[0]
        for other in indexes[1:]:
            all_ids = all_ids.append(other[~other.isin(all_ids)])
    ids = np.asarray(all_ids, dtype=object)
    return ids, [ix.get_indexer(all_ids) for ix in indexes]


def _report(modalities: list[Modality], ds: PairedDataset, how: str, by: str) -> PairingReport:
    summaries: list[ModalitySummary] = []
    warnings: list[str] = []
    n_paired = int(ds.fully_paired.sum())
    paired_ids = pd.Index(ds.ids[ds.fully_paired])
    for m in modalities:
        unmatched = m.ids[~pd.Index(m.ids).isin(paired_ids)] if by == "id" else m.ids[:0]
        summaries.append(
            ModalitySummary(
                name=m.name,
                source=m.source,
                n_samples=m.n_samples,
                n_features=m.n_features,
                id_column=m.id_column,
                unmatched=len(unmatched),
                unmatched_examples=_examples(unmatched),
                dropped=dict(m.dropped),
                notes=list(m.notes),
            )
        )
        if n_paired < m.n_features and m.media is not None:
            warnings.append(
                f"Modality {m.name!r} is {m.n_features} {m.media.kind} values per sample for {n_paired} "
                "paired samples: linear CCA (cca) on it will overfit; the deep families read it with "
                f"{'a convolutional' if m.media.kind != 'text' else 'an MLP'} encoder."
            )
        elif n_paired < m.n_features:
            warnings.append(
                f"Modality {m.name!r} has {m.n_features} features but only {n_paired} paired samples: "
                "linear CCA will overfit. Raise the regularisation (cca_reg), use a smaller latent "
                "size, or reduce the features (pca_dim)."
            )
        constant = [k for k, v in m.dropped.items() if v.startswith("constant")]
        if constant:
            warnings.append(
                f"Modality {m.name!r}: dropped {len(constant)} constant feature(s): {constant[:10]}."
            )
        text = [k for k, v in m.dropped.items() if v.startswith("not numeric")]
        if text:
            warnings.append(f"Modality {m.name!r}: dropped {len(text)} non-numeric column(s): {text[:10]}.")
    if how == "outer" and n_paired < ds.n_samples:
        warnings.append(
            f"{ds.n_samples - n_paired} sample(s) lack at least one modality; only models that handle "
            "missing modalities (mvae, ae) use them, the others train on the fully paired samples."
        )
    if by == "id" and how == "inner":
        lost = sum(s.unmatched for s in summaries)
        if lost:
            warnings.append(
                f"{lost} sample(s) have no partner in every modality and were left out (inner join)."
            )
    return PairingReport(
        how=how, by=by, modalities=summaries, n_samples=ds.n_samples, n_paired=n_paired, warnings=warnings
    )


def load_paired(
    files: Mapping[str, str | os.PathLike[str]],
    *,
    id_column: str | None = None,
    how: Literal["inner", "outer"] = "inner",
    nan: NanPolicy = "error",
    labels: str | os.PathLike[str] | None = None,
    label_column: str | None = None,
    max_bytes: int | None = None,
    layers: Mapping[str, str] | None = None,
    media: Mapping[str, MediaSpec] | None = None,
) -> tuple[PairedDataset, PairingReport]:
    """Load and pair files in one call (used by the CLI and the dashboard).

    files: modality name -> path. An .h5mu path contributes every modality in it (named
        ``<name>_<modality>`` when it holds several).
    layers: for .h5ad / .h5mu files, modality -> the layer to read instead of ``X`` (keyed by the
        name given in ``files``, a MuData key, or ``<name>_<key>``). AnnData / MuData ``obs``
        columns become the dataset's metadata; without a ``labels`` table, ``label_column`` picks
        one of them as the labels.
    Pairs by sample id when every modality has an id column, else by row order (a warning says so
    when only some have ids). labels: an optional table keyed by sample id (csv/tsv/parquet) whose
    ``label_column`` (default: its only non-id column) becomes ``ds.labels``; its other columns are
    kept as metadata for colouring plots. A path may be raw media (a folder / ``.zip`` of images,
    .txt files or audio clips, or ``TABLE:COLUMN`` for text; see :func:`mmcorr.data.load_modality`);
    ``media``: modality name -> the MediaSpec of a fitted run, to featurise new files the same way.
    """
    if not isinstance(files, Mapping) or not files:
        raise MmcorrError(f"The 'files' parameter must map modality names to paths. Got {files!r}.")
    mods: list[Modality] = []
    for name, path in files.items():
        spec = (media or {}).get(name)
        found = load_file(
            path, name, id_column=id_column, nan=nan, max_bytes=max_bytes, layers=layers, media=spec
        )
        if len(found) == 1:
            found[0].name = name
        mods.extend(found)
    _check_layer_names(layers or {}, mods)
    check_shared_obs([m for m in mods if m.key is not None])
    with_ids = [m.id_column is not None for m in mods]
    by: Literal["id", "order"] = "id" if all(with_ids) else "order"
    ds, report = pair_modalities(mods, how=how, by=by)
    if any(with_ids) and not all(with_ids):
        without = [m.source for m, w in zip(mods, with_ids, strict=True) if not w]
        report.warnings.append(f"Paired by row order because {without} have no sample-id column.")
    meta, warns = obs_metadata(mods, ds.ids)
    report.warnings.extend(warns)
    if labels is not None:
        ds, facts, warns = attach_labels(ds, Path(labels), label_column, max_bytes=max_bytes)
        report.labels = facts
        report.warnings.extend(warns)
    elif meta is not None:
        if label_column is not None and label_column not in meta.columns:
            raise DataError(
                f"The 'label_column' must be one of the obs columns {list(meta.columns)[:20]}. "
                f"Got {label_column!r}."
            )
        ds.metadata, ds.label_column = meta, label_column
    keys = {m.name: m.key for m in mods if m.key is not None}
    if keys:
        ds.info[SCVERSE_KEYS] = keys
    return ds, report


def _check_layer_names(layers: Mapping[str, str], mods: list[Modality]) -> None:
    """Every modality named in ``layers`` is one of the loaded AnnData / MuData modalities."""
    known = {m.name for m in mods if m.obs is not None} | {m.key for m in mods if m.key is not None}
    unknown = sorted(set(layers) - known)
    if unknown:
        raise DataError(
            f"--layer / layers names modality {unknown}, which no .h5ad / .h5mu file given holds. "
            f"Allowed: {sorted(known)}."
        )
