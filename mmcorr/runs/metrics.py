"""Held-out metrics of a fitted model's latents, shared by the pipeline and ``mmcorr evaluate``.

numpy in, JSON-able dicts out. Every pair of modalities is measured on the samples that have both;
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
from mmcorr.data import PairedDataset
from mmcorr.runs.bundle import JOINT, PAIR_COLUMN, ordered_key, pair_key

if TYPE_CHECKING:
    from mmcorr.estimator import CorrelationModel

__all__ = ["LatentSet", "MetricResults", "compute_metrics", "prediction_metrics"]


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
    canonical: dict[str, dict[str, Any]] = field(default_factory=dict)
    retrieval: dict[str, dict[str, float]] = field(default_factory=dict)
    linear_probe: float | None = None
    summary: dict[str, float | None] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)


def _mean(values: list[Any]) -> float | None:
    vals = [float(v) for v in values if v is not None and np.isfinite(v)]
    return float(np.mean(vals)) if vals else None


def _canonical(
    train: LatentSet, test: LatentSet, a: str, b: str, cfg: AnalysisConfig, reg: float, ceiling: Any
) -> dict[str, Any]:
    tr, te = train.both(a, b), test.both(a, b)
    res = analysis.canonical_correlation_test(
        train.latents[a][tr],
        train.latents[b][tr],
        test.latents[a][te],
        test.latents[b][te],
        reg=reg,
        permutations=cfg.permutations,
        seed=cfg.seed,
    )
    corr = np.asarray(res.correlations, dtype=np.float64)
    null = np.asarray(res.null, dtype=np.float64)
    out: dict[str, Any] = {
        "correlations": corr.tolist(),
        "total": float(res.total),
        "p_values": np.asarray(res.p_values, dtype=np.float64).tolist(),
        "n_test": int(te.sum()),
        "permutations": int(null.shape[0]) if null.ndim == 2 else 0,
    }
    if null.ndim == 2 and null.shape[0] > 0:
        out["null_low"] = np.percentile(null, 2.5, axis=0).tolist()
        out["null_high"] = np.percentile(null, 97.5, axis=0).tolist()
        out["null_mean"] = null.mean(axis=0).tolist()
    if ceiling is not None:
        ceil = np.asarray(ceiling, dtype=np.float64).ravel()
        m = min(ceil.size, corr.size)
        out["ceiling"] = ceil[:m].tolist()
        # Share of the closed-form ceiling reached by the first m held-out canonical correlations.
        out["fraction_of_ceiling"] = float(corr[:m].sum() / ceil[:m].sum()) if ceil[:m].sum() > 0 else None
    return out


def compute_metrics(
    train: LatentSet,
    test: LatentSet,
    cfg: AnalysisConfig,
    *,
    cca_reg: float = 1e-3,
    true_correlations: dict[str, Any] | None = None,
) -> MetricResults:
    """Canonical correlations per pair, retrieval per ordered pair, linear probe on the joint latent.

    train: latents of the training samples (the linear CCA and the probe are fitted on them).
    test: latents of the held-out samples (every number is measured on them).
    true_correlations: "a|b" -> closed-form ceiling (synthetic data), giving ``fraction_of_ceiling``.
    """
    out = MetricResults()
    names = train.names
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            key = pair_key(a, b)
            ceiling = (true_correlations or {}).get(key)
            try:
                out.canonical[key] = _canonical(train, test, a, b, cfg, cca_reg, ceiling)
            except MmcorrError as exc:
                out.notes[f"canonical {key}"] = str(exc)
    for a in names:
        for b in names:
            if a == b:
                continue
            rows = np.flatnonzero(test.both(a, b))
            try:
                vals = analysis.retrieval_metrics(
                    test.latents[a][rows], test.latents[b][rows], test.labelled(rows)
                )
            except MmcorrError as exc:
                out.notes[f"retrieval {ordered_key(a, b)}"] = str(exc)
                continue
            out.retrieval[ordered_key(a, b)] = {k: float(v) for k, v in vals.items()}
    if train.labels is not None and test.labels is not None:
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
    canon = list(out.canonical.values())
    retr = list(out.retrieval.values())
    out.summary = {
        "canonical_total": _mean([c["total"] for c in canon]),
        "canonical_cc1": _mean([c["correlations"][0] for c in canon if c["correlations"]]),
        "fraction_of_ceiling": _mean([c.get("fraction_of_ceiling") for c in canon]),
        "recall@1": _mean([r.get("recall@1") for r in retr]),
        "recall@10": _mean([r.get("recall@10") for r in retr]),
        "mrr": _mean([r.get("mrr") for r in retr]),
        "foscttm": _mean([r.get("foscttm") for r in retr]),
        "class_precision@1": _mean([r.get("class_precision@1") for r in retr]),
        "linear_probe_accuracy": out.linear_probe,
    }
    return out


def prediction_metrics(
    model: CorrelationModel, test: PairedDataset, names: list[str] | None = None
) -> tuple[dict[str, float | None], pd.DataFrame]:
    """Cross-modal prediction R^2 for every ordered pair on ``test`` (raw units).

    names: the modalities to predict between (default: all of ``test``).

    Returns ("a->b" -> overall R^2, table with columns pair, feature, r2 for every target feature).
    """
    overall: dict[str, float | None] = {}
    parts: list[pd.DataFrame] = []
    names = list(test.names) if names is None else names
    for a in names:
        for b in names:
            if a == b:
                continue
            ia, ib = test.names.index(a), test.names.index(b)
            rows = np.flatnonzero(test.mask[:, ia] & test.mask[:, ib])
            key = ordered_key(a, b)
            if rows.size < 2:
                overall[key] = None
                continue
            pred = model.predict(test.subset(rows), source=a, target=b)
            total, per_feature = analysis.prediction_r2(test.values[b][rows], pred)
            overall[key] = float(total)
            parts.append(
                pd.DataFrame(
                    {
                        PAIR_COLUMN: key,
                        "feature": test.features[b],
                        "r2": np.asarray(per_feature, dtype=np.float64),
                    }
                )
            )
    table = (
        pd.concat(parts, ignore_index=True)
        if parts
        else pd.DataFrame({PAIR_COLUMN: [], "feature": [], "r2": []})
    )
    return overall, table
