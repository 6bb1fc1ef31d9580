"""Raw modalities (issue 13): quality, training speed and loader memory on the digits-media demo.

    .venv/bin/python bench/media.py            # full: seeds 0-2, every family, 2k / 20k (15-20 min)
    .venv/bin/python bench/media.py --quick    # smoke: 200 samples, 1 epoch, tiny archives

1. Quality: every model family (defaults but the epoch budget) and the issue's baseline, linear CCA
   on flattened pixels + TF-IDF + the log-mel's mean over time (n_mels features), on one stratified
   70/15/15 split of ``make_demo("digits-media", seed=s)`` per seed s (data, split and init), early
   stopping on the validation part. Held-out metrics come from the run pipeline's own
   ``mmcorr.runs.metrics.compute_metrics`` (retrieval on ``transform``'s latents, canonical
   correlation sums after its post-hoc alignment); ``oracle_recall`` on the test rows is the ceiling.
2. dccae training on 2k and 20k rows (the demo's 1,797 samples tiled), a fresh process each:
   seconds per epoch and the fit's peak RSS above the data already in memory.
3. ``load_modality(zip, "image")`` on archives of 256x256 RGB mosaics of digits (2k and 20k JPEGs,
   2k PNGs), a fresh process each: wall time and peak RSS above the process before loading, beside
   the 32x32 output and what decoding every image at full resolution would hold.

Peak RSS is the kernel's high-water mark (VmHWM) reset through /proc/self/clear_refs once the
process is ready, so it counts numpy, torch and Pillow alike. Children use ONE torch / BLAS thread
by default (on the shared 2-core machine a 2-thread step stalled on its descheduled OpenMP thread:
0.35 s vs 3-5 s per dccae batch at load 8-10), and the seeds' quality children run two at a time
(``--jobs``); speed and loader children run alone. JSON: bench/results/media.json (quick: bench/out/).
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import json
import math
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[1])]

import _common as common  # noqa: E402

from mmcorr.analysis import RetrievalMetric  # noqa: E402

RESULTS_JSON = common.ROOT / "bench" / "results" / "media.json"
FAMILIES = ("cca", "ae", "corrae", "dccae", "mvae")
BASELINE = "baseline (pixels + TF-IDF + mean log-mel)"
DIRECTIONS = (("image", "text"), ("audio", "image"))
PAIRS = (("image", "text"), ("image", "audio"))
RETRIEVAL = (RetrievalMetric.RECALL_1, RetrievalMetric.RECALL_10, RetrievalMetric.CLASS_PRECISION_1)
METRICS = [f"{a}->{b} {m.value}" for a, b in DIRECTIONS for m in RETRIEVAL] + [
    f"cc {a}|{b}" for a, b in PAIRS
]


# -- helpers run inside the children ------------------------------------------------------------


def _hwm_mib() -> float:
    """The kernel's high-water RSS of this process since the last :func:`_reset_hwm` (MiB)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


def _reset_hwm() -> float:
    """Reset the high-water mark to the current RSS and return that RSS (MiB)."""
    Path("/proc/self/clear_refs").write_text("5")
    return common.rss_mib()


def _demo(seed: int, n: int | None, cache: str) -> Any:
    """``make_demo("digits-media")``, pickled in ``cache`` so later children skip the ~10 s build."""
    import pickle

    from mmcorr.data import make_demo

    path = Path(cache) / f"digits-media-{seed}-{n}.pkl"
    if path.exists():
        return pickle.loads(path.read_bytes())
    ds = make_demo("digits-media", seed=seed, n_samples=n)
    path.write_bytes(pickle.dumps(ds))
    return ds


def _round(value: Any) -> float | None:
    return None if value is None or not math.isfinite(float(value)) else round(float(value), 4)


