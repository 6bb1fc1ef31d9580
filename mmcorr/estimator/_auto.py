"""``model="auto"``: train the candidate families on one split and keep the best on validation.

Every candidate sees the same training rows and is scored on the same validation rows (the ones a
plain fit would hold out with this seed, or the validation set given), by the held-out canonical
correlation sum (:meth:`CorrelationModel.score`), so the choice is never below the best single
family on validation. Candidates run cheapest first (linear CCA, then the default dccae) and stop
being added once one has a score and :data:`AUTO_BUDGET_S` seconds have passed; each candidate's row in the table says
what it scored, how long it took, or why it did not run.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from mmcorr._validation import MmcorrError
from mmcorr.config import ModelConfig, resolve_lr
from mmcorr.data import PairedDataset
from mmcorr.estimator._data import holdout_rows
from mmcorr.models import MODEL_REGISTRY
from mmcorr.training import Callback, TrainingCancelled

if TYPE_CHECKING:
    from mmcorr.estimator import CorrelationModel

__all__ = ["AUTO", "AUTO_BUDGET_S", "AUTO_CANDIDATES", "fit_auto"]

#: The ``model`` value that asks for the automatic choice.
AUTO = "auto"


def _candidate_order() -> tuple[str, ...]:
    """Every registered family, cheapest and most often best first: the closed-form ones, then the
    configured default family, then the rest in registry order (no family named here)."""
    names = list(MODEL_REGISTRY)
    default = ModelConfig().model
    key = {n: (0 if MODEL_REGISTRY[n].fits_in_closed_form else 1 if n == default else 2) for n in names}
    return tuple(sorted(names, key=lambda n: (key[n], names.index(n))))


#: The families tried, in this order.
AUTO_CANDIDATES: tuple[str, ...] = _candidate_order()
#: No further candidate starts once this many seconds of the choice have passed.
AUTO_BUDGET_S = 600.0


def fit_auto(
    est: CorrelationModel,
    train: PairedDataset,
    validation: PairedDataset | None,
    callbacks: Sequence[Callback],
    layers: Mapping[str, str] | None = None,
    budget_s: float = AUTO_BUDGET_S,
) -> CorrelationModel:
    """``model="auto"``: fit every candidate family within ``budget_s`` and make ``est`` the best on
    validation (its learned attributes; ``model`` stays "auto", scikit-learn's contract, while
    ``configs_`` are the chosen family's, so a saved model loads as that family). ``est.auto_``: one
    dict per candidate (``model``, ``val_corr_sum`` or None, ``seconds``, ``chosen``, ``note``); the
    history's first record notes the choice. Returns ``est``."""
    best, table = _candidates(est, train, validation, callbacks, budget_s)
    for key, value in vars(best).items():
        if key.endswith("_") and not key.startswith("_"):
            setattr(est, key, value)
    est.layers_ = dict(layers or {})
    est.auto_ = table
    if est.history_:
        first = est.history_[0]
        first["note"] = f"{describe(table)}; {first['note']}" if first.get("note") else describe(table)
    return est


def _candidates(
    est: CorrelationModel,
    train: PairedDataset,
    validation: PairedDataset | None,
    callbacks: Sequence[Callback],
    budget_s: float,
) -> tuple[CorrelationModel, list[dict[str, Any]]]:
    """Every candidate's fit and validation score: (the best, the table)."""
    from sklearn.base import clone

    _, tcfg, dcfg = est.get_configs()
    if validation is not None:
        tr, va = train, validation
    else:  # the rows a plain fit with this seed holds out, so every candidate sees the same ones
        k = int(est.get_configs()[0].latent_dim)
        rows, val_rows = holdout_rows(train.n_samples, val_fraction=dcfg.val_fraction, k=k, seed=tcfg.seed)
        tr, va = train.subset(rows), train.subset(val_rows)
    # A job spec carries the rate "auto" resolves to (no family's): give each family its tuned one.
    lr = None if est.lr is None or est.lr == resolve_lr(AUTO) else est.lr
    started = time.monotonic()
    table: list[dict[str, Any]] = []
    best: tuple[float, CorrelationModel] | None = None
    for family in AUTO_CANDIDATES:
        row: dict[str, Any] = {"model": family, "val_corr_sum": None, "seconds": 0.0, "chosen": False}
        if best is not None and time.monotonic() - started > budget_s:  # the first always runs
            table.append({**row, "note": f"not tried: the {budget_s:g} s budget was spent"})
            continue
        t0 = time.monotonic()
        candidate = clone(est).set_params(model=family, lr=lr)
        try:
            candidate.fit(tr, validation=va, callbacks=callbacks)
            score = float(candidate.score(va))
        except TrainingCancelled:
            raise
        except MmcorrError as exc:  # e.g. cca's latent size above the narrowest modality
            table.append({**row, "seconds": round(time.monotonic() - t0, 2), "note": f"not run: {exc}"})
            continue
        table.append({**row, "val_corr_sum": round(score, 4), "seconds": round(time.monotonic() - t0, 2)})
        if np.isfinite(score) and (best is None or score > best[0]):
            best = (score, candidate)
    if best is None:
        reasons = "; ".join(f"{r['model']}: {r.get('note', 'no finite score')}" for r in table)
        raise MmcorrError(f"model='auto' could not fit any candidate family ({reasons}).")
    chosen = best[1].get_configs()[0].model
    for row in table:
        row["chosen"] = row["model"] == chosen
    return best[1], table


def describe(table: list[dict[str, Any]]) -> str:
    """One line for the run's notes: the choice and every candidate's validation score."""
    chosen = next(r["model"] for r in table if r["chosen"])
    parts = [
        f"{r['model']} {r['val_corr_sum']:.3f} ({r['seconds']:.1f} s)" if r["val_corr_sum"] is not None
        else f"{r['model']} {r.get('note', '')}"
        for r in table
    ]  # fmt: skip
    return f"chose {chosen} by the validation canonical correlation sum: " + "; ".join(parts)
