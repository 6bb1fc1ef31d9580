"""Argument helpers shared by the ``mmcorr`` command modules: ``NAME=PATH`` pairs, label specs,
the data-loading flags, where output goes (``--json``, ``--quiet``), progress and the summary."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Iterator
from typing import IO, Any

from mmcorr._validation import MmcorrError, check_identifier

__all__ = [
    "add_run_arg",
    "Output",
    "Progress",
    "add_data_args",
    "add_output_args",
    "labels_spec",
    "modality_files",
    "output_for",
    "parse_assignment",
    "summary_lines",
]


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


def _clock(seconds: float) -> str:
    """``83`` -> ``1:23``; ``3725`` -> ``1:02:05``."""
    minutes, sec = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{sec:02d}" if hours else f"{minutes}:{sec:02d}"


class Progress:
    """Training progress and the steps after it, on ``stream`` (stderr unless given).

    On a terminal: a one-line bar redrawn in place (``\\r``). Elsewhere (a batch-job log, a pipe):
    one plain line per epoch. Both show the epoch, the loss, the validation correlation and the ETA
    (the mean epoch time so far times the epochs left: an upper bound when early stopping ends the
    fit sooner). :meth:`note` prints one line (each analysis as it starts and ends).
    ``enabled=False`` (``--quiet``) prints nothing.
    """

    def __init__(self, stream: IO[str] | None = None, width: int = 24, *, enabled: bool = True) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.width = width
        self.drawn = False
        self._seconds = 0.0
        self._timed = 0

    def _eta(self, epoch: int, epochs: int, seconds: Any) -> str | None:
        if not isinstance(seconds, int | float):
            return None
        self._seconds += float(seconds)
        self._timed += 1
        return _clock(self._seconds / self._timed * max(0, epochs - epoch))

    def on_epoch_end(self, record: dict[str, Any]) -> None:
        if not self.enabled:
            return None
        epoch, epochs = int(record.get("epoch", 0)), max(1, int(record.get("epochs", 1)))
        parts = [f"epoch {epoch}/{epochs}"]
        # The trainer logs the summed objective as "total"; fall back to "loss" for other callers.
        parts_val, parts_train = record.get("val") or {}, record.get("train") or {}
        loss = next((d[k] for d in (parts_val, parts_train) for k in ("total", "loss") if k in d), None)
        if isinstance(loss, int | float):
            parts.append(f"loss {loss:.4f}")
        if isinstance(record.get("val_corr"), int | float):
            parts.append(f"val_corr {record['val_corr']:.3f}")
        if isinstance(record.get("seconds"), int | float):
            parts.append(f"{record['seconds']:.2f} s/epoch")
        eta = self._eta(epoch, epochs, record.get("seconds"))
        if eta is not None:
            parts.append(f"ETA {eta}")
        if self.tty:
            filled = min(self.width, self.width * epoch // epochs)
            bar = f"\r[{'#' * filled}{'.' * (self.width - filled)}] "
            self.stream.write(bar + "  ".join(parts) + " ")
            self.drawn = True
        else:
            self.stream.write("mmcorr: " + "  ".join(parts) + "\n")
        self.stream.flush()
        return None

    def note(self, line: str) -> None:
        """One line of its own (``notify`` of :func:`mmcorr.runs.pipeline.train_and_bundle`)."""
        if not self.enabled:
            return
        self.close()
        self.stream.write(f"mmcorr: {line}\n")
        self.stream.flush()

    def close(self) -> None:
        """End the bar's line (on a terminal), so what follows starts on a line of its own."""
        if self.drawn:
            self.stream.write("\n")
            self.stream.flush()
            self.drawn = False


class Output:
    """Where one command's output goes (``--json`` and ``--quiet``, see :func:`add_output_args`).

    ``line``: what a person reads; stdout, or stderr under ``--json``, nothing under ``--quiet``.
    ``warn``: stderr always. ``progress``: a :class:`Progress` on stderr (none under ``--quiet``).
    ``result``: under ``--json``, the command's one JSON object on stdout.
    The streams are those of the moment it is made (``mmcorr.cli.main`` makes it before it sends
    stray prints to stderr under ``--json``), unless given.
    """

    def __init__(
        self,
        *,
        as_json: bool = False,
        quiet: bool = False,
        stdout: IO[str] | None = None,
        stderr: IO[str] | None = None,
    ) -> None:
        self.as_json, self.quiet = as_json, quiet
        self.stdout = stdout if stdout is not None else sys.stdout
        self.stderr = stderr if stderr is not None else sys.stderr

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Output:
        return cls(as_json=bool(getattr(args, "json", False)), quiet=bool(getattr(args, "quiet", False)))

    def line(self, text: str) -> None:
        if not self.quiet:
            print(text, file=self.stderr if self.as_json else self.stdout)

    def warn(self, text: str) -> None:
        print(f"mmcorr: warning: {text}", file=self.stderr)

    def progress(self) -> Progress:
        return Progress(self.stderr, enabled=not self.quiet)

    def result(self, payload: dict[str, Any]) -> None:
        if self.as_json:
            from mmcorr._io import json_safe  # numpy: only once there is a result to print

            self.stdout.write(json.dumps(json_safe(payload), allow_nan=False) + "\n")
            self.stdout.flush()

    @contextlib.contextmanager
    def stray_prints_to_stderr(self) -> Iterator[None]:
        """Under ``--json``, anything else printed to stdout goes to stderr (one object on stdout)."""
        if not self.as_json:
            yield
            return
        with contextlib.redirect_stdout(self.stderr):
            yield


def output_for(args: argparse.Namespace) -> Output:
    """The Output ``mmcorr.cli.main`` made for this command, or one made from ``args`` now."""
    made = getattr(args, "output", None)
    return made if isinstance(made, Output) else Output.from_args(args)


def add_output_args(p: argparse.ArgumentParser) -> None:
    """``--json`` and ``--quiet``, for commands that script well (train, evaluate, encode)."""
    p.add_argument(
        "--json",
        action="store_true",
        help="print exactly one JSON object with the result on stdout; progress and messages go to stderr",
    )
    p.add_argument(
        "--quiet",
        action="store_true",
        help="print no progress and no summary (warnings and errors still go to stderr)",
    )


def summary_lines(summary: dict[str, Any]) -> str:
    return "\n".join(
        f"  {k:<24} {v:.4f}" if isinstance(v, float) else f"  {k:<24} {v}"
        for k, v in summary.items()
        if v is not None
    )


def add_run_arg(p: argparse.ArgumentParser) -> None:
    """``--run RUN_DIR``: the finished run a command reads (encode, evaluate, predict, report)."""
    p.add_argument(
        "--run",
        metavar="RUN_DIR",
        required=True,
        help="the run folder that 'mmcorr train' wrote (or a finished job's run folder)",
    )


def add_data_args(p: argparse.ArgumentParser, *, labels: bool = True) -> None:
    p.add_argument("--id-column", metavar="COL", help="sample-id column of every table (default: detected)")
    p.add_argument("--how", choices=("inner", "outer"), default="inner", help="pairing join (default inner)")
    p.add_argument(
        "--nan",
        choices=("error", "impute"),
        default="error",
        help="missing or infinite values: refuse the file (error, default) or fill them with the feature mean (impute)",
    )
    if labels:
        p.add_argument("--labels", metavar="PATH:COL", help="table of sample labels and its label column")
