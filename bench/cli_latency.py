"""How long a fresh-process `mmcorr train --model cca` takes on tiny data, beside the imports it needs.

Issue 15 goal 7: a fresh `mmcorr train --model cca` on a 30 x (120 + 21) dataset within 2x the wall
time of `python -c "import torch, sklearn, pandas"` measured in the same run. This script writes a
seeded 30 x (120 + 21) pair of CSVs and times, side by side, in fresh processes and one run:

- ``imports``: ``python -c "import torch, sklearn, pandas"`` (the floor any torch CLI pays);
- ``version``: ``mmcorr --version``;
- ``train``: ``mmcorr train --model cca`` on the pair (a new run folder each time);
- ``train --umap on``: the same with the UMAP embedding forced on (what every train did before the
  ``umap`` option; on 30 samples ``auto`` skips it).

All run under one fresh MMCORR_HOME, so the first ``train --umap on`` pays the cold numba cache
(reported on its own); the medians (with min-max) are over the repeats after it.
Peak RSS is each child's ``ru_maxrss`` (os.wait4). Prints a markdown table and the ratio
train / imports, and writes bench/out/cli_latency[_smoke].json.

    python bench/cli_latency.py [--repeats 3] [--smoke]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import MIB, machine_info, markdown_table, write_json

N_SAMPLES, P_A, P_B = 30, 120, 21
GOAL_RATIO = 2.0
#: The train command with UMAP forced on: what every `mmcorr train` did before `--umap auto`.
UMAP_ON = "train --umap on"


def write_pair(folder: Path, seed: int = 0) -> tuple[Path, Path]:
    """A seeded 30 x (120 + 21) pair with 3 shared factors, as two CSVs with an id column."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((N_SAMPLES, 3))
    a = z @ rng.standard_normal((3, P_A)) + 0.5 * rng.standard_normal((N_SAMPLES, P_A))
    b = z @ rng.standard_normal((3, P_B)) + 0.5 * rng.standard_normal((N_SAMPLES, P_B))
    ids = [f"s{i}" for i in range(N_SAMPLES)]
    paths = []
    for name, m in (("a", a), ("b", b)):
        path = folder / f"{name}.csv"
        header = "id," + ",".join(f"{name}{j}" for j in range(m.shape[1]))
        rows = [f"{i}," + ",".join(f"{v:.6g}" for v in row) for i, row in zip(ids, m, strict=True)]
        path.write_text(header + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
        paths.append(path)
    return paths[0], paths[1]


def timed_child(cmd: list[str], env: dict[str, str]) -> dict[str, Any]:
    """Wall seconds and peak RSS (MiB) of one fresh child process; raises if it fails."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    out = proc.stdout.read().decode() if proc.stdout else ""
    err = proc.stderr.read().decode() if proc.stderr else ""
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}: {(err or out)[-1500:]}")
    return {"wall_s": wall, "peak_rss_mib": usage.ru_maxrss * 1024.0 / MIB}


def summarise(name: str, runs: list[dict[str, Any]]) -> dict[str, Any]:
    walls = [r["wall_s"] for r in runs]
    return {
        "command": name,
        "median_s": statistics.median(walls),
        "min_s": min(walls),
        "max_s": max(walls),
        "n": len(walls),
        "peak_rss_mib": max(r["peak_rss_mib"] for r in runs),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3, help="timed repeats per command after the first")
    ap.add_argument("--smoke", action="store_true", help="one repeat (a quick end-to-end check)")
    ap.add_argument("--no-umap-row", action="store_true", help="skip the `train --umap on` row")
    args = ap.parse_args(argv)
    repeats = 1 if args.smoke else max(1, args.repeats)
    py = sys.executable
    with tempfile.TemporaryDirectory(prefix="mmcorr-cli-latency-") as tmp:
        folder = Path(tmp)
        a, b = write_pair(folder)
        env = {**os.environ, "MMCORR_HOME": str(folder / "home"), "MMCORR_AUTOSTART_WORKER": "0"}
        env.pop("NUMBA_CACHE_DIR", None)  # the CLI must choose its own cache, as for a user
        commands = {
            "imports": [py, "-c", "import torch, sklearn, pandas"],
            "version": [py, "-m", "mmcorr", "--version"],
        }

        def train_cmd(run: str, *extra: str) -> list[str]:
            return [
                *(py, "-m", "mmcorr", "train", "--model", "cca"),
                *("--modality", f"a={a}", "--modality", f"b={b}"),
                *("--out", str(folder / run), "--quiet", *extra),
            ]

        # pays the cold numba cache under the fresh home (UMAP is on, so its code is compiled)
        first = timed_child(train_cmd("first", "--umap", "on"), env)
        runs: dict[str, list[dict[str, Any]]] = {k: [] for k in (*commands, "train", UMAP_ON)}
        for i in range(repeats):  # interleaved, so load drifts hit every command alike
            for name, cmd in commands.items():
                runs[name].append(timed_child(cmd, env))
            runs["train"].append(timed_child(train_cmd(f"run{i}"), env))
            if not args.no_umap_row:
                runs[UMAP_ON].append(timed_child(train_cmd(f"umap{i}", "--umap", "on"), env))
    rows = [summarise(name, r) for name, r in runs.items() if r]
    rows.append(summarise(f"{UMAP_ON}, first (cold cache)", [first]))
    ratio = rows[2]["median_s"] / rows[0]["median_s"]
    payload = {"machine": machine_info(), "rows": rows, "ratio_train_over_imports": ratio, "goal": GOAL_RATIO}
    path = write_json("cli_latency_smoke" if args.smoke else "cli_latency", payload)
    print(markdown_table(rows, ["command", "median_s", "min_s", "max_s", "n", "peak_rss_mib"]))
    verdict = "meets" if ratio <= GOAL_RATIO else "misses"
    print(f"\ntrain / imports = {ratio:.2f} (goal <= {GOAL_RATIO}: {verdict}); wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
