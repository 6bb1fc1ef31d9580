"""What interrupted writes and old uploads leave behind under the data home, and their removal.

Run bundles and datasets are written into ``.<name>.<random>.tmp`` folders beside their final
name and renamed when complete (:func:`mmcorr._io.atomic_dir`); a process killed while writing
leaves that folder for ever. Uploads are staged under ``state/uploads/<digest>/`` for the
loaders and were never deleted. The worker removes both at start (:func:`clean_leftovers`) once
they are older than a grace period, so a write in progress elsewhere (another worker sharing
the home, ``mmcorr train``) or an upload a dashboard session still reads is never touched;
``mmcorr doctor`` reports what is there (:func:`find_leftovers`).
"""

from __future__ import annotations

import contextlib
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from mmcorr.paths import datasets_dir, runs_dir, state_dir

__all__ = ["TMP_GRACE_S", "UPLOAD_GRACE_S", "Leftovers", "find_leftovers", "clean_leftovers"]

#: Age after which a temporary file or folder of an interrupted write is left over (one hour: no
#: bundle or dataset takes that long to write).
TMP_GRACE_S = 3600.0
#: Age after which a staged upload is left over (a day: longer than a dashboard session uses it).
UPLOAD_GRACE_S = 86400.0
#: The names :mod:`mmcorr._io` gives temporary files and folders.
_TMP_NAME = re.compile(r"\..+\.tmp")


@dataclass(frozen=True)
class Leftovers:
    """Leftover paths and their total size in bytes."""

    paths: tuple[Path, ...]
    size: int

    def describe(self) -> str:
        """'N leftover(s), X.Y MB' for people."""
        return f"{len(self.paths)} leftover(s), {self.size / 1e6:.1f} MB"


def _newest_mtime_and_size(path: Path) -> tuple[float, int]:
    """The newest modification time under ``path`` (itself included) and its total size."""
    info = path.lstat()
    newest, size = info.st_mtime, info.st_size if path.is_file() else 0
    if path.is_dir() and not path.is_symlink():
        for child in path.rglob("*"):
            with contextlib.suppress(OSError):
                child_info = child.lstat()
                newest = max(newest, child_info.st_mtime)
                size += child_info.st_size if child.is_file() else 0
    return newest, size


def _candidates() -> list[tuple[Path, float]]:
    """(path, grace period) of everything that may be a leftover."""
    out: list[tuple[Path, float]] = []
    for folder in (runs_dir(), datasets_dir(), state_dir()):
        out += [(p, TMP_GRACE_S) for p in folder.iterdir() if _TMP_NAME.fullmatch(p.name)]
    uploads = state_dir() / "uploads"
    if uploads.is_dir():
        out += [(p, UPLOAD_GRACE_S) for p in uploads.iterdir()]
    return out


def find_leftovers(now: float | None = None) -> Leftovers:
    """Temporary files and folders of interrupted writes older than :data:`TMP_GRACE_S`, and staged
    uploads older than :data:`UPLOAD_GRACE_S` (ages from the newest file inside)."""
    now = time.time() if now is None else now
    paths: list[Path] = []
    total = 0
    for path, grace in _candidates():
        try:
            newest, size = _newest_mtime_and_size(path)
        except OSError:
            continue  # removed meanwhile
        if now - newest > grace:
            paths.append(path)
            total += size
    return Leftovers(tuple(sorted(paths)), total)


def clean_leftovers(now: float | None = None) -> Leftovers:
    """Remove what :func:`find_leftovers` finds; returns what was removed."""
    found = find_leftovers(now)
    for path in found.paths:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                path.unlink()
    return found
