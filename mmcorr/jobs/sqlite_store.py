"""The embedded job store: stdlib sqlite3 in WAL mode under the data home.

One connection per process and thread (sqlite3 connections must not cross a fork), a busy timeout
so concurrent writers queue instead of failing, and every write inside ``BEGIN IMMEDIATE`` so
read-check-write sequences are atomic across processes. The SQL itself is portable (standard types,
``ON CONFLICT`` upserts, ``?`` placeholders rewritten by a server store); only the connection set-up
and the transaction opener below are SQLite-specific.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

from mmcorr._validation import MmcorrError
from mmcorr.config import JobSpec
from mmcorr.jobs._sqlite import connect_wal
from mmcorr.jobs.records import JobRecord, iso
from mmcorr.jobs.states import EventLevel, JobState
from mmcorr.jobs.store import SCHEMA_VERSION, WORKER_KEYS, WorkerRow

__all__ = ["SQLiteJobStore"]

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)",
    """CREATE TABLE IF NOT EXISTS jobs (
        id TEXT PRIMARY KEY,
        seq INTEGER NOT NULL UNIQUE,
        name TEXT NOT NULL,
        state TEXT NOT NULL,
        spec TEXT NOT NULL,
        created DOUBLE PRECISION NOT NULL,
        started DOUBLE PRECISION,
        finished DOUBLE PRECISION,
        epoch INTEGER NOT NULL DEFAULT 0,
        epochs INTEGER NOT NULL,
        last_record TEXT,
        message TEXT NOT NULL DEFAULT '',
        traceback TEXT NOT NULL DEFAULT '',
        run_dir TEXT,
        worker_pid INTEGER,
        worker_host TEXT,
        cancel_requested INTEGER NOT NULL DEFAULT 0,
        resume_from TEXT,
        attempts INTEGER NOT NULL DEFAULT 0
    )""",
    "CREATE INDEX IF NOT EXISTS jobs_state_seq ON jobs (state, seq)",
    """CREATE TABLE IF NOT EXISTS progress (
        job_id TEXT NOT NULL,
        epoch INTEGER NOT NULL,
        record TEXT NOT NULL,
        created DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (job_id, epoch)
    )""",
    """CREATE TABLE IF NOT EXISTS events (
        job_id TEXT NOT NULL,
        ts DOUBLE PRECISION NOT NULL,
        level TEXT NOT NULL,
        text TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS events_job ON events (job_id, ts)",
    """CREATE TABLE IF NOT EXISTS workers (
        pid INTEGER NOT NULL,
        host TEXT NOT NULL,
        started DOUBLE PRECISION NOT NULL,
        heartbeat DOUBLE PRECISION NOT NULL,
        state TEXT NOT NULL,
        threads INTEGER,
        PRIMARY KEY (host, pid)
    )""",
)

#: _MIGRATIONS[v] brings a version-v schema to v + 1 (the statements above make version 1).
_MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (),
    ("ALTER TABLE workers ADD COLUMN name TEXT", "ALTER TABLE jobs ADD COLUMN worker_name TEXT"),
)
assert len(_MIGRATIONS) == SCHEMA_VERSION, "add a migration when SCHEMA_VERSION grows"

_COLUMNS = (
    "id, seq, name, state, spec, created, started, finished, epoch, epochs, last_record, message, "
    "traceback, run_dir, worker_pid, cancel_requested, resume_from, worker_name"
)

_WORKER_COLUMNS = ", ".join(WORKER_KEYS)


