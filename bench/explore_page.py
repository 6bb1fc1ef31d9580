"""How long the Explore page takes to render a 10,000-sample run (precomputed arrays only).

Writes a synthetic run bundle of ``--samples`` samples (15% test split, so a 1500 x 1500 similarity
matrix; a 200 x 200 feature map; 20,000 UMAP points) into a temporary MMCORR_HOME, then times
AppTest runs of the Explore page: the first (cold: files read from disk) and the following ones
(warm: st.cache_data hits). The target is under 2 s for the cold render.

    .venv/bin/python bench/explore_page.py [--samples 10000] [--repeats 3]

Recorded (2026-11-28, 2 shared CPU cores, streamlit 1.67, plotly 6.9): 10,000 samples ->
cold render 0.73 s, warm 0.27 s (median of 3), 5 plotly charts (similarity 1500 x 1500 drawn as
300 x 300, 200 x 200 clustered feature map, canonical bars, 20,000-point UMAP, training curves).
This is the page script's time (what AppTest measures); the browser's WebGL paint comes on top.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="mmcorr-bench-"))
    os.environ["MMCORR_HOME"] = str(home)
    os.environ["MMCORR_AUTOSTART_WORKER"] = "0"
    sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "pages")]
    from dashboard_helpers import write_run  # the same bundle writer as the page tests
    from streamlit.testing.v1 import AppTest

    n_test = int(args.samples * 0.15)
    t0 = time.perf_counter()
    write_run(home, "bench-run", n=args.samples, k=10, n_test=n_test, features=(200, 200))
    print(f"bundle: {args.samples} samples, {n_test} test, written in {time.perf_counter() - t0:.2f} s")

    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    app.run()
    app.switch_page("pages/explore.py")
    times = []
    for i in range(args.repeats + 1):
        t = time.perf_counter()
        app.run()
        times.append(time.perf_counter() - t)
        assert not app.exception, [e.value for e in app.exception]
        charts = len(app.get("plotly_chart"))
        print(f"run {i} ({'cold' if i == 0 else 'warm'}): {times[-1]:.2f} s, {charts} plotly charts")
    print(f"cold render {times[0]:.2f} s; warm median {sorted(times[1:])[len(times[1:]) // 2]:.2f} s")


if __name__ == "__main__":
    main()
