"""``mmcorr jobs ...``: submit, list, status, cancel, resubmit and read the log of training jobs."""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from typing import Any

from mmcorr._cli.inputs import add_given_dataset_args
from mmcorr._cli.options import add_config_args, job_spec_from_args
from mmcorr.config import JobSpec

__all__ = ["register", "spec_from_args"]


def register(sub: Any) -> None:
    jobs = sub.add_parser("jobs", help="background training jobs: submit, list, status, cancel, logs")
    jsub = jobs.add_subparsers(dest="jobs_command", metavar="ACTION", required=True)

    p = jsub.add_parser("submit", help="queue a training job on a registered dataset; prints its id")
    p.add_argument("--dataset", required=True, help="registered dataset id (see 'mmcorr data list')")
    p.add_argument("--name", default="", help="a label for the run")
    add_given_dataset_args(p)
    add_config_args(p)
    p.add_argument("--no-worker", action="store_true", help="do not start a local worker")
    p.add_argument("--wait", action="store_true", help="wait until the job ends; print its status")
    p.set_defaults(func=_submit)

    p = jsub.add_parser("list", help="recent jobs, newest first")
    p.add_argument("--limit", type=int, default=20, help="how many jobs to list (default 20)")
    p.add_argument("--json", action="store_true", help="print the jobs as JSON")
    p.set_defaults(func=_list)

    p = jsub.add_parser("workers", help="every worker on every machine: host, state, current job")
    p.add_argument("--all", action="store_true", help="include workers that stopped cleanly")
    p.add_argument("--json", action="store_true", help="print the workers as JSON")
    p.set_defaults(func=_workers)

    for action, helptext, func in (
        ("status", "state, epoch of total, last losses, ETA", _status),
        ("cancel", "cancel a queued or running job", _cancel),
        ("logs", "the job's log (and traceback of a failure)", _logs),
        ("resubmit", "queue a failed or cancelled job again, resuming from its checkpoint", _resubmit),
    ):
        p = jsub.add_parser(action, help=helptext)
        p.add_argument("job_id", help="the job's id (see 'mmcorr jobs list')")
        if action == "status":
            p.add_argument("--json", action="store_true", help="print the status as JSON")
        p.set_defaults(func=func)


def spec_from_args(args: argparse.Namespace) -> JobSpec:
    """The JobSpec of ``mmcorr jobs submit`` options (bad values raise MmcorrError naming them)."""
    spec = job_spec_from_args(args, args.dataset, args.name)
    return dataclasses.replace(spec, val_dataset_id=args.val_dataset, test_dataset_id=args.test_dataset)


def _submit(args: argparse.Namespace) -> int:
    from mmcorr.jobs import get_job, submit

    job_id = submit(spec_from_args(args), autostart=not args.no_worker)
    print(job_id)
    if args.wait:
        while not get_job(job_id).is_terminal:
            time.sleep(0.5)
        _print_status(get_job(job_id).to_dict())
        return 0 if get_job(job_id).state.value == "succeeded" else 1
    return 0


def _fmt_eta(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def _list(args: argparse.Namespace) -> int:
    from mmcorr.jobs import list_jobs

    records = list_jobs(args.limit)
    if args.json:
        print(json.dumps([r.to_dict() for r in records], indent=2, default=str))
        return 0
    if not records:
        print("no jobs yet; submit one with 'mmcorr jobs submit --dataset ID --model M'")
        return 0
    print(f"{'JOB ID':24s} {'STATE':10s} {'MODEL':7s} {'EPOCH':>11s} {'ETA':>8s}  DATASET")
    for r in records:
        epoch = f"{r.epoch}/{r.epochs}"
        print(f"{r.id:24s} {r.state.value:10s} {r.spec.model.model:7s} {epoch:>11s} "
              f"{_fmt_eta(r.eta_seconds):>8s}  {r.spec.dataset_id}")  # fmt: skip
    return 0


def _print_status(d: dict[str, Any]) -> None:
    print(f"job       {d['id']}  ({d['spec']['model']['model']} on dataset {d['spec']['dataset_id']})")
    print(f"state     {d['state']}" + ("  (cancel requested)" if d["cancel_requested"] else ""))
    if d["queue_position"] is not None:
        print(f"queue     {d['queue_position']} job(s) ahead")
    print(f"epoch     {d['epoch']} of {d['epochs']}   ETA {_fmt_eta(d['eta_seconds'])}")
    last = d.get("last") or {}
    for split in ("train", "val"):
        parts = last.get(split) or {}
        if parts:
            print(f"{split:9s} " + "  ".join(f"{k}={float(v):.4g}" for k, v in parts.items()))
    if last.get("val_corr") is not None:
        print(f"val_corr  {float(last['val_corr']):.4f}")
    if d["message"]:
        print(f"message   {d['message']}")
    if d["run_dir"]:
        print(f"run       {d['run_dir']}")


def _status(args: argparse.Namespace) -> int:
    from mmcorr.jobs import get_job

    d = get_job(args.job_id).to_dict()
    if args.json:
        print(json.dumps(d, indent=2, default=str))
    else:
        _print_status(d)
    return 0


def _cancel(args: argparse.Namespace) -> int:
    from mmcorr.jobs import JobState, cancel

    state = cancel(args.job_id)
    if state is JobState.CANCELLED:
        print(f"{args.job_id}: cancelled before it started")
    else:
        print(f"{args.job_id}: cancel requested; it stops at the end of the running epoch")
    return 0


def _logs(args: argparse.Namespace) -> int:
    from mmcorr.jobs import job_logs

    print(job_logs(args.job_id))
    return 0


def _resubmit(args: argparse.Namespace) -> int:
    from mmcorr.jobs import resubmit

    print(resubmit(args.job_id))
    return 0


def _workers(args: argparse.Namespace) -> int:
    from mmcorr.jobs import list_workers

    workers = list_workers(include_stopped=args.all)
    if args.json:
        print(json.dumps([w.to_dict() for w in workers], indent=2))
        return 0
    if not workers:
        print("no workers have sent a heartbeat in the last day; start one with 'mmcorr worker'")
        return 0
    print(f"{'NAME':24s} {'HOST':20s} {'PID':>7s} {'STATE':8s} {'HEARTBEAT':>10s}  JOB")
    for w in workers:
        age = f"{w.heartbeat_age:.0f}s ago"
        print(f"{w.name:24s} {w.host:20s} {w.pid:>7d} {w.state.value:8s} {age:>10s}  {w.job_id or '-'}")
    return 0
