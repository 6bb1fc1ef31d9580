"""The model names, each family's tuned learning rate, the family ``model="auto"`` prefers, and when
each family is the right choice.

:data:`MODEL_GUIDE` is the one source of the per-family guidance: the ``--model`` help of
``mmcorr train`` / ``mmcorr jobs submit`` (through ``ModelConfig.model``'s help), the Train page's
"Which model?" panel and the README's section of that name all read or quote it. Its figures are the
held-out canonical correlation sums of ``bench/RESULTS.md`` ("Frontier": ``sim``, ``small``,
``three``, ``digits-noisy``; "Raw modalities": digits-media at 20 and 60 epochs); higher is better.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, get_args

__all__ = [
    "AUTO",
    "AUTO_BUDGET_S",
    "MODEL_GUIDE",
    "MODEL_NAMES",
    "PREFERRED_FAMILY",
    "RECOMMENDED_LR",
    "ModelGuide",
    "ModelName",
    "INPUTS_NOTE",
    "describe_choice",
    "lr_text",
    "model_help",
    "parse_choice",
    "parse_inputs",
]

ModelName = Literal["cca", "ae", "corrae", "dccae", "mvae", "auto"]
MODEL_NAMES: tuple[str, ...] = get_args(ModelName)
#: The ``model`` value that asks for the automatic choice among the families (the default).
AUTO = "auto"
#: Default seconds ``model="auto"`` may spend on its candidates (``TrainConfig.auto_budget_s``).
AUTO_BUDGET_S = 600.0
#: The family ``model="auto"`` tries right after the closed-form ones: the best on every benchmark
#: of bench/RESULTS.md, so a spent budget still leaves the most likely winner tried.
PREFERRED_FAMILY = "dccae"
#: Each family's tuned AdamW learning rate, used by ``CorrelationModel(lr=None)`` (the default).
#: dccae's correlation objective needs ~5x the autoencoders' rate: at 1e-3 it was still improving
#: after 100 epochs and often left one canonical direction unlearned (test correlation < 0), while
#: the VAE's KL term destabilises at 3e-3 (bench/RESULTS.md, Quality).
RECOMMENDED_LR: dict[str, float] = {"cca": 1e-3, "ae": 1e-3, "corrae": 1e-3, "dccae": 5e-3, "mvae": 1e-3}


@dataclass(frozen=True)
class ModelGuide:
    """What a family is (``summary``, one line) and when it is the right choice (``when``, from the
    measured figures: held-out canonical correlation sums, higher is better)."""

    summary: str
    when: str


MODEL_GUIDE: dict[str, ModelGuide] = {
    "auto": ModelGuide(
        "Automatic choice: trains every family below on one split (cheapest first, within the "
        "'auto_budget_s' time budget) and keeps the best by validation canonical correlation.",
        "You do not know which family fits your data. It costs 3-15x one dccae fit (digits-noisy: 18 s "
        "vs 1.4 s when dccae stops early), matched the best family on every benchmark (small 6.47, "
        "three 6.90 vs 6.94, digits-noisy 2.71: dccae) and beat it on 'sim' (5.65 vs 4.74, every "
        "factor recovered at least as well as by cca), where it turned the rank-Gaussian inputs on. "
        "The run lists every candidate's score and time. With under 5 validation pairs per latent "
        "dimension it fits dccae alone.",
    ),
    "cca": ModelGuide(
        "Linear CCA (closed form, seconds): regularised linear CCA, MCCA for 3+ modalities; the "
        "honest baseline every deep model must beat.",
        "The relation is close to linear, you need an answer in seconds, or a baseline. On 'sim' "
        "(linear factors behind monotone warps) it beats every reconstruction family (2.62 vs ae 2.37, "
        "corrae 2.48, mvae 1.72) and recovers the weak factors better than dccae; with many more "
        "features than training samples its ridge overfits ('small', 25 rows x 120 features: 2.97, "
        "the lowest).",
    ),
    "ae": ModelGuide(
        "Joint multimodal autoencoder: one shared code reconstructs every modality (modality dropout).",
        "One modality should reconstruct or predict the others, or some samples lack a modality. "
        "Below cca on 'sim' (2.37 vs 2.62), above it on 'small' (5.20 vs 2.97), 'three' (4.10 vs 3.59) "
        "and 'digits-noisy' (1.34 vs 1.31); on images / text / audio it needs about 60 epochs "
        "(20: 3.45 vs cca 4.04; 60: 4.91).",
    ),
    "corrae": ModelGuide(
        "Correlational autoencoder (CorrNet): reconstruction plus a term that pulls the modalities' "
        "codes together.",
        "You want reconstruction and correlated codes at once: the best reconstruction family on "
        "'three' (4.44) and 'digits-noisy' (1.54), but below cca on 'sim' (2.48 vs 2.62), below ae and "
        "mvae on 'small' (4.18) and unstable on images / text / audio (3.19 +- 0.55 at 20 epochs, "
        "below cca's 4.04).",
    ),
    "dccae": ModelGuide(
        "Deep CCA with autoencoders: maximises the codes' canonical correlation, kept honest by "
        "reconstruction.",
        "Matching samples across modalities and the most shared correlation: the best family on every "
        "benchmark ('sim' 4.74, 'small' 6.47, 'three' 6.94, 'digits-noisy' 2.71; images / text / audio "
        "7.17 vs cca 4.04) and never below linear CCA on validation. It keeps a weak linear factor "
        "when that beats its weakest directions on validation; on 'sim' it still recovers the weakest "
        "factor below cca (R2 0.53 vs 0.61) unless the inputs are rank-Gaussian (0.66), as auto chose.",
    ),
    "mvae": ModelGuide(
        "Multimodal VAE (product of experts): a probabilistic shared space that encodes from any "
        "subset of the modalities.",
        "Partially paired data, or encoding from whichever modalities a sample has; give it many "
        "epochs. The best reconstruction family on 'small' (5.38) and, at 60 epochs, the best "
        "image->text Recall@1 on images / text / audio (0.110 vs dccae 0.097), but the worst on 'sim' "
        "(1.72: the two weak factors lost) and the slowest (2-3x dccae's time per epoch).",
    ),
}


def model_help() -> str:
    """The ``model`` option's help: each name with what it is (the README's "Which model?" and the
    Train page's panel add when each is the right choice)."""
    return " ".join(f"{name}: {MODEL_GUIDE[name].summary}" for name in MODEL_NAMES)


