"""A little disk space kept back so a job can still be marked failed when the disk fills up.

When the disk holding ``MMCORR_HOME`` fills during training, the job fails (its checkpoint or
bundle cannot be written), and then the job store cannot record that either: the job would show
``running`` for ever. The worker keeps ``state/disk-reserve`` (1 MiB of real blocks) and deletes it
when a job's last write hits a full disk, so that write (the job FAILED, with the reason) goes
through; the reserve is made again once there is room. The same idea as a database's ballast file.
"""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path

__all__ = ["RESERVE_BYTES", "DiskReserve"]

log = logging.getLogger("mmcorr.worker")

#: Size of the reserve: enough for a few hundred small job-store writes.
RESERVE_BYTES = 1 << 20


class DiskReserve:
    """The reserve file at ``path`` (``state/disk-reserve``); constructing it does no I/O."""

    def __init__(self, path: Path, size: int = RESERVE_BYTES) -> None:
        self.path = Path(path)
        self.size = size

    def ensure(self) -> bool:
        """Create the reserve if it is missing; False when there is no room for it now."""
        if self.path.exists() and self.path.stat().st_size >= self.size:
            return True
        tmp = self.path.with_name(f".{self.path.name}.tmp")
        try:
            with open(tmp, "wb") as fh:
                fh.write(b"\0" * self.size)  # real blocks: a sparse file would free nothing
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
            return True
        except OSError:
            with contextlib.suppress(OSError):
                tmp.unlink()
            return False

    def release(self) -> bool:
        """Delete the reserve to free its space; True when there was one."""
        try:
            self.path.unlink()
        except OSError:
            return False
        log.warning("the disk holding %s is full: released the %d KiB reserve to record the job's end",
                    self.path.parent, self.size >> 10)  # fmt: skip
        return True
