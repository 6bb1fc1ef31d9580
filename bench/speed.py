"""Speed of mmcorr on this machine: training throughput vs torch's matmul peak, growth, analyses.

Run from the repository root (the app's environment is enough):

    .venv/bin/python bench/speed.py                 # everything, full sizes (~30-60 min on 2 cores)
    .venv/bin/python bench/speed.py --max-n 100000  # growth capped at 100k samples
    .venv/bin/python bench/speed.py --smoke         # seconds: tiny sizes, checks the script runs
    .venv/bin/python bench/speed.py --only throughput analyses

Sections (``--only``): throughput (samples/s, achieved GFLOP/s of a training step as a fraction of
torch's own 2048^3 matmul rate measured in the same run, plus a torch.profiler breakdown), growth
(time per epoch and peak RSS for n = 10k/100k/1M at d = 100 and d = 100/1k/10k at n = 20k, each in
a fresh process), memguard (does a dataset too large for memory get a clear error before training?),
analyses (similarity / top-k / retrieval for 1k/10k/50k, feature map with a permutation null,
UMAP warm and cold JIT). Timings are medians over repeats with (min-max, n=repeats).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[1])]

from _common import machine_info, markdown_table, run_child, spread, timeit, write_json  # noqa: E402

SECTIONS = ("throughput", "growth", "memguard", "analyses")


def section_throughput(smoke: bool, threads: int) -> dict[str, Any]:
    import torch
    from _trainspeed import matmul_gflops, profile_training, train_throughput, training_flops_per_sample

    torch.set_num_threads(threads)

    def measure_peak() -> Any:
        return matmul_gflops("cpu", n=256 if smoke else 2048, repeats=3 if smoke else 7)

    # The peak is re-measured before every config and after the last: on a shared machine one
    # measurement can land in a busy moment and understate it (fractions above 1). The denominator
    # is the best median of the run, so every fraction is a lower bound.
    peaks = []
    configs = [
        {"label": "batch 1024, hidden 1024x2", "model": "dccae", "hidden": (1024, 1024), "batch": 1024, "d": 100},
        {"label": "defaults (dccae, batch 256, hidden 256x2)", "model": "dccae", "hidden": (256, 256), "batch": 256, "d": 100},
        {"label": "defaults (ae)", "model": "ae", "hidden": (256, 256), "batch": 256, "d": 100},
        {"label": "defaults (mvae)", "model": "mvae", "hidden": (256, 256), "batch": 256, "d": 100},
    ]  # fmt: skip
    if smoke:
        configs = [{"label": "smoke", "model": "dccae", "hidden": (32,), "batch": 64, "d": 16}]
    rows = []
    for cfg in configs:
        peaks.append(measure_peak())
        cfg["threads"] = threads
        flops = training_flops_per_sample(cfg)
        n = cfg["batch"] * (4 if smoke else 16)
        thr = train_throughput(cfg, n=n, epochs=2 if smoke else 4)
        gflops = flops["analytic"] * thr["samples_per_s"] / 1e9
        rows.append(
            {
                "config": cfg["label"],
                "samples_per_s": thr["samples_per_s"],
                "epoch_s": thr["epoch_s"],
                "mflop_per_sample": flops["measured"] / 1e6,
                "analytic_mflop": flops["analytic"] / 1e6,
                "gflops": gflops,
            }
        )
    peaks.append(measure_peak())
    peak = max(peaks, key=lambda t: t.median)
    for row in rows:
        row["frac_of_matmul"] = row["gflops"] / peak.median
    prof_cfg = {**configs[0], "threads": threads}
    prof = profile_training(prof_cfg, n=prof_cfg["batch"] * (2 if smoke else 8))
    return {
        "matmul_gflops": peak.to_dict(),
        "matmul_gflops_medians": [t.median for t in peaks],
        "threads": threads,
        "rows": rows,
        "profile": prof,
    }


def section_growth(smoke: bool, max_n: int | None, max_d: int | None, timeout: float) -> dict[str, Any]:
    if smoke:
        points = [(2000, 20)]
    else:
        points = [
            (10_000, 100),
            (100_000, 100),
            (1_000_000, 100),
            (20_000, 100),
            (20_000, 1000),
            (20_000, 10_000),
        ]
    if max_n is not None:
        points = [(n, d) for n, d in points if n <= max_n]
    if max_d is not None:
        points = [(n, d) for n, d in points if d <= max_d]
    rows = []
    for n, d in dict.fromkeys(points):
        res = run_child([__file__, "--child", "growth", str(n), str(d)], timeout=timeout)
        res.setdefault("n", n)
        res.setdefault("d", d)
        rows.append(res)
        print(f"[growth n={n} d={d}] {res.get('error') or res['epoch_s']}", file=sys.stderr, flush=True)
    return {"rows": rows}


def _memguard_child() -> dict[str, Any]:
    """Fit on a 50M x 1000 x 2 float32 dataset (400 GB) built from zero-copy broadcast views."""
    import numpy as np

    from mmcorr import CorrelationModel, MmcorrError
    from mmcorr.data import PairedDataset

    n, d = 50_000_000, 1000
    row = np.zeros((1, d), dtype=np.float32)
    ds = PairedDataset(
        names=["a", "b"],
        values={m: np.broadcast_to(row, (n, d)) for m in ("a", "b")},
        features={m: [f"{m}{j}" for j in range(d)] for m in ("a", "b")},
        ids=np.broadcast_to(np.array(["x"], dtype=object), (n,)),
        mask=np.broadcast_to(np.array([[True, True]]), (n, 2)),
    )
    t0 = time.perf_counter()
    try:
        CorrelationModel(model="dccae", epochs=1, device="cpu", checkpoint_every=0).fit(ds)
    except MmcorrError as exc:
        return {"outcome": "MmcorrError (clear)", "seconds": time.perf_counter() - t0, "message": str(exc)}
    except MemoryError as exc:
        return {
            "outcome": "MemoryError (not a MmcorrError)",
            "seconds": time.perf_counter() - t0,
            "message": str(exc),
        }
    except Exception as exc:
        return {"outcome": type(exc).__name__, "seconds": time.perf_counter() - t0, "message": str(exc)[:300]}
    return {"outcome": "trained without error", "seconds": time.perf_counter() - t0, "message": ""}


def section_memguard(timeout: float) -> dict[str, Any]:
    res = run_child([__file__, "--child", "memguard"], timeout=timeout)
    if "error" in res:
        res = {"outcome": f"process failed or was killed ({res['error']})", "message": ""}
    return res


def _latents(n: int, k: int = 10, seed: int = 0) -> tuple[Any, Any, Any]:
    import numpy as np

    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, k))
    za = z + 0.5 * rng.standard_normal((n, k))
    zb = z + 0.5 * rng.standard_normal((n, k))
    return za.astype(np.float32), zb.astype(np.float32), rng.integers(0, 10, n).astype(str)


def _measure(fn: Any, repeats: int) -> dict[str, Any]:
    """Median time over repeats and tracemalloc's peak of one extra call (numpy allocations are traced)."""
    t = timeit(fn, repeats=repeats, warmup=0)
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"time": t.to_dict(), "time_fmt": t.fmt(), "peak_mib": peak / 2**20}


