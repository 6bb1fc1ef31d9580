"""``model="auto"``: train the candidate families on one split and keep the best on validation.

Every candidate sees the same training rows and is scored on the same validation rows (the ones a
plain fit would hold out with this seed, or the validation set given), by the held-out canonical
correlation sum (:meth:`CorrelationModel.score`), so the choice is never below the best single
family it tried, on validation. Candidates run cheapest first: the closed-form ones, then
:data:`~mmcorr.config.PREFERRED_FAMILY`, then the rest. The time budget is
the estimator's ``auto_budget_s`` parameter (``TrainConfig.auto_budget_s``; default
:data:`AUTO_BUDGET_S`): once a candidate has a score, the next one starts only while the budget
lasts and, for an iterative family, when the slowest iterative family so far would still fit in
what is left (they share the architecture and the epoch budget; mvae measured 2-3x dccae per epoch,
so it is the one most often skipped). Each candidate's row in the table says what it scored, how
long it took, or why it did not run. A validation set with fewer than ``MIN_FIT_ROWS_PER_DIM``
fully paired samples per latent dimension cannot tell the families apart: the preferred family is
then fitted alone, and the table says so.

With ``gaussianize="auto"`` (the default) auto also chooses the inputs: it fits linear CCA with and
without the rank-Gaussian map (cross-validated on the training rows) and, when the map raises
linear CCA's held-out correlation sum by more than :data:`INPUTS_MIN_GAIN`, every candidate uses it
(the run's notes say which, with both scores). Linear CCA is the family the map changes most and
the cheapest to fit ten times; on the benchmarks dccae gained with the map where linear CCA gained
most ('sim', 4.74 -> 5.65) and moved within noise elsewhere ('three', 6.94 -> 6.90;
bench/RESULTS.md, "Frontier").
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mmcorr._cca import MIN_FIT_ROWS_PER_DIM
from mmcorr._validation import MmcorrError
from mmcorr.config import AUTO, AUTO_BUDGET_S, PREFERRED_FAMILY, resolve_lr
from mmcorr.config._models import INPUTS_NOTE, describe_choice
from mmcorr.data import PairedDataset
from mmcorr.estimator._data import check_dataset, holdout_rows
from mmcorr.estimator._fit import add_note
from mmcorr.estimator._prepare import COARSE_QUANTILE_ROWS
from mmcorr.models import MODEL_REGISTRY
from mmcorr.training import Callback, TrainingCancelled

if TYPE_CHECKING:
    from mmcorr.estimator import CorrelationModel

__all__ = ["AUTO", "AUTO_BUDGET_S", "AUTO_CANDIDATES", "INPUTS_MIN_GAIN", "fit_auto"]

#: The rank-Gaussian map is used when linear CCA's held-out correlation sum with it is more than
#: this share above the sum without it (cross-validated on the training rows: 12-15% above on the
#: known-factor simulation, 4-8% on the three-view digits, -6% to +0.2% on the digits demo).
INPUTS_MIN_GAIN = 0.02
#: Folds, and the most training rows, of the cross-validated linear CCA that decides the map.
INPUTS_FOLDS, INPUTS_MAX_ROWS = 5, 20_000
#: Above this many features in a modality (after ``pca_dim``) auto does not try the map: each of the
#: ten linear CCA fits would need a d x d covariance.
INPUTS_MAX_FEATURES = 2_000


def _candidate_order() -> tuple[str, ...]:
    """Every registered family, cheapest and most often best first: the closed-form ones, then the
    preferred family, then the rest in registry order (no family named here)."""
    names = list(MODEL_REGISTRY)
    key = {
        n: (0 if MODEL_REGISTRY[n].fits_in_closed_form else 1 if n == PREFERRED_FAMILY else 2) for n in names
    }
    return tuple(sorted(names, key=lambda n: (key[n], names.index(n))))


#: The families tried, in this order.
AUTO_CANDIDATES: tuple[str, ...] = _candidate_order()


class _OneProgress:
    """Passes each candidate's epoch records on as those of one fit: epochs counted across the
    candidates (a closed-form one counts one), with the candidate's name under ``model``, so a
    progress bar moves forward once instead of restarting per family, and a job store that keys
    progress rows by epoch keeps every candidate's."""

    def __init__(self, callbacks: Sequence[Callback], total: int) -> None:
        self.callbacks, self.total, self.offset, self.model = callbacks, total, 0, ""

    def on_epoch_end(self, record: dict[str, Any]) -> bool:
        rec = {**record, "epoch": self.offset + int(record.get("epoch", 1)), "epochs": self.total}
        return any([bool(cb.on_epoch_end({**rec, "model": self.model})) for cb in self.callbacks])


