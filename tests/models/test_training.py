"""The trainer: divergence, cancel, checkpoint + resume, determinism, early stopping."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import pytest
import torch
from torch import Tensor

from mmcorr import MmcorrError
from mmcorr.config import ModelConfig, TrainConfig
from mmcorr.losses import LossOutput
from mmcorr.models import DeepCCAE, MultimodalModel
from mmcorr.training import (
    CHECKPOINT_FILE,
    TensorData,
    Trainer,
    TrainingCancelled,
    TrainingDiverged,
    resolve_device,
)

NAMES = ["a", "b"]
DIMS = {"a": 6, "b": 5}


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    torch.set_num_threads(1)


def _data(n: int = 240, seed: int = 0) -> TensorData:
    g = torch.Generator().manual_seed(seed)
    shared = torch.randn(n, 2, generator=g)
    xs = {
        k: torch.tanh(shared @ torch.randn(2, d, generator=g)) + 0.3 * torch.randn(n, d, generator=g)
        for k, d in DIMS.items()
    }
    return TensorData(xs, torch.ones(n, 2, dtype=torch.bool))


def _model(seed: int = 0) -> DeepCCAE:
    torch.manual_seed(seed)
    return DeepCCAE(NAMES, DIMS, ModelConfig(latent_dim=2, hidden=(16,)))


def _cfg(**kw: Any) -> TrainConfig:
    base: dict[str, Any] = {
        "epochs": 4,
        "batch_size": 60,
        "patience": 0,
        "device": "cpu",
        "checkpoint_every": 0,
    }
    return TrainConfig(**{**base, **kw})


class _NanAt(MultimodalModel):
    """Loss whose 'recon' part becomes NaN from a given epoch (counted by calls in train mode)."""

    needs_full_pairs: ClassVar[bool] = True

    def __init__(self, nan_from_call: int) -> None:
        super().__init__(NAMES, DIMS, ModelConfig(latent_dim=2, hidden=()))
        self.w = torch.nn.Parameter(torch.ones(1))
        self.calls = 0
        self.nan_from_call = nan_from_call

    def loss(self, xs: dict[str, Tensor], mask: Tensor) -> LossOutput:
        if self.training:
            self.calls += 1
        recon = (self.w * xs["a"]).pow(2).mean()
        if self.calls >= self.nan_from_call:
            recon = recon * float("nan")
        return LossOutput(total=recon + self.w.pow(2).sum(), parts={"recon": recon.detach()}, n=len(mask))


def test_nan_loss_raises_training_diverged_naming_epoch_and_part() -> None:
    # 4 batches per epoch: call 9 is the first batch of epoch 3.
    with pytest.raises(TrainingDiverged, match=r"epoch 3: the training loss part 'recon' became nan"):
        Trainer(_cfg()).fit(_NanAt(nan_from_call=9), _data(), _data(seed=1))
    assert issubclass(TrainingDiverged, MmcorrError)


def test_callback_cancel_stops_after_that_epoch_and_keeps_history() -> None:
    seen: list[dict[str, Any]] = []

    class Stop:
        def on_epoch_end(self, record: dict[str, Any]) -> bool | None:
            seen.append(record)
            return record["epoch"] == 2

    with pytest.raises(TrainingCancelled) as info:
        Trainer(_cfg(epochs=10), callbacks=[Stop()]).fit(_model(), _data(), _data(seed=1))
    assert [r["epoch"] for r in info.value.history] == [1, 2]
    assert len(seen) == 2
    rec = seen[0]
    assert rec["epochs"] == 10 and rec["seconds"] > 0
    assert {"total", "corr", "recon"} <= set(rec["train"]) and {"total", "corr"} <= set(rec["val"])


def test_same_seed_gives_identical_weights_and_other_seed_differs() -> None:
    def run(seed: int) -> dict[str, Tensor]:
        model = _model(seed)
        Trainer(_cfg(seed=seed)).fit(model, _data(), _data(seed=1))
        return model.state_dict()

    first, again, other = run(0), run(0), run(1)
    assert all(torch.equal(first[k], again[k]) for k in first)
    assert not all(torch.equal(first[k], other[k]) for k in first)


def test_checkpoint_and_resume_continue_from_saved_epoch_with_history(tmp_path: Path) -> None:
    class StopAt3:
        def on_epoch_end(self, record: dict[str, Any]) -> bool | None:
            return record["epoch"] == 3

    train, val = _data(), _data(seed=1)
    with pytest.raises(TrainingCancelled):
        Trainer(_cfg(epochs=5, checkpoint_every=2), callbacks=[StopAt3()], checkpoint_dir=tmp_path).fit(
            _model(), train, val
        )
    assert (tmp_path / CHECKPOINT_FILE).is_file()
    state = torch.load(tmp_path / CHECKPOINT_FILE, weights_only=True)
    assert state["epoch"] == 2

    epochs_run: list[int] = []

    class Log:
        def on_epoch_end(self, record: dict[str, Any]) -> bool | None:
            epochs_run.append(record["epoch"])
            return None

    resumed = _model(seed=5)  # different init: the checkpoint's weights must replace it
    trainer = Trainer(
        _cfg(epochs=5, checkpoint_every=2), callbacks=[Log()], checkpoint_dir=tmp_path, resume=True
    )
    history = trainer.fit(resumed, train, val)
    assert epochs_run == [3, 4, 5]
    assert [r["epoch"] for r in history] == [1, 2, 3, 4, 5]

    straight = _model()
    Trainer(_cfg(epochs=5)).fit(straight, train, val)
    # Same RNG and optimiser state restored: the resumed run equals the uninterrupted one.
    assert all(
        torch.allclose(resumed.state_dict()[k], straight.state_dict()[k], atol=1e-6)
        for k in straight.state_dict()
    )


def test_resume_with_a_checkpoint_of_another_model_fails_clearly(tmp_path: Path) -> None:
    Trainer(_cfg(epochs=2, checkpoint_every=1), checkpoint_dir=tmp_path).fit(_model(), _data())
    torch.manual_seed(0)
    wider = DeepCCAE(NAMES, DIMS, ModelConfig(latent_dim=2, hidden=(32,)))
    with pytest.raises(MmcorrError, match="written for a different model"):
        Trainer(_cfg(epochs=3), checkpoint_dir=tmp_path, resume=True).fit(wider, _data())


def test_early_stopping_restores_best_weights() -> None:
    val = _data(seed=1)
    trainer = Trainer(_cfg(epochs=60, patience=2, lr=0.05))
    model = _model()
    history = trainer.fit(model, _data(), val)
    assert trainer.stopped_early and len(history) < 60
    best = min(r["val"]["total"] for r in history)
    assert history[trainer.best_epoch - 1]["val"]["total"] == best
    assert abs(trainer.evaluate(model, val)["total"] - best) < 1e-4


def test_val_metric_is_reported_per_epoch() -> None:
    history = Trainer(_cfg(epochs=2), val_metric=lambda m: 0.25).fit(_model(), _data(), _data(seed=1))
    assert [r["val_corr"] for r in history] == [0.25, 0.25]


def test_unavailable_device_is_rejected() -> None:
    assert resolve_device("cpu").type == "cpu"
    if not torch.cuda.is_available():
        with pytest.raises(MmcorrError, match="'device' parameter is 'cuda'"):
            resolve_device("cuda")


class _Scripted:
    """A val_metric returning scripted values in call order and keeping each epoch's weights."""

    def __init__(self, values: list[float]) -> None:
        self.values = values
        self.states: list[dict[str, Tensor]] = []

    def __call__(self, model: MultimodalModel) -> float:
        self.states.append({k: v.detach().clone() for k, v in model.state_dict().items()})
        return self.values[len(self.states) - 1]


