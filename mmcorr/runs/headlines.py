"""What a run's headline says beyond its numbers: the memorisation gap and prediction vs baseline.

One definition for the dashboard, the report and ``mmcorr train``'s summary: each reads the typed
results (:class:`~mmcorr.runs.schema.RunMetrics`) through :func:`fit_gap` and
:func:`prediction_notes`, so the three say the same thing in the same words.
"""

from __future__ import annotations

from dataclasses import dataclass

from mmcorr.runs.schema import Direction, HeldOutResults, RunMetrics

__all__ = ["MEMORISATION_GAP", "FitGap", "fit_gap", "prediction_notes"]

#: Mean per-component gap between training-pair and held-out canonical correlation above which a
#: run is flagged as memorising its training pairs. Measured (bench/RESULTS.md, "Post-hoc
#: alignment", 5 families x 3 datasets x seeds 0-2, 100-epoch budget): the runs whose held-out
#: total stays near their training total (digits-halves dccae / mvae / cca, the synthetic linear
#: CCA, ...) sit at 0.04-0.25; every deep run on digits-noisy but mvae (the issue's example among
#: them, 0.62-0.80 for dccae / corrae) and its raw-feature CCA sit at 0.41-0.80, with a held-out
#: total under 40% of the training total. 0.3 sits in the gap between the two groups.
MEMORISATION_GAP = 0.3


@dataclass(frozen=True)
class FitGap:
    """Training, validation and held-out canonical correlation sums of a run (mean over pairs).

    components: canonical components per pair (k). gap: ``(train - held_out) / k``, the mean
    per-component drop from training pairs to test pairs, in [-1, 1]. flagged: gap above
    :data:`MEMORISATION_GAP`.
    """

    train: float
    validation: float | None
    held_out: float
    components: int

    @property
    def gap(self) -> float:
        return (self.train - self.held_out) / max(self.components, 1)

    @property
    def flagged(self) -> bool:
        return self.gap > MEMORISATION_GAP

    def summary(self) -> str:
        """One line: the three sums side by side."""
        val = "" if self.validation is None else f" / validation {self.validation:.2f}"
        return (
            f"canonical correlation sum (of {self.components}): training {self.train:.2f}{val} "
            f"/ held-out {self.held_out:.2f}"
        )

    def message(self) -> str | None:
        """The warning to show when flagged, else None."""
        if not self.flagged:
            return None
        return (
            f"training {self.train:.2f} / held-out {self.held_out:.2f}: the model fits its training "
            "pairs far better than new ones (memorisation) — fewer epochs, more regularisation "
            "(dropout, weight decay) or a smaller latent size may help."
        )


def fit_gap(metrics: RunMetrics) -> FitGap | None:
    """The run's :class:`FitGap`, or None for runs that did not record training-pair correlations."""
    s = metrics.results.summary
    canon = list(metrics.results.canonical.values())
    if s.canonical_train_total is None or s.canonical_total is None or not canon:
        return None
    k = round(sum(len(c.correlations) for c in canon) / len(canon))
    return FitGap(s.canonical_train_total, s.canonical_val_total, s.canonical_total, k)


def prediction_notes(results: HeldOutResults) -> dict[Direction, str]:
    """Direction -> a warning for every cross-modal R^2 below its predict-the-training-mean baseline."""
    out: dict[Direction, str] = {}
    for direction, r2 in results.prediction_r2.items():
        base = results.prediction_baseline_r2.get(direction)
        if r2 is not None and base is not None and r2 < base:
            out[direction] = (
                f"{direction.key}: R² {r2:.3f} is below the {base:.3f} of predicting the training "
                f"mean of {direction.target}: the shared space does not predict it."
            )
    return out
