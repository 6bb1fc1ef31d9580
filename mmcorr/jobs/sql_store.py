"""One SQL job store for SQLite and PostgreSQL: every statement once, the differences in a dialect.

:class:`SQLJobStore` holds the job-state semantics and all the SQL, written once with ``?``
parameters in portable SQL (``ON CONFLICT`` upserts, standard types). A :class:`Dialect` holds the
few things that differ between backends (:mod:`mmcorr.jobs.sql_dialect`); the two dialects live
with their backends in :mod:`mmcorr.jobs.sqlite_store` and :mod:`mmcorr.jobs.postgres_store`.

Concurrency: every state change is one conditional ``UPDATE ... WHERE state = ...`` inside one
transaction, so two workers never claim one job and no cancel is lost. SQLite takes the database's
write lock when the transaction begins; PostgreSQL row-locks the updated row (re-checking the
condition after a concurrent commit) and ``request_cancel`` reads its row with ``FOR UPDATE``.

Schema: created or migrated on first use inside one transaction that no other process can enter
at the same time, recorded in ``schema_version``; a store written by a newer mmcorr is refused
with a message naming both versions.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator, Sequence
from typing import Any

from mmcorr._validation import MmcorrError
from mmcorr.config import JobSpec
from mmcorr.jobs.records import JobRecord, iso
from mmcorr.jobs.sql_dialect import Dialect, Session
from mmcorr.jobs.sql_schema import JOB_COLUMNS, MIGRATIONS
from mmcorr.jobs.states import EventLevel, JobState
from mmcorr.jobs.store_types import SCHEMA_VERSION, WORKER_KEYS, WorkerRow

__all__ = ["SQLJobStore"]

_WORKER_COLUMNS = ", ".join(WORKER_KEYS)


class SQLJobStore:
    """A :class:`~mmcorr.jobs.store_types.JobStore` in an SQL database spoken through ``dialect``.

    The tables are created (or migrated) on first use; constructing a store does no I/O.
    """

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        self._schema_ready = False

    @property
    def where(self) -> str:
        """Where the store is, for messages (a file path, or the server URL with its password hidden)."""
        return self.dialect.where

    def close(self) -> None:
        """Release this process's connections; the store reconnects when used again."""
        self.dialect.close()

    # -- transactions and schema ------------------------------------------------------------------

    @contextlib.contextmanager
    def _tx(self) -> Iterator[Session]:
        self._ensure_schema()
        with self.dialect.write() as conn:
            yield Session(conn, self.dialect.placeholder)

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        self._ensure_schema()
        with self.dialect.read() as conn:
            return Session(conn, self.dialect.placeholder).all(sql, params)

    def _ensure_schema(self) -> None:
        if self._schema_ready:
            return
        with self.dialect.migration() as conn:
            self._migrate(Session(conn, self.dialect.placeholder))
        self._schema_ready = True

    def _migrate(self, tx: Session) -> None:
        version = self._version(tx)
        if version > SCHEMA_VERSION:
            raise MmcorrError(
                f"{self.dialect.title} has schema version {version}, newer than this mmcorr supports "
                f"({SCHEMA_VERSION}). {self.dialect.upgrade_hint}"
            )
        # A version-1 store reruns the idempotent step 0 first (see sql_schema.MIGRATIONS).
        for step in range(version if version > 1 else 0, SCHEMA_VERSION):
            for stmt in MIGRATIONS[step]:
                tx.execute(stmt.format_map(self.dialect.ddl))
        if version < SCHEMA_VERSION:
            tx.execute("DELETE FROM schema_version")
            tx.execute("INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION,))

    def _version(self, tx: Session) -> int:
        exists = tx.one(self.dialect.table_exists, ("schema_version",))
        if not exists or not exists[0]:
            return 0
        row = tx.one("SELECT MAX(version) FROM schema_version")
        return int(row[0]) if row and row[0] is not None else 0

    def schema_version(self) -> int:
        """The schema version stored in the database (0 when empty), without migrating anything."""
        with self.dialect.read() as conn:
            return self._version(Session(conn, self.dialect.placeholder))

    def _no_job(self, job_id: str) -> MmcorrError:
        return MmcorrError(
            f"There is no job with id {job_id!r} in {self.where}. List jobs with 'mmcorr jobs list'."
        )

    # -- jobs -------------------------------------------------------------------------------------

    def add_job(self, job_id: str, spec_json: str, name: str, epochs: int, resume_from: str | None) -> int:
        with self._tx() as tx:
            row = tx.one(self.dialect.next_seq)
            assert row is not None  # the query always returns one row
            seq = int(row[0])
            tx.execute(
                "INSERT INTO jobs (id, seq, name, state, spec, created, epochs, resume_from) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (job_id, seq, name, JobState.QUEUED.value, spec_json, time.time(), epochs, resume_from),
            )
            _event(tx, job_id, EventLevel.INFO, f"submitted (position {seq} in submission order)")
        return seq

    def get(self, job_id: str) -> JobRecord:
        rows = self._read(f"SELECT {JOB_COLUMNS} FROM jobs WHERE id = ?", (job_id,))
        if not rows:
            raise self._no_job(job_id)
        return self._record(rows[0])

    def list_jobs(self, limit: int = 50, states: tuple[JobState, ...] | None = None) -> list[JobRecord]:
        if states:
            marks = ", ".join("?" for _ in states)
            rows = self._read(
                f"SELECT {JOB_COLUMNS} FROM jobs WHERE state IN ({marks}) ORDER BY seq DESC LIMIT ?",
                (*[s.value for s in states], int(limit)),
            )
        else:
            rows = self._read(f"SELECT {JOB_COLUMNS} FROM jobs ORDER BY seq DESC LIMIT ?", (int(limit),))
        return [self._record(r) for r in rows]

    def claim(self, job_id: str, pid: int, host: str, worker: str | None = None) -> bool:
        with self._tx() as tx:
            claimed = tx.changed_one(
                "UPDATE jobs SET state = ?, started = ?, worker_pid = ?, worker_host = ?, worker_name = ?, "
                "attempts = attempts + 1 WHERE id = ? AND state = ?",
                (JobState.RUNNING.value, time.time(), pid, host, worker, job_id, JobState.QUEUED.value),
            )
            if claimed:
                by = f"worker {worker} (pid {pid} on {host})" if worker else f"worker pid {pid} on {host}"
                _event(tx, job_id, EventLevel.INFO, f"started by {by}")
        return claimed

    def record_epoch(self, job_id: str, record: dict[str, Any]) -> bool:
        text = json.dumps(record, default=float)
        epoch = int(record.get("epoch", 0))
        epochs = record.get("epochs")
        with self._tx() as tx:
            tx.execute(
                "INSERT INTO progress (job_id, epoch, record, created) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (job_id, epoch) DO UPDATE SET record = excluded.record, "
                "created = excluded.created",
                (job_id, epoch, text, time.time()),
            )
            tx.execute(
                "UPDATE jobs SET epoch = ?, epochs = COALESCE(?, epochs), last_record = ? WHERE id = ?",
                (epoch, int(epochs) if epochs is not None else None, text, job_id),
            )
            row = tx.one("SELECT cancel_requested FROM jobs WHERE id = ?", (job_id,))
        return bool(row and row[0])

    def finish(
        self, job_id: str, state: JobState, message: str, traceback: str = "", run_dir: str | None = None
    ) -> bool:
        if not state.is_terminal:
            raise ValueError(f"finish() needs a terminal state, got {state}")  # programming error
        level = {JobState.SUCCEEDED: EventLevel.INFO, JobState.FAILED: EventLevel.ERROR}.get(
            state, EventLevel.WARNING
        )
        with self._tx() as tx:
            finished = tx.changed_one(
                "UPDATE jobs SET state = ?, finished = ?, message = ?, traceback = ?, run_dir = ? "
                "WHERE id = ? AND state = ?",
                (state.value, time.time(), message, traceback, run_dir, job_id, JobState.RUNNING.value),
            )
            if finished:
                _event(tx, job_id, level, f"{state.value}: {message}")
        return finished

    def requeue(self, job_id: str, message: str) -> bool:
        with self._tx() as tx:
            requeued = tx.changed_one(
                "UPDATE jobs SET state = ?, worker_pid = NULL, worker_host = NULL, worker_name = NULL, "
                "message = ?, resume_from = COALESCE(resume_from, id) WHERE id = ? AND state = ?",
                (JobState.QUEUED.value, message, job_id, JobState.RUNNING.value),
            )
            if requeued:
                _event(tx, job_id, EventLevel.WARNING, f"re-queued: {message}")
        return requeued

    def request_cancel(self, job_id: str) -> JobState:
        with self._tx() as tx:
            row = tx.one(f"SELECT state FROM jobs WHERE id = ?{self.dialect.lock_row}", (job_id,))
            if row is None:
                raise self._no_job(job_id)
            state = JobState(row[0])
            if state is JobState.QUEUED:
                tx.execute(
                    "UPDATE jobs SET state = ?, finished = ?, message = ? WHERE id = ?",
                    (JobState.CANCELLED.value, time.time(), "cancelled before it started", job_id),
                )
                _event(tx, job_id, EventLevel.WARNING, "cancelled before it started")
                return JobState.CANCELLED
            if state is JobState.RUNNING:
                tx.execute("UPDATE jobs SET cancel_requested = 1 WHERE id = ?", (job_id,))
                _event(tx, job_id, EventLevel.WARNING, "cancel requested; stops after this epoch")
                return JobState.RUNNING
        raise MmcorrError(
            f"Job {job_id!r} is already {state.value}; only queued or running jobs can be cancelled."
        )

    def mark_lost(self, job_id: str, pid: int | None, message: str) -> bool:
        with self._tx() as tx:
            lost = tx.changed_one(
                "UPDATE jobs SET state = ?, finished = ?, message = ? "
                "WHERE id = ? AND state = ? AND (worker_pid = ? OR worker_pid IS NULL)",
                (JobState.FAILED.value, time.time(), message, job_id, JobState.RUNNING.value, pid),
            )
            if lost:
                _event(tx, job_id, EventLevel.ERROR, f"failed: {message}")
        return lost

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

    def add_event(self, job_id: str, level: EventLevel, text: str) -> None:
        with self._tx() as tx:
            _event(tx, job_id, level, text)

    def events(self, job_id: str) -> list[tuple[float, EventLevel, str]]:
        rows = self._read(
            f"SELECT ts, level, text FROM events WHERE job_id = ? ORDER BY {self.dialect.event_order}",
            (job_id,),
        )
        return [(float(r[0]), EventLevel(r[1]), r[2]) for r in rows]

    def heartbeat(
        self, pid: int, host: str, started: float, threads: int | None, state: str, name: str | None = None
    ) -> None:
        with self._tx() as tx:
            tx.execute(
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


def _event(tx: Session, job_id: str, level: EventLevel, text: str) -> None:
    tx.execute(
        "INSERT INTO events (job_id, ts, level, text) VALUES (?, ?, ?, ?)",
        (job_id, time.time(), level.value, text),
    )
