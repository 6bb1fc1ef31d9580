"""The training history of a run (history.jsonl): one typed record per epoch.

The trainer and the closed-form fit write one JSON object per epoch (see :class:`HistoryKey`):
the mean of each loss part over the training batches, the same parts on the validation split, the
validation canonical correlation and the epoch's seconds. The loss parts are the model's own
(``total``, ``corr``, ``recon``, ``kl`` ...), so they stay a name -> value mapping.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mmcorr._io import json_safe
from mmcorr._validation import MmcorrError
from mmcorr.runs import _json as J
from mmcorr.runs.files import BundleFile, HistoryKey

__all__ = ["EpochRecord", "TrainingHistory"]


def _parts(d: Mapping[str, Any], key: str, where: str) -> dict[str, float]:
    obj = J.as_object(J.req(d, key, where), where, key)
    return {str(k): J.number(obj, k, f"{where}: {key}") for k in obj}


@dataclass(frozen=True)
class EpochRecord:
    """One epoch. train / val: loss part -> value (val is {} without a validation split).

    val_corr: mean validation canonical correlation of the first two modalities, or None.
    """

    epoch: int
    epochs: int
    train: Mapping[str, float]
    val: Mapping[str, float]
    val_corr: float | None
    seconds: float

    def to_json(self) -> dict[str, Any]:
        return {
            HistoryKey.EPOCH.value: self.epoch,
            HistoryKey.EPOCHS.value: self.epochs,
            HistoryKey.TRAIN.value: dict(self.train),
            HistoryKey.VAL.value: dict(self.val),
            HistoryKey.VAL_CORR.value: self.val_corr,
            HistoryKey.SECONDS.value: self.seconds,
        }

    @classmethod
    def from_json(cls, obj: Any, where: str) -> EpochRecord:
        d = J.as_object(obj, where)
        return cls(
            epoch=J.integer(d, HistoryKey.EPOCH.value, where),
            epochs=J.integer(d, HistoryKey.EPOCHS.value, where),
            train=_parts(d, HistoryKey.TRAIN.value, where),
            val=_parts(d, HistoryKey.VAL.value, where),
            val_corr=J.opt_number(d, HistoryKey.VAL_CORR.value, where),
            seconds=J.number(d, HistoryKey.SECONDS.value, where),
        )


@dataclass(frozen=True)
class TrainingHistory:
    """Every epoch of one fit, in order (a closed-form fit has exactly one record)."""

    records: tuple[EpochRecord, ...] = ()

    def __len__(self) -> int:
        return len(self.records)

    def __iter__(self) -> Iterator[EpochRecord]:
        return iter(self.records)

    @property
    def parts(self) -> list[str]:
        """The loss parts logged, in first-seen order."""
        return list(dict.fromkeys(k for r in self.records for k in (*r.train, *r.val)))

    def to_frame(self) -> pd.DataFrame:
        """One row per epoch: epoch, epochs, train_<part>, val_<part>, val_corr, seconds."""
        if not self.records:
            return pd.DataFrame({HistoryKey.EPOCH.value: pd.Series(dtype=np.int64)})
        rows = [
            {
                HistoryKey.EPOCH.value: r.epoch,
                HistoryKey.EPOCHS.value: r.epochs,
                **{f"{HistoryKey.TRAIN.value}_{k}": v for k, v in r.train.items()},
                **{f"{HistoryKey.VAL.value}_{k}": v for k, v in r.val.items()},
                HistoryKey.VAL_CORR.value: np.nan if r.val_corr is None else r.val_corr,
                HistoryKey.SECONDS.value: r.seconds,
            }
            for r in self.records
        ]
        return pd.DataFrame(rows)

    def to_jsonl(self) -> str:
        return "".join(json.dumps(json_safe(r.to_json()), allow_nan=False) + "\n" for r in self.records)

    @classmethod
    def from_records(cls, records: Sequence[Mapping[str, Any]], where: str = "history") -> TrainingHistory:
        """From the trainer's in-memory records (``CorrelationModel.history_``)."""
        return cls(tuple(EpochRecord.from_json(r, f"{where} epoch {i}") for i, r in enumerate(records, 1)))

    @classmethod
    def from_jsonl(cls, text: str, where: str = BundleFile.HISTORY.value) -> TrainingHistory:
        records = []
        for lineno, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise MmcorrError(f"{where} line {lineno} is not valid JSON: {exc}.") from None
            records.append(EpochRecord.from_json(obj, f"{where} line {lineno}"))
        return cls(tuple(records))
