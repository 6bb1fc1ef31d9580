"""Datasets saved on disk under the data home, listed and loaded by id.

Layout of ``<root>/<id>/`` (written in a temporary folder, then renamed, so a dataset appears
whole or not at all and survives restarts):

* ``dataset.json``: format, id, name, creation time (UTC ISO), content fingerprint, sample count,
  modality names and shapes, label column, info, the pairing report.
* ``ids.parquet``: column ``__id__`` (sample ids in dataset order) and one boolean presence column
  per modality (the mask).
* ``<modality>.parquet``: column ``__id__`` plus one float32 column per feature, present rows only;
  a sparse modality (CSR, from AnnData / MuData) is ``<modality>.npz`` instead (its present rows as
  CSR arrays, :mod:`mmcorr.data._sparse_store`; feature names in ``dataset.json``), and raw media
  (images, text, audio) ``<modality>.npy``.
* ``metadata.parquet`` (optional): ``__id__`` plus the per-sample metadata columns.

The id is ``<slug of name>-<first 8 hex of the sha256 fingerprint of values, ids, features, mask
and metadata>``: saving the same content under the same name returns the same id, writing nothing.
"""

from __future__ import annotations

import builtins
import contextlib
import datetime as dt
import json
import os
import re
import shutil
import uuid
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mmcorr._io import atomic_dir
from mmcorr._validation import DataError, MmcorrError, check_choice

from ._chunks import is_sparse
from ._dataset_info import DatasetInfo, fingerprint, info_from_meta, slug
from ._previews import has_previews, read_preview, read_previews, write_previews
from ._sparse_store import expand_rows, load_csr, save_csr
from .report import PairingReport
from .types import MediaSpec, PairedDataset

__all__ = ["DatasetFile", "DatasetInfo", "DatasetRegistry", "ID_COLUMN", "DATASET_ID_RE"]

ID_COLUMN = "__id__"
DATASET_ID_RE = re.compile(r"^[a-z0-9][a-z0-9\-]{0,63}$")
_FORMAT = 1


class DatasetFile(StrEnum):
    """File names inside a dataset folder (besides ``<modality>.parquet``)."""

    META = "dataset.json"
    IDS = "ids.parquet"
    METADATA = "metadata.parquet"


