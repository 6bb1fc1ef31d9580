"""Deterministic train / validation / test splits, optionally stratified by labels."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd

from mmcorr._validation import DataError, MmcorrError, check_float, check_int

from ._chunks import is_sparse
from .types import MediaSpec, PairedDataset

if TYPE_CHECKING:
    from mmcorr.config import DataConfig

__all__ = [
    "Split",
    "DatasetSplit",
    "check_same_features",
    "split_indices",
    "split_dataset",
    "stack_given_splits",
]


@dataclass(frozen=True)
class Split:
    """Disjoint sorted int64 row indices covering all n samples: ``train``, ``val``, ``test``."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray

    def to_dict(self) -> dict[str, list[int]]:
        return {"train": self.train.tolist(), "val": self.val.tolist(), "test": self.test.tolist()}


@dataclass(frozen=True)
class DatasetSplit:
    """A dataset cut by a Split: the indices and the three sub-datasets."""

    split: Split
    train: PairedDataset
    val: PairedDataset
    test: PairedDataset


def split_indices(
    n_or_labels: int | np.ndarray,
    *,
    val_fraction: float = 0.15,
    test_fraction: float = 0.15,
    seed: int = 0,
    stratify: np.ndarray | None = None,
) -> Split:
    """Split n samples (or ``len(labels)`` samples, stratified by those labels) from a seed.

    val_fraction / test_fraction: shares of samples in [0, 0.5] each (0.1-0.2 is typical).
    stratify: labels of shape (n,); each class is split in the same proportions (a class of one
        sample goes to train). Giving labels as ``n_or_labels`` is the same as ``stratify``.
    The same arguments always give the same split.
    """
    if isinstance(n_or_labels, (int, np.integer)) and not isinstance(n_or_labels, bool):
        n = check_int("n_samples", int(n_or_labels), 3)
    else:
        labels = np.asarray(n_or_labels)
        if labels.ndim != 1:
            raise MmcorrError(f"The labels for splitting must be 1-D; got shape {labels.shape}.")
        n = check_int("n_samples", len(labels), 3)
        if stratify is None:
            stratify = labels
    check_float("val_fraction", val_fraction, 0.0, 0.5)
    check_float("test_fraction", test_fraction, 0.0, 0.5)
    check_int("seed", seed, 0, 2**32 - 1)
    rng = np.random.default_rng(seed)
    key = rng.random(n)
    if stratify is None:
        group = np.zeros(n, dtype=np.int64)
    else:
        strat = np.asarray(stratify)
        if strat.shape != (n,):
            raise MmcorrError(f"The 'stratify' labels must have shape ({n},); got {strat.shape}.")
        if strat.dtype.kind == "f" and np.isnan(strat).any():
            raise DataError(
                "The 'stratify' labels contain missing values; label every sample or do not stratify."
            )
        _, group = np.unique(strat.astype(str) if strat.dtype.kind == "O" else strat, return_inverse=True)
    # Rank samples randomly within their class; the rank's position (r + 0.5) / class size decides
    # the part, so every class is split in the given proportions without a loop over classes.
    order = np.lexsort((key, group))
    g_sorted = group[order]
    starts = np.flatnonzero(np.r_[True, g_sorted[1:] != g_sorted[:-1]])
    sizes = np.diff(np.r_[starts, n])
    rank = np.arange(n) - np.repeat(starts, sizes)
    frac = (rank + 0.5) / np.repeat(sizes, sizes)
    part = np.full(n, 0, dtype=np.int64)
    part[order[frac < test_fraction + val_fraction]] = 1
    part[order[frac < test_fraction]] = 2
    # The last-ranked sample of every class trains, so no class (and no split) lacks training data.
    part[order[rank == np.repeat(sizes, sizes) - 1]] = 0
    train, val, test = (np.flatnonzero(part == p) for p in (0, 1, 2))
    return Split(train=train, val=val, test=test)


def split_dataset(ds: PairedDataset, config: DataConfig) -> DatasetSplit:
    """Split ``ds`` as ``config`` says (stratified by ``ds.labels`` when ``config.stratify``)."""
    labels = ds.labels if config.stratify else None
    if config.stratify and labels is None:
        raise DataError("The 'stratify' option needs a dataset with a label column; this one has none.")
    split = split_indices(
        ds.n_samples,
        val_fraction=config.val_fraction,
        test_fraction=config.test_fraction,
        seed=config.split_seed,
        stratify=labels,
    )
    return DatasetSplit(
        split=split, train=ds.subset(split.train), val=ds.subset(split.val), test=ds.subset(split.test)
    )


