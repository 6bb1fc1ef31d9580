"""Peak memory of a fresh `mmcorr train` beside a fresh cca-zoo DCCA fit on the same 2,000 x (240 + 76) pair.

Issue 15 goal 7 (second half): "Peak memory of `mmcorr train` on 2,000 x (240 + 76) within 1.3x of
cca-zoo's DCCA fit process". The issue's benchmark (real image-feature views of that shape) is kept
outside the repository; this script writes a seeded stand-in of the same shape (6 shared factors
behind a tanh, plus noise) as two CSVs and measures, in fresh processes of one run:

- ``imports``: ``python -c "import torch, sklearn, pandas"``, the floor of any torch CLI;
- ``ccazoo:dcca``: a script that reads the CSVs with pandas, standardises them and fits cca-zoo's
  DCCA (MLP 256-256, latent 10, batch 128, the same epochs) through Lightning, then encodes every
  sample: what a cca-zoo user runs. Skipped, with a note, when cca_zoo is not importable (put a
  cca-zoo install on PYTHONPATH: see bench/requirements.txt);
- ``mmcorr train --model dccae`` as a user runs it (UMAP on: 2,000 samples is above the automatic
  skip), then ``--umap off``, and ``--model cca``.

Peak RSS is each child's ``ru_maxrss`` (os.wait4); medians over the repeats, interleaved.

    PYTHONPATH=<cca-zoo install> python bench/cli_memory.py [--repeats 3] [--epochs 20] [--smoke]
"""

from __future__ import annotations

import argparse
import importlib.util
import itertools
import os
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine_info, markdown_table, write_json
from cli_latency import timed_child

N_SAMPLES, P_A, P_B, FACTORS = 2000, 240, 76, 6
GOAL_RATIO = 1.3


