"""Training throughput and growth on CUDA, with the speed-up over a CPU reference run in the same script.

Run from the repository root with nothing but requirements.txt installed:

    python bench/gpu.py            # fp32
    python bench/gpu.py --bf16     # the same under torch.autocast(bfloat16)
    python bench/gpu.py --quick    # small sizes

Where torch sees no CUDA device it prints 'no GPU: skipped ...' and exits 0. The CPU reference uses
the same configurations at a smaller n (time per sample is what is compared, and bench/speed.py shows
it is flat in n), so the whole script stays within a few minutes of device time.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[1])]

from _common import machine_info, markdown_table, write_json  # noqa: E402

SKIP_MESSAGE = "no GPU: skipped (torch.cuda.is_available() is False; bench/gpu.py needs a CUDA device)"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bf16", action="store_true", help="train under torch.autocast(dtype=bfloat16)")
    p.add_argument("--quick", action="store_true", help="small sizes (a minute)")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads for the CPU reference")
    args = p.parse_args(argv)

    import torch

    if not torch.cuda.is_available():
        print(SKIP_MESSAGE)
        return 0
    from _trainspeed import growth_point, matmul_gflops, train_throughput

    if args.threads:
        torch.set_num_threads(args.threads)
    info = machine_info()
    dev = "cuda"
    mm_dtype = "bfloat16" if args.bf16 else "float32"
    peak_gpu = matmul_gflops(dev, n=8192, dtype=mm_dtype, repeats=10)
    peak_cpu = matmul_gflops("cpu", n=2048, repeats=5)
    configs = [
        {"label": "batch 1024, hidden 1024x2", "model": "dccae", "hidden": (1024, 1024), "batch": 1024, "d": 100},
        {"label": "defaults (dccae, batch 256)", "model": "dccae", "hidden": (256, 256), "batch": 256, "d": 100},
        {"label": "batch 4096, hidden 1024x2", "model": "dccae", "hidden": (1024, 1024), "batch": 4096, "d": 1000},
    ]  # fmt: skip
    n_gpu = 20_000 if args.quick else 200_000
    n_cpu = 4096 if args.quick else 16_384
    rows: list[dict[str, Any]] = []
    for cfg in configs:
        gpu = train_throughput(cfg, n=n_gpu, epochs=3, device=dev, bf16=args.bf16)
        cpu = train_throughput(cfg, n=n_cpu, epochs=2, device="cpu")
        rows.append(
            {
                "config": cfg["label"],
                "gpu_samples_per_s": gpu["samples_per_s"],
                "cpu_samples_per_s": cpu["samples_per_s"],
                "speedup": gpu["samples_per_s"] / cpu["samples_per_s"],
            }
        )
    growth = []
    points = (
        [(10_000, 100), (100_000, 100)] if args.quick else [(10_000, 100), (100_000, 100), (1_000_000, 100)]
    )
    points += [(20_000, 1000)] if args.quick else [(20_000, 1000), (20_000, 10_000)]
    for n, d in points:
        g = growth_point(n, d, device=dev)
        growth.append({**g, "epoch_s": g["epoch_s"]["median"]})
    res = {
        "machine": info,
        "bf16": args.bf16,
        "matmul_gflops_gpu": peak_gpu.to_dict(),
        "matmul_gflops_cpu": peak_cpu.to_dict(),
        "throughput": rows,
        "growth": growth,
    }
    path = write_json("gpu_bf16" if args.bf16 else "gpu", res)
    print(f"## GPU {info.get('cuda')} ({'bf16 autocast' if args.bf16 else 'fp32'})")
    print(f"matmul {mm_dtype}: GPU {peak_gpu.median:.0f} GFLOP/s, CPU {peak_cpu.median:.1f} GFLOP/s\n")
    print(markdown_table(rows, ["config", "gpu_samples_per_s", "cpu_samples_per_s", "speedup"]))
    print()
    print(markdown_table(growth, ["n", "d", "epoch_s", "us_per_sample", "cuda_peak_mib", "peak_used_mib"]))
    print(f"\nJSON: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
