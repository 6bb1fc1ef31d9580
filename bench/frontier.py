"""Issue 15 goals 1-4: mmcorr's deep families side by side with linear CCA (and, on three views,
cca-zoo's deep multi-view CCA), medians over seeds.

    .venv/bin/python bench/frontier.py                 # 3 seeds, every dataset and family
    .venv/bin/python bench/frontier.py --quick         # smoke run (1 seed, 3 epochs, small sizes)
    PYTHONPATH=<cca-zoo install> .venv/bin/python bench/frontier.py --datasets three

Datasets: bench/_frontier_data.py (sim: known factors and ceiling; small: 40 samples, p >> n, 4
folds; three: digits in three column bands; digits-noisy). Every method gets the same rows; mmcorr
families run at their defaults (latent 10) and early-stop on their own
validation share; cca-zoo's DMCCA / DGCCA get the same MLP sizes, latent size and epoch budget
(their default learning rate, no early stopping), on train-standardised inputs.

Metrics, the same arithmetic for every method: ``corr_sum``: the sum of the held-out canonical
correlations of a linear CCA fitted on the training latents (mmcorr.analysis; on ``three`` one per
pair of views); ``frac_ceiling`` (sim): the top-4 of them over the closed-form ceiling;
``rec_j`` (sim): held-out R^2 of true factor j from both views' latents (ridge fitted on train);
``class_prec`` (three, digits-noisy): cross-modal class precision@1 in that CCA space, averaged over
ordered pairs of views.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[1])]

import _frontier_data as fd  # noqa: E402
from _common import machine_info, markdown_table, write_json  # noqa: E402

DATASETS = ("sim", "small", "three", "digits-noisy")
FAMILIES = ("cca", "ae", "corrae", "dccae", "mvae", "auto")  # auto: the default, choosing among them
REFERENCES = ("ccazoo:dmcca", "ccazoo:dgcca")  # three views only


def _fit_mmcorr(family: str, sp: fd.Split, args: argparse.Namespace, k: int, seed: int) -> list[dict]:
    from mmcorr import CorrelationModel

    est = CorrelationModel(
        model=family, latent_dim=k, epochs=args.epochs, seed=seed, device="cpu", threads=args.threads,
        checkpoint_every=0, gaussianize=args.gaussianize or None,
    )  # fmt: skip
    est.fit(sp.train, validation=sp.val)
    names = sp.train.names
    tr, te = est.transform(sp.train), est.transform(sp.test)
    return [{n: tr[n] for n in names}, {n: te[n] for n in names}, {"epochs_run": len(est.history_)}]


def _standardize(train: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean, std = train.mean(axis=0), train.std(axis=0)
    std[std < 1e-8] = 1.0
    return ((train - mean) / std).astype(np.float32), ((test - mean) / std).astype(np.float32)


def _fit_ccazoo(kind: str, sp: fd.Split, args: argparse.Namespace, k: int, seed: int) -> list[dict]:
    import lightning.pytorch as pl
    import torch
    from cca_zoo.deep import DGCCA, DMCCA, MultiviewDataset
    from torch import nn
    from torch.utils.data import DataLoader

    names = sp.train.names
    pairs = [_standardize(sp.train.values[n], sp.test.values[n]) for n in names]
    pl.seed_everything(seed, verbose=False)

    def mlp(d: int) -> nn.Module:
        sizes = [d, 256, 256, k]
        layers: list[nn.Module] = []
        for i, (a, b) in enumerate(itertools.pairwise(sizes)):
            layers += [nn.Linear(a, b)] + ([nn.ReLU()] if i < len(sizes) - 2 else [])
        return nn.Sequential(*layers)

    encoders = [mlp(p[0].shape[1]) for p in pairs]
    model: Any = (DMCCA if kind == "dmcca" else DGCCA)(n_components=k, encoders=encoders)
    loader = DataLoader(MultiviewDataset([p[0] for p in pairs]), batch_size=256, shuffle=True, drop_last=True)
    trainer = pl.Trainer(
        max_epochs=args.epochs, accelerator="cpu", logger=False, enable_progress_bar=False,
        enable_checkpointing=False, enable_model_summary=False,
    )  # fmt: skip
    trainer.fit(model, loader)
    model.eval()
    with torch.no_grad():
        lat = [
            [enc(torch.from_numpy(x)).numpy() for x in p]
            for enc, p in zip(model.encoders, pairs, strict=True)
        ]
    return [{n: lat[i][0] for i, n in enumerate(names)}, {n: lat[i][1] for i, n in enumerate(names)}, {}]


def _metrics(sp: fd.Split, tr: dict, te: dict, k: int, seed: int) -> dict[str, float]:
    from mmcorr._cca import cca_transform, fit_cca
    from mmcorr.analysis import canonical_correlation_test, retrieval_metrics

    names = sp.train.names
    row: dict[str, float] = {}
    sums, precs = [], []
    for a, b in itertools.combinations(names, 2):
        za, zb, wa, wb = (np.asarray(z, dtype=np.float64) for z in (tr[a], tr[b], te[a], te[b]))
        kk = min(k, za.shape[1], zb.shape[1], len(za) - 1)
        canon = canonical_correlation_test(za, zb, wa, wb, n_components=kk, permutations=0, seed=seed)
        corr = np.nan_to_num(np.asarray(canon.correlations, dtype=float))
        sums.append(float(corr.sum()))
        if len(names) > 2:
            row[f"corr_{a}_{b}"] = sums[-1]
        if "ceiling" in sp.info:
            c = len(sp.info["ceiling"])
            row["frac_ceiling"] = float(np.sort(corr)[::-1][:c].sum() / sum(sp.info["ceiling"]))
        if sp.test.labels is not None:
            fit = fit_cca([za, zb], n_components=kk, reg=1e-3)
            va, vb = cca_transform(fit, [wa, wb])
            for x, y in ((va, vb), (vb, va)):
                precs.append(float(retrieval_metrics(x, y, labels=sp.test.labels)["class_precision@1"]))
    row["corr_sum"] = float(np.mean(sums))
    if precs:
        row["class_prec"] = float(np.mean(precs))
    if sp.factors is not None:
        row.update(_recovery(sp, tr, te))
    return row


def _recovery(sp: fd.Split, tr: dict, te: dict) -> dict[str, float]:
    """Held-out R^2 of each true factor from the concatenated latents (ridge fitted on train)."""
    from sklearn.linear_model import Ridge

    xtr = np.hstack([np.asarray(tr[n], dtype=np.float64) for n in sp.train.names])
    xte = np.hstack([np.asarray(te[n], dtype=np.float64) for n in sp.train.names])
    ztr, zte = sp.factors  # type: ignore[misc]
    out = {}
    for j in range(ztr.shape[1]):
        pred = Ridge(alpha=1.0).fit(xtr, ztr[:, j]).predict(xte)
        out[f"rec_{j + 1}"] = float(
            1 - ((zte[:, j] - pred) ** 2).sum() / ((zte[:, j] - zte[:, j].mean()) ** 2).sum()
        )
    return out


def run_one(dataset: str, method: str, seed: int, args: argparse.Namespace) -> dict[str, Any]:
    """Fit ``method`` on ``dataset`` at ``seed``; the metrics (averaged over folds on ``small``)."""
    k = 10
    if dataset == "sim":
        splits = [fd.sim(seed, n=args.sim_n)]
    elif dataset == "small":
        splits = fd.small(seed)
    elif dataset == "three":
        splits = [fd.three(seed)]
    else:
        splits = [fd.digits_noisy(seed)]
    rows, t0 = [], time.perf_counter()
    for sp in splits:
        if method.startswith("ccazoo:"):
            tr, te, extra = _fit_ccazoo(method.split(":")[1], sp, args, k, seed)
        else:
            tr, te, extra = _fit_mmcorr(method, sp, args, k, seed)
        rows.append({**_metrics(sp, tr, te, k, seed), **extra})
    out: dict[str, Any] = {key: float(np.mean([r[key] for r in rows])) for key in rows[0]}
    return {"dataset": dataset, "method": method, "seed": seed, "fit_s": time.perf_counter() - t0, **out}


def median_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (dataset, method): the median over seeds of every numeric column."""
    out = []
    for key in dict.fromkeys((r["dataset"], r["method"]) for r in rows):
        group = [r for r in rows if (r["dataset"], r["method"]) == key and "error" not in r]
        if not group:
            out.append({"dataset": key[0], "method": key[1], "error": "failed"})
            continue
        cols = [c for c in group[0] if isinstance(group[0][c], float)]
        out.append(
            {
                "dataset": key[0],
                "method": key[1],
                **{c: float(np.median([g[c] for g in group])) for c in cols},
            }
        )
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=DATASETS)
    p.add_argument("--methods", nargs="+", default=[*FAMILIES, *REFERENCES])
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--epochs", type=int, default=100)
    p.add_argument("--sim-n", type=int, default=2000)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--quick", action="store_true", help="1 seed, 3 epochs, 400 simulated samples")
    p.add_argument("--gaussianize", action="store_true", help="mmcorr families with gaussianize=True")
    p.add_argument("--out", default="frontier")
    args = p.parse_args(argv)
    if args.quick:
        args.seeds, args.epochs, args.sim_n = 1, 3, 400
        args.out = "frontier_quick"
    import torch

    torch.set_num_threads(args.threads)
    rows = []
    for dataset, method, seed in itertools.product(args.datasets, args.methods, range(args.seeds)):
        if method.startswith("ccazoo:") and dataset != "three":
            continue
        try:
            rows.append(run_one(dataset, method, seed, args))
        except ImportError as exc:  # cca-zoo not installed: say so, keep the other figures
            rows.append({"dataset": dataset, "method": method, "seed": seed, "error": f"skipped: {exc}"})
        print(rows[-1], file=sys.stderr, flush=True)
    table = median_rows(rows)
    cols = ["dataset", "method", "corr_sum", "frac_ceiling", "rec_1", "rec_2", "rec_3", "rec_4"]
    cols += ["corr_left_middle", "corr_left_right", "corr_middle_right", "class_prec", "epochs_run", "fit_s"]
    used = [c for c in cols if any(c in r for r in table)]
    print(f"## Frontier (median of {args.seeds} seeds, {args.epochs}-epoch budget)\n")
    print(markdown_table(table, used))
    write_json(args.out, {"machine": machine_info(), "args": vars(args), "rows": rows, "medians": table})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
