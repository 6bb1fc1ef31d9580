"""``mmcorr worker``: run the local job worker in the foreground, or stop / inspect it.

This is the worker's entry point: it resolves what the worker is handed (threads, poll interval,
name, and the warm-up its job process runs before the first job).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import time
from typing import Any

from mmcorr._validation import check_float, check_int

__all__ = ["register", "warm_up"]

log = logging.getLogger("mmcorr.worker")


def register(sub: Any) -> None:
    p = sub.add_parser("worker", help="run the background job worker (Ctrl-C stops it cleanly)")
    p.add_argument("--stop", action="store_true", help="stop the running worker cleanly and exit")
    p.add_argument("--status", action="store_true", help="print the worker's status as JSON and exit")
    p.add_argument("--threads", type=int, default=None, help="torch threads per job (default cores - 1)")
    p.add_argument("--poll", type=float, default=0.1, help="seconds between queue polls, 0.05-1")
    p.add_argument(
        "--no-warmup",
        action="store_true",
        help="skip the torch / UMAP warm-up (also MMCORR_WORKER_WARMUP=0)",
    )
    p.add_argument(
        "--name",
        default=None,
        help="this worker's name in the worker list, unique per job store (default host:pid)",
    )
    p.set_defaults(func=_worker)


def warm_up(threads: int) -> None:
    """Load torch with its thread limit and compile UMAP's JIT once (cached on disk).

    Runs in the worker's job process before its first job, so the first user does not wait.
    """
    t0 = time.perf_counter()
    import torch

    torch.set_num_threads(threads)
    torch.nn.Linear(4, 2)(torch.zeros(8, 4)).sum().item()
    try:
        from mmcorr.analysis import warm_umap

        warm_umap()
    except ImportError as exc:
        log.warning("UMAP warm-up skipped: %s", exc)
    with contextlib.suppress(ImportError):
        import mmcorr.runs.pipeline  # noqa: F401  (loads the estimator and analyses before the first job)
    log.info("warm-up done in %.1f s (torch threads %d)", time.perf_counter() - t0, threads)


def _worker(args: argparse.Namespace) -> int:
    from mmcorr.jobs import stop_worker, worker_status
    from mmcorr.jobs.backends import check_worker_name
    from mmcorr.jobs.states import WARMUP_ENV

    if args.stop:
        status = stop_worker()
        print(f"worker stopped (pid {status.pid})" if status.pid else "no worker was running")
        return 0
    if args.status:
        print(json.dumps(worker_status().to_dict(), indent=2))
        return 0
    threads = None if args.threads is None else check_int("threads", args.threads, 1, 256)
    poll = check_float("poll", args.poll, 0.05, 1.0)
    from mmcorr.jobs import run_worker

    name = None if args.name is None else check_worker_name(args.name)
    warm = not args.no_warmup and os.environ.get(WARMUP_ENV, "1").strip() != "0"
    return run_worker(threads=threads, poll_interval=poll, warm_up=warm_up if warm else None, name=name)
