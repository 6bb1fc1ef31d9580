"""The ``mmcorr`` command line: the same operations as the dashboard.

Each command group lives in ``mmcorr/_cli/<group>.py`` with a ``register(subparsers)`` function that
adds its parsers and sets ``func`` (taking the parsed namespace, returning an exit code). Bad input
raises MmcorrError, printed here as one line with exit code 1, as are operating-system and database
errors (a full disk, a permission, a damaged file); argparse usage errors exit with 2.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import sqlite3
import sys
from collections.abc import Sequence

from mmcorr._cli.common import Output
from mmcorr._validation import MmcorrError
from mmcorr._version import __version__

__all__ = ["build_parser", "main", "system_error_line"]

#: Command-group modules under mmcorr/_cli, each with register(subparsers).
GROUPS: tuple[str, ...] = ("data", "train", "embed", "model", "jobs", "worker", "doctor", "dashboard")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mmcorr",
        description="Learn how paired data modalities relate (multimodal autoencoders, deep CCA).",
    )
    parser.add_argument("--version", action="version", version=f"mmcorr {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for group in GROUPS:
        try:
            module = importlib.import_module(f"mmcorr._cli.{group}")
        except ModuleNotFoundError as exc:
            if exc.name == f"mmcorr._cli.{group}":
                continue  # a group not built yet
            raise
        module.register(sub)
    return parser


def system_error_line(exc: OSError | sqlite3.Error) -> str:
    """One line for an operating-system or database error: what failed, where, and what to do."""
    if isinstance(exc, OSError):
        where = f" ({exc.filename})" if exc.filename else ""
        what = exc.strerror or str(exc) or type(exc).__name__
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return f"{what}{where}: the disk is full. Free space there (or under MMCORR_HOME) and run the command again."
        if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            return f"{what}{where}: fix the permissions (or point MMCORR_HOME elsewhere) and run the command again."
        return f"{what}{where}. Check the path and the disk, then run the command again."
    text = str(exc) or type(exc).__name__
    if "disk is full" in text:
        return f"a database write failed ({text}). Free space under MMCORR_HOME and run the command again."
    return f"a database operation failed ({type(exc).__name__}: {text}). Run 'mmcorr doctor' to see which file or server."


def main(argv: Sequence[str] | None = None, *, standalone: bool | None = None) -> int:
    """Run one command; returns its exit code.

    standalone: this process is the ``mmcorr`` command itself (default: when ``argv`` is None, as
    from the console script or ``python -m mmcorr``), so a command may hand its last step to a
    fresh process (``mmcorr train``'s UMAP: :func:`mmcorr._cli.train.hand_over_umap`). Called from
    Python with a list of arguments, everything runs in the calling process.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    args.standalone = argv is None if standalone is None else standalone
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    # --json / --quiet where the command has them (add_output_args): the one JSON object goes to the
    # real stdout, anything else a command prints goes to stderr. Commands with a --json of their
    # own (jobs list, doctor, data list, ...) print their JSON themselves, to stdout as before.
    args.output = Output.from_args(args) if hasattr(args, "quiet") else Output()
    try:
        with args.output.stray_prints_to_stderr():
            return int(func(args) or 0)
    except MmcorrError as exc:
        print(f"mmcorr: error: {exc}", file=sys.stderr)
        return 1
    except FileNotFoundError as exc:
        print(f"mmcorr: error: file not found: {exc.filename}", file=sys.stderr)
        return 1
    except (OSError, sqlite3.Error) as exc:
        print(f"mmcorr: error: {system_error_line(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("mmcorr: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
