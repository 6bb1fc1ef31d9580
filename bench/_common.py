"""Helpers shared by the benchmark scripts: machine facts, timing with spread, memory, output.

Every figure these scripts print is either a ratio measured side by side in one run or a median
over repeats with its spread (min / max), because the machines they run on are shared and noisy.
Nothing here imports torch at module level, so `bench/gpu.py` can skip cleanly and fast.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT_DIR = ROOT / "bench" / "out"
MIB = 1024.0 * 1024.0


@dataclass(frozen=True)
class Timing:
    """Median wall time of repeated calls, with the spread (seconds)."""

    median: float
    low: float
    high: float
    repeats: int

    def fmt(self, unit: str = "s") -> str:
        scale = 1000.0 if unit == "ms" else 1.0
        return f"{self.median * scale:.3g} {unit} ({self.low * scale:.3g}-{self.high * scale:.3g}, n={self.repeats})"

    def to_dict(self) -> dict[str, float]:
        return {"median": self.median, "min": self.low, "max": self.high, "repeats": self.repeats}


def timeit(fn: Callable[[], Any], repeats: int = 3, warmup: int = 1) -> Timing:
    """Median / min / max wall time of ``fn()`` over ``repeats`` calls after ``warmup`` calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return Timing(statistics.median(times), min(times), max(times), repeats)


def spread(values: Sequence[float]) -> Timing:
    """A Timing from already measured values (e.g. per-epoch seconds from a history)."""
    vals = list(values)
    return Timing(statistics.median(vals), min(vals), max(vals), len(vals))


def rss_mib() -> float:
    """Current resident set size of this process (MiB), from /proc (Linux)."""
    try:
        with open("/proc/self/statm") as fh:
            pages = int(fh.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / MIB
    except OSError:
        return float("nan")


def peak_rss_mib() -> float:
    """High-water resident set size of this process so far (MiB); ru_maxrss is KiB on Linux."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def load_average() -> tuple[float, float, float]:
    try:
        return os.getloadavg()
    except OSError:
        return (float("nan"),) * 3


def machine_info() -> dict[str, Any]:
    """Cores, memory, Python / torch / numpy versions and the BLAS libraries in use."""
    info: dict[str, Any] = {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3, 1),
        "load_average": load_average(),
    }
    try:
        import numpy as np

        info["numpy"] = np.__version__
    except ImportError:
        pass
    try:
        import torch

        cfg = torch.__config__.show()
        info["torch"] = torch.__version__
        info["torch_threads"] = torch.get_num_threads()
        info["torch_blas"] = next(
            (
                part.split("=", 1)[1]
                for part in cfg.replace(",", " ").split()
                if part.startswith("BLAS_INFO=")
            ),
            "unknown",
        )
        info["torch_cpu_capability"] = next(
            (line.split(":", 1)[1].strip() for line in cfg.splitlines() if "CPU capability" in line), ""
        )
        info["cuda"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    except ImportError:
        pass
    try:
        from threadpoolctl import threadpool_info

        info["threadpools"] = [
            f"{p.get('internal_api')} {p.get('version') or ''} x{p.get('num_threads')}".strip()
            for p in threadpool_info()
        ]
    except ImportError:
        pass
    return info


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def markdown_table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    """A GitHub markdown table of ``rows`` restricted to ``columns`` (floats to 4 significant digits)."""

    def cell(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:.4g}"
        return "" if v is None else str(v)

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(r.get(c)) for c in columns) + " |" for r in rows]
    return "\n".join(lines)


def write_json(name: str, payload: dict[str, Any]) -> Path:
    """Write ``payload`` to bench/out/<name>.json and return the path."""
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    path = OUT_DIR / f"{name}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(payload, indent=2, default=_jsonable) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def _jsonable(obj: Any) -> Any:
    if hasattr(obj, "to_dict"):
        return obj.to_dict()
    if hasattr(obj, "tolist"):
        return obj.tolist()
    return str(obj)


def run_child(args: list[str], timeout: float, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run ``python <args>`` in a fresh process whose last stdout line is JSON; return that dict.

    A fresh process per measurement gives an honest peak RSS (ru_maxrss never goes down) and a cold
    start when that is what is measured. Failures come back as {"error": ...} instead of raising, so
    one broken method does not hide the others' figures.
    """
    full_env = {**os.environ, **(env or {})}
    full_env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT), str(ROOT / "bench"), full_env.get("PYTHONPATH", "")) if p
    )
    try:
        proc = subprocess.run(
            [sys.executable, *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=full_env,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        return {"error": f"exit {proc.returncode}: " + " | ".join(tail)}
    result: dict[str, Any] = json.loads(lines[-1])
    return result
