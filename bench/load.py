"""Benchmark: loading a numeric CSV with mmcorr.data.load_modality vs pyarrow's own reader.

Writes a CSV of ROWS x COLS float values (plus a sample_id column), then in fresh child processes
measures (best of --repeat):

* wall time of ``pyarrow.csv.read_csv(path)`` and of ``load_modality(path)``; goal: ratio <= 1.5;
* peak memory of ``load_modality`` above the process baseline (Linux VmHWM, reset through
  /proc/self/clear_refs) as a ratio to the float32 array it returns; goal: ratio <= 3.

``--wide`` is the gene-expression shape instead: 200 rows x 50,000 columns (a header line of
~340 KB, over the 64 KiB block that once made such files look empty), reported as the median and
the spread of every run of each reader.

Usage: .venv/bin/python bench/load.py [--rows 200000] [--cols 500] [--repeat 3] [--out results.json]
       .venv/bin/python bench/load.py --wide [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = r"""
import json, sys, time
from pathlib import Path

def status(key):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    return 0

import numpy as np, pyarrow.csv as pacsv
from mmcorr.data import load_modality
path, which = sys.argv[1], sys.argv[2]
try:
    Path("/proc/self/clear_refs").write_text("5")  # reset the peak-RSS counter
except OSError:
    pass
base = status("VmRSS")
t0 = time.perf_counter()
if which == "pyarrow":
    table = pacsv.read_csv(path)
    nbytes = table.num_rows * (table.num_columns - 1) * 4
else:
    m = load_modality(path, max_bytes=2**42)
    nbytes = m.values.nbytes
seconds = time.perf_counter() - t0
print(json.dumps({"seconds": seconds, "peak_extra": status("VmHWM") - base, "array_bytes": nbytes}))
"""


def write_csv(path: Path, rows: int, cols: int, seed: int = 0) -> None:
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv

    rng = np.random.default_rng(seed)
    chunk = 20000
    schema = pa.schema([("sample_id", pa.string())] + [(f"f{j}", pa.float32()) for j in range(cols)])
    with pacsv.CSVWriter(str(path), schema) as writer:
        for start in range(0, rows, chunk):
            n = min(chunk, rows - start)
            x = rng.standard_normal((n, cols)).astype(np.float32)
            ids = pa.array([f"s{i}" for i in range(start, start + n)])
            writer.write_table(pa.table([ids, *(pa.array(x[:, j]) for j in range(cols))], schema=schema))


def run_child(path: Path, which: str) -> dict[str, float]:
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), which], capture_output=True, text=True, cwd=root, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=None, help="default 200,000 (--wide: 200)")
    ap.add_argument("--cols", type=int, default=None, help="default 500 (--wide: 50,000)")
    ap.add_argument("--wide", action="store_true", help="a wide table: 200 x 50,000 by default")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", default=None, help="also write the figures as JSON here")
    args = ap.parse_args()
    args.rows = args.rows or (200 if args.wide else 200_000)
    args.cols = args.cols or (50_000 if args.wide else 500)
    with tempfile.TemporaryDirectory(prefix="mmcorr-bench-") as tmp:
        path = Path(tmp) / "bench.csv"
        t0 = time.perf_counter()
        write_csv(path, args.rows, args.cols)
        size_mb = path.stat().st_size / 2**20
        print(f"wrote {args.rows} x {args.cols} CSV ({size_mb:.0f} MB) in {time.perf_counter() - t0:.1f} s")
        res: dict[str, list[dict[str, float]]] = {"pyarrow": [], "mmcorr": []}
        load_before = os.getloadavg()
        for _ in range(args.repeat):  # interleaved, so machine load affects both alike
            for which in ("pyarrow", "mmcorr"):
                res[which].append(run_child(path, which))
        load_after = os.getloadavg()
    best = {k: min(r["seconds"] for r in v) for k, v in res.items()}
    median = {k: statistics.median(r["seconds"] for r in v) for k, v in res.items()}
    peak = min(r["peak_extra"] for r in res["mmcorr"])
    array_bytes = res["mmcorr"][0]["array_bytes"]
    figures = {
        "rows": args.rows,
        "cols": args.cols,
        "file_mb": round(size_mb, 1),
        "pyarrow_seconds": round(best["pyarrow"], 3),
        "mmcorr_seconds": round(best["mmcorr"], 3),
        "time_ratio": round(best["mmcorr"] / best["pyarrow"], 3),
        "pyarrow_median_s": round(median["pyarrow"], 3),
        "mmcorr_median_s": round(median["mmcorr"], 3),
        "median_ratio": round(median["mmcorr"] / median["pyarrow"], 3),
        "peak_extra_mb": round(peak / 2**20, 1),
        "array_mb": round(array_bytes / 2**20, 1),
        "memory_ratio": round(peak / array_bytes, 3),
        # Every run, so a noisy machine shows as spread instead of hiding behind the best one.
        "pyarrow_runs_s": [round(r["seconds"], 3) for r in res["pyarrow"]],
        "mmcorr_runs_s": [round(r["seconds"], 3) for r in res["mmcorr"]],
        "mmcorr_peak_runs_mb": [round(r["peak_extra"] / 2**20, 1) for r in res["mmcorr"]],
        "pyarrow_peak_runs_mb": [round(r["peak_extra"] / 2**20, 1) for r in res["pyarrow"]],
        "load_average_1m": [round(load_before[0], 2), round(load_after[0], 2)],
        "goals": {"time_ratio": 1.5, "memory_ratio": 3.0},
    }
    print(json.dumps(figures, indent=2))
    if args.out:
        Path(args.out).write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