def _mean_log_mel(ds: Any) -> Any:
    """The baseline's inputs: the audio (n, 1*n_mels*frames) log-mel grid averaged over time."""
    _, n_mels, frames = ds.media["audio"].shape  # rows are mel-major: mel00_t00, mel00_t01, ...
    assert ds.features["audio"][1].endswith("_t01"), ds.features["audio"][:2]
    audio = ds.values["audio"].reshape(-1, n_mels, frames).mean(axis=2)
    return dataclasses.replace(
        ds,
        values={**ds.values, "audio": audio.astype("float32")},
        features={**ds.features, "audio": [f"mel{i:02d}_mean" for i in range(n_mels)]},
        media={k: v for k, v in ds.media.items() if k != "audio"},
        previews={k: v for k, v in ds.previews.items() if k != "audio"},
    )


def _fit_and_score(method: str, ds: Any, split: Any, args: argparse.Namespace) -> dict[str, Any]:
    """Fit one method on the split's train rows (validation for early stopping); test metrics."""
    import numpy as np

    from mmcorr import CorrelationModel
    from mmcorr.config import AnalysisConfig, ModelConfig
    from mmcorr.losses import LossPart
    from mmcorr.runs.metrics import LatentSet, compute_metrics
    from mmcorr.runs.schema import Direction, Pair

    data = _mean_log_mel(ds) if method == BASELINE else ds
    parts = {name: data.subset(getattr(split, name)) for name in ("train", "val", "test")}
    est = CorrelationModel(
        "cca" if method == BASELINE else method, args.latent_dim, epochs=args.epochs, seed=args.seed,
        device="cpu", threads=args.threads, checkpoint_every=0,
    )  # fmt: skip
    t0 = time.perf_counter()
    est.fit(parts["train"], validation=parts["val"])
    fit_s = time.perf_counter() - t0
    sets = {k: LatentSet.from_rows(p, est.transform(p), np.arange(p.n_samples)) for k, p in parts.items()}
    res = compute_metrics(
        sets["train"], sets["test"], AnalysisConfig(permutations=0, seed=args.seed),
        val=sets["val"], cca_reg=ModelConfig().cca_reg,
    )  # fmt: skip
    row: dict[str, Any] = {"method": method, "seed": args.seed, "fit_s": fit_s}
    row["epochs_run"] = len(est.history_)
    deep = method not in ("cca", BASELINE)
    row["s_per_epoch"] = statistics.median(h["seconds"] for h in est.history_) if deep else None
    if deep:  # per epoch: was the budget still too short? (early stopping watches one of these)
        row["val_corr"] = [_round(h.get("val_corr")) for h in est.history_]
        row["val_loss"] = [_round(h["val"].get(LossPart.TOTAL.value)) for h in est.history_]
    for a, b in DIRECTIONS:
        for m in RETRIEVAL:
            row[f"{a}->{b} {m.value}"] = res.retrieval[Direction(a, b)].get(m)
    for a, b in PAIRS:
        row[f"cc {a}|{b}"] = res.canonical[Pair(a, b)].total
    return row


def _oracle(ds: Any, test_rows: Any, seed: int, n: int | None) -> dict[str, Any]:
    """``oracle_recall`` restricted to the test rows (same candidates as the models' retrieval)."""
    import numpy as np

    from mmcorr.data.demos_media import make_digits_media, oracle_recall

    full = make_digits_media(seed=seed, n=n)
    pos = {str(i): j for j, i in enumerate(full.ids)}
    idx = np.array([pos[str(i)] for i in ds.ids[test_rows]])
    rows = {k: getattr(full, k)[idx] for k in ("ids", "images", "captions", "audio", "labels", "factors")}
    sub = dataclasses.replace(full, **rows, seen={k: v[idx] for k, v in full.seen.items()})
    rec = oracle_recall(sub, ks=(1, 10))
    row: dict[str, Any] = {"method": "oracle ceiling (test rows)", "seed": seed}
    for a, b in DIRECTIONS:
        row[f"{a}->{b} recall@1"], row[f"{a}->{b} recall@10"] = rec[f"{a}->{b}"][1], rec[f"{a}->{b}"][10]
        row[f"{a}->{b} class_precision@1"] = 1.0
    return row


