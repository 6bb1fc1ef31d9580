"""The model-agnostic training loop: AdamW on mini-batches, early stopping, callbacks, checkpoints.

The trainer knows the :class:`~mmcorr.models.base.MultimodalModel` contract only (``loss(xs, mask)``
returning a :class:`~mmcorr.losses.LossOutput`); it logs whatever loss parts a model reports.
Data comes as :class:`Batches`: anything with ``n`` rows, their presence ``mask`` and
``batch(idx)`` -> :class:`TensorData` on the device (tensors already there, or the estimator's raw
rows preprocessed per batch); a mini-batch is one call (no per-sample Python work). Everything stochastic comes from the seed: weights (seeded by the caller before the
model is built), batch order (a dedicated ``torch.Generator``) and dropout (torch's global RNG).
"""

from __future__ import annotations

import io
import json
import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

import torch
from torch import Tensor, nn

from mmcorr._io import atomic_write_bytes
from mmcorr._validation import MmcorrError
from mmcorr.config import TrainConfig
from mmcorr.data._chunks import EVAL_ROWS
from mmcorr.losses import LossPart
from mmcorr.models.base import MultimodalModel

__all__ = [
    "CHECKPOINT_FILE",
    "Batches",
    "Callback",
    "TensorData",
    "Trainer",
    "TrainingCancelled",
    "TrainingDiverged",
    "resolve_device",
]

#: File name of the resumable checkpoint inside ``checkpoint_dir``.
CHECKPOINT_FILE = "checkpoint.pt"
_CHECKPOINT_FORMAT = 1
# Validation is evaluated in chunks of this many rows: bounded memory on big validation sets, while
# chunks stay large enough for the covariance-based losses to be meaningful.
_EVAL_CHUNK = EVAL_ROWS


class Callback(Protocol):
    """Anything with ``on_epoch_end(record) -> bool | None``; returning True cancels training.

    record = {"epoch": int (1-based), "epochs": int, "train": {part: float}, "val": {part: float},
    "val_corr": float | None, "seconds": float}.
    """

    def on_epoch_end(self, record: dict[str, Any]) -> bool | None: ...


class TrainingCancelled(Exception):
    """A callback asked training to stop. ``history`` holds the epochs completed before it."""

    def __init__(self, epoch: int, history: list[dict[str, Any]]) -> None:
        super().__init__(f"Training was cancelled after epoch {epoch}.")
        self.epoch = epoch
        self.history = history


class TrainingDiverged(MmcorrError):
    """A loss became NaN or infinite; the message names the epoch and the loss part."""


@dataclass
class TensorData:
    """Preprocessed data on the device: ``xs`` name -> float32 (n, d), ``mask`` bool (n, M)."""

    xs: dict[str, Tensor]
    mask: Tensor

    @property
    def n(self) -> int:
        return int(self.mask.shape[0])

    def take(self, idx: Tensor) -> TensorData:
        """Rows ``idx`` (int64 tensor on the same device), one gather per tensor."""
        return TensorData({k: v[idx] for k, v in self.xs.items()}, self.mask[idx])

    def batch(self, idx: Tensor) -> TensorData:
        """Rows ``idx`` (int64 tensor on any device): :meth:`take` on this data's device."""
        return self.take(idx.to(self.mask.device))

    def batches(self, order: Sequence[Tensor]) -> Iterator[TensorData]:
        """:meth:`batch` of each index tensor of ``order`` in turn."""
        return (self.batch(idx) for idx in order)


class Batches(Protocol):
    """The data the trainer reads: ``n`` rows, their presence ``mask`` (bool (n, M) tensor on the
    training device), ``batch(idx)`` -> those rows (int64 tensor of positions, any device) as
    :class:`TensorData` on the device, and ``batches(order)`` -> the batches of a sequence of
    index tensors in that order (an implementation may prepare the next while the model trains on
    this one). TensorData is one; the estimator's ``RowBatches`` keeps the caller's raw rows and
    preprocesses each batch."""

    mask: Tensor

    @property
    def n(self) -> int: ...

    def batch(self, idx: Tensor) -> TensorData: ...

    def batches(self, order: Sequence[Tensor]) -> Iterator[TensorData]: ...


