"""The held-out matches of a run: each held-out sample's top cross-modal neighbours, from the bundle.

similarity.npz holds only the first modality pair; latents.parquet holds every modality's latent
of every sample, so the neighbours in any direction are one matrix product away: they are computed
on demand (a query against a few thousand held-out samples takes well under a millisecond) instead
of being stored for every direction. Same latents, same cosine as the run's retrieval metrics.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from mmcorr._validation import MmcorrError
from mmcorr.analysis.neighbours import Neighbours, cross_modal_neighbours
from mmcorr.runs.bundle import latents_from_frame
from mmcorr.runs.files import ID_COLUMN, SPLIT_COLUMN
from mmcorr.runs.schema import Direction, directions_of

__all__ = ["HeldOutLatents", "Neighbours", "NEIGHBOURS_K", "gallery_queries"]

#: Neighbours shown per query and direction (the dashboard's inspector, the report's gallery).
NEIGHBOURS_K = 5


@dataclass(frozen=True, eq=False)
class HeldOutLatents:
    """The held-out samples' per-modality latents, aligned (row i is sample ``ids[i]`` everywhere).

    ids: (n,) str. latents: modality -> (n, k) float32, NaN rows where a sample lacks the modality.
    split: the split they come from ("test", or "val" for a run without a test set).
    """

    ids: np.ndarray
    latents: dict[str, np.ndarray]
    split: str

    @classmethod
    def from_frame(
        cls, frame: pd.DataFrame, modalities: tuple[str, ...] | list[str], split: str
    ) -> HeldOutLatents:
        """The rows of the latents table (latents.parquet) in split ``split``."""
        part = frame[frame[SPLIT_COLUMN].astype(str) == split] if SPLIT_COLUMN in frame.columns else frame
        return cls(
            ids=part[ID_COLUMN].astype(str).to_numpy(),
            latents={m: latents_from_frame(part, m) for m in modalities},
            split=split,
        )

    @property
    def names(self) -> list[str]:
        return list(self.latents)

    @property
    def directions(self) -> list[Direction]:
        """Every ordered pair of modalities (image->text, text->image, ...)."""
        return directions_of(self.names)

    def present(self, modality: str) -> np.ndarray:
        """Boolean (n,): the samples with a latent in ``modality``."""
        return np.asarray(np.isfinite(self.latents[modality]).all(axis=1))

    def rows_of(self, sample_ids: list[str] | np.ndarray) -> np.ndarray:
        """Row of each sample id (MmcorrError naming the ids that are not held out)."""
        wanted = np.asarray(sample_ids).astype(str)
        rows = np.asarray(pd.Index(self.ids).get_indexer(wanted), dtype=np.int64)
        if (rows < 0).any():
            missing = wanted[rows < 0][:5].tolist()
            raise MmcorrError(
                f"Sample(s) {missing} are not among the run's {self.ids.size} held-out ({self.split}) samples."
            )
        return rows

    def neighbours(
        self, direction: Direction, sample_ids: list[str] | np.ndarray | None = None, k: int = NEIGHBOURS_K
    ) -> Neighbours:
        """The k held-out ``direction.target`` samples nearest each query's ``direction.source``
        latent (default queries: every held-out sample); the true match marked."""
        source, target = direction
        for name in (source, target):
            if name not in self.latents:
                raise MmcorrError(f"The modality {name!r} is not one of the run's modalities: {self.names}.")
        rows = None if sample_ids is None else self.rows_of(sample_ids)
        return cross_modal_neighbours(self.latents[source], self.latents[target], self.ids, rows, k=k)


def gallery_queries(ids: np.ndarray, n: int) -> np.ndarray:
    """``n`` sample ids evenly spaced through ``ids`` (deterministic; all of them when fewer)."""
    ids = np.asarray(ids).astype(str)
    if ids.size <= n:
        return ids
    return ids[np.linspace(0, ids.size - 1, n).round().astype(np.int64)]
