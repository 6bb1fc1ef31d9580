"""What differs between the SQL backends of the job store, and the connection wrapper both speak through.

A :class:`Dialect` holds the driver's parameter marker, how submission numbers are handed out, row
locking, connections and transactions, schema-migration locking and how the driver's errors reach
people; :class:`~mmcorr.jobs.sql_store.SQLJobStore` holds everything else, written once.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any

__all__ = ["Dialect", "Session"]


class Dialect(ABC):
    """What differs between the SQL backends of the job store; everything else is
    :class:`~mmcorr.jobs.sql_store.SQLJobStore`.

    The connection methods return context managers yielding a driver connection (``execute(sql,
    params)`` returning a cursor with ``fetchone``, ``fetchall`` and ``rowcount``); they translate
    the driver's "cannot reach the server" errors into ones fit for people.
    """

    #: The driver's parameter marker; the store's statements use ``?`` and are rewritten to it.
    placeholder: str = "?"
    #: Fills the ``{...}`` templates of :data:`mmcorr.jobs.sql_schema.MIGRATIONS`.
    ddl: Mapping[str, str]
    #: A query returning the next submission number, run inside ``add_job``'s transaction.
    next_seq: str
    #: A query with one parameter (a table name), returning a true value when that table exists.
    table_exists: str
    #: Appended to a SELECT of a row the same transaction then updates ("" when the transaction
    #: already excludes every other writer).
    lock_row: str = ""
    #: How a job's log lines are ordered: by time, ties in insertion order.
    event_order: str
    #: Where the store is, as "There is no job with id 'x' in <where>" words it.
    where: str
    #: The store named at the start of a sentence ("The job store /home/me/.mmcorr/state/jobs.db").
    title: str
    #: What to do about a store written by a newer mmcorr.
    upgrade_hint: str

    @abstractmethod
    def write(self) -> AbstractContextManager[Any]:
        """A connection in one transaction that read-check-write sequences can rely on
        (committed when the block ends, rolled back when it raises)."""

    @abstractmethod
    def read(self) -> AbstractContextManager[Any]:
        """A connection for one or more reads."""

    @abstractmethod
    def migration(self) -> AbstractContextManager[Any]:
        """Like :meth:`write`, and no other process migrates the same store at the same time."""

    @abstractmethod
    def close(self) -> None:
        """Release this process's connections (the store reopens them when used again)."""


class Session:
    """One driver connection, speaking the store's SQL (``?`` parameters) in the dialect's marker."""

    def __init__(self, conn: Any, placeholder: str) -> None:
        self._conn = conn
        self._placeholder = placeholder

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        if self._placeholder != "?":
            sql = sql.replace("?", self._placeholder)
        return self._conn.execute(sql, tuple(params))

    def one(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        row = self.execute(sql, params).fetchone()
        return None if row is None else tuple(row)

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return [tuple(row) for row in self.execute(sql, params).fetchall()]

    def changed_one(self, sql: str, params: Sequence[Any] = ()) -> bool:
        """Run an UPDATE; True when it changed exactly one row (its condition held)."""
        return bool(self.execute(sql, params).rowcount == 1)