def child_quality(args: argparse.Namespace) -> dict[str, Any]:
    import torch
    import torch._dynamo  # the first optimizer imports it: keep that out of fit_s

    from mmcorr.data import split_indices

    torch.set_num_threads(args.threads)
    ds = _demo(args.seed, args.n, args.cache)
    split = split_indices(ds.labels, seed=args.seed)
    rows = [_oracle(ds, split.test, args.seed, args.n)]
    for method in (BASELINE, *FAMILIES):
        rows.append(_fit_and_score(method, ds, split, args))
        print(f"  seed {args.seed} {method}: fit {rows[-1]['fit_s']:.1f} s", file=sys.stderr, flush=True)
    sizes = {k: len(getattr(split, k)) for k in ("train", "val", "test")}
    return {"seed": args.seed, "split": sizes, "rows": rows}


def child_train(args: argparse.Namespace) -> dict[str, Any]:
    """dccae on ``args.rows`` rows (the demo tiled), ``args.train_epochs`` epochs, no early stop."""
    import numpy as np
    import torch
    import torch._dynamo  # the first optimizer imports it: keep that out of the fit

    from mmcorr import CorrelationModel

    torch.set_num_threads(args.threads)
    ds = _demo(0, args.n, args.cache)
    rows = np.arange(args.rows) % ds.n_samples
    ids = np.array([f"s{i:06d}" for i in range(args.rows)], dtype=object)
    data = dataclasses.replace(ds.subset(rows), ids=ids, metadata=None, label_column=None, previews={})
    del ds
    data_mib = sum(v.nbytes for v in data.values.values()) / common.MIB
    base = _reset_hwm()
    est = CorrelationModel(
        "dccae", args.latent_dim, epochs=args.train_epochs, patience=0, seed=0, device="cpu",
        threads=args.threads, checkpoint_every=0,
    )  # fmt: skip
    t0 = time.perf_counter()
    est.fit(data)
    fit_s = time.perf_counter() - t0
    secs = [float(h["seconds"]) for h in est.history_]
    return {
        "rows": args.rows, "data_mib": data_mib, "epoch_s": secs, "first_epoch_s": secs[0],
        "s_per_epoch": statistics.median(secs[1:] or secs), "fit_s": fit_s,
        "rss_before_fit_mib": base, "fit_peak_above_data_mib": _hwm_mib() - base,
    }  # fmt: skip


def child_loader(args: argparse.Namespace) -> dict[str, Any]:
    from mmcorr.data import load_modality

    # A 4-image archive first: modules the loader imports on first use count in the baseline.
    warm = Path(args.cache) / f"warm-{Path(args.archive).name}"
    write_archive(warm, 4, args.side, "PNG" if args.archive.endswith("png.zip") else "JPEG")
    load_modality(warm, "image")
    base = _reset_hwm()
    t0 = time.perf_counter()
    mod = load_modality(args.archive, "image")
    seconds = time.perf_counter() - t0
    return {
        "images": mod.n_samples, "grid": list(mod.media.shape) if mod.media else None,
        "values_mib": mod.values.nbytes / common.MIB, "load_s": seconds,
        "previews_mib": sum(len(p) for p in mod.previews) / common.MIB if mod.previews is not None else 0.0,
        "rss_before_mib": base, "peak_above_start_mib": _hwm_mib() - base,
    }  # fmt: skip


# -- the parent: archives, children, tables -----------------------------------------------------


