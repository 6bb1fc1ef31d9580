"""bench/sparse_memory.py runs end to end at tiny sizes (its figures are recorded in bench/RESULTS.md)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_sparse_memory_smoke(mmcorr_home: Path) -> None:
    env = {**os.environ, "MMCORR_HOME": str(mmcorr_home), "MMCORR_AUTOSTART_WORKER": "0"}
    proc = subprocess.run(
        [sys.executable, "bench/sparse_memory.py", "--smoke"],
        cwd=ROOT, capture_output=True, text=True, timeout=240, env=env, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = json.loads((ROOT / "bench" / "out" / "sparse_memory_smoke.json").read_text())["rows"]
    assert [r["mode"] for r in rows] == ["sparse", "dense"]
    assert all(r["n"] == 600 and r["d"] == 300 and r["fit_peak_above_data_mib"] > 0 for r in rows)
    assert "| sparse | 600 x 300 |" in proc.stdout
