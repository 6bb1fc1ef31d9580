"""``mmcorr train``: train a model on paired files or a registered dataset and write its run bundle."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from mmcorr._cli.common import (
    Progress,
    add_data_args,
    labels_spec,
    modality_files,
    parse_assignment,
    summary_lines,
)
from mmcorr._validation import MmcorrError
from mmcorr.config import (
    MODEL_NAMES,
    AnalysisConfig,
    DataConfig,
    JobSpec,
    ModelConfig,
    TrainConfig,
    resolve_lr,
)
from mmcorr.runs.bundle import MetricsKey

__all__ = ["register"]


def _cmd_train(args: argparse.Namespace) -> int:
    from mmcorr.runs.pipeline import run_spec, train_and_bundle

    if args.dataset is None and not args.modality:
        raise MmcorrError("Give the data to train on: --modality NAME=PATH (twice or more) or --dataset ID.")
    if args.dataset is not None and args.modality:
        raise MmcorrError("Give either --modality files or --dataset ID, not both.")
    out = Path(args.out)
    hidden = tuple(args.hidden) if args.hidden else ModelConfig().hidden
    model_cfg = ModelConfig(model=args.model, latent_dim=args.latent_dim, hidden=hidden)
    train_cfg = TrainConfig(
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=resolve_lr(args.model, args.lr),
        seed=args.seed,
        device=args.device,
        threads=args.threads,
        patience=args.patience,
    )
    analysis_cfg = AnalysisConfig(permutations=args.permutations, seed=args.seed)
    progress = Progress()
    try:
        if args.dataset is not None:
            spec = JobSpec(
                dataset_id=args.dataset,
                model=model_cfg,
                train=train_cfg,
                data=DataConfig(),
                analysis=analysis_cfg,
                name=args.name or out.name,
            )
            run_spec(spec, out, callbacks=[progress])
        else:
            from mmcorr.data import load_paired

            files = modality_files(args.modality)
            label_path, label_col = labels_spec(args.labels)
            paths: dict[str, str | os.PathLike[str]] = dict(files)
            ds, report = load_paired(
                paths, id_column=args.id_column, how=args.how, labels=label_path, label_column=label_col
            )
            for warning in report.warnings:
                print(f"mmcorr: warning: {warning}", file=sys.stderr)
            spec = JobSpec(
                dataset_id="files",
                model=model_cfg,
                train=train_cfg,
                data=DataConfig(),
                analysis=analysis_cfg,
                name=args.name or out.name,
            )
            train_and_bundle(ds, spec, out, callbacks=[progress], sources=files)
    finally:
        progress.close()
    from mmcorr.runs.bundle import read_metrics

    metrics = read_metrics(out)
    print(f"Wrote run bundle {out}")
    print(summary_lines(metrics.get(MetricsKey.SUMMARY.value) or {}))
    return 0


def register(subparsers: Any) -> None:
    """Add ``train`` to the ``mmcorr`` parser."""
    p = subparsers.add_parser("train", help="train a model on paired files or a registered dataset")
    p.add_argument(
        "--modality",
        metavar="NAME=PATH",
        type=parse_assignment,
        action="append",
        default=[],
        help="one modality's table (csv, tsv, parquet, npy, npz, h5mu); repeat for each modality",
    )
    p.add_argument("--dataset", metavar="ID", help="a registered dataset id instead of files")
    add_data_args(p)
    p.add_argument("--model", choices=MODEL_NAMES, default="dccae")
    p.add_argument("--latent-dim", metavar="K", type=int, default=10)
    p.add_argument("--hidden", metavar="H", type=int, nargs="+", help="hidden layer sizes (default 256 256)")
    p.add_argument("--epochs", metavar="N", type=int, default=100)
    p.add_argument("--batch-size", metavar="B", type=int, default=256)
    p.add_argument(
        "--lr", metavar="LR", type=float, help="AdamW learning rate (default: 5e-3 for dccae, 1e-3 otherwise)"
    )
    p.add_argument("--patience", metavar="P", type=int, default=10, help="early-stopping patience (0: off)")
    p.add_argument("--seed", metavar="S", type=int, default=0)
    p.add_argument("--device", choices=("auto", "cpu", "cuda", "mps"), default="auto")
    p.add_argument("--threads", metavar="T", type=int, help="torch CPU threads (default: torch's)")
    p.add_argument("--permutations", metavar="R", type=int, default=100, help="permutation-null rounds")
    p.add_argument("--name", help="run name shown in the dashboard (default: the --out folder name)")
    p.add_argument("--out", metavar="RUN_DIR", required=True, help="the run folder to create")
    p.set_defaults(func=_cmd_train)