def fit_auto(
    est: CorrelationModel,
    train: PairedDataset,
    validation: PairedDataset | None,
    callbacks: Sequence[Callback],
    layers: Mapping[str, str] | None = None,
    budget_s: float | None = None,
    checkpoint_dir: Path | None = None,
    resume: bool = False,
) -> CorrelationModel:
    """``model="auto"``: fit the candidate families within ``budget_s`` seconds (None: the
    estimator's ``auto_budget_s``) and make ``est`` the best on validation (its learned
    attributes; ``model`` stays "auto", scikit-learn's contract, while ``configs_`` are the chosen
    family's, so a saved model loads as that family). ``est.auto_``: one dict per candidate
    (``model``, ``val_corr_sum`` or None, ``seconds``, ``chosen``, ``note``); the history's first
    record notes the choice (:func:`mmcorr.config._models.describe_choice`).
    checkpoint_dir / resume: each gradient-trained candidate checkpoints into (and, resuming,
    continues from) ``checkpoint_dir/<family>``, so an interrupted auto job resumes every
    candidate where it stopped instead of starting them all again. Returns ``est``."""
    check_dataset(train, "train")  # a data error is the data's, not one per candidate family
    if validation is not None:
        check_dataset(validation, "validation")
    if budget_s is None:
        budget_s = est.get_configs()[1].auto_budget_s
    best, table, inputs = _candidates(est, train, validation, callbacks, budget_s, (checkpoint_dir, resume))
    for key, value in vars(best).items():
        if key.endswith("_") and not key.startswith("_"):
            setattr(est, key, value)
    est.layers_ = dict(layers or {})
    est.auto_ = table
    if est.history_:
        add_note(est.history_[0], inputs, first=True)
        add_note(est.history_[0], describe_choice(table), first=True)
    return est


def _skip(budget_s: float, left: float, slowest: float, closed_form: bool) -> str | None:
    """Why the next candidate is not tried (None: try it)."""
    if left <= 0:
        return f"not tried: the {budget_s:g} s budget was spent"
    if not closed_form and slowest > left:
        return f"not tried: about {slowest:.0f} s needed (the slowest family so far), {left:.0f} s left"
    return None


def _too_few(paired: int, k: int) -> str | None:
    """Why families are not compared on a validation set of ``paired`` fully paired samples (None:
    compare them): below ``MIN_FIT_ROWS_PER_DIM`` per latent dimension its canonical correlations
    are mostly noise (at 40 samples auto then chose below dccae, bench/RESULTS.md "Frontier")."""
    need = MIN_FIT_ROWS_PER_DIM * k
    if paired >= need:
        return None
    return (
        f"not compared: {paired} validation pairs, fewer than {need} ({MIN_FIT_ROWS_PER_DIM} per latent "
        f"dimension) to compare families on, so {PREFERRED_FAMILY} (the best family on every benchmark) "
        "was fitted alone"
    )


def _candidates(
    est: CorrelationModel,
    train: PairedDataset,
    validation: PairedDataset | None,
    callbacks: Sequence[Callback],
    budget_s: float,
    checkpoints: tuple[Path | None, bool],
) -> tuple[CorrelationModel, list[dict[str, Any]], str | None]:
    """Every candidate's fit and validation score: (the best, the table, the note on the inputs)."""
    from sklearn.base import clone

    mcfg, tcfg, dcfg = est.get_configs()
    if validation is not None:
        tr, va = train, validation
    else:  # the rows a plain fit with this seed holds out, so every candidate sees the same ones
        k = int(mcfg.latent_dim)
        rows, val_rows = holdout_rows(train.n_samples, val_fraction=dcfg.val_fraction, k=k, seed=tcfg.seed)
        tr, va = train.subset(rows), train.subset(val_rows)
    # A job spec carries the rate "auto" resolves to (no family's): give each family its tuned one.
    lr = None if est.lr is None or est.lr == resolve_lr(AUTO) else est.lr
    too_few = _too_few(int(va.fully_paired.sum()), int(mcfg.latent_dim))
    span = {n: 1 if MODEL_REGISTRY[n].fits_in_closed_form else tcfg.epochs for n in AUTO_CANDIDATES}
    progress = _OneProgress(callbacks, sum(span.values()))
    started, slowest = time.monotonic(), 0.0
    inputs, inputs_note = _choose_inputs(est, tr, dcfg.gaussianize, int(mcfg.latent_dim))
    base = clone(est).set_params(gaussianize=inputs)  # every candidate with the inputs chosen
    table: list[dict[str, Any]] = []
    best: tuple[float, CorrelationModel] | None = None
    for family in AUTO_CANDIDATES:
        left = budget_s - (time.monotonic() - started)
        closed_form = MODEL_REGISTRY[family].fits_in_closed_form
        if too_few is not None:  # no comparison: the preferred family alone
            why = None if family == PREFERRED_FAMILY else too_few
        else:
            why = None if best is None else _skip(budget_s, left, slowest, closed_form)  # the first runs
        if why is not None:
            row: dict[str, Any] = {"model": family, "val_corr_sum": None, "seconds": 0.0, "note": why}
            fitted = None
        else:
            progress.model = family
            fitted, row = _try(base, family, lr, tr, va, [progress] if callbacks else [], checkpoints)
            slowest = slowest if closed_form or fitted is None else max(slowest, row["seconds"])
        progress.offset += span[family]
        table.append({**row, "chosen": False})
        score = row["val_corr_sum"]
        if fitted is not None and np.isfinite(score) and (best is None or score > best[0]):
            best = (score, fitted)
    if best is None:
        reasons = "; ".join(f"{r['model']}: {r.get('note', 'no finite score')}" for r in table)
        raise MmcorrError(f"model='auto' could not fit any candidate family ({reasons}).")
    chosen = best[1].get_configs()[0].model
    for row in table:
        row["chosen"] = row["model"] == chosen
    return best[1], table, inputs_note


