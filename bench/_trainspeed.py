"""Training-speed measurements shared by bench/speed.py (CPU) and bench/gpu.py (CUDA).

Only mmcorr, torch and numpy: no reference libraries, so gpu.py runs with requirements.txt alone.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any

from _common import Timing, peak_rss_mib, rss_mib, spread, timeit


def matmul_gflops(device: str = "cpu", n: int = 2048, dtype: str = "float32", repeats: int = 5) -> Timing:
    """torch's own large square matrix-product rate on ``device`` (GFLOP/s, median and spread)."""
    import torch

    dt = getattr(torch, dtype)
    a = torch.randn(n, n, device=device, dtype=dt)
    b = torch.randn(n, n, device=device, dtype=dt)

    def step() -> None:
        torch.mm(a, b)
        if device.startswith("cuda"):
            torch.cuda.synchronize()

    t = timeit(step, repeats=repeats, warmup=2)
    flops = 2.0 * n**3 / 1e9
    return Timing(flops / t.median, flops / t.high, flops / t.low, t.repeats)


class _EpochTimes:
    """Callback collecting each epoch's wall time as reported by the trainer."""

    def __init__(self) -> None:
        self.seconds: list[float] = []

    def on_epoch_end(self, record: dict[str, Any]) -> bool | None:
        self.seconds.append(float(record["seconds"]))
        return None


def _estimator(cfg: dict[str, Any], epochs: int, device: str) -> Any:
    from mmcorr import CorrelationModel

    return CorrelationModel(
        model=cfg["model"],
        latent_dim=cfg.get("latent_dim", 10),
        hidden=tuple(cfg["hidden"]),
        batch_size=cfg["batch"],
        epochs=epochs,
        patience=0,
        seed=0,
        device=device,
        threads=cfg.get("threads"),
        checkpoint_every=0,
    )


@contextlib.contextmanager
def _maybe_autocast(device: str, bf16: bool) -> Iterator[None]:
    if bf16:
        import torch

        with torch.autocast(device_type=device.split(":")[0], dtype=torch.bfloat16):
            yield
    else:
        yield


def training_flops_per_sample(cfg: dict[str, Any], device: str = "cpu") -> dict[str, float]:
    """Matrix-product FLOPs of one training step per sample, forward plus backward.

    measured: torch.utils.flop_counter over a 2-epoch fit minus a 1-epoch fit (so set-up and
    end-of-fit passes cancel), divided by the samples of one epoch. analytic: 3 x the forward FLOPs
    of every nn.Linear of the fitted module (2 * in * out each), the textbook count (backward = 2x
    forward) assuming each layer runs once per sample per step.
    """
    import torch
    from _datasets import synthetic_pair
    from torch.utils.flop_counter import FlopCounterMode

    n = cfg["batch"] * 4
    ds = synthetic_pair(n, cfg["d"], seed=1)
    totals = []
    est = None
    for epochs in (1, 2):
        est = _estimator(cfg, epochs, device)
        counter = FlopCounterMode(display=False)
        with counter:
            est.fit(ds)
        totals.append(counter.get_total_flops())
    measured = (totals[1] - totals[0]) / n
    assert est is not None
    linear = sum(
        2 * m.in_features * m.out_features for m in est.module_.modules() if isinstance(m, torch.nn.Linear)
    )
    return {"measured": float(measured), "analytic": float(3 * linear)}


def train_throughput(
    cfg: dict[str, Any], *, n: int, epochs: int = 3, device: str = "cpu", bf16: bool = False
) -> dict[str, Any]:
    """Samples per second of ``fit`` (median epoch time over epochs 2..E, the first one warms up)."""
    from _datasets import synthetic_pair

    ds = synthetic_pair(n, cfg["d"], seed=2)
    cb = _EpochTimes()
    est = _estimator(cfg, epochs, device)
    with _maybe_autocast(device, bf16):
        est.fit(ds, callbacks=[cb])
    secs = cb.seconds[1:] if len(cb.seconds) > 1 else cb.seconds
    t = spread(secs)
    return {"n": n, "epoch_s": t.to_dict(), "samples_per_s": n / t.median}


def profile_training(cfg: dict[str, Any], *, n: int, device: str = "cpu", top: int = 12) -> dict[str, Any]:
    """Where a training epoch's CPU time goes: torch.profiler self time grouped by op family."""
    from _datasets import synthetic_pair
    from torch.profiler import ProfilerActivity, profile

    ds = synthetic_pair(n, cfg["d"], seed=3)
    est = _estimator(cfg, 1, device)
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        est.fit(ds)
    events = prof.key_averages()
    total = sum(e.self_cpu_time_total for e in events) or 1.0
    families = {
        "matmul (mm/addmm/bmm)": ("aten::mm", "aten::addmm", "aten::bmm", "aten::matmul", "aten::baddbmm"),
        "optimizer (adam/foreach)": ("aten::_foreach", "aten::_fused_adam", "Optimizer", "aten::lerp"),
        "activation": ("aten::relu", "aten::threshold", "aten::gelu", "aten::clamp_min"),
        "linalg (eigh/cholesky/solve)": ("aten::linalg", "aten::_linalg", "aten::cholesky", "aten::eigh"),
        "copy/index/cat (data movement)": (
            "aten::copy_",
            "aten::index",
            "aten::cat",
            "aten::to",
            "aten::clone",
        ),
    }
    shares: dict[str, float] = dict.fromkeys(families, 0.0)
    shares["other"] = 0.0
    for e in events:
        fam = next((f for f, keys in families.items() if e.key.startswith(keys)), "other")
        shares[fam] += e.self_cpu_time_total / total
    top_ops = sorted(events, key=lambda e: e.self_cpu_time_total, reverse=True)[:top]
    return {
        "shares": shares,
        "top_ops": [
            {"op": e.key, "self_share": e.self_cpu_time_total / total, "calls": e.count} for e in top_ops
        ],
    }


def growth_point(
    n: int, d: int, *, epochs: int = 2, device: str = "cpu", model: str = "dccae"
) -> dict[str, Any]:
    """Time per epoch and peak memory of fitting n samples x (2 modalities of d features).

    Runs in its own process (peak RSS is a high-water mark). budget = data + model + gradients +
    AdamW's two moments, all float32; the goal is peak - baseline <= 2 x budget.
    """
    import torch
    from _datasets import synthetic_pair

    base = rss_mib()
    t0 = time.perf_counter()
    ds = synthetic_pair(n, d, seed=4)
    gen_s = time.perf_counter() - t0
    cfg = {"model": model, "hidden": (256, 256), "batch": 256, "d": d}
    cb = _EpochTimes()
    est = _estimator(cfg, epochs, device)
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    est.fit(ds, callbacks=[cb])
    fit_s = time.perf_counter() - t0
    params = sum(p.numel() for p in est.module_.parameters())
    data_mib = sum(v.nbytes for v in ds.values.values()) / 2**20
    model_mib = params * 4 * 4 / 2**20  # weights + grads + 2 AdamW moments
    used = peak_rss_mib() - base
    out = {
        "n": n,
        "d": d,
        "epoch_s": spread(cb.seconds).to_dict(),
        "us_per_sample": 1e6 * min(cb.seconds) / n,
        "fit_s": fit_s,
        "generate_s": gen_s,
        "data_mib": data_mib,
        "model_state_mib": model_mib,
        "peak_used_mib": used,
        "ratio_to_budget": used / (data_mib + model_mib),
    }
    if device.startswith("cuda"):
        out["cuda_peak_mib"] = torch.cuda.max_memory_allocated() / 2**20
    return out
