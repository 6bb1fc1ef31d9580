"""``mmcorr umap``: embed a trained run's latents with UMAP (again, e.g. with other neighbours)
without training it again; also the second step of ``mmcorr train`` (:mod:`mmcorr.runs.embed`)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from mmcorr._cli.common import add_output_args, add_run_arg, output_for
from mmcorr._cli.train import AFTER_TRAIN, summarise
from mmcorr._validation import MmcorrError

__all__ = ["register"]


def _cmd_umap(args: argparse.Namespace) -> int:
    from mmcorr.runs.bundle import read_umap
    from mmcorr.runs.embed import embed_run

    output = output_for(args)
    progress = output.progress()
    try:
        path = embed_run(
            args.run, neighbors=args.umap_neighbors, min_dist=args.umap_min_dist, notify=progress.note,
        )  # fmt: skip
    except (MmcorrError, OSError) as exc:
        if not args.after_train:
            raise
        # The trained run is written and complete but for its UMAP: say so, then what train says.
        output.warn(f"the UMAP step failed ({exc}); the run has every other result. Run "
                    f"'mmcorr umap --run {args.run}' to try again.")  # fmt: skip
        return _after_train(args, 1)
    finally:
        progress.close()
    if args.after_train:
        return _after_train(args, 0)
    points = len(read_umap(args.run))
    output.line(f"Wrote {path} ({points} points) and the run's report.html")
    output.result({"run_dir": str(args.run), "umap": str(path), "points": points})
    return 0


def _after_train(args: argparse.Namespace, code: int) -> int:
    summarise(output_for(args), Path(args.run))
    return code


def register(subparsers: Any) -> None:
    """Add ``umap`` to the ``mmcorr`` parser."""
    p = subparsers.add_parser(
        "umap",
        help="embed a trained run's latents with UMAP (again), e.g. with other neighbours",
        description="Compute the run's UMAP from its latents (no training) and rewrite umap.parquet "
        "and report.html; options not given keep the run's own.",
    )
    add_run_arg(p)
    p.add_argument("--umap-neighbors", type=int, metavar="N", help="UMAP n_neighbors, 2-200 (5-50 typical)")
    p.add_argument("--umap-min-dist", type=float, metavar="D", help="UMAP min_dist, 0-0.99 (0-0.5 typical)")
    p.add_argument(AFTER_TRAIN, action="store_true", help=argparse.SUPPRESS)
    add_output_args(p)
    p.set_defaults(func=_cmd_umap)