def write_archive(path: Path, n: int, side: int, fmt: str, seed: int = 0) -> dict[str, Any]:
    """A zip of ``n`` side x side RGB images, each an 8x8 mosaic of digits in one random tint."""
    import numpy as np
    from PIL import Image
    from sklearn.datasets import load_digits

    digits = (load_digits().images * (255.0 / 16.0)).astype(np.uint8)  # (1797, 8, 8)
    cell = side // 8
    tiles = np.kron(digits, np.ones((1, cell // 8, cell // 8), dtype=np.uint8))  # (1797, cell, cell)
    rng = np.random.default_rng(seed)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        for i in range(n):  # one file per image: the loop is the archive's own structure
            grid = tiles[rng.integers(0, len(tiles), 64)].reshape(8, 8, cell, cell)
            grey = grid.transpose(0, 2, 1, 3).reshape(side, side).astype(np.float32)
            rgb = (grey[..., None] * rng.uniform(0.3, 1.0, 3) + rng.uniform(0, 40, 3)).astype(np.uint8)
            buf = io.BytesIO()
            Image.fromarray(rgb).save(buf, format=fmt, **({"quality": 90} if fmt == "JPEG" else {}))
            zf.writestr(f"img{i:05d}.{fmt.lower()}", buf.getvalue())
    return {"format": fmt.lower(), "images": n, "side": side, "archive_mib": path.stat().st_size / common.MIB,
            "full_res_decoded_mib": n * side * side * 3 / common.MIB}  # fmt: skip


def _child(args: argparse.Namespace, kind: str, *extra: str) -> dict[str, Any]:
    shared = ["--threads", str(args.threads), "--epochs", str(args.epochs), "--cache", args.cache, "--side",
              str(args.side), "--latent-dim", str(args.latent_dim), "--train-epochs", str(args.train_epochs),
              *(["--n", str(args.n)] if args.n is not None else [])]  # fmt: skip
    blas = {v: str(args.threads) for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
    t0 = time.perf_counter()
    res = common.run_child([__file__, "--child", kind, *shared, *extra], timeout=1800.0, env=blas)
    print(f"[{kind} {' '.join(extra)}] {res.get('error', 'ok')} ({time.perf_counter() - t0:.0f} s)",
          file=sys.stderr, flush=True)  # fmt: skip
    return res


def summarise(seed_runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per method: "mean ± sd" over the seeds of every metric (plus the raw means for the goals)."""
    by_method: dict[str, list[dict[str, Any]]] = {}
    for run in seed_runs:
        for row in run.get("rows", []):
            by_method.setdefault(row["method"], []).append(row)
    out = []
    for method, rows in by_method.items():
        line: dict[str, Any] = {"method": method, "seeds": len(rows)}
        for key in [*METRICS, "s_per_epoch", "epochs_run", "fit_s"]:
            vals = [float(r[key]) for r in rows if r.get(key) is not None]
            if vals:
                sd = statistics.stdev(vals) if len(vals) > 1 else 0.0
                line[key], line[f"{key} sd"] = statistics.fmean(vals), sd
        out.append(line)
    return out


def goal_lines(summary: list[dict[str, Any]]) -> list[str]:
    """Each family's mean minus the baseline's on every metric; the goal wants every gap > 0."""
    base = next((s for s in summary if s["method"] == BASELINE), None)
    if base is None:
        return ["- baseline failed: no comparison"]
    lines = []
    for s in (s for s in summary if s["method"] in FAMILIES):
        gaps = {m: s[m] - base[m] for m in METRICS if m in s and m in base}
        missed = [f"{m} {g:+.3f}" for m, g in gaps.items() if g <= 0]
        worst = min(gaps.values(), default=float("nan"))
        verdict = "met on all" if not missed else f"missed {len(missed)} of"
        lines.append(
            f"- {s['method']}: {verdict} {len(gaps)} metrics (smallest gap {worst:+.3f})"
            + (f"; misses: {', '.join(missed)}" if missed else "")
        )
    return lines


def _fmt(row: dict[str, Any], key: str) -> str:
    value = row.get(key)
    if not isinstance(value, float):
        return "" if value is None else str(value)
    return f"{value:.3f}" + (f" ± {row[f'{key} sd']:.3f}" if row.get("seeds", 1) > 1 else "")


def print_tables(summary: list[dict[str, Any]], train: list[Any], loader: list[Any]) -> None:
    cols = ["method", *METRICS, "s_per_epoch", "epochs_run"]
    print(common.markdown_table([{c: _fmt(s, c) for c in cols} for s in summary], cols))
    print("\nGoal: every deep family above the baseline on every metric (mean over seeds):")
    print("\n".join(goal_lines(summary)))
    cols = ["rows", "data_mib", "first_epoch_s", "s_per_epoch", "fit_s", "fit_peak_above_data_mib", "error"]
    print("\n" + common.markdown_table(train, cols))
    cols = ["format", "images", "side", "archive_mib", "full_res_decoded_mib", "values_mib", "previews_mib"]
    print("\n" + common.markdown_table(loader, [*cols, "load_s", "peak_above_start_mib", "error"]))


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="smoke run: 200 samples, 1 epoch, tiny archives")
    p.add_argument("--seeds", type=int, nargs="+", default=None, help="default 0 1 2 (quick: 0)")
    p.add_argument("--epochs", type=int, default=None, help="deep families' budget: 20 (ae / mvae want 60)")
    p.add_argument("--train-rows", type=int, nargs="+", default=None, help="dccae speed sizes (2000 20000)")
    p.add_argument("--train-epochs", type=int, default=None, help="epochs per speed fit (default 2)")
    p.add_argument("--images", type=int, nargs="+", default=None, help="loader archive sizes (2000 20000)")
    p.add_argument("--side", type=int, default=None, help="archive image side, a multiple of 64 (256)")
    p.add_argument("--latent-dim", type=int, default=10)
    p.add_argument("--threads", type=int, default=1, help="torch / BLAS threads per child (default 1)")
    p.add_argument("--out", default=str(RESULTS_JSON), help="JSON of a full run (default %(default)s)")
    p.add_argument("--jobs", type=int, default=2, help="quality children run at once (default 2)")
    for flag, kind in (("--n", int), ("--child", str), ("--seed", int), ("--rows", int), ("--archive", str)):
        p.add_argument(flag, type=kind, default=None, help=argparse.SUPPRESS)  # the children's inputs
    p.add_argument("--cache", default="", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    quick = args.quick
    defaults = {"seeds": [0] if quick else [0, 1, 2], "epochs": 1 if quick else 20,
                "train_rows": [200, 400] if quick else [2000, 20000], "train_epochs": 1 if quick else 2,
                "images": [20, 60] if quick else [2000, 20000], "side": 64 if quick else 256,
                "n": 200 if quick else None}  # fmt: skip
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    return args


def run_all(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    args.cache = str(tmp)
    with ThreadPoolExecutor(args.jobs) as pool:  # quality children side by side, one per core
        seed_runs = list(pool.map(lambda s: _child(args, "quality", "--seed", str(s)), args.seeds))
    train = [{"rows": r, **_child(args, "train", "--rows", str(r))} for r in args.train_rows]
    loader = []
    cases = [(n, "JPEG") for n in args.images] + [(min(args.images), "PNG")]
    for n, fmt in cases:
        path = tmp / f"images-{n}-{fmt.lower()}.zip"
        t0 = time.perf_counter()
        meta = write_archive(path, n, args.side, fmt)
        meta["write_s"] = time.perf_counter() - t0
        loader.append({**meta, **_child(args, "loader", "--archive", str(path))})
        path.unlink()
    return {"quality_runs": seed_runs, "train": train, "loader": loader}


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    if args.child:
        fn = {"quality": child_quality, "train": child_train, "loader": child_loader}[args.child]
        print(json.dumps(fn(args)))
        return 0
    info, t0 = common.machine_info(), time.perf_counter()
    info["head"] = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    with tempfile.TemporaryDirectory(prefix="mmcorr-bench-media-") as tmp:
        results = run_all(args, Path(tmp))
    summary = summarise(results["quality_runs"])
    config = {k: v for k, v in vars(args).items() if k not in {"child", "seed", "rows", "archive", "cache"}}
    payload = {
        "command": "bench/media.py " + " ".join(sys.argv[1:] if argv is None else argv),
        "date": time.strftime("%Y-%m-%d"), "machine": info, "load_after": common.load_average(),
        "wall_s": time.perf_counter() - t0, "config": config, "summary": summary,
        "goals": goal_lines(summary), **results,
    }  # fmt: skip
    path = common.write_json("media_quick" if args.quick else "media", payload)  # bench/out/ first
    if not args.quick:  # the recorded run: committed beside bench/RESULTS.md
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        path = Path(shutil.copyfile(path, args.out))
    print_tables(summary, results["train"], results["loader"])
    print(f"\nload average before {info['load_average']}, after {payload['load_after']}; "
          f"wall {payload['wall_s']:.0f} s; JSON: {path}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
