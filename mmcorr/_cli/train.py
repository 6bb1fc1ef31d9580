"""``mmcorr train``: train a model on paired files or a registered dataset and write its run bundle."""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from pathlib import Path
from typing import Any, NoReturn

from mmcorr._cli.common import (
    Output,
    add_data_args,
    add_output_args,
    labels_spec,
    modality_files,
    output_for,
    parse_assignment,
    summary_lines,
)
from mmcorr._cli.inputs import (
    add_given_dataset_args,
    add_label_column_arg,
    add_layer_arg,
    add_split_args,
    given_splits,
    label_column,
    layer_map,
    set_obs_label,
)
from mmcorr._cli.options import add_config_args, job_spec_from_args
from mmcorr._validation import MmcorrError
from mmcorr.runs import fit_gap, prediction_notes, read_metrics
from mmcorr.runs.choice import choice_line, inputs_choice, model_choice

__all__ = ["AFTER_TRAIN", "register", "summarise"]

#: The hidden flag of ``mmcorr umap`` by which ``mmcorr train`` hands it its last step.
AFTER_TRAIN = "--after-train"


def _cmd_train(args: argparse.Namespace) -> int:
    from mmcorr.runs.files import UMAP_NOTE, UMAP_PENDING
    from mmcorr.runs.pipeline import run_spec, train_and_bundle

    if args.dataset is None and not args.modality:
        raise MmcorrError("Give the data to train on: --modality NAME=PATH (twice or more) or --dataset ID.")
    if args.dataset is not None and args.modality:
        raise MmcorrError("Give either --modality files or --dataset ID, not both.")
    if args.dataset is not None and args.label_column is not None:
        raise MmcorrError(
            "--label-column goes with --modality files; a registered --dataset keeps the labels it "
            "was registered with."
        )
    if args.dataset is not None and (args.val_modality or args.test_modality):
        raise MmcorrError(
            "--val-modality / --test-modality go with --modality files; with a registered --dataset "
            "give registered sets: --val-dataset ID / --test-dataset ID."
        )
    if args.dataset is None and (args.val_dataset or args.test_dataset):
        raise MmcorrError(
            "--val-dataset / --test-dataset go with a registered --dataset; with --modality files "
            "give --val-modality NAME=PATH / --test-modality NAME=PATH."
        )
    out = Path(args.out)
    # One builder for every entry point: the same flags, defaults and seed as `mmcorr jobs submit`.
    spec = job_spec_from_args(args, args.dataset or "files", args.name or out.name)
    if args.dataset is not None:
        spec = dataclasses.replace(spec, val_dataset_id=args.val_dataset, test_dataset_id=args.test_dataset)
    output = output_for(args)
    progress = output.progress()
    # As the `mmcorr` command itself (not main() called from Python), the UMAP runs in a fresh
    # process after the bundle is written: see hand_over_umap. Only where exec replaces the
    # process (POSIX; Windows emulates it with a new process) and the interpreter is known.
    later = bool(getattr(args, "standalone", False)) and os.name == "posix" and bool(sys.executable)
    try:
        if args.dataset is not None:
            run_spec(spec, out, callbacks=[progress], notify=progress.note, umap_later=later)
        else:
            from mmcorr.data import load_paired

            files = modality_files(args.modality)
            obs_label = label_column(args, files)
            label_path, label_col = labels_spec(args.labels)
            paths: dict[str, str | os.PathLike[str]] = dict(files)
            ds, report = load_paired(
                paths,
                id_column=args.id_column,
                how=args.how,
                nan=args.nan,
                labels=label_path,
                label_column=label_col,
                layers=layer_map(args.layer),
            )
            if obs_label is not None:
                set_obs_label(ds, obs_label, files)
            for warning in report.warnings:
                output.warn(warning)
            ds, split = given_splits(args, ds, spec)
            train_and_bundle(
                ds, spec, out, callbacks=[progress], sources=files, split=split, notify=progress.note,
                umap_later=later,
            )  # fmt: skip
    finally:
        progress.close()
    if later and read_metrics(out).run.notes.get(UMAP_NOTE) == UMAP_PENDING:
        hand_over_umap(args, out)  # does not return: the new process ends with summarise(out)
    summarise(output, out)
    return 0


def hand_over_umap(args: argparse.Namespace, run_dir: Path) -> NoReturn:
    """Replace this process (``os.execv``) with ``mmcorr umap --run run_dir``, which embeds the
    run's latents and then prints what ``mmcorr train`` prints, with the same --json / --quiet.

    A fresh process holds umap-learn's numba / LLVM memory without torch's, so the peak of the
    whole command is that of training, not of both (bench/RESULTS.md, "CLI memory")."""
    argv = [sys.executable, "-m", "mmcorr", "umap", "--run", str(run_dir), AFTER_TRAIN]
    argv += [flag for flag, on in (("--json", args.json), ("--quiet", args.quiet)) if on]
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        if stream is not None:
            stream.flush()
    os.execv(sys.executable, argv)


def summarise(output: Output, out: Path) -> None:
    """The run's headline figures, warnings and (model=auto) choice; the --json result."""
    metrics = read_metrics(out)
    output.line(f"Wrote run bundle {out}")
    choice = model_choice(metrics.run)
    if choice:
        output.line(f"  model: {choice_line(metrics.run.model, choice)}")
    inputs = inputs_choice(metrics.run)
    if inputs:
        output.line(f"  inputs: {inputs}")
    if metrics.run.held_out_note:
        output.line(f"  note: {metrics.run.held_out_note}")
    output.line(summary_lines(metrics.results.summary.labelled()))
    gap = fit_gap(metrics)
    if gap is not None:
        output.line(f"  {gap.summary()}")
        if gap.message():
            output.line(f"  warning: {gap.message()}")
    for note in prediction_notes(metrics.results).values():
        output.line(f"  warning: {note}")
    output.result(
        {
            "run_dir": str(out),
            "summary": metrics.results.summary.to_json(),
            "metrics": metrics.to_json(),
            "model_choice": choice,
        }
    )


def register(subparsers: Any) -> None:
    """Add ``train`` to the ``mmcorr`` parser."""
    p = subparsers.add_parser("train", help="train a model on paired files or a registered dataset")
    p.add_argument(
        "--modality",
        metavar="NAME=PATH",
        type=parse_assignment,
        action="append",
        default=[],
        help="one modality: a table (csv, tsv, parquet, npy, npz, h5ad, h5mu), a folder or .zip of images "
        "/ .txt files / audio clips, or TABLE:COLUMN for a text column; repeat for each modality",
    )
    p.add_argument("--dataset", metavar="ID", help="a registered dataset id instead of files")
    add_given_dataset_args(p)
    add_data_args(p)
    add_layer_arg(p)
    add_label_column_arg(p)
    add_split_args(p)
    add_config_args(p)
    p.add_argument("--name", help="run name shown in the dashboard (default: the --out folder name)")
    p.add_argument("--out", metavar="RUN_DIR", required=True, help="the run folder to create")
    add_output_args(p)
    p.set_defaults(func=_cmd_train)
