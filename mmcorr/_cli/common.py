"""Argument helpers shared by the ``mmcorr`` command modules: ``NAME=PATH`` pairs, label specs,
the data-loading flags, the terminal progress bar and the summary printout."""

from __future__ import annotations

import argparse
import sys
from typing import IO, Any

from mmcorr._validation import MmcorrError, check_identifier

__all__ = ["Progress", "add_data_args", "labels_spec", "modality_files", "parse_assignment", "summary_lines"]


def parse_assignment(text: str) -> tuple[str, str]:
    """``NAME=PATH`` -> (NAME, PATH); an argparse type, so a malformed value exits with code 2."""
    name, sep, path = text.partition("=")
    if not sep or not name or not path:
        raise argparse.ArgumentTypeError(f"expected NAME=PATH (e.g. rna=rna.csv), got {text!r}")
    return name.strip(), path.strip()


def modality_files(pairs: list[tuple[str, str]], flag: str = "--modality") -> dict[str, str]:
    files: dict[str, str] = {}
    for name, path in pairs:
        check_identifier("modality", name)
        if name in files:
            raise MmcorrError(f"The modality {name!r} is given twice with {flag}; give each name once.")
        files[name] = path
    return files


def labels_spec(text: str | None) -> tuple[str | None, str | None]:
    """``PATH:COL`` -> (PATH, COL); a bare PATH uses the table's only non-id column."""
    if text is None:
        return None, None
    path, sep, col = text.rpartition(":")
    return (path, col or None) if sep and path else (text, None)


class Progress:
    """A one-line progress bar on a terminal (``\\r`` updates); silent when the stream is not a tty."""

    def __init__(self, stream: IO[str] | None = None, width: int = 24) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.active = bool(getattr(self.stream, "isatty", lambda: False)())
        self.width = width
        self.drawn = False

    def on_epoch_end(self, record: dict[str, Any]) -> None:
        if not self.active:
            return None
        epoch, epochs = int(record.get("epoch", 0)), max(1, int(record.get("epochs", 1)))
        filled = min(self.width, self.width * epoch // epochs)
        parts = [f"\r[{'#' * filled}{'.' * (self.width - filled)}] epoch {epoch}/{epochs}"]
        # The trainer logs the summed objective as "total"; fall back to "loss" for other callers.
        parts_val, parts_train = record.get("val") or {}, record.get("train") or {}
        loss = next((d[k] for d in (parts_val, parts_train) for k in ("total", "loss") if k in d), None)
        if isinstance(loss, int | float):
            parts.append(f"loss {loss:.4f}")
        if isinstance(record.get("val_corr"), int | float):
            parts.append(f"val_corr {record['val_corr']:.3f}")
        if isinstance(record.get("seconds"), int | float):
            parts.append(f"{record['seconds']:.2f} s/epoch")
        self.stream.write("  ".join(parts) + " ")
        self.stream.flush()
        self.drawn = True
        return None

    def close(self) -> None:
        if self.drawn:
            self.stream.write("\n")
            self.stream.flush()


def summary_lines(summary: dict[str, Any]) -> str:
    return "\n".join(
        f"  {k:<24} {v:.4f}" if isinstance(v, float) else f"  {k:<24} {v}"
        for k, v in summary.items()
        if v is not None
    )


def add_data_args(p: argparse.ArgumentParser, *, labels: bool = True) -> None:
    p.add_argument("--id-column", metavar="COL", help="sample-id column of every table (default: detected)")
    p.add_argument("--how", choices=("inner", "outer"), default="inner", help="pairing join (default inner)")
    if labels:
        p.add_argument("--labels", metavar="PATH:COL", help="table of sample labels and its label column")
