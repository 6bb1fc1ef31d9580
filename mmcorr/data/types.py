"""The two data containers every other part of mmcorr speaks: a Modality and a PairedDataset."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

__all__ = ["JOINT", "MEDIA_KINDS", "SCVERSE_KEYS", "MediaKind", "MediaSpec", "Modality", "PairedDataset"]

#: Name of the fused latent (from whichever modalities a sample has) next to the per-modality ones:
#: the key of ``CorrelationModel.transform``'s result and the column prefix in a run's latents table.
JOINT = "joint"
#: ``PairedDataset.info`` key: mmcorr modality name -> its key in the MuData it came from.
SCVERSE_KEYS = "scverse_keys"

#: Raw modalities mmcorr reads from archives / folders / a text column (tables have no MediaSpec).
MediaKind = Literal["image", "text", "audio"]
MEDIA_KINDS: tuple[MediaKind, ...] = ("image", "text", "audio")


@dataclass(frozen=True)
class MediaSpec:
    """How a raw modality became numbers: enough to featurise new raw files the same way.

    kind: "image", "text" or "audio".
    shape: the per-sample tensor shape one row of ``values`` reshapes to: image (C, H, W) pixels in
        [0, 1]; audio (1, n_mels, frames) log-mel energies; text (d,) hashed term counts.
    params: the featuriser's settings (JSON-able: grid size, sample rate, n-gram ranges...), read
        back by :func:`mmcorr.data.media.load_media` so that new files get identical features.
    """

    kind: MediaKind
    shape: tuple[int, ...]
    params: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "shape": list(self.shape), "params": dict(self.params)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MediaSpec:
        kind = data.get("kind")
        if kind not in MEDIA_KINDS:
            raise ValueError(f"Unknown media kind {kind!r}; expected one of {list(MEDIA_KINDS)}.")
        return cls(kind=kind, shape=tuple(int(v) for v in data["shape"]), params=dict(data.get("params", {})))


@dataclass
class Modality:
    """One table of one modality, as loaded from one file.

    name: safe identifier of the modality (e.g. ``rna``).
    values: float32 array, shape (n, d); from AnnData / MuData objects a sparse matrix stays a
        float32 scipy.sparse CSR matrix (see :func:`mmcorr.data.scverse.sparse_modality`).
    ids: sample ids, shape (n,), dtype object (str).
    features: d feature names.
    source: the file it came from (used in messages); "" when built in memory.
    id_column: the column the sample ids came from, or None when they are row numbers ("0", "1", ...).
    dropped: feature / column name -> why it was dropped while loading (constant, non-numeric...).
    notes: facts about loading worth reporting (e.g. how many missing values were imputed).
    obs: per-sample annotations that came with the values (AnnData / MuData ``obs`` columns),
        indexed by ``ids``; offered as labels and metadata after pairing. None for plain tables.
    key: the modality's key in the file or object it came from (a MuData ``mod`` key), when that
        differs from ``name``; latents are written back under it.
    media: for a raw modality (images, text, audio), how its files became ``values``; None for a
        numeric table.
    previews: for a raw modality, object array (n,) of what a person looks at per sample: bytes of a
        small PNG (grey) or JPEG (colour) thumbnail (image), the text itself (str), bytes of the audio clip (audio).
    """

    name: str
    values: np.ndarray
    ids: np.ndarray
    features: list[str]
    source: str = ""
    id_column: str | None = None
    dropped: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    obs: pd.DataFrame | None = None
    key: str | None = None
    media: MediaSpec | None = None
    previews: np.ndarray | None = None

    @property
    def n_samples(self) -> int:
        return int(self.values.shape[0])

    @property
    def n_features(self) -> int:
        return int(self.values.shape[1])


@dataclass
class PairedDataset:
    """Several modalities aligned on one set of samples.

    names: modality names, in order (M of them).
    values: name -> float32 array of shape (n, d_name); row i is sample ``ids[i]``. Where a sample
        lacks a modality (``mask[i, j]`` False) its row is all zeros and must be ignored. A CSR
        matrix from AnnData / MuData (objects and .h5ad / .h5mu files) stays sparse until the
        estimator's preprocessing densifies it one batch at a time; the analyses densify only the
        rows they read (:func:`mmcorr.data.dense_rows`); the registry stores it as CSR.
    features: name -> the d_name feature names.
    ids: sample ids, shape (n,), dtype object (str), unique.
    mask: presence mask, shape (n, M) bool; all True for an inner join.
    metadata: optional per-sample table indexed by sample id (same order as ``ids``): labels and
        other columns for colouring plots.
    label_column: the metadata column used as class labels, or None.
    info: free JSON-able facts (e.g. ``true_correlations`` of the synthetic demo, its source).
    media: name -> MediaSpec for the raw modalities (images, text, audio); tables are absent.
    previews: name -> object array (n,) of per-sample previews of a raw modality (see
        :class:`Modality`); None where the sample lacks the modality.
    """

    names: list[str]
    values: dict[str, np.ndarray]
    features: dict[str, list[str]]
    ids: np.ndarray
    mask: np.ndarray
    metadata: pd.DataFrame | None = None
    label_column: str | None = None
    info: dict[str, Any] = field(default_factory=dict)
    media: dict[str, MediaSpec] = field(default_factory=dict)
    previews: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def n_samples(self) -> int:
        return int(self.ids.shape[0])

    @property
    def dims(self) -> dict[str, int]:
        return {n: int(self.values[n].shape[1]) for n in self.names}

    @property
    def labels(self) -> np.ndarray | None:
        """The label column as an array of shape (n,), or None."""
        if self.metadata is None or self.label_column is None:
            return None
        return self.metadata[self.label_column].to_numpy()

    @property
    def fully_paired(self) -> np.ndarray:
        """Boolean (n,): samples present in every modality."""
        return np.asarray(self.mask.all(axis=1))

    def subset(self, rows: np.ndarray, *, values: dict[str, np.ndarray] | None = None) -> PairedDataset:
        """The dataset restricted to ``rows`` (integer indices or a boolean mask), in that order.

        values: arrays already holding those rows (e.g. preprocessed ones) to use instead of
        copying ``self.values[n][rows]``.
        """
        rows = np.asarray(rows)
        meta = None if self.metadata is None else self.metadata.iloc[rows]
        return PairedDataset(
            names=list(self.names),
            values=dict(values) if values is not None else {n: self.values[n][rows] for n in self.names},
            features={n: list(f) for n, f in self.features.items()},
            ids=self.ids[rows],
            mask=self.mask[rows],
            metadata=meta,
            label_column=self.label_column,
            info=dict(self.info),
            media=dict(self.media),
            previews={n: p[rows] for n, p in self.previews.items()},
        )

    def select(self, names: list[str]) -> PairedDataset:
        """The dataset with only the modalities ``names`` (in that order)."""
        cols = [self.names.index(n) for n in names]
        return PairedDataset(
            names=list(names),
            values={n: self.values[n] for n in names},
            features={n: list(self.features[n]) for n in names},
            ids=self.ids,
            mask=self.mask[:, cols],
            metadata=self.metadata,
            label_column=self.label_column,
            info=dict(self.info),
            media={n: self.media[n] for n in names if n in self.media},
            previews={n: self.previews[n] for n in names if n in self.previews},
        )