def check_same_features(
    train: Mapping[str, Sequence[str]],
    other: Mapping[str, Sequence[str]],
    flag: str,
    *,
    media: Mapping[str, MediaSpec] | None = None,
    other_media: Mapping[str, MediaSpec] | None = None,
) -> None:
    """``other`` (modality -> feature names) has the training modalities and, in each, the training
    features in the same order. A raw modality (``media``) must instead have been featurised the same
    way (its feature names, e.g. hashed terms, are named after each file's own words)."""
    media, other_media = media or {}, other_media or {}
    if list(other) != list(train):
        raise DataError(
            f"The {flag} data must have the training modalities {list(train)} (one {flag} per "
            f"modality). Got {list(other)}."
        )
    for n in train:
        if n in media or n in other_media:
            if media.get(n) != other_media.get(n):
                found = other_media.get(n)
                raise DataError(
                    f"The {flag} modality {n!r} must be {_describe(media.get(n))} like the training "
                    f"data. Got {_describe(found)}."
                )
            continue
        if list(other[n]) != list(train[n]):
            missing = [f for f in train[n] if f not in set(other[n])]
            extra = [f for f in other[n] if f not in set(train[n])]
            raise DataError(
                f"The {flag} modality {n!r} must have the training features in the same order "
                f"({len(train[n])} of them); missing {missing[:5]}, not in training {extra[:5]}."
            )


def _describe(spec: MediaSpec | None) -> str:
    if spec is None:
        return "a numeric table"
    return f"{spec.kind} featurised as {'x'.join(map(str, spec.shape))} ({spec.params})"


def _check_like(train: PairedDataset, other: PairedDataset, flag: str) -> None:
    """``other`` has the training data's modalities, in order, with the same features."""
    check_same_features(
        {n: train.features[n] for n in train.names},
        {n: other.features[n] for n in other.names},
        flag,
        media=train.media,
        other_media=other.media,
    )


def _stack_rows(blocks: list[Any]) -> np.ndarray:
    """The rows of ``blocks`` one after another: a float32 CSR matrix when any block is sparse (an
    .h5ad / .h5mu modality stays sparse; a dense block is converted, not the other way round)."""
    if not any(is_sparse(b) for b in blocks):
        return np.concatenate(blocks)
    import scipy.sparse as sp

    stacked = sp.vstack([sp.csr_matrix(b, dtype=np.float32) for b in blocks], format="csr")
    stacked.sort_indices()
    return cast(np.ndarray, stacked)  # CSR where the type says ndarray, as in sparse_modality


def stack_given_splits(
    train: PairedDataset,
    val: PairedDataset | None,
    test: PairedDataset | None,
    config: DataConfig,
    *,
    flags: tuple[str, str] = ("--val-modality", "--test-modality"),
) -> tuple[PairedDataset, Split]:
    """One dataset of ``train`` then ``val`` then ``test`` rows, and the Split naming them.

    A set the user gives replaces its fraction: the training data is split only into the parts not
    given (``config.val_fraction`` / ``config.test_fraction`` of it, seeded by ``split_seed``).
    val / test must have the training modalities with the same features; no sample id may appear
    in two sets. flags: how the messages name the validation and test data.
    """
    for part, flag in ((val, flags[0]), (test, flags[1])):
        if part is not None:
            _check_like(train, part, flag)
    parts = [p for p in (train, val, test) if p is not None]
    seen = pd.Index(train.ids)
    for part, flag in ((val, flags[0]), (test, flags[1])):
        if part is None:
            continue
        shared = part.ids[pd.Index(part.ids).isin(seen)]
        if len(shared):
            raise DataError(
                f"The {flag} data must hold samples not used elsewhere; {len(shared)} sample id(s) "
                f"are also in the training (or validation) data, e.g. {[str(v) for v in shared[:3]]}."
            )
        seen = seen.append(pd.Index(part.ids))
    inner = split_indices(
        train.n_samples,
        val_fraction=0.0 if val is not None else config.val_fraction,
        test_fraction=0.0 if test is not None else config.test_fraction,
        seed=config.split_seed,
        stratify=train.labels if config.stratify else None,
    )
    n_tr = train.n_samples
    n_va = 0 if val is None else val.n_samples
    n_te = 0 if test is None else test.n_samples
    given_val = np.arange(n_tr, n_tr + n_va)
    given_test = np.arange(n_tr + n_va, n_tr + n_va + n_te)
    split = Split(
        train=inner.train,
        val=given_val if val is not None else inner.val,
        test=given_test if test is not None else inner.test,
    )
    meta = [p.metadata for p in parts]
    stacked = PairedDataset(
        names=list(train.names),
        values={n: _stack_rows([p.values[n] for p in parts]) for n in train.names},
        features={n: list(f) for n, f in train.features.items()},
        ids=np.concatenate([p.ids for p in parts]).astype(object),
        mask=np.concatenate([p.mask for p in parts]),
        metadata=None if any(m is None for m in meta) else pd.concat(meta),
        label_column=train.label_column if all(m is not None for m in meta) else None,
        info=dict(train.info),
    )
    return stacked, split
