"""Opening SQLite files that several processes share (the job store and the embedded queue).

Switching a database to write-ahead logging needs a moment of exclusive access, and SQLite answers
``database is locked`` at once, without waiting out the busy timeout, while another process is
doing the same or recovering the log. A worker and a submitting page open the files together on
first use, so the switch is retried here until the busy timeout has passed. WAL is a property of the
file: once any opener has switched it, the others find it switched and take no lock for it.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

__all__ = ["connect_wal"]


def connect_wal(path: str | Path, timeout: float, **kwargs: Any) -> sqlite3.Connection:
    """An autocommit connection to ``path`` in WAL mode, retrying the switch for ``timeout`` s."""
    conn = sqlite3.connect(path, timeout=timeout, isolation_level=None, **kwargs)
    deadline = time.monotonic() + timeout
    delay = 0.01
    while True:
        try:
            if str(conn.execute("PRAGMA journal_mode").fetchone()[0]).lower() == "wal":
                return conn
            if str(conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]).lower() == "wal":
                return conn
            problem: Exception = sqlite3.OperationalError(f"{path}: could not switch to WAL mode")
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                conn.close()
                raise
            problem = exc
        if time.monotonic() >= deadline:
            conn.close()
            raise problem
        time.sleep(delay)
        delay = min(delay * 2, 0.5)
