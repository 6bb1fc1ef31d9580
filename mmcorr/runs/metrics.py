"""Held-out metrics of a fitted model's latents, shared by the pipeline and ``mmcorr evaluate``.

numpy in, the typed results of mmcorr.runs.schema out. Every pair of modalities is measured on the samples that have both;
an analysis that cannot run (too few samples, one class) is skipped with its reason in ``notes``
instead of failing the whole run after training.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from mmcorr import analysis
from mmcorr._validation import MmcorrError
from mmcorr.config import AnalysisConfig
from mmcorr.data import JOINT, PairedDataset, dense_rows
from mmcorr.data._chunks import chunk_rows, column_mean_var
from mmcorr.runs.files import FEATURE_COLUMN, PAIR_COLUMN, R2_COLUMN
from mmcorr.runs.schema import (
    CanonicalCorrelations,
    Direction,
    HeldOutResults,
    Pair,
    Retrieval,
    RunSummary,
    directions_of,
    pairs_of,
)

if TYPE_CHECKING:
    from mmcorr.estimator import CorrelationModel

__all__ = ["LatentSet", "MetricResults", "compute_metrics", "prediction_metrics", "training_means"]


@dataclass
class LatentSet:
    """Latents of one set of samples: name -> (n, k) (each modality, NaN rows where absent, and JOINT)."""

    names: list[str]
    latents: dict[str, np.ndarray]
    labels: np.ndarray | None = None

    @classmethod
    def from_rows(cls, ds: PairedDataset, latents: dict[str, np.ndarray], rows: np.ndarray) -> LatentSet:
        labels = ds.labels
        return cls(
            names=list(ds.names),
            latents={k: np.asarray(v[rows], dtype=np.float64) for k, v in latents.items()},
            labels=None if labels is None else np.asarray(labels)[rows],
        )

    def both(self, a: str, b: str) -> np.ndarray:
        """Boolean rows where modalities a and b both have a finite latent."""
        return np.isfinite(self.latents[a]).all(axis=1) & np.isfinite(self.latents[b]).all(axis=1)

    def labelled(self, rows: np.ndarray) -> np.ndarray | None:
        """Labels of ``rows`` if every one is present, else None."""
        if self.labels is None:
            return None
        lab = self.labels[rows]
        return None if pd.isna(lab).any() else lab


@dataclass
class MetricResults:
    """What :func:`compute_metrics` measured, and the analyses it skipped with why (``notes``)."""

    canonical: dict[Pair, CanonicalCorrelations] = field(default_factory=dict)
    retrieval: dict[Direction, Retrieval] = field(default_factory=dict)
    linear_probe: float | None = None
    notes: dict[str, str] = field(default_factory=dict)

    def held_out(
        self,
        prediction_r2: dict[Direction, float | None],
        train_seconds: float | None = None,
        baseline_r2: dict[Direction, float | None] | None = None,
    ) -> HeldOutResults:
        """These results with the prediction R^2 (and its predict-the-training-mean baseline, per
        direction) and their headline summary. The headline R^2 is the best direction's, never a
        mean in which one direction at -68 drowns the other."""
        canon = list(self.canonical.values())
        retr = list(self.retrieval.values())
        r2 = [v for v in prediction_r2.values() if v is not None and np.isfinite(v)]
        summary = RunSummary(
            canonical_total=_mean([c.total for c in canon]),
            canonical_cc1=_mean([c.cc1 for c in canon]),
            canonical_val_total=_mean([c.val_total for c in canon]),
            canonical_train_total=_mean([c.train_total for c in canon]),
            fraction_of_ceiling=_mean([c.fraction_of_ceiling for c in canon]),
            recall_at_1=_mean([r.recall_at_1 for r in retr]),
            recall_at_10=_mean([r.recall_at_10 for r in retr]),
            mrr=_mean([r.mrr for r in retr]),
            foscttm=_mean([r.foscttm for r in retr]),
            class_precision_at_1=_mean([r.class_precision_at_1 for r in retr]),
            linear_probe_accuracy=self.linear_probe,
            prediction_r2_best=max(r2) if r2 else None,
            train_seconds=train_seconds,
        )
        return HeldOutResults(
            canonical=dict(self.canonical),
            retrieval=dict(self.retrieval),
            prediction_r2=dict(prediction_r2),
            prediction_baseline_r2=dict(baseline_r2 or {}),
            linear_probe_accuracy=self.linear_probe,
            summary=summary,
        )


def _mean(values: list[float | None]) -> float | None:
    vals = [float(v) for v in values if v is not None and np.isfinite(v)]
    return float(np.mean(vals)) if vals else None


def _canonical(
    train: LatentSet,
    test: LatentSet,
    val: LatentSet | None,
    pair: Pair,
    cfg: AnalysisConfig,
    reg: float,
    ceiling: Any,
) -> CanonicalCorrelations:
    a, b = pair
    tr, te = train.both(a, b), test.both(a, b)
    va = None if val is None else val.both(a, b)
    # issue 16: the alignment is fitted on the validation pairs when that scores higher out of
    # sample (the estimator's heads use the same rule), and ordered by them whenever there are any.
    fit_on: Any = "auto"
    res = analysis.canonical_correlation_test(
        train.latents[a][tr],
        train.latents[b][tr],
        test.latents[a][te],
        test.latents[b][te],
        val_a=None if val is None or va is None else val.latents[a][va],
        val_b=None if val is None or va is None else val.latents[b][va],
        fit_on=fit_on,
        reg=reg,
        permutations=cfg.permutations,
        seed=cfg.seed,
    )
    corr = np.asarray(res.correlations, dtype=np.float64)
    null = np.asarray(res.null, dtype=np.float64)
    has_null = null.ndim == 2 and null.shape[0] > 0
    ceil_part: tuple[float, ...] | None = None
    fraction = None
    if ceiling is not None:
        ceil = np.asarray(ceiling, dtype=np.float64).ravel()
        m = min(ceil.size, corr.size)
        ceil_part = tuple(ceil[:m].tolist())
        # Share of the closed-form ceiling reached by the first m held-out canonical correlations.
        fraction = float(corr[:m].sum() / ceil[:m].sum()) if ceil[:m].sum() > 0 else None
    return CanonicalCorrelations(
        correlations=tuple(corr.tolist()),
        total=float(res.total),
        p_values=tuple(np.asarray(res.p_values, dtype=np.float64).tolist()),
        n_test=int(te.sum()),
        permutations=int(null.shape[0]) if null.ndim == 2 else 0,
        null_low=tuple(np.percentile(null, 2.5, axis=0).tolist()) if has_null else None,
        null_high=tuple(np.percentile(null, 97.5, axis=0).tolist()) if has_null else None,
        null_mean=tuple(null.mean(axis=0).tolist()) if has_null else None,
        ceiling=ceil_part,
        fraction_of_ceiling=fraction,
        train_correlations=_floats(res.train_correlations),
        val_correlations=_floats(res.val_correlations),
        fit_on=res.fit_on,
        ordered_by=res.ordered_by,
    )


def _floats(values: np.ndarray | None) -> tuple[float, ...] | None:
    return None if values is None else tuple(np.asarray(values, dtype=np.float64).tolist())


def _linear_probe(train: LatentSet, test: LatentSet, cfg: AnalysisConfig, out: MetricResults) -> None:
    if train.labels is None or test.labels is None:
        return
    tr = np.flatnonzero(np.isfinite(train.latents[JOINT]).all(axis=1) & ~pd.isna(train.labels))
    te = np.flatnonzero(np.isfinite(test.latents[JOINT]).all(axis=1) & ~pd.isna(test.labels))
    try:
        out.linear_probe = float(
            analysis.linear_probe_accuracy(
                train.latents[JOINT][tr],
                train.labels[tr],
                test.latents[JOINT][te],
                test.labels[te],
                seed=cfg.seed,
            )
        )
    except MmcorrError as exc:
        out.notes["linear_probe"] = str(exc)


def compute_metrics(
    train: LatentSet,
    test: LatentSet,
    cfg: AnalysisConfig,
    *,
    val: LatentSet | None = None,
    cca_reg: float = 1e-3,
    true_correlations: dict[str, Any] | None = None,
) -> MetricResults:
    """Canonical correlations per pair, retrieval per ordered pair, linear probe on the joint latent.

    train: latents of the training samples (the probe is fitted on them; so is the linear CCA of
        the canonical correlations when there is no usable validation set).
    test: latents of the held-out samples (every headline number is measured on them).
    val: latents of the validation samples: the linear CCA is fitted on them when that scores
        higher out of sample (``fit_on="auto"`` of :func:`mmcorr.analysis.canonical_correlation_test`),
        and its components are ordered by validation correlation (see the README glossary).
    true_correlations: "a|b" -> closed-form ceiling (synthetic data), giving ``fraction_of_ceiling``.
    """
    out = MetricResults()
    for pair in pairs_of(train.names):
        ceiling = (true_correlations or {}).get(pair.key)
        try:
            out.canonical[pair] = _canonical(train, test, val, pair, cfg, cca_reg, ceiling)
        except MmcorrError as exc:
            out.notes[f"canonical {pair.key}"] = str(exc)
    for direction in directions_of(train.names):
        a, b = direction
        rows = np.flatnonzero(test.both(a, b))
        try:
            vals = analysis.retrieval_metrics(
                test.latents[a][rows], test.latents[b][rows], test.labelled(rows)
            )
        except MmcorrError as exc:
            out.notes[f"retrieval {direction.key}"] = str(exc)
            continue
        out.retrieval[direction] = Retrieval.from_json(vals, "retrieval_metrics")
    _linear_probe(train, test, cfg, out)
    return out


def training_means(train: PairedDataset) -> dict[str, np.ndarray]:
    """Each modality's per-feature mean over the training rows that have it (raw units): the
    predict-the-training-mean baseline of the prediction R^2."""
    out: dict[str, np.ndarray] = {}
    for i, name in enumerate(train.names):
        rows = np.flatnonzero(train.mask[:, i])
        out[name] = column_mean_var(train.values[name], rows)[0]  # chunked: a CSR modality stays sparse
    return out


def _chunked_r2(
    model: CorrelationModel,
    test: PairedDataset,
    rows: np.ndarray,
    direction: Direction,
    mean_b: np.ndarray | None,
) -> tuple[float, np.ndarray, float | None]:
    """R^2 of predicting ``b`` from ``a`` over ``rows`` of ``test`` (variance-weighted, per feature)
    and of predicting the training mean ``mean_b`` (None without it).

    The target is densified and predicted a row chunk at a time (~32 MiB of float64), so a wide or
    sparse (CSR) target of many test rows is never held whole; the sums are those of
    :func:`mmcorr.analysis.prediction_r2` (:func:`mmcorr.analysis.r2_from_sums`), its mean from a first chunked pass.
    """
    a, b = direction
    values = test.values[b]
    mean, var = column_mean_var(values, rows)
    n = rows.size
    ss_tot = var * n
    ss_res = np.zeros_like(ss_tot)
    step = chunk_rows(values.shape[1])
    for start in range(0, n, step):
        part = rows[start : start + step]
        pred = model.predict(test.subset(part), source=a, target=b)
        resid = dense_rows(values, part).astype(np.float64) - pred
        ss_res += np.einsum("ij,ij->j", resid, resid)
    sq = ss_tot + n * mean**2  # sum of squares of the target, for the constant-feature test
    total, per = analysis.r2_from_sums(ss_res, ss_tot, sq, weighting="variance")
    if mean_b is None:
        return total, per, None
    # predicting a constant m: sum (y - m)^2 = sum (y - mean)^2 + n (mean - m)^2
    base_res = ss_tot + n * (mean - np.asarray(mean_b, dtype=np.float64)) ** 2
    return total, per, analysis.r2_from_sums(base_res, ss_tot, sq, weighting="variance")[0]


def prediction_metrics(
    model: CorrelationModel,
    test: PairedDataset,
    names: list[str] | None = None,
    baseline: dict[str, np.ndarray] | None = None,
) -> tuple[dict[Direction, float | None], pd.DataFrame, dict[Direction, float | None]]:
    """Cross-modal prediction R^2 for every ordered pair on ``test`` (raw units), predicted and
    densified a row chunk at a time (a CSR target stays sparse).

    names: the modalities to predict between (default: all of ``test``).
    baseline: modality -> (d,) training mean (:func:`training_means`); given, the R^2 of predicting
        it is returned per direction beside the model's.

    Returns (direction -> R^2 variance-weighted over the target's features, table with columns
    pair, feature, r2 for every target feature, direction -> baseline R^2 (empty without baseline)).
    """
    overall: dict[Direction, float | None] = {}
    base: dict[Direction, float | None] = {}
    parts: list[pd.DataFrame] = []
    names = list(test.names) if names is None else names
    for direction in directions_of(names):
        a, b = direction
        ia, ib = test.names.index(a), test.names.index(b)
        rows = np.flatnonzero(test.mask[:, ia] & test.mask[:, ib])
        if rows.size < 2:
            overall[direction] = None
            continue
        total, per_feature, base_total = _chunked_r2(
            model, test, rows, direction, None if baseline is None else baseline.get(b)
        )
        overall[direction] = total
        if base_total is not None:
            base[direction] = base_total
        parts.append(
            pd.DataFrame(
                {
                    PAIR_COLUMN: direction.key,
                    FEATURE_COLUMN: test.features[b],
                    R2_COLUMN: np.asarray(per_feature, dtype=np.float64),
                }
            )
        )
    table = (
        pd.concat(parts, ignore_index=True)
        if parts
        else pd.DataFrame({PAIR_COLUMN: [], FEATURE_COLUMN: [], R2_COLUMN: []})
    )
    return overall, table, base
