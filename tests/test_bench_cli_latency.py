"""bench/cli_latency.py runs end to end (one repeat); its figures are checked in bench/, not here."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_cli_latency_smoke_times_every_command(tmp_path: Path) -> None:
    env = {**os.environ, "MMCORR_HOME": str(tmp_path / "home"), "MMCORR_AUTOSTART_WORKER": "0"}
    proc = subprocess.run(
        [sys.executable, "bench/cli_latency.py", "--smoke"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=400,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads((ROOT / "bench" / "out" / "cli_latency_smoke.json").read_text())
    rows = {r["command"]: r for r in out["rows"]}
    assert {"imports", "version", "train", "train --umap on"} <= set(rows)
    for row in rows.values():
        assert row["median_s"] > 0 and row["peak_rss_mib"] > 0 and row["min_s"] <= row["max_s"]
    assert out["ratio_train_over_imports"] == pytest.approx(
        rows["train"]["median_s"] / rows["imports"]["median_s"]
    )
    assert "train / imports =" in proc.stdout
