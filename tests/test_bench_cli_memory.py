"""bench/cli_memory.py runs end to end (smoke: one repeat, 1 epoch); its figures are checked in bench/."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_cli_memory_smoke_measures_every_command_beside_the_reference(tmp_path: Path) -> None:
    env = {**os.environ, "MMCORR_HOME": str(tmp_path / "home"), "MMCORR_AUTOSTART_WORKER": "0"}
    proc = subprocess.run(
        [sys.executable, "bench/cli_memory.py", "--smoke"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=400,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads((ROOT / "bench" / "out" / "cli_memory_smoke.json").read_text())
    rows = {r["command"]: r for r in out["rows"]}
    assert {"imports", "mmcorr train --model dccae --umap off", "mmcorr train --model cca"} <= set(rows)
    for row in rows.values():
        assert row["n"] == 1 and row["min_mib"] <= row["peak_rss_mib"] <= row["max_mib"]
    # a torch CLI that trains holds more than the bare imports
    assert rows["mmcorr train --model cca"]["peak_rss_mib"] > rows["imports"]["peak_rss_mib"]
    if "ccazoo:dcca" in rows:  # the reference is installed: every ratio is against it
        ref = rows["ccazoo:dcca"]["peak_rss_mib"]
        assert rows["imports"]["x_ccazoo"] == pytest.approx(rows["imports"]["peak_rss_mib"] / ref)
    else:
        assert any("cca_zoo is not importable" in n for n in out["notes"])
    assert "goal: mmcorr train within 1.3x" in proc.stdout
