"""What a registered dataset's ``dataset.json`` records about it (:class:`DatasetInfo`), and the
content fingerprint and name slug its id is made of (:mod:`mmcorr.data.registry`)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ._chunks import is_sparse
from ._sparse_store import csr_digest
from .types import PairedDataset

__all__ = ["DatasetInfo", "fingerprint", "info_from_meta", "slug"]


@dataclass(frozen=True)
class DatasetInfo:
    """What ``dataset.json`` says about one registered dataset."""

    id: str
    name: str
    n_samples: int
    modalities: dict[str, int]
    created: str
    fingerprint: str
    n_paired: int = 0
    label_column: str | None = None
    info: dict[str, Any] = field(default_factory=dict)
    report: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def slug(name: str) -> str:
    """A dataset name as the start of its id: lower-case letters, digits and dashes (at most 40)."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40].strip("-")
    return slug or "dataset"


def fingerprint(ds: PairedDataset) -> str:
    """sha256 hex of the dataset content (values, ids, features, mask, metadata, labels)."""
    h = hashlib.sha256()
    h.update("\x1f".join(map(str, ds.ids)).encode())
    h.update(np.ascontiguousarray(ds.mask, dtype=bool).tobytes())
    for name in ds.names:
        h.update(name.encode() + b"\x1e" + "\x1f".join(ds.features[name]).encode())
        if is_sparse(ds.values[name]):  # its CSR arrays: the content, never densified
            csr_digest(h, ds.values[name])
        else:
            h.update(np.ascontiguousarray(ds.values[name], dtype=np.float32).tobytes())
    if ds.metadata is not None:
        h.update("\x1f".join(map(str, ds.metadata.columns)).encode())
        h.update(pd.util.hash_pandas_object(ds.metadata.astype(str), index=False).to_numpy().tobytes())
    h.update(str(ds.label_column).encode())
    if ds.media:  # raw modalities: the featuriser is part of the content (absent: tables only)
        h.update(json.dumps({n: m.to_json() for n, m in sorted(ds.media.items())}, sort_keys=True).encode())
    return h.hexdigest()


def info_from_meta(meta: dict[str, Any]) -> DatasetInfo:
    """The :class:`DatasetInfo` of a parsed ``dataset.json``."""
    return DatasetInfo(
        id=meta["id"],
        name=meta["name"],
        n_samples=int(meta["n_samples"]),
        modalities={k: int(v) for k, v in meta["modalities"].items()},
        created=meta["created"],
        fingerprint=meta["fingerprint"],
        n_paired=int(meta.get("n_paired", 0)),
        label_column=meta.get("label_column"),
        info=dict(meta.get("info") or {}),
        report=meta.get("report"),
    )
