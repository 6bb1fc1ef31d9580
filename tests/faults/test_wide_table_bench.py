"""bench/load.py --wide runs end to end on a tiny wide table (its figures live in bench/RESULTS.md):
both readers load a file whose header line is far over 64 KiB, in one run, side by side."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_wide_bench_reports_both_readers(tmp_path: Path) -> None:
    out = tmp_path / "wide.json"
    args = ["--wide", "--rows", "4", "--cols", "20000", "--repeat", "1", "--out", str(out)]
    proc = subprocess.run(
        [sys.executable, "bench/load.py", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "MMCORR_AUTOSTART_WORKER": "0"},
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    figures = json.loads(out.read_text())
    assert (figures["rows"], figures["cols"]) == (4, 20000)
    assert len(figures["mmcorr_runs_s"]) == len(figures["pyarrow_runs_s"]) == 1
    assert figures["mmcorr_median_s"] > 0 and figures["pyarrow_median_s"] > 0
    assert figures["array_mb"] == round(4 * 20000 * 4 / 2**20, 1)  # every column was loaded
