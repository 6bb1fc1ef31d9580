"""The pairing report: what was loaded, what was paired, what was dropped and why."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ModalitySummary", "PairingReport"]


@dataclass
class ModalitySummary:
    """One modality as loaded: its file, shape, id column and what loading dropped or changed."""

    name: str
    source: str
    n_samples: int
    n_features: int
    id_column: str | None
    unmatched: int = 0
    unmatched_examples: list[str] = field(default_factory=list)
    dropped: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


@dataclass
class PairingReport:
    """Facts about one pairing, for people (``format``) and programs (``to_dict``).

    how / by: the join ("inner" | "outer") and the key ("id" | "order").
    modalities: one summary per modality, in dataset order.
    n_samples: samples in the paired dataset; n_paired: samples present in every modality.
    labels: label-table facts (column, classes, ids without a label), empty when none.
    warnings: things that will hurt a model, in plain words.
    """

    how: str
    by: str
    modalities: list[ModalitySummary]
    n_samples: int
    n_paired: int
    labels: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PairingReport:
        mods = [ModalitySummary(**m) for m in d.get("modalities", [])]
        rest = {k: v for k, v in d.items() if k != "modalities"}
        return cls(modalities=mods, **rest)

    def format(self) -> str:
        """The report as human-readable text (what ``mmcorr data inspect`` prints)."""
        key = "sample id" if self.by == "id" else "row order"
        lines = [f"Paired {len(self.modalities)} modalities by {key} ({self.how} join)."]
        for m in self.modalities:
            ids = f"ids from column {m.id_column!r}" if m.id_column is not None else "ids = row numbers"
            lines.append(
                f"  {m.name}: {m.n_samples} samples x {m.n_features} features from {m.source or '(memory)'} ({ids})"
            )
            if m.unmatched:
                ex = ", ".join(m.unmatched_examples)
                lines.append(f"    {m.unmatched} sample(s) without a partner, e.g. {ex}")
            if m.dropped:
                shown = "; ".join(f"{k}: {v}" for k, v in list(m.dropped.items())[:10])
                more = f" (+{len(m.dropped) - 10} more)" if len(m.dropped) > 10 else ""
                lines.append(f"    dropped {len(m.dropped)} column(s): {shown}{more}")
            lines.extend(f"    {note}" for note in m.notes)
        lines.append(f"Samples in the dataset: {self.n_samples}; present in every modality: {self.n_paired}.")
        if self.labels:
            lines.append(
                f"Labels: column {self.labels.get('column')!r}, {self.labels.get('n_classes')} classes, "
                f"{self.labels.get('missing', 0)} sample(s) without a label."
            )
        if self.warnings:
            lines.append("Warnings:")
            lines.extend(f"  - {w}" for w in self.warnings)
        return "\n".join(lines)
