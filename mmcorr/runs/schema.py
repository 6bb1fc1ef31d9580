"""The typed results of a run: what metrics.json holds, as frozen dataclasses.

Every reader of a run (pages, report, CLI, bench, tests) goes through these types, and the pipeline
writes through them, so a result has one schema. ``to_json`` gives the JSON object stored on disk
(the same shape bundles had since format 1); ``from_json`` reads it back and raises MmcorrError
naming the file and the key when something is missing or of the wrong type. NaN is stored as null.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from mmcorr._io import json_safe
from mmcorr._validation import MmcorrError
from mmcorr.analysis.retrieval import RetrievalMetric
from mmcorr.runs import _json as J
from mmcorr.runs.files import BUNDLE_FORMAT, DIRECTION_SEP, PAIR_SEP, BundleFile, MetricsKey
from mmcorr.runs.summary import RunDetails, RunSummary, SummaryMetric

__all__ = [
    "Pair",
    "Direction",
    "CanonicalCorrelations",
    "Retrieval",
    "RetrievalMetric",
    "HeldOutResults",
    "RunDetails",
    "RunSummary",
    "SummaryMetric",
    "RunMetrics",
    "Evaluation",
    "load_json_object",
    "pairs_of",
    "directions_of",
]


class Pair(NamedTuple):
    """An unordered modality pair in dataset order; its JSON key is ``"a|b"``."""

    a: str
    b: str

    @property
    def key(self) -> str:
        return f"{self.a}{PAIR_SEP}{self.b}"

    @property
    def label(self) -> str:
        return f"{self.a} × {self.b}"

    @classmethod
    def parse(cls, key: str, where: str = "metrics.json") -> Pair:
        a, sep, b = str(key).partition(PAIR_SEP)
        if not sep or not a or not b:
            raise MmcorrError(f"The run file {where} is malformed: {key!r} is not a modality pair 'a|b'.")
        return cls(a, b)


class Direction(NamedTuple):
    """An ordered modality pair (retrieval, prediction from ``source`` to ``target``); key ``"a->b"``."""

    source: str
    target: str

    @property
    def key(self) -> str:
        return f"{self.source}{DIRECTION_SEP}{self.target}"

    @classmethod
    def parse(cls, key: str, where: str = "metrics.json") -> Direction:
        a, sep, b = str(key).partition(DIRECTION_SEP)
        if not sep or not a or not b:
            raise MmcorrError(f"The run file {where} is malformed: {key!r} is not a direction 'a->b'.")
        return cls(a, b)


@dataclass(frozen=True)
class CanonicalCorrelations:
    """Held-out canonical correlations of one modality pair, with their shuffled-pairing null.

    correlations, p_values: (k,) per component on the test pairs, in the order of ``ordered_by``.
    total: their sum. null_low / null_high / null_mean: (k,) 2.5th / 97.5th percentile and mean of
    the null (absent without permutations). ceiling: (m,) closed-form correlations of a synthetic
    dataset, and fraction_of_ceiling the share of their sum reached by the first m held-out
    correlations. train_correlations: (k,) descending, the in-sample canonical correlations of a CCA
    fitted on the training pairs; val_correlations: (k,) the reported components on the validation
    pairs (both None in runs written before they were recorded). fit_on: the pairs the
    post-hoc linear CCA was fitted on, ``"train"`` or ``"validation"``; ordered_by: the pairs whose
    correlation orders the components (None in older runs: both were the training pairs).
    """

    correlations: tuple[float, ...]
    total: float
    p_values: tuple[float, ...]
    n_test: int
    permutations: int
    null_low: tuple[float, ...] | None = None
    null_high: tuple[float, ...] | None = None
    null_mean: tuple[float, ...] | None = None
    ceiling: tuple[float, ...] | None = None
    fraction_of_ceiling: float | None = None
    train_correlations: tuple[float, ...] | None = None
    val_correlations: tuple[float, ...] | None = None
    fit_on: str | None = None
    ordered_by: str | None = None

    @property
    def cc1(self) -> float | None:
        """The first held-out correlation (the best validation direction when ``ordered_by`` says so)."""
        return self.correlations[0] if self.correlations else None

    @property
    def train_total(self) -> float | None:
        """Sum of the components' correlations on the training pairs (None in older runs)."""
        return None if self.train_correlations is None else float(sum(self.train_correlations))

    @property
    def val_total(self) -> float | None:
        """Sum of the components' correlations on the validation pairs (None when not recorded)."""
        return None if self.val_correlations is None else float(sum(self.val_correlations))

    @property
    def null_band(self) -> tuple[tuple[float, ...], tuple[float, ...]] | None:
        if not self.null_low or not self.null_high:
            return None
        return self.null_low, self.null_high

    def to_json(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        optional = (
            "null_low",
            "null_high",
            "null_mean",
            "ceiling",
            "train_correlations",
            "val_correlations",
            "fit_on",
            "ordered_by",
        )
        out = {k: v for k, v in out.items() if not (k in optional and v is None)}
        if self.ceiling is None and self.fraction_of_ceiling is None:
            out.pop("fraction_of_ceiling")
        return {k: list(v) if isinstance(v, tuple) else v for k, v in out.items()}

    @classmethod
    def from_json(cls, obj: Any, where: str) -> CanonicalCorrelations:
        d = J.as_object(obj, where)
        return cls(
            correlations=J.numbers(d, "correlations", where),
            total=J.number(d, "total", where),
            p_values=J.numbers(d, "p_values", where),
            n_test=J.integer(d, "n_test", where),
            permutations=J.integer(d, "permutations", where),
            null_low=J.opt_numbers(d, "null_low", where),
            null_high=J.opt_numbers(d, "null_high", where),
            null_mean=J.opt_numbers(d, "null_mean", where),
            ceiling=J.opt_numbers(d, "ceiling", where),
            fraction_of_ceiling=J.opt_number(d, "fraction_of_ceiling", where),
            train_correlations=J.opt_numbers(d, "train_correlations", where),
            val_correlations=J.opt_numbers(d, "val_correlations", where),
            fit_on=J.opt_text(d, "fit_on", where),
            ordered_by=J.opt_text(d, "ordered_by", where),
        )


@dataclass(frozen=True)
class Retrieval:
    """Cross-modal retrieval of one direction on the test split (see analysis.retrieval_metrics).

    recall_at_k: share of queries whose true partner ranks within the top k. mrr: mean reciprocal
    rank. median_rank: 1-based. foscttm: fraction of samples closer than the true match (0 is
    perfect, 0.5 chance). class_precision_at_1: share whose nearest neighbour has the query's class
    (None without labels).
    """

    recall_at_1: float = field(metadata={"key": RetrievalMetric.RECALL_1})
    recall_at_5: float = field(metadata={"key": RetrievalMetric.RECALL_5})
    recall_at_10: float = field(metadata={"key": RetrievalMetric.RECALL_10})
    mrr: float = field(metadata={"key": RetrievalMetric.MRR})
    median_rank: float = field(metadata={"key": RetrievalMetric.MEDIAN_RANK})
    foscttm: float = field(metadata={"key": RetrievalMetric.FOSCTTM})
    class_precision_at_1: float | None = field(
        default=None, metadata={"key": RetrievalMetric.CLASS_PRECISION_1}
    )

    def get(self, metric: RetrievalMetric) -> float | None:
        return {f.metadata["key"]: getattr(self, f.name) for f in dataclasses.fields(self)}[metric]

    def to_json(self) -> dict[str, Any]:
        out = {f.metadata["key"].value: getattr(self, f.name) for f in dataclasses.fields(self)}
        if self.class_precision_at_1 is None:
            out.pop(RetrievalMetric.CLASS_PRECISION_1.value)
        return out

    @classmethod
    def from_json(cls, obj: Any, where: str) -> Retrieval:
        d = J.as_object(obj, where)
        kwargs: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            key = f.metadata["key"].value
            kwargs[f.name] = J.opt_number(d, key, where) if f.default is None else J.number(d, key, where)
        return cls(**kwargs)


def _keyed(obj: Any, where: str, parse: Any, read: Any) -> dict[Any, Any]:
    d = J.as_object(obj, where)
    return {parse(k, where): read(v, f"{where}.{k}") for k, v in d.items()}


@dataclass(frozen=True)
class HeldOutResults:
    """Every held-out number of a run (or of an evaluation on new data).

    canonical: per modality pair. retrieval: per direction. prediction_r2: per direction, the R^2 of
    predicting the target from the source through the shared space, variance-weighted over the
    target's features (older runs: their uniform mean; None when too few samples have both).
    prediction_baseline_r2: per direction, the same R^2 of predicting the training mean of the
    target (about 0; empty in older runs and evaluations). linear_probe_accuracy: on the joint
    latent, None without labels.
    """

    canonical: Mapping[Pair, CanonicalCorrelations] = field(default_factory=dict)
    retrieval: Mapping[Direction, Retrieval] = field(default_factory=dict)
    prediction_r2: Mapping[Direction, float | None] = field(default_factory=dict)
    prediction_baseline_r2: Mapping[Direction, float | None] = field(default_factory=dict)
    linear_probe_accuracy: float | None = None
    summary: RunSummary = field(default_factory=RunSummary)

    def to_json(self) -> dict[str, Any]:
        out = {
            MetricsKey.CANONICAL.value: {p.key: c.to_json() for p, c in self.canonical.items()},
            MetricsKey.RETRIEVAL.value: {d.key: r.to_json() for d, r in self.retrieval.items()},
            MetricsKey.PREDICTION_R2.value: {d.key: v for d, v in self.prediction_r2.items()},
            MetricsKey.LINEAR_PROBE.value: self.linear_probe_accuracy,
            MetricsKey.SUMMARY.value: self.summary.to_json(),
        }
        if self.prediction_baseline_r2:
            baseline = {d.key: v for d, v in self.prediction_baseline_r2.items()}
            out[MetricsKey.PREDICTION_BASELINE.value] = baseline
        return out

    @classmethod
    def from_json(cls, d: Mapping[str, Any], where: str) -> HeldOutResults:
        r2 = J.as_object(J.req(d, MetricsKey.PREDICTION_R2.value, where), where, MetricsKey.PREDICTION_R2)
        key = MetricsKey.PREDICTION_BASELINE
        base = J.as_object(d.get(key.value, {}), where, key)
        return cls(
            canonical=_keyed(
                J.req(d, MetricsKey.CANONICAL.value, where),
                f"{where}: {MetricsKey.CANONICAL.value}",
                Pair.parse,
                CanonicalCorrelations.from_json,
            ),
            retrieval=_keyed(
                J.req(d, MetricsKey.RETRIEVAL.value, where),
                f"{where}: {MetricsKey.RETRIEVAL.value}",
                Direction.parse,
                Retrieval.from_json,
            ),
            prediction_r2={
                Direction.parse(k, where): J.opt_number(r2, k, f"{where}: {MetricsKey.PREDICTION_R2.value}")
                for k in r2
            },
            prediction_baseline_r2={
                Direction.parse(k, where): J.opt_number(base, k, f"{where}: {key.value}") for k in base
            },
            linear_probe_accuracy=J.opt_number(d, MetricsKey.LINEAR_PROBE.value, where),
            summary=RunSummary.from_json(
                J.req(d, MetricsKey.SUMMARY.value, where), f"{where}: {MetricsKey.SUMMARY.value}"
            ),
        )


def load_json_object(text: str, where: str) -> Mapping[str, Any]:
    """Parse ``text`` as one JSON object; MmcorrError naming ``where`` otherwise."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise MmcorrError(f"{where} is not valid JSON: {exc}.") from None
    if not isinstance(data, dict):
        raise MmcorrError(f"{where} must hold a JSON object. Got {type(data).__name__}.")
    return data


@dataclass(frozen=True)
class RunMetrics:
    """metrics.json: what the run was and every held-out number it produced.

    bundle_format: the bundle format version the run was written in (readers accept 1 up to
    :data:`BUNDLE_FORMAT`). created: ISO 8601 UTC time the bundle was written.
    """

    run: RunDetails
    modalities: tuple[str, ...]
    results: HeldOutResults
    created: str
    mmcorr_version: str
    bundle_format: int = BUNDLE_FORMAT

    @property
    def pairs(self) -> list[Pair]:
        """The modality pairs with canonical correlations, in dataset order."""
        return list(self.results.canonical)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            MetricsKey.BUNDLE_FORMAT.value: self.bundle_format,
            MetricsKey.VERSION.value: self.mmcorr_version,
            MetricsKey.CREATED.value: self.created,
            MetricsKey.RUN.value: self.run.to_json(),
            MetricsKey.MODALITIES.value: list(self.modalities),
        }
        return json_safe({**out, **self.results.to_json()})  # type: ignore[no-any-return]

    def to_text(self) -> str:
        return json.dumps(self.to_json(), indent=2, allow_nan=False)

    @classmethod
    def from_json(cls, obj: Mapping[str, Any] | str, where: str = BundleFile.METRICS.value) -> RunMetrics:
        d = load_json_object(obj, where) if isinstance(obj, str) else J.as_object(obj, where)
        fmt = J.integer(d, MetricsKey.BUNDLE_FORMAT.value, where)
        if not 1 <= fmt <= BUNDLE_FORMAT:
            raise MmcorrError(
                f"The run file {where} has bundle format {fmt}; this mmcorr reads formats 1 to "
                f"{BUNDLE_FORMAT}. Upgrade mmcorr to open it."
            )
        return cls(
            run=RunDetails.from_json(J.req(d, MetricsKey.RUN.value, where), f"{where}: {MetricsKey.RUN}"),
            modalities=_names(d, MetricsKey.MODALITIES.value, where),
            results=HeldOutResults.from_json(d, where),
            created=J.text(d, MetricsKey.CREATED.value, where),
            mmcorr_version=J.text(d, MetricsKey.VERSION.value, where),
            bundle_format=fmt,
        )


def _names(d: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = J.req(d, key, where)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise MmcorrError(
            f"The run file {where} is malformed: {key!r} must be a list of names. Got {value!r} instead."
        )
    return tuple(value)


@dataclass(frozen=True)
class Evaluation:
    """evaluation.json: held-out metrics of a finished run on new paired data (``mmcorr evaluate``).

    run: the run folder evaluated. notes: analyses that could not run, with why.
    """

    run: str
    n_samples: int
    modalities: tuple[str, ...]
    results: HeldOutResults
    notes: Mapping[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        out = {
            MetricsKey.RUN.value: self.run,
            MetricsKey.N_SAMPLES.value: self.n_samples,
            MetricsKey.MODALITIES.value: list(self.modalities),
            **self.results.to_json(),
            MetricsKey.NOTES.value: dict(self.notes),
        }
        return json_safe(out)  # type: ignore[no-any-return]

    def to_text(self) -> str:
        return json.dumps(self.to_json(), indent=2, allow_nan=False)

    @classmethod
    def from_json(cls, obj: Mapping[str, Any] | str, where: str = "evaluation.json") -> Evaluation:
        d = load_json_object(obj, where) if isinstance(obj, str) else J.as_object(obj, where)
        notes = J.as_object(d.get(MetricsKey.NOTES.value, {}), where, MetricsKey.NOTES)
        return cls(
            run=J.text(d, MetricsKey.RUN.value, where),
            n_samples=J.integer(d, MetricsKey.N_SAMPLES.value, where),
            modalities=_names(d, MetricsKey.MODALITIES.value, where),
            results=HeldOutResults.from_json(d, where),
            notes={str(k): str(v) for k, v in notes.items()},
        )


def pairs_of(names: Iterable[str]) -> list[Pair]:
    """Every unordered pair of ``names`` in order (a|b, a|c, b|c)."""
    ns = list(names)
    return [Pair(a, b) for i, a in enumerate(ns) for b in ns[i + 1 :]]


def directions_of(names: Iterable[str]) -> list[Direction]:
    """Every ordered pair of distinct ``names`` (a->b, a->c, b->a, ...)."""
    ns = list(names)
    return [Direction(a, b) for a in ns for b in ns if a != b]
