"""The run block and the headline summary of metrics.json, as frozen dataclasses.

:class:`RunSummary` holds one number per headline metric, the leaderboard row of a run;
:class:`SummaryMetric` names them once, with their direction and the one label every page, the
report and the CLI show for them (the README's glossary defines each).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from mmcorr._validation import MmcorrError
from mmcorr.runs import _json as J
from mmcorr.runs.files import RunKey

__all__ = ["CHOICE_KEYS", "choice_rows", "SummaryMetric", "RunSummary", "RunDetails"]


class SummaryMetric(StrEnum):
    """Headline metrics of a run; the values are the keys of metrics.json's summary."""

    CANONICAL_TOTAL = "canonical_total"
    CANONICAL_CC1 = "canonical_cc1"
    CANONICAL_VAL_TOTAL = "canonical_val_total"
    CANONICAL_TRAIN_TOTAL = "canonical_train_total"
    FRACTION_OF_CEILING = "fraction_of_ceiling"
    RECALL_1 = "recall@1"
    RECALL_10 = "recall@10"
    MRR = "mrr"
    FOSCTTM = "foscttm"
    CLASS_PRECISION_1 = "class_precision@1"
    LINEAR_PROBE = "linear_probe_accuracy"
    PREDICTION_R2_BEST = "prediction_r2_best"
    PREDICTION_R2 = "prediction_r2"
    TRAIN_SECONDS = "train_seconds"

    @property
    def higher_is_better(self) -> bool:
        """False for FOSCTTM (0 is perfect) and the training time; True for every other metric.

        The training-pair total is higher-is-better only as a fit; next to a much lower held-out
        total it means memorisation (see :func:`mmcorr.runs.fit_gap`)."""
        return self not in (SummaryMetric.FOSCTTM, SummaryMetric.TRAIN_SECONDS)

    @property
    def label(self) -> str:
        """The one label of this metric wherever it is shown (dashboard, report, CLI)."""
        return _LABELS[self]


_LABELS = {
    SummaryMetric.CANONICAL_TOTAL: "Canonical total, held-out (mean over pairs)",
    SummaryMetric.CANONICAL_CC1: "CC1 held-out (mean over pairs)",
    SummaryMetric.CANONICAL_VAL_TOTAL: "Canonical total, validation pairs (mean over pairs)",
    SummaryMetric.CANONICAL_TRAIN_TOTAL: "Canonical total, training pairs (mean over pairs)",
    SummaryMetric.FRACTION_OF_CEILING: "Fraction of ceiling (mean over pairs)",
    SummaryMetric.RECALL_1: "Recall@1 (mean of directions)",
    SummaryMetric.RECALL_10: "Recall@10 (mean of directions)",
    SummaryMetric.MRR: "MRR (mean of directions)",
    SummaryMetric.FOSCTTM: "FOSCTTM (mean of directions)",
    SummaryMetric.CLASS_PRECISION_1: "Class precision@1 (mean of directions)",
    SummaryMetric.LINEAR_PROBE: "Linear probe accuracy (joint latent)",
    SummaryMetric.PREDICTION_R2_BEST: "Prediction R² (best direction)",
    SummaryMetric.PREDICTION_R2: "Prediction R² (mean of directions, older runs)",
    SummaryMetric.TRAIN_SECONDS: "Training time (s)",
}


def _metric(key: SummaryMetric) -> Any:
    return field(default=None, metadata={"key": key})


_OMIT_WHEN_NONE = (
    SummaryMetric.TRAIN_SECONDS,
    SummaryMetric.PREDICTION_R2,
    SummaryMetric.CANONICAL_VAL_TOTAL,
    SummaryMetric.CANONICAL_TRAIN_TOTAL,
    SummaryMetric.PREDICTION_R2_BEST,
)