def lr_text() -> str:
    """The tuned rates in words for the ``lr`` option's help: the exceptions, then the common rate."""
    rates = list(RECOMMENDED_LR.values())
    common = max(rates, key=rates.count)
    others = [f"{v:g} for {k}" for k, v in RECOMMENDED_LR.items() if v != common]
    return ", ".join([*others, f"{common:g} for the others"])


_CHOICE = "chose {} by the validation canonical correlation sum: "
_CHOICE_RE = re.compile(r"chose (\w+) by the validation canonical correlation sum: ([^;]*)")
_SCORED_RE = re.compile(r"(\w+) (\S+) \(([\d.]+) s\)")


def describe_choice(table: Sequence[Mapping[str, Any]]) -> str:
    """One line for a run's notes: ``model="auto"``'s choice and every candidate's validation score
    (or why it did not run), in the order tried; :func:`parse_choice` reads it back. A candidate's
    note loses any ';' and '|' (a run's notes are joined with '; ', candidates with ' | ')."""
    chosen = next(r["model"] for r in table if r["chosen"])
    parts = [
        f"{r['model']} {r['val_corr_sum']:.3f} ({r['seconds']:.1f} s)" if r["val_corr_sum"] is not None
        else f"{r['model']} {str(r.get('note', '')).replace(';', ',').replace('|', '/')}"
        for r in table
    ]  # fmt: skip
    return _CHOICE.format(chosen) + " | ".join(parts)


def parse_choice(notes: str) -> list[dict[str, Any]]:
    """The candidate table in a run's model notes (``model``, ``val_corr_sum`` or None, ``seconds``
    or None, ``chosen``, ``note``); [] when the run was not ``model="auto"``'s choice."""
    found = _CHOICE_RE.search(notes)
    if found is None:
        return []
    chosen, rows = found.group(1), []
    for part in found.group(2).strip().split(" | "):
        scored = _SCORED_RE.fullmatch(part)
        name, _, note = part.partition(" ")
        score, seconds = (float(scored.group(2)), float(scored.group(3))) if scored else (None, None)
        rows.append(
            {"model": name, "val_corr_sum": score, "seconds": seconds, "chosen": name == chosen,
             "note": "" if scored else note}
        )  # fmt: skip
    return rows


#: How model auto's note on its choice of inputs begins (:mod:`mmcorr.estimator._auto`), then "on"
#: or "off" and why; :func:`parse_inputs` finds it among a run's notes.
INPUTS_NOTE = "rank-Gaussian inputs "
_INPUTS_RE = re.compile(re.escape(INPUTS_NOTE) + r"(?:on|off)[^;]*")


def parse_inputs(notes: str) -> str | None:
    """Model auto's note on the rank-Gaussian inputs in a run's notes; None when it made none (a
    family asked for by name, or ``gaussianize`` given as on / off)."""
    found = _INPUTS_RE.search(notes)
    return found.group(0).strip() if found else None
