"""Explore page render time (Streamlit AppTest) from run bundles of 1k, 10k and 100k samples.

Run from the repository root in the app's environment:

    .venv/bin/python bench/dashboard.py            # 1k, 10k, 100k samples
    .venv/bin/python bench/dashboard.py --sizes 1000

Bundles are written synthetically with the bundle module's own writers (the dashboard tests'
``write_run`` fixture): latent size 10, 15% test split (the similarity matrix is capped at 5,000 test
samples, as the pipeline stores it), a 200 x 200 feature map, UMAP points for every sample and both
modalities. 'cold' is a page run after st.cache_data.clear() (bundle files read from disk); 'warm'
is a rerun with the caches filled, what a user sees when moving a widget. Goal: under 2 s at 10k.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "bench"), str(ROOT), str(ROOT / "tests" / "pages")]

from _common import machine_info, markdown_table, spread, write_json  # noqa: E402

EXPLORE = "pages/explore.py"


def time_explore(n: int, repeats: int) -> dict[str, Any]:
    import streamlit as st
    from dashboard_helpers import write_run
    from streamlit.testing.v1 import AppTest

    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        os.environ["MMCORR_HOME"] = str(home)
        os.environ["MMCORR_AUTOSTART_WORKER"] = "0"
        os.environ.pop("MMCORR_PASSWORD", None)
        n_test = min(int(0.15 * n), 5000)
        t0 = time.perf_counter()
        write_run(home, f"run-{n}", n=n, k=10, n_test=n_test, features=(200, 200))
        write_s = time.perf_counter() - t0
        cold, warm, errors = [], [], []
        for _ in range(repeats):
            st.cache_data.clear()
            app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
            app.run()
            app.switch_page(EXPLORE)
            t0 = time.perf_counter()
            app.run()
            cold.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            app.run()
            warm.append(time.perf_counter() - t0)
            errors += [str(e.value) for e in app.exception] + [str(e.value) for e in app.error]
        charts = len(list(app.get("plotly_chart")))
    return {
        "n": n,
        "n_test": n_test,
        "write_bundle_s": write_s,
        "cold": spread(cold).to_dict(),
        "cold_fmt": spread(cold).fmt(),
        "warm": spread(warm).to_dict(),
        "warm_fmt": spread(warm).fmt(),
        "charts": charts,
        "errors": "; ".join(sorted(set(errors)))[:300],
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000, 100_000])
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args(argv)
    info = machine_info()
    rows = []
    for n in args.sizes:
        rows.append(time_explore(n, args.repeats))
        print(f"[explore n={n}] cold {rows[-1]['cold_fmt']} warm {rows[-1]['warm_fmt']}", file=sys.stderr)
    path = write_json(
        "dashboard", {"machine": info, "rows": rows, "load_after": machine_info()["load_average"]}
    )
    print(markdown_table(rows, ["n", "n_test", "cold_fmt", "warm_fmt", "charts", "errors"]))
    at10k = [r for r in rows if r["n"] == 10_000]
    if at10k:
        gap = at10k[0]["cold"]["median"] - 2.0
        print(f"\nGoal < 2 s at 10k: cold median {at10k[0]['cold']['median']:.2f} s (gap {gap:+.2f} s)")
    print(f"\nload average before {info['load_average']}; JSON: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