class DatasetRegistry:
    """Registered datasets under ``root`` (default: ``mmcorr.paths.datasets_dir()``).

    The constructor does no I/O; every method reads the disk afresh, so several processes (pages,
    the worker, the CLI) see the same datasets.
    """

    def __init__(self, root: str | os.PathLike[str] | None = None) -> None:
        self._root = None if root is None else Path(root)

    @property
    def root(self) -> Path:
        if self._root is None:
            from mmcorr.paths import datasets_dir

            return datasets_dir()
        self._root.mkdir(parents=True, exist_ok=True)
        return self._root

    def _dir(self, dataset_id: str) -> Path:
        if not isinstance(dataset_id, str) or not DATASET_ID_RE.match(dataset_id):
            raise DataError(f"{dataset_id!r} is not a dataset id (lower-case letters, digits and '-').")
        path = self.root / dataset_id
        if not (path / DatasetFile.META.value).is_file():
            known = [d.id for d in self.list()[:10]]
            raise DataError(f"No registered dataset has id {dataset_id!r}. Registered: {known or 'none'}.")
        return path

    # ---- writing ----------------------------------------------------------------------------

    def save(self, ds: PairedDataset, name: str, report: PairingReport | dict[str, Any] | None = None) -> str:
        """Register ``ds`` under the display name ``name`` and return its id (see module docstring)."""
        if not isinstance(name, str) or not name.strip() or len(name) > 200:
            raise MmcorrError(f"The dataset name must be 1-200 characters. Got {name!r} instead.")
        for mod in ds.names:
            if ID_COLUMN in ds.features[mod]:
                raise DataError(f"Modality {mod!r} has a feature named {ID_COLUMN!r}, which is reserved.")
        report_dict = report.to_dict() if isinstance(report, PairingReport) else report
        fp = fingerprint(ds)
        dataset_id = f"{slug(name)}-{fp[:8]}"
        target = self.root / dataset_id
        if (target / DatasetFile.META.value).is_file():
            return dataset_id  # same content, same name: already saved
        meta = {
            "format": _FORMAT,
            "id": dataset_id,
            "name": name.strip(),
            "created": dt.datetime.now(dt.UTC).isoformat(),
            "fingerprint": fp,
            "n_samples": ds.n_samples,
            "n_paired": int(ds.fully_paired.sum()),
            "names": list(ds.names),
            "modalities": ds.dims,
            "shapes": {n: [int(ds.mask[:, j].sum()), ds.dims[n]] for j, n in enumerate(ds.names)},
            "label_column": ds.label_column,
            "info": ds.info,
            "report": report_dict,
            "media": {n: spec.to_json() for n, spec in ds.media.items()},
            "media_features": {n: list(ds.features[n]) for n in ds.media},
            "sparse_features": {n: list(ds.features[n]) for n in ds.names if is_sparse(ds.values[n])},
        }
        try:
            text = json.dumps(meta, indent=2, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise DataError(f"The dataset info is not plain JSON ({exc}).") from None
        try:
            with atomic_dir(target) as tmp:
                self._write(ds, tmp)
                (tmp / DatasetFile.META.value).write_text(text, encoding="utf-8")
        except OSError:
            # Another process saved the same content first: that copy is complete (it was renamed).
            if (target / DatasetFile.META.value).is_file():
                return dataset_id
            raise
        return dataset_id

    @staticmethod
    def _write(ds: PairedDataset, tmp: Path) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        ids = pa.array(np.asarray(ds.ids, dtype=str))
        cols = {ID_COLUMN: ids, **{n: pa.array(ds.mask[:, j]) for j, n in enumerate(ds.names)}}
        pq.write_table(pa.table(cols), tmp / DatasetFile.IDS.value)
        for j, name in enumerate(ds.names):
            present = ds.mask[:, j]
            if is_sparse(ds.values[name]):  # CSR arrays of the present rows, features in meta
                save_csr(tmp / f"{name}.npz", ds.values[name][np.flatnonzero(present)])
                continue
            vals = np.asarray(ds.values[name][present], dtype=np.float32)
            if name in ds.media:  # raw modalities are wide grids: one array file, features in meta
                np.save(tmp / f"{name}.npy", vals, allow_pickle=False)
                if name in ds.previews:
                    write_previews(tmp / name, ds.previews[name][present])
                continue
            arrays = [ids.filter(pa.array(present)), *(pa.array(vals[:, k]) for k in range(vals.shape[1]))]
            pq.write_table(pa.table(arrays, names=[ID_COLUMN, *ds.features[name]]), tmp / f"{name}.parquet")
        if ds.metadata is not None:
            meta = ds.metadata.reset_index(drop=True)
            meta.insert(0, ID_COLUMN, np.asarray(ds.ids, dtype=str))
            meta.columns = [str(c) for c in meta.columns]
            pq.write_table(pa.Table.from_pandas(meta, preserve_index=False), tmp / DatasetFile.METADATA.value)

    def delete(self, dataset_id: str) -> None:
        """Remove a dataset: renamed away first, so readers never see half of it."""
        path = self._dir(dataset_id)
        trash = path.with_name(f".{dataset_id}.deleted-{uuid.uuid4().hex[:8]}")
        os.rename(path, trash)
        shutil.rmtree(trash, ignore_errors=True)

    # ---- reading ----------------------------------------------------------------------------

    def info(self, dataset_id: str) -> DatasetInfo:
        return info_from_meta(
            json.loads((self._dir(dataset_id) / DatasetFile.META.value).read_text(encoding="utf-8"))
        )

    def list(self) -> list[DatasetInfo]:
        """Every registered dataset, newest first (unreadable folders are skipped)."""
        out: list[DatasetInfo] = []
        root = self.root
        for meta in root.glob(f"*/{DatasetFile.META.value}"):
            if meta.parent.name.startswith("."):
                continue
            with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
                out.append(info_from_meta(json.loads(meta.read_text(encoding="utf-8"))))
        return sorted(out, key=lambda d: (d.created, d.id), reverse=True)

    def load(self, dataset_id: str) -> PairedDataset:
        """The dataset with id ``dataset_id``; its fingerprint is checked against dataset.json."""
        import pyarrow.parquet as pq

        path = self._dir(dataset_id)
        meta = json.loads((path / DatasetFile.META.value).read_text(encoding="utf-8"))
        id_table = pq.read_table(path / DatasetFile.IDS.value)
        ids = np.asarray(id_table.column(ID_COLUMN).to_pylist(), dtype=object)
        names = list(meta["names"])
        mask = np.stack([id_table.column(n).to_numpy(zero_copy_only=False) for n in names], axis=1).astype(
            bool
        )
        values: dict[str, np.ndarray] = {}
        features: dict[str, list[str]] = {}
        media = {n: MediaSpec.from_json(v) for n, v in (meta.get("media") or {}).items()}
        sparse = dict(meta.get("sparse_features") or {})
        previews: dict[str, np.ndarray] = {}
        for j, name in enumerate(names):
            rows = np.flatnonzero(mask[:, j])
            if name in sparse:  # stays CSR: empty rows where a sample lacks the modality
                values[name] = expand_rows(load_csr(path / f"{name}.npz"), rows, len(ids))
                features[name] = list(sparse[name])
                continue
            if name in media:
                block = np.load(path / f"{name}.npy", allow_pickle=False)
                feats = list(meta["media_features"][name])
                if has_previews(path / name):
                    shown = np.full(len(ids), None, dtype=object)
                    shown[rows] = read_previews(path / name, text=media[name].kind == "text")
                    previews[name] = shown
            else:
                table = pq.read_table(path / f"{name}.parquet")
                feats = [c for c in table.column_names if c != ID_COLUMN]
                block = np.empty((len(rows), len(feats)), dtype=np.float32)
                for k, col in enumerate(feats):
                    block[:, k] = table.column(col).to_numpy()
            out = np.zeros((len(ids), len(feats)), dtype=np.float32)
            out[rows] = block
            values[name], features[name] = out, feats
        metadata = None
        if (path / DatasetFile.METADATA.value).is_file():
            frame = pq.read_table(path / DatasetFile.METADATA.value).to_pandas()
            frame.index = pd.Index(frame.pop(ID_COLUMN).to_numpy(dtype=object), name="id")
            metadata = frame
        ds = PairedDataset(
            names=names,
            values=values,
            features=features,
            ids=ids,
            mask=mask,
            metadata=metadata,
            label_column=meta.get("label_column"),
            info=dict(meta.get("info") or {}),
            media=media,
            previews=previews,
        )
        if fingerprint(ds) != meta["fingerprint"]:
            raise DataError(
                f"Dataset {dataset_id!r} on disk does not match its fingerprint: it was changed or damaged."
            )
        return ds

    def _modality_file(self, dataset_id: str, modality: str) -> tuple[Path, dict[str, Any]]:
        """The file of one modality (``.parquet`` for tables, ``.npz`` for sparse ones, ``.npy`` for raw
        media) and dataset.json."""
        folder = self._dir(dataset_id)
        meta = json.loads((folder / DatasetFile.META.value).read_text(encoding="utf-8"))
        names = meta["names"]
        kinds = ((".npy", "media"), (".npz", "sparse_features"))
        suffix = next((sfx for sfx, key in kinds if modality in (meta.get(key) or {})), ".parquet")
        path = folder / f"{modality}{suffix}"
        if modality not in names or not path.is_file():
            raise DataError(
                f"The 'modality' parameter must be one of dataset {dataset_id!r}'s modalities {names}. "
                f"Got {modality!r} instead."
            )
        return path, meta

    def feature_names(self, dataset_id: str, modality: str) -> builtins.list[str]:
        """The feature names of one modality of a registered dataset (read from its schema only)."""
        import pyarrow.parquet as pq

        path, meta = self._modality_file(dataset_id, modality)
        if path.suffix in (".npy", ".npz"):
            return list(meta["media_features" if path.suffix == ".npy" else "sparse_features"][modality])
        return [c for c in pq.read_schema(path).names if c != ID_COLUMN]

    def _present_ids(self, dataset_id: str, modality: str) -> pd.Index:
        import pyarrow.parquet as pq

        table = pq.read_table(self._dir(dataset_id) / DatasetFile.IDS.value, columns=[ID_COLUMN, modality])
        present = table.column(modality).to_numpy(zero_copy_only=False).astype(bool)
        return pd.Index(np.asarray(table.column(ID_COLUMN).to_pylist(), dtype=object)[present], dtype=object)

    def feature_values(self, dataset_id: str, modality: str, feature: str) -> pd.Series:
        """One feature's values (float64) indexed by sample id, read as a single column.

        Only the samples that have the modality appear; the full matrix is never loaded.
        """
        import pyarrow.parquet as pq

        path, _meta = self._modality_file(dataset_id, modality)
        names = self.feature_names(dataset_id, modality)
        if feature not in names or feature == ID_COLUMN:
            raise DataError(
                f"The modality {modality!r} of dataset {dataset_id!r} has no feature {feature!r}."
            )
        if path.suffix in (".npy", ".npz"):
            j = names.index(feature)
            if path.suffix == ".npz":  # one column of the CSR arrays, densified alone
                column = load_csr(path)[:, [j]].toarray().ravel()
            else:
                column = np.load(path, mmap_mode="r", allow_pickle=False)[:, j]
            return pd.Series(
                np.asarray(column, dtype=np.float64), index=self._present_ids(dataset_id, modality)
            )
        table = pq.read_table(path, columns=[ID_COLUMN, feature])
        return pd.Series(
            table.column(feature).to_numpy(zero_copy_only=False).astype(np.float64),
            index=pd.Index(table.column(ID_COLUMN).to_pylist(), dtype=object),
        )

    def media(self, dataset_id: str) -> dict[str, MediaSpec]:
        """Modality name -> MediaSpec for the raw modalities (images, text, audio) of a dataset."""
        meta = json.loads((self._dir(dataset_id) / DatasetFile.META.value).read_text(encoding="utf-8"))
        return {n: MediaSpec.from_json(v) for n, v in (meta.get("media") or {}).items()}

    def preview(self, dataset_id: str, modality: str, sample_id: str) -> bytes | str | None:
        """What a person looks at for one sample of a raw modality: PNG or JPEG bytes (image), the text
        (str), the clip's bytes (audio); None when the sample lacks it or has no preview."""
        path, meta = self._modality_file(dataset_id, modality)
        kind = (meta.get("media") or {}).get(modality, {}).get("kind")
        stem = path.with_suffix("")
        if kind is None or not has_previews(stem):
            return None
        where = self._present_ids(dataset_id, modality).get_indexer(pd.Index([sample_id], dtype=object))[0]
        return None if where < 0 else read_preview(stem, int(where), text=kind == "text")

    def ensure_demo(self, name: str, seed: int = 0) -> str:
        """The id of demo ``name`` (see :func:`make_demo`), generating and registering it once."""
        from .demos import DEMO_NAMES, make_demo

        check_choice("name", name, DEMO_NAMES)
        for d in self.list():
            if d.info.get("demo") == name and d.info.get("seed") == seed and d.name == name:
                return d.id
        return self.save(make_demo(name, seed=seed), name)  # type: ignore[arg-type]
