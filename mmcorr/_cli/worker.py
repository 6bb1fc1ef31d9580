"""``mmcorr worker``: run the local job worker in the foreground, or stop / inspect it."""

from __future__ import annotations

import argparse
import json
from typing import Any

from mmcorr._validation import check_float, check_int

__all__ = ["register"]


def register(sub: Any) -> None:
    p = sub.add_parser("worker", help="run the background job worker (Ctrl-C stops it cleanly)")
    p.add_argument("--stop", action="store_true", help="stop the running worker cleanly and exit")
    p.add_argument("--status", action="store_true", help="print the worker's status as JSON and exit")
    p.add_argument("--threads", type=int, default=None, help="torch threads per job (default cores - 1)")
    p.add_argument("--poll", type=float, default=0.1, help="seconds between queue polls, 0.05-1")
    p.add_argument("--no-warmup", action="store_true", help="skip the torch / UMAP warm-up")
    p.add_argument(
        "--name",
        default=None,
        help="this worker's name in the worker list, unique per job store (default host:pid)",
    )
    p.set_defaults(func=_worker)


def _worker(args: argparse.Namespace) -> int:
    from mmcorr.jobs import stop_worker, worker_status
    from mmcorr.jobs.backends import check_worker_name

    if args.stop:
        status = stop_worker()
        print(f"worker stopped (pid {status.pid})" if status.pid else "no worker was running")
        return 0
    if args.status:
        print(json.dumps(worker_status().to_dict(), indent=2))
        return 0
    threads = None if args.threads is None else check_int("threads", args.threads, 1, 256)
    poll = check_float("poll", args.poll, 0.05, 1.0)
    from mmcorr.jobs.worker import run_worker

    name = None if args.name is None else check_worker_name(args.name)
    return run_worker(threads=threads, poll_interval=poll, warm=False if args.no_warmup else None, name=name)
