"""Training data kept raw: rows of the caller's PairedDataset, preprocessed one batch at a time.

Materialising the preprocessed training and validation sets cost one float32 copy of the data next
to the caller's own (and n x d dense for a sparse CSR modality, which standardisation makes dense):
the largest part of a fit's peak beyond the model (bench/RESULTS.md, "Memory, per-batch
preprocessing"). Here a batch is one fancy-index of the raw rows per modality and one pass of the
fitted steps (:meth:`~mmcorr.data.preprocess.Preprocessor.transform_values`: log1p / TF-IDF,
standardisation, PCA projection) on that (batch, d) block, then a tensor on the device. The
numbers are those of the whole-set path (float64 steps, float32 result), so seeded fits are
unchanged up to the rounding of the PCA product's blocking.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import torch

from mmcorr.data._chunks import chunk_rows
from mmcorr.data.preprocess import Preprocessor
from mmcorr.data.types import PairedDataset
from mmcorr.training import TensorData

__all__ = ["PreprocessedColumn", "RowBatches"]


class PreprocessedColumn:
    """One modality of some rows of a raw dataset, read as its preprocessed float32 (n, d_out) values.

    Indexing (a slice, integer or boolean row positions) preprocesses just those rows; rows where the
    modality is absent read as zeros and are never read from the raw data (which may hold anything
    there). Array-like enough for the row-chunked readers (``shape``, ``ndim``, ``dtype``, ``[]``).
    """

    ndim = 2
    dtype = np.dtype(np.float32)

    def __init__(
        self,
        pre: Preprocessor,
        name: str,
        raw: Any,
        features: list[str],
        rows: np.ndarray,
        present: np.ndarray,
    ) -> None:
        self._pre, self._name, self._raw, self._features = pre, name, raw, features
        self._rows, self._present = rows, present
        self._all_present = bool(present.all())
        self.shape = (len(rows), pre.out_dims[name])

    def __len__(self) -> int:
        return self.shape[0]

    @property
    def sparse(self) -> bool:
        """Whether the raw values are a scipy.sparse matrix (densified only a batch at a time)."""
        return hasattr(self._raw, "tocsr")

    def __getitem__(self, key: Any) -> np.ndarray:
        if isinstance(key, slice):
            pos: np.ndarray = np.arange(*key.indices(self.shape[0]))
        else:
            pos = np.asarray(key)
            pos = np.flatnonzero(pos) if pos.dtype == bool else pos.astype(np.int64, copy=False)
        if pos.ndim != 1:
            raise TypeError(f"Rows are indexed by a slice or a 1-d index array. Got shape {pos.shape}.")
        if self._all_present:
            return self._read(self._rows[pos])
        here = self._present[pos]
        out = np.zeros((len(pos), self.shape[1]), dtype=np.float32)
        if here.any():
            out[here] = self._read(self._rows[pos[here]])
        return out

    def _read(self, src: np.ndarray) -> np.ndarray:
        return self._pre.transform_values(self._name, self._raw, src, self._features)

    def to_float64(self) -> np.ndarray:
        """Every row as one float64 (n, d_out) array, built in row chunks (the closed-form fit's
        input: no float32 copy beside it)."""
        out = np.empty(self.shape)
        step = chunk_rows(self.shape[1])
        for start in range(0, self.shape[0], step):
            out[start : start + step] = self[start : start + step]
        return out


class RowBatches:
    """The trainer's data (:class:`~mmcorr.training.Batches`): ``rows`` of a raw PairedDataset
    (default: all), preprocessed with ``pre`` per batch and put on ``device``.

    ``n``: the row count; ``mask``: (n, M) bool tensor on the device; ``present``: the same as a
    numpy array; ``values``: name -> :class:`PreprocessedColumn`; :meth:`batch` -> TensorData.
    Holds the caller's arrays (never copied), the row indices and the mask: 9 + M bytes a row.
    """

    def __init__(
        self, ds: PairedDataset, pre: Preprocessor, device: torch.device, rows: np.ndarray | None = None
    ) -> None:
        idx = np.arange(ds.n_samples) if rows is None else np.asarray(rows)
        idx = np.flatnonzero(idx) if idx.dtype == bool else idx.astype(np.int64, copy=False)
        self.names = list(ds.names)
        self.present = np.ascontiguousarray(ds.mask[idx], dtype=bool)
        self.mask = torch.as_tensor(self.present, device=device)
        self.device = device
        self.values = {
            n: PreprocessedColumn(pre, n, ds.values[n], list(ds.features[n]), idx, self.present[:, j])
            for j, n in enumerate(self.names)
        }

    @property
    def n(self) -> int:
        return int(self.present.shape[0])

    @property
    def fully_paired(self) -> np.ndarray:
        """(n,) bool: rows present in every modality."""
        return np.asarray(self.present.all(axis=1))

    def batches(self, order: Sequence[torch.Tensor]) -> Iterator[TensorData]:
        """:meth:`batch` of each index tensor of ``order``, the next one prepared in a worker thread
        while the caller trains on the current one (numpy's gathers and arithmetic release the GIL):
        the same batches, the preprocessing (~13 ms per 256 x 2 x 10,000 batch here) overlapped
        with the model's step where cores are free, e.g. while a GPU computes (on 2 CPU cores that
        torch already uses it gains nothing: bench/RESULTS.md). At most two batches are alive."""
        if len(order) < 2:
            yield from (self.batch(idx) for idx in order)
            return
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="mmcorr-batches") as pool:
            ahead = pool.submit(self.batch, order[0])
            for idx in order[1:]:
                current = ahead.result()
                ahead = pool.submit(self.batch, idx)
                yield current
            yield ahead.result()

    def batch(self, idx: torch.Tensor) -> TensorData:
        """Rows ``idx`` (int64 tensor of positions) as float32 tensors on the device: per modality
        one gather of the raw rows and one pass of the fitted preprocessing."""
        pos = idx.cpu().numpy()
        xs = {n: torch.from_numpy(col[pos]).to(self.device) for n, col in self.values.items()}
        return TensorData(xs, self.mask[idx.to(self.mask.device)])