def resolve_device(device: str) -> torch.device:
    """``auto`` -> cuda if available, then mps, then cpu; otherwise the named device (checked)."""
    if device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise MmcorrError(
            "The 'device' parameter is 'cuda' but no CUDA GPU is available. Use 'auto' or 'cpu'."
        )
    if device == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise MmcorrError("The 'device' parameter is 'mps' but MPS is not available. Use 'auto' or 'cpu'.")
    if device not in ("cpu", "cuda", "mps"):
        raise MmcorrError(
            f"The 'device' parameter must be one of 'auto', 'cpu', 'cuda', 'mps'. Got {device!r}."
        )
    return torch.device(device)


def _clone_state(model: nn.Module) -> dict[str, Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _check_finite(parts: dict[str, float], epoch: int, where: str) -> None:
    # Name the first non-finite component part (the total is only non-finite because of one of them).
    bad = [k for k, v in parts.items() if not math.isfinite(v)]
    if not bad:
        return
    named = [k for k in bad if k != LossPart.TOTAL.value] or bad
    raise TrainingDiverged(
        f"Training diverged at epoch {epoch}: the {where} loss part '{named[0]}' became "
        f"{parts[named[0]]}. Lower the learning rate ('lr'), raise 'cca_reg' or 'grad_clip', "
        "or check the data for extreme values."
    )


class Trainer:
    """Trains one model with AdamW.

    config: a :class:`~mmcorr.config.TrainConfig` (epochs, batch_size, lr, weight_decay, patience,
        grad_clip, seed, device, threads, checkpoint_every).
    callbacks: receive every epoch record; any returning True cancels (TrainingCancelled).
    checkpoint_dir: where ``checkpoint.pt`` is written every ``checkpoint_every`` epochs (model,
        optimizer, RNG states, early-stopping state and history; tensors and plain types only, so
        ``torch.load(weights_only=True)`` reads it). None disables checkpoints.
    resume: continue from ``checkpoint_dir/checkpoint.pt`` when it exists (else start afresh).
    val_metric: model -> float computed after each epoch (the estimator's held-out correlation);
        reported as ``record["val_corr"]`` (None when not given).
    monitor: what early stopping watches. ``"loss"``: the validation ``total`` loss (the training
        loss when there is no validation data), lower is better. ``"metric"``: ``val_metric``,
        higher is better (an epoch where the metric is not finite is no improvement).
    min_delta: an epoch counts as an improvement only when it beats the best score by more than
        this (loss units or metric units), 0-1; 0 counts any improvement.

    Training stops after ``patience`` epochs without an improvement; the best epoch's weights are
    restored at the end.
    """

    def __init__(
        self,
        config: TrainConfig,
        *,
        callbacks: Sequence[Callback] = (),
        checkpoint_dir: Path | None = None,
        resume: bool = False,
        val_metric: Callable[[MultimodalModel], float] | None = None,
        monitor: Literal["loss", "metric"] = "loss",
        min_delta: float = 0.0,
    ) -> None:
        if monitor == "metric" and val_metric is None:
            raise MmcorrError("Early stopping on the validation metric needs a 'val_metric' function.")
        self.config = config
        self.monitor = monitor
        self.min_delta = float(min_delta)
        self.callbacks = list(callbacks)
        self.checkpoint_dir = None if checkpoint_dir is None else Path(checkpoint_dir)
        self.resume = resume
        self.val_metric = val_metric
        self.history: list[dict[str, Any]] = []
        self.best_epoch = 0
        self.stopped_early = False

    # -- helpers -----------------------------------------------------------------------------------
    @torch.no_grad()
    def evaluate(self, model: MultimodalModel, data: Batches) -> dict[str, float]:
        """Mean loss parts over ``data`` in eval mode (chunked), as floats."""
        was_training = model.training
        model.eval()
        sums: dict[str, Tensor] = {}
        chunks = max(1, math.ceil(data.n / _EVAL_CHUNK))
        order = torch.tensor_split(torch.arange(data.n), chunks)
        for idx, part in zip(order, data.batches(order), strict=True):
            out = model.loss(*_unpack(part))
            for k, v in out.detached_parts().items():
                sums[k] = sums.get(k, 0.0) + v * idx.numel()
        model.train(was_training)
        return {k: float(v) / data.n for k, v in sums.items()}

    def _score(self, parts: dict[str, float], val_corr: float | None) -> float:
        """The early-stopping score of an epoch, lower is better (the negated metric, or the loss)."""
        if self.monitor == "metric":
            return -val_corr if val_corr is not None and math.isfinite(val_corr) else math.inf
        return parts[LossPart.TOTAL.value]

    def _save_checkpoint(self, state: dict[str, Any]) -> None:
        assert self.checkpoint_dir is not None
        buf = io.BytesIO()
        torch.save(state, buf)
        atomic_write_bytes(self.checkpoint_dir / CHECKPOINT_FILE, buf.getvalue())

    def _load_checkpoint(self, device: torch.device) -> dict[str, Any] | None:
        if not self.resume or self.checkpoint_dir is None:
            return None
        path = self.checkpoint_dir / CHECKPOINT_FILE
        if not path.exists():
            return None
        try:
            state: dict[str, Any] = torch.load(path, map_location=device, weights_only=True)
        except Exception as exc:
            raise MmcorrError(
                f"The checkpoint {path} cannot be read ({exc}). Delete it to start afresh."
            ) from None
        if state.get("format") != _CHECKPOINT_FORMAT:
            raise MmcorrError(
                f"The checkpoint {path} has format {state.get('format')!r}; this version reads "
                f"format {_CHECKPOINT_FORMAT}. Delete it to start afresh."
            )
        return state

    # -- the loop ----------------------------------------------------------------------------------
    def _resume_into(
        self, model: MultimodalModel, opt: torch.optim.Optimizer, gen: torch.Generator, device: torch.device
    ) -> _Progress | None:
        """Load the checkpoint (when resuming and one exists) into model, optimizer and RNGs."""
        ckpt = self._load_checkpoint(device)
        if ckpt is None:
            return None
        try:
            model.load_state_dict(ckpt["model"])
            opt.load_state_dict(ckpt["optimizer"])
        except (RuntimeError, ValueError, KeyError) as exc:
            raise MmcorrError(
                f"The checkpoint in {self.checkpoint_dir} was written for a different model or "
                f"configuration ({str(exc).splitlines()[0]}). Delete it or train without resume."
            ) from None
        self.best_epoch = int(ckpt["best_epoch"])
        self.history = json.loads(ckpt["history"])
        torch.set_rng_state(ckpt["rng"].cpu())
        gen.set_state(ckpt["gen"].cpu())
        return _Progress(
            start=int(ckpt["epoch"]) + 1,
            best_state=ckpt["best_state"],
            best_score=float(ckpt["best_loss"]),
            bad_epochs=int(ckpt["bad_epochs"]),
        )

    def _train_epoch(
        self,
        model: MultimodalModel,
        opt: torch.optim.Optimizer,
        train: Batches,
        gen: torch.Generator,
    ) -> dict[str, float]:
        """One pass over ``train`` in near-equal shuffled batches; the mean loss parts as floats."""
        cfg = self.config
        params = [p for p in model.parameters() if p.requires_grad]
        n_batches = max(1, train.n // cfg.batch_size)  # near-equal batches, none smaller than batch_size
        perm = torch.randperm(train.n, generator=gen)  # on the CPU: the generator's order
        sums: dict[str, Tensor] = {}
        order = torch.tensor_split(perm, n_batches)
        for idx, batch in zip(order, train.batches(order), strict=True):
            out = model.loss(*_unpack(batch))
            opt.zero_grad(set_to_none=True)
            out.total.backward()
            if cfg.grad_clip > 0:
                nn.utils.clip_grad_norm_(params, cfg.grad_clip)
            opt.step()
            for k, v in out.detached_parts().items():
                sums[k] = sums.get(k, 0.0) + v * idx.numel()
        # One device sync per epoch: parts stay on the device until here.
        return {k: float(v) / train.n for k, v in sums.items()}

    def fit(self, model: MultimodalModel, train: Batches, val: Batches | None = None) -> list[dict[str, Any]]:
        """Train ``model`` in place on ``train`` (on the model's device); returns the history."""
        cfg = self.config
        if cfg.threads is not None:
            torch.set_num_threads(cfg.threads)
        device = train.mask.device
        torch.manual_seed(cfg.seed)
        gen = torch.Generator().manual_seed(cfg.seed)
        # The fused kernel updates every parameter in one pass instead of ~10 small ops per tensor;
        # on CPU it cut the dccae step by ~17% at the default sizes (bench/RESULTS.md, Quality).
        fused = device.type in ("cpu", "cuda")
        opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay, fused=fused)
        progress = self._resume_into(model, opt, gen, device) or _Progress(1, _clone_state(model))
        model.train()
        for epoch in range(progress.start, cfg.epochs + 1):
            t0 = time.perf_counter()
            train_parts = self._train_epoch(model, opt, train, gen)
            _check_finite(train_parts, epoch, "training")
            val_parts = self.evaluate(model, val) if val is not None else {}
            _check_finite(val_parts, epoch, "validation")
            val_corr = None
            if self.val_metric is not None:
                val_corr = float(self.val_metric(model))
                model.train()
            record: dict[str, Any] = {
                "epoch": epoch,
                "epochs": cfg.epochs,
                "train": train_parts,
                "val": val_parts,
                "val_corr": val_corr,
                "seconds": time.perf_counter() - t0,
            }
            self.history.append(record)
            score = self._score(val_parts or train_parts, val_corr)
            if score < progress.best_score - self.min_delta or self.best_epoch == 0:
                progress.best_score, progress.bad_epochs, self.best_epoch = score, 0, epoch
                progress.best_state = _clone_state(model)
            else:
                progress.bad_epochs += 1
            if self.checkpoint_dir is not None and cfg.checkpoint_every and epoch % cfg.checkpoint_every == 0:
                self._save_checkpoint(self._checkpoint(epoch, model, opt, gen, progress))
            if any([bool(cb.on_epoch_end(record)) for cb in self.callbacks]):
                raise TrainingCancelled(epoch, self.history)
            if cfg.patience and progress.bad_epochs >= cfg.patience:
                self.stopped_early = True
                break
        model.load_state_dict(progress.best_state)
        model.eval()
        return self.history

    def _checkpoint(
        self,
        epoch: int,
        model: MultimodalModel,
        opt: torch.optim.Optimizer,
        gen: torch.Generator,
        progress: _Progress,
    ) -> dict[str, Any]:
        """Everything a resume needs, as tensors and plain types (``weights_only`` loadable)."""
        return {
            "format": _CHECKPOINT_FORMAT,
            "epoch": epoch,
            "model": model.state_dict(),
            "optimizer": opt.state_dict(),
            "best_state": progress.best_state,
            "best_loss": progress.best_score,  # the key predates the metric monitor
            "best_epoch": self.best_epoch,
            "bad_epochs": progress.bad_epochs,
            "history": json.dumps(self.history),
            "rng": torch.get_rng_state(),
            "gen": gen.get_state(),
        }


@dataclass
class _Progress:
    """Early-stopping state carried across epochs (and through a checkpoint)."""

    start: int
    best_state: dict[str, Tensor]
    best_score: float = math.inf
    bad_epochs: int = 0


def _unpack(data: TensorData) -> tuple[dict[str, Tensor], Tensor]:
    return data.xs, data.mask