class SQLiteJobStore:
    """A :class:`~mmcorr.jobs.store.JobStore` in one SQLite file (created on first use)."""

    _instances: ClassVar[dict[Path, SQLiteJobStore]] = {}
    _instances_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._local = threading.local()
        self._schema_ready = False

    @classmethod
    def for_path(cls, path: Path) -> SQLiteJobStore:
        """The shared store object of ``path`` in this process (it keeps one connection per thread)."""
        key = Path(path).resolve()
        with cls._instances_lock:
            store = cls._instances.get(key)
            if store is None:
                store = cls._instances[key] = cls(key)
            return store

    # -- connection and transactions (the SQLite-specific part) ---------------------------------

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None and getattr(self._local, "pid", None) == os.getpid():
            return conn
        # A connection inherited through fork is unusable: open a fresh one for this process.
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = connect_wal(self.path, timeout=30.0)  # also the 30 s busy timeout
        conn.execute("PRAGMA synchronous = NORMAL")
        self._local.conn, self._local.pid = conn, os.getpid()
        if not self._schema_ready:
            self._create_schema(conn)
        return conn

    def _create_schema(self, conn: sqlite3.Connection) -> None:
        conn.execute("BEGIN IMMEDIATE")
        try:
            for stmt in _SCHEMA:
                conn.execute(stmt)
            row = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
            # No row: the tables were just made by the version-1 statements above.
            version = 1 if not row or row[0] is None else int(row[0])
            if version > SCHEMA_VERSION:
                raise MmcorrError(
                    f"The job store {self.path} has schema version {version}, newer than this mmcorr "
                    f"supports ({SCHEMA_VERSION}). Upgrade mmcorr or point MMCORR_HOME elsewhere."
                )
            for step in range(version, SCHEMA_VERSION):
                for stmt in _MIGRATIONS[step]:
                    conn.execute(stmt)
            if row is None or row[0] is None or version < SCHEMA_VERSION:
                conn.execute("DELETE FROM schema_version")
                conn.execute("INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION,))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        self._schema_ready = True

    @contextlib.contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """An exclusive write transaction: read-check-write sequences inside it are atomic."""
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def _read(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        return self._conn().execute(sql, params).fetchall()

    # -- jobs -----------------------------------------------------------------------------------

    def add_job(self, job_id: str, spec_json: str, name: str, epochs: int, resume_from: str | None) -> int:
        with self._tx() as conn:
            seq = conn.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM jobs").fetchone()[0]
            conn.execute(
                "INSERT INTO jobs (id, seq, name, state, spec, created, epochs, resume_from) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (job_id, seq, name, JobState.QUEUED.value, spec_json, time.time(), epochs, resume_from),
            )
            self._event(conn, job_id, EventLevel.INFO, f"submitted (position {seq} in submission order)")
        return int(seq)

    def get(self, job_id: str) -> JobRecord:
        rows = self._read(f"SELECT {_COLUMNS} FROM jobs WHERE id = ?", (job_id,))
        if not rows:
            raise MmcorrError(
                f"There is no job with id {job_id!r} in {self.path}. List jobs with 'mmcorr jobs list'."
            )
        return self._record(rows[0])

    def list_jobs(self, limit: int = 50, states: tuple[JobState, ...] | None = None) -> list[JobRecord]:
        if states:
            marks = ", ".join("?" for _ in states)
            rows = self._read(
                f"SELECT {_COLUMNS} FROM jobs WHERE state IN ({marks}) ORDER BY seq DESC LIMIT ?",
                (*[s.value for s in states], int(limit)),
            )
        else:
            rows = self._read(f"SELECT {_COLUMNS} FROM jobs ORDER BY seq DESC LIMIT ?", (int(limit),))
        return [self._record(r) for r in rows]

    def claim(self, job_id: str, pid: int, host: str, worker: str | None = None) -> bool:
        with self._tx() as conn:
            cur = conn.execute(
                "UPDATE jobs SET state = ?, started = ?, worker_pid = ?, worker_host = ?, worker_name = ?, "
                "attempts = attempts + 1 WHERE id = ? AND state = ?",
                (JobState.RUNNING.value, time.time(), pid, host, worker, job_id, JobState.QUEUED.value),
            )
            if cur.rowcount == 1:
                by = f"worker {worker} (pid {pid} on {host})" if worker else f"worker pid {pid} on {host}"
                self._event(conn, job_id, EventLevel.INFO, f"started by {by}")
            return cur.rowcount == 1

    def record_epoch(self, job_id: str, record: dict[str, Any]) -> bool:
        text = json.dumps(record, default=float)
        epoch = int(record.get("epoch", 0))
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO progress (job_id, epoch, record, created) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (job_id, epoch) DO UPDATE SET record = excluded.record, "
                "created = excluded.created",
                (job_id, epoch, text, time.time()),
            )
            epochs = record.get("epochs")
            conn.execute(
                "UPDATE jobs SET epoch = ?, epochs = COALESCE(?, epochs), last_record = ? WHERE id = ?",
                (epoch, int(epochs) if epochs is not None else None, text, job_id),
            )
            row = conn.execute("SELECT cancel_requested FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return bool(row and row[0])

    def finish(
        self, job_id: str, state: JobState, message: str, traceback: str = "", run_dir: str | None = None
    ) -> bool:
        if not state.is_terminal:
            raise ValueError(f"finish() needs a terminal state, got {state}")  # programming error
        level = EventLevel.INFO if state is JobState.SUCCEEDED else EventLevel.WARNING
        if state is JobState.FAILED:
            level = EventLevel.ERROR
        with self._tx() as conn:
            cur = conn.execute(
                "UPDATE jobs SET state = ?, finished = ?, message = ?, traceback = ?, run_dir = ? "
                "WHERE id = ? AND state = ?",
                (state.value, time.time(), message, traceback, run_dir, job_id, JobState.RUNNING.value),
            )
            if cur.rowcount == 1:
                self._event(conn, job_id, level, f"{state.value}: {message}")
            return cur.rowcount == 1

    def requeue(self, job_id: str, message: str) -> bool:
        with self._tx() as conn:
            cur = conn.execute(
                "UPDATE jobs SET state = ?, worker_pid = NULL, worker_host = NULL, worker_name = NULL, message = ?, "
                "resume_from = COALESCE(resume_from, id) WHERE id = ? AND state = ?",
                (JobState.QUEUED.value, message, job_id, JobState.RUNNING.value),
            )
            if cur.rowcount == 1:
                self._event(conn, job_id, EventLevel.WARNING, f"re-queued: {message}")
            return cur.rowcount == 1

    def request_cancel(self, job_id: str) -> JobState:
        with self._tx() as conn:
            row = conn.execute("SELECT state FROM jobs WHERE id = ?", (job_id,)).fetchone()
            if row is None:
                raise MmcorrError(
                    f"There is no job with id {job_id!r} in {self.path}. List jobs with 'mmcorr jobs list'."
                )
            state = JobState(row[0])
            if state is JobState.QUEUED:
                conn.execute(
                    "UPDATE jobs SET state = ?, finished = ?, message = ? WHERE id = ?",
                    (JobState.CANCELLED.value, time.time(), "cancelled before it started", job_id),
                )
                self._event(conn, job_id, EventLevel.WARNING, "cancelled before it started")
                return JobState.CANCELLED
            if state is JobState.RUNNING:
                conn.execute("UPDATE jobs SET cancel_requested = 1 WHERE id = ?", (job_id,))
                self._event(conn, job_id, EventLevel.WARNING, "cancel requested; stops after this epoch")
                return JobState.RUNNING
        raise MmcorrError(
            f"Job {job_id!r} is already {state.value}; only queued or running jobs can be cancelled."
        )

    def mark_lost(self, job_id: str, pid: int | None, message: str) -> bool:
        with self._tx() as conn:
            cur = conn.execute(
                "UPDATE jobs SET state = ?, finished = ?, message = ? "
                "WHERE id = ? AND state = ? AND (worker_pid = ? OR worker_pid IS NULL)",
                (JobState.FAILED.value, time.time(), message, job_id, JobState.RUNNING.value, pid),
            )
            if cur.rowcount == 1:
                self._event(conn, job_id, EventLevel.ERROR, f"failed: {message}")
            return cur.rowcount == 1

    def running(self) -> list[tuple[str, int | None, str | None]]:
        rows = self._read(
            "SELECT id, worker_pid, worker_host FROM jobs WHERE state = ? ORDER BY seq",
            (JobState.RUNNING.value,),
        )
        return [(r[0], r[1], r[2]) for r in rows]

    def running_workers(self) -> list[tuple[str, int | None, str | None]]:
        rows = self._read(
            "SELECT id, worker_pid, worker_name FROM jobs WHERE state = ? ORDER BY seq",
            (JobState.RUNNING.value,),
        )
        return [(r[0], r[1], r[2]) for r in rows]

    def queued_ids(self) -> list[str]:
        rows = self._read("SELECT id FROM jobs WHERE state = ? ORDER BY seq", (JobState.QUEUED.value,))
        return [r[0] for r in rows]

    def progress_rows(self, job_id: str) -> list[dict[str, Any]]:
        rows = self._read("SELECT record FROM progress WHERE job_id = ? ORDER BY epoch", (job_id,))
        return [json.loads(r[0]) for r in rows]

    # -- logs and heartbeats ----------------------------------------------------------------------

    @staticmethod
    def _event(conn: sqlite3.Connection, job_id: str, level: EventLevel, text: str) -> None:
        conn.execute(
            "INSERT INTO events (job_id, ts, level, text) VALUES (?, ?, ?, ?)",
            (job_id, time.time(), level.value, text),
        )

    def add_event(self, job_id: str, level: EventLevel, text: str) -> None:
        with self._tx() as conn:
            self._event(conn, job_id, level, text)

    def events(self, job_id: str) -> list[tuple[float, EventLevel, str]]:
        rows = self._read("SELECT ts, level, text FROM events WHERE job_id = ? ORDER BY ts", (job_id,))
        return [(float(r[0]), EventLevel(r[1]), r[2]) for r in rows]

    def heartbeat(
        self, pid: int, host: str, started: float, threads: int | None, state: str, name: str | None = None
    ) -> None:
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO workers (pid, host, name, started, heartbeat, state, threads) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (host, pid) DO UPDATE SET "
                "heartbeat = excluded.heartbeat, state = excluded.state, threads = excluded.threads, "
                "name = COALESCE(excluded.name, workers.name)",
                (pid, host, name, started, time.time(), state, threads),
            )

    def worker(self) -> WorkerRow | None:
        rows = self._read(f"SELECT {_WORKER_COLUMNS} FROM workers ORDER BY started DESC LIMIT 1")
        return dict(zip(WORKER_KEYS, rows[0], strict=True)) if rows else None

    def workers(self) -> list[WorkerRow]:
        rows = self._read(f"SELECT {_WORKER_COLUMNS} FROM workers ORDER BY heartbeat DESC")
        return [dict(zip(WORKER_KEYS, r, strict=True)) for r in rows]

    # -- records ----------------------------------------------------------------------------------

    def _record(self, row: tuple[Any, ...]) -> JobRecord:
        (job_id, seq, name, state_s, spec, created, started, finished, epoch, epochs, last, message,
         tb, run_dir, pid, cancel, resume_from, worker_name) = row  # fmt: skip
        state = JobState(state_s)
        position: int | None = None
        eta: float | None = None
        if state is JobState.QUEUED:
            position = int(
                self._read(
                    "SELECT COUNT(*) FROM jobs WHERE state = ? AND seq < ?", (JobState.QUEUED.value, seq)
                )[0][0]
            )
        elif state is JobState.RUNNING and epoch:
            # Mean epoch time so far times the epochs left: an upper bound when early stopping ends it.
            seconds = [float(r.get("seconds", 0.0)) for r in self.progress_rows(job_id)]
            if seconds:
                eta = sum(seconds) / len(seconds) * max(0, int(epochs) - int(epoch))
        return JobRecord(
            id=job_id,
            state=state,
            spec=JobSpec.from_json(spec),
            name=name,
            created=iso(created) or "",
            started=iso(started),
            finished=iso(finished),
            epoch=int(epoch),
            epochs=int(epochs),
            last=json.loads(last) if last else None,
            message=message,
            traceback=tb,
            run_dir=run_dir,
            queue_position=position,
            eta_seconds=eta,
            cancel_requested=bool(cancel),
            resume_from=resume_from,
            worker_pid=pid,
            worker=worker_name,
        )
