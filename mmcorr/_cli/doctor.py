"""``mmcorr doctor``: check the queue, the job store and the artifacts root; exit 1 on a problem."""

from __future__ import annotations

import argparse
import json
from typing import Any

__all__ = ["register"]


def register(sub: Any) -> None:
    p = sub.add_parser(
        "doctor",
        help="check the configuration: queue, job store, schema version, shared artifacts root",
        description="Reach the queue (MMCORR_QUEUE_URL) and the job store (MMCORR_DB_URL), check the "
        "schema version and that the artifacts root (MMCORR_HOME) is writable and, with a server "
        "queue, shared. Exit code 0 when nothing failed, 1 otherwise.",
    )
    p.add_argument("--json", action="store_true", help="print the checks as JSON")
    p.add_argument("--strict", action="store_true", help="treat warnings as problems (exit 1)")
    p.set_defaults(func=_doctor)


def _doctor(args: argparse.Namespace) -> int:
    import logging

    from mmcorr.jobs.health import CheckStatus, run_checks

    # The connection pool logs every failed reconnect; the checks below already say it once.
    logging.getLogger("psycopg.pool").setLevel(logging.CRITICAL)
    checks = run_checks()
    bad = {CheckStatus.FAIL, CheckStatus.WARN} if args.strict else {CheckStatus.FAIL}
    failed = [c for c in checks if c.status in bad]
    if args.json:
        print(json.dumps({"ok": not failed, "checks": [c.to_dict() for c in checks]}, indent=2))
    else:
        for c in checks:
            print(f"{c.status.value.upper():<5} {c.name}: {c.detail}")
        print("all good" if not failed else f"{len(failed)} problem(s): see the lines marked above")
    return 1 if failed else 0