@dataclass(frozen=True)
class RunSummary:
    """One number per headline metric (None when the analysis could not run or does not apply)."""

    canonical_total: float | None = _metric(SummaryMetric.CANONICAL_TOTAL)
    canonical_cc1: float | None = _metric(SummaryMetric.CANONICAL_CC1)
    canonical_val_total: float | None = _metric(SummaryMetric.CANONICAL_VAL_TOTAL)
    canonical_train_total: float | None = _metric(SummaryMetric.CANONICAL_TRAIN_TOTAL)
    fraction_of_ceiling: float | None = _metric(SummaryMetric.FRACTION_OF_CEILING)
    recall_at_1: float | None = _metric(SummaryMetric.RECALL_1)
    recall_at_10: float | None = _metric(SummaryMetric.RECALL_10)
    mrr: float | None = _metric(SummaryMetric.MRR)
    foscttm: float | None = _metric(SummaryMetric.FOSCTTM)
    class_precision_at_1: float | None = _metric(SummaryMetric.CLASS_PRECISION_1)
    linear_probe_accuracy: float | None = _metric(SummaryMetric.LINEAR_PROBE)
    prediction_r2_best: float | None = _metric(SummaryMetric.PREDICTION_R2_BEST)
    prediction_r2: float | None = _metric(SummaryMetric.PREDICTION_R2)
    train_seconds: float | None = _metric(SummaryMetric.TRAIN_SECONDS)

    def items(self) -> Iterator[tuple[SummaryMetric, float | None]]:
        """(metric, value) for every metric, in declaration order."""
        for f in dataclasses.fields(self):
            yield f.metadata["key"], getattr(self, f.name)

    def get(self, metric: SummaryMetric) -> float | None:
        return dict(self.items())[metric]

    def present(self) -> dict[SummaryMetric, float]:
        """The metrics that have a value."""
        return {m: v for m, v in self.items() if v is not None}

    def labelled(self) -> dict[str, float]:
        """label -> value of the metrics that have a value: what every page and report shows."""
        return {m.label: v for m, v in self.present().items()}

    def to_json(self) -> dict[str, float | None]:
        # evaluation.json has no training time, and new runs neither the train / validation totals
        # of an evaluation nor the older runs' averaged R^2: leave them out rather than write null.
        return {m.value: v for m, v in self.items() if v is not None or m not in _OMIT_WHEN_NONE}

    @classmethod
    def from_values(cls, values: Mapping[SummaryMetric, float | None]) -> RunSummary:
        by_key = {f.metadata["key"]: f.name for f in dataclasses.fields(cls)}
        return cls(**{by_key[m]: v for m, v in values.items()})

    @classmethod
    def from_json(cls, obj: Any, where: str) -> RunSummary:
        d = J.as_object(obj, where)
        known = {m.value for m in SummaryMetric}
        unknown = sorted(set(d) - known)
        if unknown:
            raise MmcorrError(
                f"The run file {where} is malformed: unknown summary metric(s) {unknown}; "
                f"allowed are {sorted(known)}."
            )
        return cls.from_values({SummaryMetric(k): J.opt_number(d, k, where) for k in d})


