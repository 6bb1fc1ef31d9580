"""Quality with margins on the synthetic demo (known canonical-correlation ceiling)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from mmcorr import CorrelationModel
from mmcorr.data.types import PairedDataset

Measure = Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray], float]
FAST = {"hidden": (64, 64), "epochs": 40, "device": "cpu"}


def _score(measure: Measure, model: CorrelationModel, train: PairedDataset, test: PairedDataset) -> float:
    zt, ze = model.transform(train), model.transform(test)
    return measure(zt["a"], zt["b"], ze["a"], ze["b"])


def test_dccae_reaches_90_percent_of_the_ceiling_and_beats_linear_cca(
    synthetic_ab: tuple[PairedDataset, PairedDataset, np.ndarray], heldout_sum: Measure
) -> None:
    train, test, ceiling = synthetic_ab
    deep = _score(heldout_sum, CorrelationModel("dccae", 5, **FAST).fit(train), train, test)  # type: ignore[arg-type]
    linear = _score(heldout_sum, CorrelationModel("cca", 5, device="cpu").fit(train), train, test)
    assert deep >= 0.9 * ceiling.sum(), (deep, ceiling.sum())
    assert deep > linear + 0.1, (deep, linear)


def test_model_trained_on_shuffled_pairs_scores_near_the_null(
    synthetic_ab: tuple[PairedDataset, PairedDataset, np.ndarray], heldout_sum: Measure
) -> None:
    train, test, _ = synthetic_ab
    perm = np.random.default_rng(0).permutation(train.n_samples)
    shuffled = PairedDataset(
        names=train.names,
        values={"a": train.values["a"], "b": train.values["b"][perm]},
        features=train.features,
        ids=train.ids,
        mask=train.mask,
    )
    model = CorrelationModel("dccae", 5, **{**FAST, "epochs": 10}).fit(shuffled)  # type: ignore[arg-type]
    # Held-out pairs are intact: only a model that learned nothing real stays near zero. Five
    # components of |r| ~ 1/sqrt(400) each give ~0.25 under the null.
    assert _score(heldout_sum, model, shuffled, test) < 0.6


@pytest.mark.parametrize("name", ["ae", "mvae"])
def test_partially_paired_models_learn_the_shared_signal(
    name: str, synthetic_ab: tuple[PairedDataset, PairedDataset, np.ndarray], heldout_sum: Measure
) -> None:
    train, test, ceiling = synthetic_ab
    mask = train.mask.copy()
    mask[: train.n_samples // 3, 1] = False  # a third of the training samples lack modality b
    values = {"a": train.values["a"], "b": np.where(mask[:, 1:], train.values["b"], 0.0).astype(np.float32)}
    partial = PairedDataset(
        names=train.names, values=values, features=train.features, ids=train.ids, mask=mask
    )
    model = CorrelationModel(name, 5, **FAST).fit(partial)  # type: ignore[arg-type]
    assert _score(heldout_sum, model, train, test) >= 0.5 * ceiling.sum()