def _try(
    est: CorrelationModel,
    family: str,
    lr: float | None,
    tr: PairedDataset,
    va: PairedDataset,
    callbacks: Sequence[Callback],
    checkpoints: tuple[Path | None, bool],
) -> tuple[CorrelationModel | None, dict[str, Any]]:
    """One candidate: (the fitted estimator or None, its table row without ``chosen``)."""
    from sklearn.base import clone

    t0 = time.monotonic()
    candidate = clone(est).set_params(model=family, lr=lr)
    try:
        folder, resume = checkpoints
        where = None if folder is None else Path(folder) / family
        candidate.fit(tr, validation=va, callbacks=callbacks, checkpoint_dir=where, resume=resume)
        score = float(candidate.score(va))
    except TrainingCancelled:
        raise
    except MmcorrError as exc:  # e.g. cca's latent size above the narrowest modality
        seconds = round(time.monotonic() - t0, 2)
        return None, {"model": family, "val_corr_sum": None, "seconds": seconds, "note": f"not run: {exc}"}
    row = {"model": family, "val_corr_sum": round(score, 4), "seconds": round(time.monotonic() - t0, 2)}
    return candidate, row


def _choose_inputs(est: CorrelationModel, tr: PairedDataset, setting: str, k: int) -> tuple[str, str | None]:
    """Resolve ``gaussianize``: ("on" / "off", a note for the run or None).

    "auto" compares linear CCA with and without the map by :data:`INPUTS_FOLDS`-fold
    cross-validation on (at most :data:`INPUTS_MAX_ROWS` of) the training rows. It stays off, untried,
    for images, text or audio alone (the map leaves them alone), a modality wider than
    :data:`INPUTS_MAX_FEATURES`, fewer training rows than fine quantiles need
    (:data:`~mmcorr.estimator._prepare.COARSE_QUANTILE_ROWS`) or folds too small to rank k directions
    on. The validation set alone (~15% of the rows) was too noisy to decide: on the digits demo it
    favoured the map by 8% in a seed where the map lowered the test figure.
    """
    from sklearn.base import clone

    if setting != "auto":
        return setting, None
    _, tcfg, dcfg = est.get_configs()
    rows = np.random.default_rng(int(tcfg.seed)).permutation(tr.n_samples)[:INPUTS_MAX_ROWS]
    folds = [np.sort(f) for f in np.array_split(rows, INPUTS_FOLDS)]
    tables = [n for n in tr.names if n not in tr.media]
    if not tables:  # the map leaves images, text and audio alone: nothing to decide
        return "off", None
    if tr.n_samples < COARSE_QUANTILE_ROWS or min(len(f) for f in folds) < MIN_FIT_ROWS_PER_DIM * k:
        return "off", None
    widest = max(min(d, dcfg.pca_dim or d) for d in tr.dims.values())
    if widest > INPUTS_MAX_FEATURES:
        return "off", (
            f"{INPUTS_NOTE}off: not tried on a modality of {widest} features (above "
            f"{INPUTS_MAX_FEATURES}, ten linear CCA fits would cost more than they tell); set "
            "gaussianize on to use them"
        )
    linear = next((n for n, c in MODEL_REGISTRY.items() if c.fits_in_closed_form), None)
    if linear is None:
        return "off", None
    sums: dict[str, float] = {}
    for inputs in ("off", "on"):
        scores = []
        for i, held in enumerate(folds):
            fit = np.sort(np.concatenate(folds[:i] + folds[i + 1 :]))
            probe = clone(est).set_params(model=linear, gaussianize=inputs)
            try:
                scores.append(
                    float(probe.fit(tr.subset(fit), validation=tr.subset(held)).score(tr.subset(held)))
                )
            except MmcorrError as exc:
                why = str(exc).replace(";", ",")  # a run's notes are joined with "; "
                return "off", f"{INPUTS_NOTE}off: linear CCA, which decides them, did not run ({why})"
        sums[inputs] = float(np.mean(scores))
    say = "on" if sums["on"] > (1 + INPUTS_MIN_GAIN) * sums["off"] else "off"
    return say, (
        f"{INPUTS_NOTE}{say}: linear CCA's {INPUTS_FOLDS}-fold cross-validated correlation sum "
        f"{sums['on']:.3f} with them, {sums['off']:.3f} without"
    )
