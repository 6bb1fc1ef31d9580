"""The embedded job store: stdlib sqlite3 in WAL mode under the data home.

The statements are :class:`~mmcorr.jobs.sql_store.SQLJobStore`'s; this module is SQLite's dialect.
One connection per process and thread (sqlite3 connections must not cross a fork), a 30 s busy
timeout so concurrent writers queue instead of failing, and every write inside ``BEGIN IMMEDIATE``
(the database's write lock taken at once), so read-check-write sequences are atomic across
processes without row locks, and the next submission number can be ``MAX(seq) + 1``.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import ClassVar

from mmcorr.jobs._sqlite import describe_sqlite_error, open_state_db
from mmcorr.jobs.sql_dialect import Dialect
from mmcorr.jobs.sql_store import SQLJobStore

__all__ = ["SQLiteDialect", "SQLiteJobStore"]


class SQLiteDialect(Dialect):
    """SQLite's side of the job store: one file, one connection per process and thread."""

    ddl: Mapping[str, str] = MappingProxyType(
        {"seq": "INTEGER NOT NULL", "event_id": "", "if_not_exists": ""}
    )
    next_seq = "SELECT COALESCE(MAX(seq), 0) + 1 FROM jobs"  # safe: BEGIN IMMEDIATE excludes writers
    table_exists = "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?"
    event_order = "ts, rowid"
    upgrade_hint = "Upgrade mmcorr or point MMCORR_HOME elsewhere."

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.where = str(self.path)
        self.title = f"The job store {self.path}"
        self._local = threading.local()

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None and getattr(self._local, "pid", None) == os.getpid():
            return conn
        # A connection inherited through fork is unusable: open a fresh one for this process.
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = open_state_db(self.path, 30.0, "job store")  # also the 30 s busy timeout
        conn.execute("PRAGMA synchronous = NORMAL")
        self._local.conn, self._local.pid = conn, os.getpid()
        return conn

    @contextlib.contextmanager
    def _named_errors(self) -> Iterator[None]:
        """Damage, a full disk or an I/O error become one line naming this file (StateFileError)."""
        try:
            yield
        except sqlite3.Error as exc:
            error = describe_sqlite_error(self.path, "job store", exc)
            if error is None:
                raise
            raise error from exc

    @contextlib.contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        with self._named_errors():
            conn = self._conn()
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                # A COMMIT that failed (disk full) may leave the transaction open: end it, or the
                # next BEGIN on this connection fails too.
                if conn.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")
                raise

    @contextlib.contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        with self._named_errors():
            yield self._conn()  # autocommit: each read sees the last committed state

    def migration(self) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        return self.write()  # BEGIN IMMEDIATE already keeps other processes out

    def close(self) -> None:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None and getattr(self._local, "pid", None) == os.getpid():
            conn.close()
        self._local.conn = None


class SQLiteJobStore(SQLJobStore):
    """A :class:`~mmcorr.jobs.store_types.JobStore` in one SQLite file (created on first use)."""

    _instances: ClassVar[dict[Path, SQLiteJobStore]] = {}
    _instances_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, path: Path) -> None:
        super().__init__(SQLiteDialect(path))
        self.path = Path(path)

    @classmethod
    def for_path(cls, path: Path) -> SQLiteJobStore:
        """The shared store object of ``path`` in this process (it keeps one connection per thread)."""
        key = Path(path).resolve()
        with cls._instances_lock:
            store = cls._instances.get(key)
            if store is None:
                store = cls._instances[key] = cls(key)
            return store
