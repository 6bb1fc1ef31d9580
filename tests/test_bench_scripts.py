"""The benchmark scripts run end to end (tiny sizes); their figures are checked in bench/, not here."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(args: list[str], home: Path, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MMCORR_HOME": str(home), "MMCORR_AUTOSTART_WORKER": "0"}
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
    )


def test_gpu_script_skips_cleanly_without_cuda(mmcorr_home: Path) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present: the skip path is not reachable here")
    proc = _run(["bench/gpu.py"], mmcorr_home, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().startswith("no GPU: skipped")


@pytest.mark.slow
def test_speed_smoke_writes_every_section(mmcorr_home: Path) -> None:
    proc = _run(["bench/speed.py", "--smoke", "--threads", "1"], mmcorr_home)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads((ROOT / "bench" / "out" / "speed_smoke.json").read_text())
    th = out["throughput"]
    assert th["matmul_gflops"]["median"] > 0
    row = th["rows"][0]
    assert row["samples_per_s"] > 0
    # the flop counter and the analytic 3 x forward count agree within the validation overhead
    assert 0.5 < row["mflop_per_sample"] / row["analytic_mflop"] < 3.0
    assert 0 < row["frac_of_matmul"] < 5
    growth = out["growth"]["rows"][0]
    assert "error" not in growth, growth
    assert growth["data_mib"] == pytest.approx(2 * 2000 * 20 * 4 / 2**20)
    analyses = {r["analysis"] for r in out["analyses"]["rows"]}
    assert {"similarity_matrix", "top_k_neighbours k=10", "retrieval_metrics"} <= analyses
    assert "## Training throughput" in proc.stdout


@pytest.mark.slow
def test_media_quick_writes_every_section(mmcorr_home: Path) -> None:
    proc = _run(["bench/media.py", "--quick"], mmcorr_home, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads((ROOT / "bench" / "out" / "media_quick.json").read_text())
    assert [r.get("error") for r in out["quality_runs"]] == [None]
    methods = {row["method"] for row in out["summary"]}
    assert {"cca", "ae", "corrae", "dccae", "mvae"} < methods
    base = next(row for row in out["summary"] if row["method"].startswith("baseline"))
    for key in ("image->text recall@1", "audio->image class_precision@1", "cc image|text"):
        assert math.isfinite(base[key]), key
    assert len(out["goals"]) == 5
    assert all("error" not in row and row["s_per_epoch"] > 0 for row in out["train"])
    loads = out["loader"]
    assert all("error" not in row for row in loads), loads
    assert {row["format"] for row in loads} == {"jpeg", "png"}
    assert all(row["grid"] == [3, 32, 32] and row["values_mib"] > 0 for row in loads)


@pytest.mark.slow
def test_frontier_quick_writes_medians_for_every_method(mmcorr_home: Path) -> None:
    args = ["bench/frontier.py", "--quick", "--datasets", "sim", "small", "--methods", "cca", "dccae"]
    proc = _run(args, mmcorr_home)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads((ROOT / "bench" / "out" / "frontier_quick.json").read_text())
    got = {(r["dataset"], r["method"]) for r in out["medians"] if "error" not in r}
    assert got == {(d, m) for d in ("sim", "small") for m in ("cca", "dccae")}
    assert all(0 < r["frac_ceiling"] < 1.5 for r in out["medians"] if r["dataset"] == "sim")
    assert "## Frontier" in proc.stdout


@pytest.mark.slow
def test_cli_latency_smoke_times_every_command(mmcorr_home: Path) -> None:
    proc = _run(["bench/cli_latency.py", "--smoke"], mmcorr_home, timeout=400)
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


@pytest.mark.slow
def test_cli_memory_smoke_measures_every_command_beside_the_reference(mmcorr_home: Path) -> None:
    proc = _run(["bench/cli_memory.py", "--smoke"], mmcorr_home, timeout=400)
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