def section_analyses(smoke: bool, timeout: float, max_points: int | None = None) -> dict[str, Any]:
    import numpy as np

    from mmcorr.analysis import (
        feature_correlation_map,
        retrieval_metrics,
        similarity_matrix,
        top_k_neighbours,
        umap_embedding,
        warm_umap,
    )

    rows: list[dict[str, Any]] = []
    sizes = [300] if smoke else [1000, 10_000, 50_000]
    cap = max_points or 10**9
    sizes = [n for n in sizes if n <= cap]
    for n in sizes:
        za, zb, labels = _latents(n)
        rep = 3 if n <= 10_000 else 1
        # The full matrix is n^2 floats: 10 GB at 50k, so it is measured up to 10k only.
        if n <= 10_000:
            rows.append(
                {
                    "analysis": "similarity_matrix",
                    "size": n,
                    **_measure(lambda za=za, zb=zb: similarity_matrix(za, zb), rep),
                }
            )
        rows.append(
            {
                "analysis": "top_k_neighbours k=10",
                "size": n,
                **_measure(lambda za=za, zb=zb: top_k_neighbours(za, zb, k=10), rep),
            }
        )
        rows.append(
            {
                "analysis": "retrieval_metrics",
                "size": n,
                **_measure(lambda za=za, zb=zb, y=labels: retrieval_metrics(za, zb, labels=y), rep),
            }
        )
    fm_sizes = [20] if smoke else [100, 1000]
    rng = np.random.default_rng(0)
    n_fm = 200 if smoke else 2000
    za, zb, _ = _latents(n_fm)
    for d in fm_sizes:
        xa = (za @ rng.standard_normal((10, d)) + rng.standard_normal((n_fm, d))).astype(np.float32)
        xb = (zb @ rng.standard_normal((10, d)) + rng.standard_normal((n_fm, d))).astype(np.float32)
        fa, fb = [f"a{j}" for j in range(d)], [f"b{j}" for j in range(d)]
        perms = 5 if smoke else 100
        rows.append(
            {
                "analysis": f"feature_correlation_map {perms} perms (n={n_fm})",
                "size": f"{d}x{d}",
                **_measure(
                    lambda xa=xa, xb=xb, fa=fa, fb=fb, perms=perms: feature_correlation_map(
                        xa, xb, za, zb, features_a=fa, features_b=fb, permutations=perms
                    ),
                    1 if d >= 1000 else 3,
                ),
            }
        )
    if smoke:  # numba's JIT alone takes tens of seconds: the smoke run stops before UMAP
        return {"rows": rows}
    cold = run_child([__file__, "--child", "umap-cold"], timeout=timeout)
    rows.append({"analysis": "UMAP cold JIT (warm_umap in a fresh process)", "size": "tiny", **cold})
    warm_umap()
    for n in [m for m in (10_000, 50_000) if m <= cap]:
        za, zb, _ = _latents(n // 2)
        ids = np.arange(n // 2).astype(str)
        rows.append(
            {
                "analysis": "umap_embedding (warm)",
                "size": n,
                **_measure(lambda za=za, zb=zb, ids=ids: umap_embedding({"a": za, "b": zb}, ids), 1),
            }
        )
    return {"rows": rows}


def _umap_cold_child() -> dict[str, Any]:
    t0 = time.perf_counter()
    from mmcorr.analysis import warm_umap

    imported = time.perf_counter()
    warm_umap()
    done = time.perf_counter()
    t = spread([done - imported])
    return {"time": t.to_dict(), "time_fmt": f"JIT {done - imported:.1f} s + import {imported - t0:.1f} s"}


def _child(argv: list[str]) -> dict[str, Any]:
    kind = argv[0]
    if kind == "growth":
        import torch
        from _trainspeed import growth_point

        torch.set_num_threads(2)
        return growth_point(int(argv[1]), int(argv[2]))
    if kind == "memguard":
        return _memguard_child()
    if kind == "umap-cold":
        return _umap_cold_child()
    raise SystemExit(f"unknown child {kind!r}")


def _print_report(res: dict[str, Any]) -> None:
    if "throughput" in res:
        th = res["throughput"]
        medians = ", ".join(f"{g:.0f}" for g in th["matmul_gflops_medians"])
        print(f"\n## Training throughput (torch matmul peak {th['matmul_gflops']['median']:.1f} GFLOP/s, the best "
              f"of {medians}; {th['threads']} threads)\n")  # fmt: skip
        rows = [{**r, "epoch_s": spread([r["epoch_s"]["median"]]).median} for r in th["rows"]]
        print(markdown_table(rows, ["config", "samples_per_s", "epoch_s", "mflop_per_sample", "analytic_mflop",
                                    "gflops", "frac_of_matmul"]))  # fmt: skip
        print("\nProfile of one epoch (share of self CPU time):")
        for fam, share in sorted(th["profile"]["shares"].items(), key=lambda kv: -kv[1]):
            print(f"- {fam}: {share:.1%}")
        print("\nTop ops: " + ", ".join(f"{o['op']} {o['self_share']:.1%}" for o in th["profile"]["top_ops"]))
    if "growth" in res:
        print("\n## Growth (dccae defaults, 2 epochs, fresh process per point)\n")
        rows = [
            {**r, "epoch_s": r["epoch_s"]["median"]} if "epoch_s" in r else r for r in res["growth"]["rows"]
        ]
        cols = ["n", "d", "epoch_s", "us_per_sample", "data_mib", "model_state_mib", "peak_used_mib",
                "ratio_to_budget", "error"]  # fmt: skip
        print(markdown_table(rows, [c for c in cols if any(c in r for r in rows)]))
    if "memguard" in res:
        mg = res["memguard"]
        print(
            f"\n## Too-large dataset (50M x 2 x 1000 float32 = 400 GB)\n\n{mg['outcome']}: {mg.get('message', '')}"
        )
    if "analyses" in res:
        print("\n## Analyses\n")
        print(markdown_table(res["analyses"]["rows"], ["analysis", "size", "time_fmt", "peak_mib", "error"]))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--smoke", action="store_true", help="tiny sizes: checks the script end to end in seconds")
    p.add_argument("--only", nargs="+", choices=SECTIONS, default=None)
    p.add_argument("--max-n", type=int, default=None, help="cap the growth runs' sample count")
    p.add_argument("--max-d", type=int, default=None, help="cap the growth runs' feature count")
    p.add_argument("--max-points", type=int, default=None, help="cap the analyses' sizes (e.g. 10000)")
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    p.add_argument("--timeout", type=float, default=3600.0, help="seconds per child process")
    p.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        print(json.dumps(_child(args.child)))
        return 0
    sections = args.only or list(SECTIONS)
    info = machine_info()
    res: dict[str, Any] = {"machine": info, "smoke": args.smoke}
    if "throughput" in sections:
        res["throughput"] = section_throughput(args.smoke, args.threads)
    if "growth" in sections:
        res["growth"] = section_growth(args.smoke, args.max_n, args.max_d, args.timeout)
    if "memguard" in sections and (args.only or not args.smoke):
        res["memguard"] = section_memguard(60.0 if args.smoke else 300.0)
    if "analyses" in sections:
        res["analyses"] = section_analyses(args.smoke, args.timeout, args.max_points)
    res["load_after"] = machine_info()["load_average"]
    path = write_json("speed_smoke" if args.smoke else "speed", res)
    _print_report(res)
    print(f"\nload average before {info['load_average']} after {res['load_after']}; JSON: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
