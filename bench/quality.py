"""Quality of mmcorr's models against scikit-learn CCA and cca-zoo's DCCA / DCCAE on held-out pairs.

Run from the repository root in the benchmark environment (see bench/README.md):

    bench/.venv/bin/python bench/quality.py            # full budget (100 epochs)
    bench/.venv/bin/python bench/quality.py --quick    # smoke run (3 epochs, 600 samples)

Every (dataset, method) pair runs in a fresh subprocess so its peak memory (ru_maxrss, which covers
numpy and torch's CPU allocator alike, unlike tracemalloc) is its own. Every method gets the same
rows, the same encoder sizes (hidden layers, latent size), batch size and epoch budget; each library
trains at its own default learning rate (mmcorr: its per-family ``RECOMMENDED_LR``, 5e-3 for dccae;
cca-zoo: 1e-3) unless ``--lr`` sets one rate for all. External methods get the same train-fitted
standardisation that mmcorr applies itself. mmcorr's early stopping uses the validation split only.
All metrics are computed by mmcorr.analysis on each method's latents, so the comparison is the same
arithmetic for every library:

- cca_sum: sum of the k canonical correlations on the test pairs of a linear CCA fitted to the
  training latents (mmcorr.analysis.canonical_correlation_test); on `synthetic` also as a fraction
  of the closed-form ceiling.
- recall@1 / class_precision@1: cross-modal retrieval on test pairs, in the canonical space of that
  linear CCA (so every method is aligned the same way).
- probe_acc: logistic-regression probe on the mean of the two aligned latents, train -> test.
- fit_s: wall time of fit only; peak_mib: peak RSS of the process; fit_mib: peak minus RSS before fit.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[1])]

from _common import machine_info, markdown_table, peak_rss_mib, rss_mib, run_child, write_json  # noqa: E402

MMCORR_METHODS = ("mmcorr:cca", "mmcorr:ae", "mmcorr:corrae", "mmcorr:dccae", "mmcorr:mvae")
REFERENCE_METHODS = ("sklearn:cca", "ccazoo:dcca", "ccazoo:dccae")
METHODS = MMCORR_METHODS + REFERENCE_METHODS


def _standardize(train: Any, *others: Any) -> list[Any]:
    mean = train.mean(axis=0)
    std = train.std(axis=0)
    std[std < 1e-8] = 1.0  # constant pixels of digits: leave them at zero instead of dividing by 0
    return [((x - mean) / std).astype("float32") for x in (train, *others)]


def _latents_mmcorr(
    model_name: str, data: Any, args: argparse.Namespace, row: dict[str, Any]
) -> tuple[list[Any], float]:
    from mmcorr import CorrelationModel

    est = CorrelationModel(
        model=model_name,
        latent_dim=args.latent_dim,
        hidden=tuple(args.hidden),
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        seed=args.seed,
        device="cpu",
        threads=args.threads,
        checkpoint_every=0,
    )
    t0 = time.perf_counter()
    est.fit(data.train, validation=data.val)
    fit_s = time.perf_counter() - t0
    row["epochs_run"] = len(est.history_)
    a, b = data.train.names
    tr = est.transform(data.train)
    te = est.transform(data.test)
    va = est.transform(data.val)
    row["_val"] = [va[a], va[b]]
    row.update(_prediction_rows(est, data))
    return [tr[a], tr[b], te[a], te[b]], fit_s


def _prediction_rows(est: Any, data: Any) -> dict[str, Any]:
    """Held-out cross-modal R^2 per direction beside the predict-the-training-mean baseline."""
    import numpy as np

    from mmcorr.analysis import prediction_r2

    out: dict[str, Any] = {}
    a, b = data.train.names
    for i, (s, t) in enumerate(((a, b), (b, a))):
        pred = est.predict(data.test, source=s, target=t)
        mean = np.broadcast_to(data.train.values[t].mean(axis=0), pred.shape)
        out[f"r2_{i}"] = prediction_r2(data.test.values[t], pred, weighting="variance")[0]
        out[f"r2_mean_{i}"] = prediction_r2(data.test.values[t], mean, weighting="variance")[0]
    return out


#: Ridge of the post-hoc CCA tried by the "shrink" protocol (chosen by validation total).
_SHRINK_GRID = (1e-3, 1e-2, 1e-1, 3e-1, 1.0)


def _protocols(za: Any, zb: Any, wa: Any, wb: Any, val: list[Any], k: int) -> dict[str, Any]:
    """Held-out total and CC1 of the post-hoc alignment under each protocol (issue 16, item 1).

    before: CCA fitted on training latents, components in training order. val_order: the same CCA,
    components ordered by validation correlation. val_fit: CCA fitted on the validation latents.
    shrink: CCA fitted on training latents with its ridge chosen by the validation total.
    auto: val_fit or the training fit, whichever scores higher on validation pairs out of sample.
    Also the train / validation / test correlation sums of the "before" CCA (memorisation gap).
    """
    import numpy as np

    from mmcorr.analysis import canonical_correlation_test

    va, vb = (np.asarray(v, dtype=np.float64) for v in val)
    out: dict[str, Any] = {}
    common = {"n_components": k, "permutations": 0}
    before = canonical_correlation_test(za, zb, wa, wb, **common)
    order = canonical_correlation_test(za, zb, wa, wb, val_a=va, val_b=vb, **common)
    vfit = canonical_correlation_test(za, zb, wa, wb, val_a=va, val_b=vb, fit_on="validation", **common)
    auto = canonical_correlation_test(za, zb, wa, wb, val_a=va, val_b=vb, fit_on="auto", **common)
    shrunk = [
        canonical_correlation_test(za, zb, wa, wb, val_a=va, val_b=vb, reg=r, **common) for r in _SHRINK_GRID
    ]
    best = max(range(len(shrunk)), key=lambda i: float(np.sum(shrunk[i].val_correlations)))
    protocols = {"before": before, "val_order": order, "val_fit": vfit, "shrink": shrunk[best], "auto": auto}
    for name, res in protocols.items():
        out[f"{name}_total"] = res.total
        out[f"{name}_cc1"] = float(res.correlations[0])
        out[f"{name}_cc_max"] = float(np.max(res.correlations))
    out["shrink_reg"] = _SHRINK_GRID[best]
    out["auto_fit_on"] = auto.fit_on
    out["train_sum"] = float(np.sum(order.train_correlations))
    out["val_sum"] = float(np.sum(order.val_correlations))
    out["test_sum"] = order.total
    return out


def _latents_sklearn(data: Any, args: argparse.Namespace) -> tuple[list[Any], float]:
    from sklearn.cross_decomposition import CCA

    a, b = data.train.names
    xa, ta = _standardize(data.train.values[a], data.test.values[a])
    xb, tb = _standardize(data.train.values[b], data.test.values[b])
    k = min(args.latent_dim, xa.shape[1], xb.shape[1])
    cca = CCA(n_components=k, max_iter=1000)
    t0 = time.perf_counter()
    cca.fit(xa, xb)
    fit_s = time.perf_counter() - t0
    za, zb = cca.transform(xa, xb)
    wa, wb = cca.transform(ta, tb)
    return [za, zb, wa, wb], fit_s


def _mlp(sizes: list[int]) -> Any:
    import torch.nn as nn

    layers: list[Any] = []
    for i, (d_in, d_out) in enumerate(itertools.pairwise(sizes)):
        layers.append(nn.Linear(d_in, d_out))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def _latents_ccazoo(kind: str, data: Any, args: argparse.Namespace) -> tuple[list[Any], float]:
    import lightning.pytorch as pl
    import torch
    from cca_zoo.deep import DCCA, DCCAE, MultiviewDataset
    from torch.utils.data import DataLoader

    a, b = data.train.names
    xa, ta = _standardize(data.train.values[a], data.test.values[a])
    xb, tb = _standardize(data.train.values[b], data.test.values[b])
    k, hidden = args.latent_dim, list(args.hidden)
    pl.seed_everything(args.seed, verbose=False)
    encoders = [_mlp([x.shape[1], *hidden, k]) for x in (xa, xb)]
    lr = {} if args.lr is None else {"learning_rate": args.lr}  # None: cca-zoo's default, 1e-3
    if kind == "dcca":
        model: Any = DCCA(n_components=k, encoders=encoders, **lr)
    else:
        # lam=0.5 weighs correlation and reconstruction equally, as mmcorr's default weights do.
        decoders = [_mlp([k, *hidden[::-1], x.shape[1]]) for x in (xa, xb)]
        model = DCCAE(n_components=k, encoders=encoders, decoders=decoders, lam=0.5, **lr)
    loader = DataLoader(MultiviewDataset([xa, xb]), batch_size=args.batch_size, shuffle=True, drop_last=True)
    trainer = pl.Trainer(
        max_epochs=args.epochs,
        accelerator="cpu",
        logger=False,
        enable_progress_bar=False,
        enable_checkpointing=False,
        enable_model_summary=False,
    )
    t0 = time.perf_counter()
    trainer.fit(model, loader)
    fit_s = time.perf_counter() - t0
    model.eval()
    with torch.no_grad():
        out = [
            enc(torch.from_numpy(x)).numpy()
            for enc, x in zip([*model.encoders, *model.encoders], [xa, xb, ta, tb], strict=True)
        ]
    return out, fit_s


def worker(args: argparse.Namespace) -> dict[str, Any]:
    """Fit one method on one dataset and measure it (runs in its own process)."""
    import numpy as np
    import torch
    from _datasets import load_quality

    from mmcorr._cca import cca_transform, fit_cca
    from mmcorr.analysis import canonical_correlation_test, linear_probe_accuracy, retrieval_metrics

    torch.set_num_threads(args.threads)
    # torch's optimizers import torch._dynamo on their first construction (1-1.6 s on the benchmark
    # machine); Lightning imports it at import time, before cca-zoo's timer starts. Importing it up
    # front makes fit_s time the training of every library rather than that one-off import.
    import torch._dynamo

    data = load_quality(args.dataset, seed=args.seed, n_samples=args.max_n)
    rss0 = rss_mib()
    lib, name = args.method.split(":")
    extra: dict[str, Any] = {}
    if lib == "mmcorr":
        lat, fit_s = _latents_mmcorr(name, data, args, extra)
    elif lib == "sklearn":
        lat, fit_s = _latents_sklearn(data, args)
    else:
        lat, fit_s = _latents_ccazoo(name, data, args)
    peak = peak_rss_mib()
    za, zb, wa, wb = (np.asarray(z, dtype=np.float64) for z in lat)
    k = min(za.shape[1], zb.shape[1])
    val = extra.pop("_val", None)
    if val is not None:
        extra.update(_protocols(za, zb, wa, wb, val, k))
    canon = canonical_correlation_test(za, zb, wa, wb, n_components=k, permutations=10, seed=args.seed)
    corr = np.asarray(canon.correlations, dtype=float)
    row: dict[str, Any] = {
        "dataset": args.dataset,
        "method": args.method,
        "k": int(k),
        "cca_sum": float(np.nansum(corr)),
        "fit_s": fit_s,
        "peak_mib": peak,
        "fit_mib": peak - rss0,
        "n_train": data.train.n_samples,
        "n_test": data.test.n_samples,
        **extra,
    }
    if data.ceiling is not None:
        # The ceiling has one value per true shared direction (5 on synthetic): compare that many.
        c = min(k, len(data.ceiling))
        row["ceiling_sum"] = float(sum(data.ceiling[:c]))
        row["frac_ceiling"] = float(np.sum(np.sort(corr)[::-1][:c])) / row["ceiling_sum"]
    # Align every method the same way: linear CCA fitted on its training latents.
    fit = fit_cca([za, zb], n_components=k, reg=1e-3)
    ua, ub = cca_transform(fit, [za, zb])
    va, vb = cca_transform(fit, [wa, wb])
    y_train, y_test = data.train.labels, data.test.labels
    ret = retrieval_metrics(va, vb, labels=y_test)
    row["recall@1"] = float(ret["recall@1"])
    row["foscttm"] = float(ret["foscttm"])
    if y_test is not None:
        row["class_precision@1"] = float(ret.get("class_precision@1", float("nan")))
        row["probe_acc"] = float(
            linear_probe_accuracy((ua + ub) / 2, y_train, (va + vb) / 2, y_test, seed=args.seed)
        )
    return row


def _goal_lines(rows: list[dict[str, Any]]) -> list[str]:
    """Per dataset: mmcorr's best vs the best reference on each metric, and the training-time ratio."""
    lines = []
    metrics = ["cca_sum", "recall@1", "class_precision@1", "probe_acc"]
    for ds in dict.fromkeys(r["dataset"] for r in rows):
        ok = [r for r in rows if r["dataset"] == ds and "error" not in r]
        mine = [r for r in ok if r["method"].startswith("mmcorr:")]
        refs = [r for r in ok if not r["method"].startswith("mmcorr:")]
        if not mine or not refs:
            lines.append(f"- {ds}: not comparable (a side failed)")
            continue
        best = max(mine, key=lambda r: r["cca_sum"])
        parts = []
        for m in metrics:
            if m not in best:
                continue
            ref = max(refs, key=lambda r, m=m: r.get(m, float("-inf")))
            gap = best[m] - ref.get(m, float("nan"))
            parts.append(
                f"{m} {best[m]:.3f} vs {ref.get(m, float('nan')):.3f} ({ref['method']}) gap {gap:+.3f}"
            )
        deep_refs = [r for r in refs if r["method"].startswith("ccazoo:")]
        best_ref = max(deep_refs or refs, key=lambda r: r["cca_sum"])
        ratio = best["fit_s"] / best_ref["fit_s"] if best_ref["fit_s"] > 0 else float("nan")
        parts.append(
            f"fit time {best['fit_s']:.2f}s vs {best_ref['fit_s']:.2f}s ({best_ref['method']}) = {ratio:.2f}x"
        )
        lines.append(f"- {ds}: best mmcorr = {best['method']}; " + "; ".join(parts))
    return lines


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="smoke run: 3 epochs, at most 600 samples")
    p.add_argument(
        "--datasets", nargs="+", default=None, help="subset of synthetic digits-noisy digits-halves"
    )
    p.add_argument("--methods", nargs="+", default=None, help=f"subset of {' '.join(METHODS)}")
    p.add_argument("--epochs", type=int, default=None, help="epoch budget of every deep method (default 100)")
    p.add_argument("--hidden", type=int, nargs="+", default=[256, 256])
    p.add_argument("--latent-dim", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument(
        "--lr",
        type=float,
        default=None,
        help="one learning rate for every method (default: each library's own)",
    )
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max-n", type=int, default=None, help="cap samples per dataset")
    p.add_argument("--timeout", type=float, default=1800.0, help="seconds per (dataset, method)")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--dataset", help=argparse.SUPPRESS)
    p.add_argument("--method", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.epochs is None:
        args.epochs = 3 if args.quick else 100
    if args.quick and args.max_n is None:
        args.max_n = 600
    if args.worker:
        print(json.dumps(worker(args)))
        return 0

    from _datasets import QUALITY_DATASETS

    datasets = args.datasets or list(QUALITY_DATASETS)
    methods = args.methods or list(METHODS)
    shared = [
        "--epochs", str(args.epochs), "--latent-dim", str(args.latent_dim), "--batch-size", str(args.batch_size),
        "--threads", str(args.threads), "--seed", str(args.seed),
        "--hidden", *map(str, args.hidden),
    ]  # fmt: skip
    if args.max_n is not None:
        shared += ["--max-n", str(args.max_n)]
    if args.lr is not None:
        shared += ["--lr", str(args.lr)]
    info = machine_info()
    rows: list[dict[str, Any]] = []
    for ds in datasets:
        for m in methods:
            res = run_child(
                [__file__, "--worker", "--dataset", ds, "--method", m, *shared], timeout=args.timeout
            )
            res.setdefault("dataset", ds)
            res.setdefault("method", m)
            rows.append(res)
            status = res.get("error") or f"cca_sum={res['cca_sum']:.3f} fit={res['fit_s']:.2f}s"
            print(f"[{ds} {m}] {status}", file=sys.stderr, flush=True)
    cols = ["dataset", "method", "cca_sum", "frac_ceiling", "recall@1", "class_precision@1", "probe_acc"]
    cols += ["foscttm", "fit_s", "epochs_run", "peak_mib", "fit_mib", "error"]
    table = markdown_table(rows, [c for c in cols if any(c in r for r in rows)])
    goals = _goal_lines(rows)
    config = {k: v for k, v in vars(args).items() if k not in {"worker", "dataset", "method"}}
    path = write_json(
        "quality_quick" if args.quick else "quality",
        {
            "machine": info,
            "load_after": machine_info()["load_average"],
            "config": config,
            "rows": rows,
            "goals": goals,
        },
    )
    print(table)
    print("\nGoal (mmcorr's best >= best reference on every metric, in <= half its training time):")
    print("\n".join(goals))
    print(f"\nload average before {info['load_average']}, JSON: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