def test_metric_monitor_stops_on_the_metric_and_restores_its_best_epoch() -> None:
    metric = _Scripted([0.1, 0.5, 0.3, 0.2, 0.1, 0.9])
    trainer = Trainer(_cfg(epochs=6, patience=3), val_metric=metric, monitor="metric")
    model = _model()
    history = trainer.fit(model, _data(), _data(seed=1))
    assert [r["val_corr"] for r in history] == [0.1, 0.5, 0.3, 0.2, 0.1]
    assert trainer.stopped_early and trainer.best_epoch == 2
    assert all(torch.equal(model.state_dict()[k], metric.states[1][k]) for k in metric.states[1])


def test_metric_monitor_counts_only_gains_above_min_delta_and_skips_nan() -> None:
    metric = _Scripted([0.5, 0.505, float("nan"), 0.509, 0.6])
    trainer = Trainer(_cfg(epochs=5, patience=3), val_metric=metric, monitor="metric", min_delta=0.01)
    trainer.fit(_model(), _data(), _data(seed=1))
    assert trainer.stopped_early and trainer.best_epoch == 1


def test_metric_monitor_without_a_metric_is_rejected() -> None:
    with pytest.raises(MmcorrError, match="needs a 'val_metric'"):
        Trainer(_cfg(), monitor="metric")
