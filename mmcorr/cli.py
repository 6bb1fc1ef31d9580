"""The ``mmcorr`` command line: the same operations as the dashboard.

Each command group lives in ``mmcorr/_cli/<group>.py`` with a ``register(subparsers)`` function that
adds its parsers and sets ``func`` (taking the parsed namespace, returning an exit code). Bad input
raises MmcorrError, printed here as one line with exit code 1; argparse usage errors exit with 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from mmcorr._validation import MmcorrError
from mmcorr._version import __version__

__all__ = ["build_parser", "main"]

#: Command-group modules under mmcorr/_cli, each with register(subparsers).
GROUPS: tuple[str, ...] = ("data", "train", "model", "jobs", "worker", "doctor")


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


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    try:
        return int(func(args) or 0)
    except MmcorrError as exc:
        print(f"mmcorr: error: {exc}", file=sys.stderr)
        return 1
    except FileNotFoundError as exc:
        print(f"mmcorr: error: file not found: {exc.filename}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("mmcorr: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
