"""Opening SQLite files that several processes share (the job store and the embedded queue).

Switching a database to write-ahead logging needs a moment of exclusive access, and SQLite answers
``database is locked`` at once, without waiting out the busy timeout, while another process is
doing the same or recovering the log. A worker and a submitting page open the files together on
first use, so the switch is retried here until the busy timeout has passed. WAL is a property of the
file: once any opener has switched it, the others find it switched and take no lock for it.

State files are private (mode 0600; SQLite gives its -wal / -shm files the same mode) and are never
silently replaced: a new file is made complete under a temporary name and linked into place, so an
existing file that is empty or lacks SQLite's header is damage (a crash, a full disk, a stray
write), reported by :class:`StateFileError` naming the file and the recovery, never recreated.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sqlite3
import time
import uuid
import weakref
from pathlib import Path
from typing import Any

from mmcorr._validation import MmcorrError
from mmcorr.paths import make_private

__all__ = ["SQLITE_HEADER", "StateFileError", "connect_wal", "describe_sqlite_error", "open_state_db"]

#: The first 16 bytes of every SQLite 3 database file.
SQLITE_HEADER = b"SQLite format 3\x00"


class StateFileError(MmcorrError):
    """A state file (the job store, the queue) is damaged or cannot be written; the message says
    which file and what to do. ``full``: the disk is full (or failing), so retrying may succeed
    once there is room; False for damage, which no retry mends."""

    def __init__(self, message: str, *, full: bool = False) -> None:
        super().__init__(message)
        self.full = full


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


class _StateConnection(sqlite3.Connection):
    """A plain connection that can be weakly referenced, so the guards below can find it."""

    state_path: Path | None = None


#: Every state-file connection open in this process (weak: a connection still closes when dropped).
_OPEN: weakref.WeakSet[_StateConnection] = weakref.WeakSet()
#: Strong references taken just before a fork. SQLite must never close, in a forked child, a
#: connection it inherited: the close would act on locks and on the shared-memory log index that
#: the parent's connection still uses (seen as a parent whose heartbeats hung and a child whose
#: claim saw no queued job). A fork drops the child's other threads and their thread-local
#: connections, which would close them; these references keep them, unused, for the child's life.
_HELD_ACROSS_FORK: list[_StateConnection] = []


def _hold_connections() -> None:
    _HELD_ACROSS_FORK[:] = list(_OPEN)


def _release_in_parent() -> None:
    _HELD_ACROSS_FORK.clear()


os.register_at_fork(before=_hold_connections, after_in_parent=_release_in_parent)


def _recovery(path: Path, what: str) -> str:
    if what == "queue":
        return (
            f"Stop the worker, move it aside (mv {path} {path}.bad) and start the worker again: a new "
            "queue is created and the worker re-queues every job the job store still has queued."
        )
    return (
        f"Stop the worker, move it aside (mv {path} {path}.bad) and run the command again: a new, "
        "empty job store is created; the old job history stays in the moved file for recovery "
        f"(sqlite3 {path}.bad .recover)."
    )


def describe_sqlite_error(path: Path, what: str, exc: BaseException) -> StateFileError | None:
    """The one-line error for an SQLite failure on state file ``path``, or None if not one of ours.

    what: 'job store' or 'queue'. Damage (not a database, malformed) says how to set the file
    aside; a full disk or an I/O error says to free space. Busy / locked errors return None.
    """
    text = str(exc)
    full = isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)
    if full or "disk is full" in text or "disk I/O error" in text or "readonly" in text:
        return StateFileError(
            f"The {what} {path} cannot be written ({text}). Free space on the disk holding "
            "MMCORR_HOME (or fix its permissions) and run the command again.",
            full=True,
        )
    if isinstance(exc, sqlite3.DatabaseError) and not isinstance(exc, sqlite3.OperationalError):
        return StateFileError(f"The {what} {path} is damaged ({text}). {_recovery(path, what)}")
    return None


def _connected(path: Path) -> bool:
    """Whether this process holds an open connection to state file ``path``."""
    return any(conn.state_path == path for conn in list(_OPEN))


def _check_header(path: Path, what: str) -> None:
    """Refuse a file that is empty or not an SQLite database.

    The header is read only while this process has no connection to the file: closing any file
    descriptor of a file drops every POSIX lock the process holds on it, so a read here would take
    away the locks of this process's open connections, and a closing connection elsewhere could
    then delete the write-ahead log under them ("disk I/O error"; the SQLite manual's How To
    Corrupt, section 2.2). With a connection open, SQLite itself checks the header on each read.
    """
    if path.stat().st_size == 0:
        raise StateFileError(
            f"The {what} {path} is not an SQLite database (it is empty). {_recovery(path, what)}"
        )
    if _connected(path):
        return
    with open(path, "rb") as fh:
        head = fh.read(len(SQLITE_HEADER))
    if head != SQLITE_HEADER:
        found = "it is empty" if not head else f"it starts with {head[:16]!r}"
        raise StateFileError(
            f"The {what} {path} is not an SQLite database ({found}). {_recovery(path, what)}"
        )


def _create(path: Path, timeout: float) -> None:
    """Make ``path`` a complete, empty WAL database with mode 0600, unless someone else did first."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    fd = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    os.close(fd)
    try:
        connect_wal(tmp, timeout).close()  # writes the header: the file is a database from now on
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)  # atomic "create if absent": a concurrent creator's file wins
    finally:
        for leftover in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()


def open_state_db(path: str | Path, timeout: float, what: str) -> sqlite3.Connection:
    """A WAL connection to state file ``path`` (created 0600 if missing; refused if damaged).

    what: 'job store' or 'queue', for messages. Raises :class:`StateFileError` naming the file.
    """
    path = Path(path)
    try:
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            _create(path, timeout)
        _check_header(path, what)
        make_private(path, 0o600)  # a file made 0644 by an older mmcorr
        conn = connect_wal(path, timeout, factory=_StateConnection)
        assert isinstance(conn, _StateConnection)  # the factory's class, always
        conn.state_path = path
        _OPEN.add(conn)
        return conn
    except (sqlite3.Error, OSError) as exc:
        error = describe_sqlite_error(path, what, exc)
        if error is None:
            raise
        raise error from None
