"""Typed access to a run's array and table artifacts: the similarity matrix and the feature map.

The latents and UMAP tables stay pandas frames (their columns depend on the dataset's modalities
and metadata); these two have a fixed layout, so they get a type with the lookups the readers need.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mmcorr._validation import MmcorrError
from mmcorr.analysis.feature_map import FeatureMapColumn
from mmcorr.runs.files import PAIR_COLUMN, SimilarityKey
from mmcorr.runs.schema import Pair

__all__ = ["SimilarityData", "FeatureMapTable"]


@dataclass(frozen=True, eq=False)
class SimilarityData:
    """similarity.npz of the first modality pair's test samples.

    ids_a (na,), ids_b (nb,): test sample ids of rows and columns. matrix: (na, nb) cosine
    similarities when the test split is small enough, else None and indices / scores (na, k) hold
    each row's top-k neighbours.
    """

    pair: Pair
    ids_a: np.ndarray
    ids_b: np.ndarray
    matrix: np.ndarray | None = None
    indices: np.ndarray | None = None
    scores: np.ndarray | None = None

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray], where: str) -> SimilarityData:
        missing = [
            k.value for k in (SimilarityKey.PAIR, SimilarityKey.IDS_A, SimilarityKey.IDS_B) if k not in arrays
        ]
        if missing:
            raise MmcorrError(f"The run file {where} is malformed: it lacks the array(s) {missing}.")
        names = [str(x) for x in arrays[SimilarityKey.PAIR.value]]
        if len(names) != 2:
            raise MmcorrError(
                f"The run file {where} is malformed: 'pair' must name two modalities. Got {names}."
            )
        if SimilarityKey.MATRIX.value not in arrays and SimilarityKey.INDICES.value not in arrays:
            raise MmcorrError(
                f"The run file {where} is malformed: it has neither 'similarity' nor 'indices'."
            )
        return cls(
            pair=Pair(names[0], names[1]),
            ids_a=arrays[SimilarityKey.IDS_A.value],
            ids_b=arrays[SimilarityKey.IDS_B.value],
            matrix=arrays.get(SimilarityKey.MATRIX.value),
            indices=arrays.get(SimilarityKey.INDICES.value),
            scores=arrays.get(SimilarityKey.SCORES.value),
        )

    def to_arrays(self) -> dict[SimilarityKey, np.ndarray]:
        out = {
            SimilarityKey.PAIR: np.array(list(self.pair)),
            SimilarityKey.IDS_A: np.asarray(self.ids_a),
            SimilarityKey.IDS_B: np.asarray(self.ids_b),
        }
        for key, value in (
            (SimilarityKey.MATRIX, self.matrix),
            (SimilarityKey.INDICES, self.indices),
            (SimilarityKey.SCORES, self.scores),
        ):
            if value is not None:
                out[key] = np.asarray(value)
        return out


@dataclass(frozen=True, eq=False)
class FeatureMapTable:
    """feature_correlation.parquet: one row per (modality pair, feature_a, feature_b).

    Columns: pair (its ``"a|b"`` key) and :class:`~mmcorr.analysis.FeatureMapColumn` (feature_a,
    feature_b, latent_corr, pearson, p_value, q_value, significant).
    """

    frame: pd.DataFrame

    def __len__(self) -> int:
        return len(self.frame)

    @property
    def pairs(self) -> list[Pair]:
        """The modality pairs with a feature map, sorted by key."""
        if not len(self.frame):
            return []
        return [Pair.parse(str(k)) for k in sorted(self.frame[PAIR_COLUMN].astype(str).unique())]

    def for_pair(self, pair: Pair) -> pd.DataFrame:
        """The rows of one pair (columns as in the file)."""
        return self.frame[self.frame[PAIR_COLUMN] == pair.key]

    def strongest(
        self,
        pair: Pair,
        value: str = FeatureMapColumn.LATENT_CORR,
        n: int = 50,
        significant_only: bool = False,
    ) -> pd.DataFrame:
        """The ``n`` rows of ``pair`` with the largest absolute ``value`` (latent_corr or pearson)."""
        part = self.for_pair(pair)
        if significant_only:
            part = part[part[FeatureMapColumn.SIGNIFICANT].astype(bool)]
        return part.reindex(part[value].abs().sort_values(ascending=False).index).head(n)