def write_pair(folder: Path, seed: int = 0) -> tuple[Path, Path]:
    """A seeded 2,000 x (240 + 76) pair sharing 6 factors through a tanh, as CSVs with an id column."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((N_SAMPLES, FACTORS))
    ids = np.array([f"s{i}" for i in range(N_SAMPLES)], dtype=object)
    paths = []
    for name, d in (("a", P_A), ("b", P_B)):
        m = np.tanh(z @ rng.standard_normal((FACTORS, d))) + 0.5 * rng.standard_normal((N_SAMPLES, d))
        path = folder / f"{name}.csv"
        header = "id," + ",".join(f"{name}{j}" for j in range(d))
        body = np.column_stack([ids, np.char.mod("%.5g", m).astype(object)])
        np.savetxt(path, body, fmt="%s", delimiter=",", header=header, comments="")
        paths.append(path)
    return paths[0], paths[1]


def ccazoo_child(a: Path, b: Path, epochs: int) -> None:
    """The reference process: read, standardise, fit cca-zoo's DCCA, encode (run in a fresh child)."""
    import lightning.pytorch as pl
    import pandas as pd
    import torch
    from cca_zoo.deep import DCCA, MultiviewDataset
    from torch import nn
    from torch.utils.data import DataLoader

    def mlp(sizes: list[int]) -> nn.Sequential:
        layers: list[nn.Module] = []
        for i, (d_in, d_out) in enumerate(itertools.pairwise(sizes)):
            layers.append(nn.Linear(d_in, d_out))
            if i < len(sizes) - 2:
                layers.append(nn.ReLU())
        return nn.Sequential(*layers)

    xs = [pd.read_csv(p, index_col=0).to_numpy(np.float32) for p in (a, b)]
    xs = [(x - x.mean(0)) / x.std(0) for x in xs]
    train = slice(0, int(0.7 * N_SAMPLES))
    pl.seed_everything(0, verbose=False)
    model = DCCA(n_components=10, encoders=[mlp([x.shape[1], 256, 256, 10]) for x in xs])
    loader = DataLoader(
        MultiviewDataset([x[train] for x in xs]), batch_size=128, shuffle=True, drop_last=True
    )
    trainer = pl.Trainer(
        max_epochs=epochs,
        accelerator="cpu",
        logger=False,
        enable_progress_bar=False,
        enable_checkpointing=False,
        enable_model_summary=False,
    )
    trainer.fit(model, loader)
    model.eval()
    with torch.no_grad():
        [enc(torch.from_numpy(x)).numpy() for enc, x in zip(model.encoders, xs, strict=True)]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3, help="measured repeats per command")
    ap.add_argument("--epochs", type=int, default=20, help="training epochs, the same for every fit")
    ap.add_argument("--smoke", action="store_true", help="one repeat of 1 epoch, no UMAP row (a quick check)")
    ap.add_argument("--ccazoo-child", nargs=2, metavar=("A", "B"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    epochs = 1 if args.smoke else args.epochs
    if args.ccazoo_child:
        ccazoo_child(Path(args.ccazoo_child[0]), Path(args.ccazoo_child[1]), epochs)
        return 0
    repeats = 1 if args.smoke else max(1, args.repeats)
    py, notes = sys.executable, []
    with tempfile.TemporaryDirectory(prefix="mmcorr-cli-memory-") as tmp:
        folder = Path(tmp)
        a, b = write_pair(folder)
        env = {**os.environ, "MMCORR_HOME": str(folder / "home"), "MMCORR_AUTOSTART_WORKER": "0"}
        env.pop("NUMBA_CACHE_DIR", None)

        def train(run: str, *extra: str) -> list[str]:
            return [
                *(py, "-m", "mmcorr", "train", "--modality", f"a={a}", "--modality", f"b={b}"),
                *("--epochs", str(epochs), "--out", str(folder / run), "--quiet", *extra),
            ]

        commands: dict[str, Any] = {
            "imports": lambda i: [py, "-c", "import torch, sklearn, pandas"],
            "ccazoo:dcca": lambda i: [
                py,
                __file__,
                "--epochs",
                str(epochs),
                "--ccazoo-child",
                str(a),
                str(b),
            ],
            "mmcorr train --model dccae": lambda i: train(f"d{i}", "--model", "dccae"),
            "mmcorr train --model dccae --umap off": lambda i: train(
                f"o{i}", "--model", "dccae", "--umap", "off"
            ),
            "mmcorr train --model cca": lambda i: train(f"c{i}", "--model", "cca"),
        }
        if importlib.util.find_spec("cca_zoo") is None:
            del commands["ccazoo:dcca"]
            notes.append(
                "cca_zoo is not importable: the reference row is missing (see bench/requirements.txt)"
            )
        if args.smoke:  # no UMAP row: its first call compiles for a minute
            del commands["mmcorr train --model dccae"]
        else:
            timed_child(train("warm", "--model", "cca", "--umap", "on"), env)  # fills the numba cache
        runs: dict[str, list[dict[str, Any]]] = {k: [] for k in commands}
        for i in range(repeats):  # interleaved, so load drifts hit every command alike
            for name, cmd in commands.items():
                runs[name].append(timed_child(cmd(i), env))
    rows = [
        {
            "command": name,
            "peak_rss_mib": statistics.median(r["peak_rss_mib"] for r in rs),
            "min_mib": min(r["peak_rss_mib"] for r in rs),
            "max_mib": max(r["peak_rss_mib"] for r in rs),
            "wall_s": statistics.median(r["wall_s"] for r in rs),
            "n": len(rs),
        }
        for name, rs in runs.items()
    ]
    ref = next((r["peak_rss_mib"] for r in rows if r["command"] == "ccazoo:dcca"), None)
    for r in rows:
        r["x_ccazoo"] = r["peak_rss_mib"] / ref if ref else None
    payload = {"machine": machine_info(), "epochs": epochs, "rows": rows, "goal": GOAL_RATIO, "notes": notes}
    path = write_json("cli_memory_smoke" if args.smoke else "cli_memory", payload)
    print(markdown_table(rows, ["command", "peak_rss_mib", "min_mib", "max_mib", "x_ccazoo", "wall_s", "n"]))
    for note in notes:
        print(f"note: {note}")
    print(f"\ngoal: mmcorr train within {GOAL_RATIO}x of ccazoo:dcca's peak; wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