@dataclass(frozen=True)
class RunDetails:
    """The run block of metrics.json: what was trained on what, and how the samples were split.

    sources: modality -> file it came from (``mmcorr train`` with files; {} for a registered
    dataset). notes: analyses skipped after training, with why. model_choice: ``model="auto"``'s
    candidate table, one row per family in the order tried (:data:`CHOICE_KEYS`); () otherwise.
    """

    name: str
    dataset_id: str
    model: str
    latent_dim: int
    n_samples: int
    n_train: int
    n_val: int
    n_test: int
    train_seconds: float
    epochs_run: int
    seed: int
    label_column: str | None = None
    sources: Mapping[str, str] = field(default_factory=dict)
    notes: Mapping[str, str] = field(default_factory=dict)
    #: The split the held-out figures come from: "test", or "val" when the run kept no test set.
    held_out_split: str = "test"
    model_choice: tuple[Mapping[str, Any], ...] = ()

    @property
    def held_out_note(self) -> str | None:
        """A sentence for every view when the held-out figures are validation figures, else None."""
        if self.held_out_split == "test":
            return None
        return (
            "No test set (test fraction 0): the held-out figures are validation figures, from the "
            "samples that also chose the early-stopping epoch."
        )

    def to_json(self) -> dict[str, Any]:
        return {
            RunKey.NAME.value: self.name,
            RunKey.DATASET_ID.value: self.dataset_id,
            RunKey.MODEL.value: self.model,
            RunKey.LATENT_DIM.value: self.latent_dim,
            RunKey.LABEL_COLUMN.value: self.label_column,
            RunKey.N_SAMPLES.value: self.n_samples,
            RunKey.N_TRAIN.value: self.n_train,
            RunKey.N_VAL.value: self.n_val,
            RunKey.N_TEST.value: self.n_test,
            RunKey.TRAIN_SECONDS.value: self.train_seconds,
            RunKey.EPOCHS_RUN.value: self.epochs_run,
            RunKey.SEED.value: self.seed,
            RunKey.SOURCES.value: dict(self.sources),
            RunKey.NOTES.value: dict(self.notes),
            # Written only when it is not the test split, so earlier bundles round-trip unchanged.
            **({RunKey.HELD_OUT_SPLIT.value: self.held_out_split} if self.held_out_split != "test" else {}),
            **(
                {RunKey.MODEL_CHOICE.value: [dict(r) for r in self.model_choice]} if self.model_choice else {}
            ),
        }

    @classmethod
    def from_json(cls, obj: Any, where: str) -> RunDetails:
        d = J.as_object(obj, where)
        sources = J.as_object(d.get(RunKey.SOURCES.value, {}), where, RunKey.SOURCES)
        notes = J.as_object(d.get(RunKey.NOTES.value, {}), where, RunKey.NOTES)
        return cls(
            name=J.text(d, RunKey.NAME.value, where),
            dataset_id=J.text(d, RunKey.DATASET_ID.value, where),
            model=J.text(d, RunKey.MODEL.value, where),
            latent_dim=J.integer(d, RunKey.LATENT_DIM.value, where),
            n_samples=J.integer(d, RunKey.N_SAMPLES.value, where),
            n_train=J.integer(d, RunKey.N_TRAIN.value, where),
            n_val=J.integer(d, RunKey.N_VAL.value, where),
            n_test=J.integer(d, RunKey.N_TEST.value, where),
            train_seconds=J.number(d, RunKey.TRAIN_SECONDS.value, where),
            epochs_run=J.integer(d, RunKey.EPOCHS_RUN.value, where),
            seed=J.integer(d, RunKey.SEED.value, where),
            label_column=J.opt_text(d, RunKey.LABEL_COLUMN.value, where),
            sources={str(k): str(v) for k, v in sources.items()},
            notes={str(k): str(v) for k, v in notes.items()},
            held_out_split=J.opt_text(d, RunKey.HELD_OUT_SPLIT.value, where) or "test",
            model_choice=_choice_rows(d, f"{where} ({RunKey.MODEL_CHOICE.value})"),
        )


#: The keys of one row of ``RunDetails.model_choice``: the family, its validation canonical
#: correlation sum (None when it did not run), its fit seconds, whether it was chosen, and why it
#: did not run ("" when it did).
CHOICE_KEYS = ("model", "val_corr_sum", "seconds", "chosen", "note")


def choice_rows(table: Any) -> tuple[dict[str, Any], ...]:
    """``CorrelationModel.auto_`` (None for a family asked for by name) as model_choice rows."""
    return tuple(
        {"model": str(r["model"]), "val_corr_sum": r["val_corr_sum"], "seconds": float(r["seconds"]),
         "chosen": bool(r["chosen"]), "note": str(r.get("note", ""))}
        for r in table or ()
    )  # fmt: skip


def _choice_rows(d: Mapping[str, Any], where: str) -> tuple[dict[str, Any], ...]:
    return tuple(
        {"model": J.text(r, "model", where), "val_corr_sum": J.opt_number(r, "val_corr_sum", where),
         "seconds": J.number(r, "seconds", where), "chosen": J.boolean(r, "chosen", where),
         "note": J.opt_text(r, "note", where) or ""}
        for r in J.objects(d, RunKey.MODEL_CHOICE.value, where)
    )  # fmt: skip
