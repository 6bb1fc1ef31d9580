"""The job store on PostgreSQL, chosen when ``MMCORR_DB_URL`` is a postgresql:// URL.

Same contract and same job-state semantics as :class:`~mmcorr.jobs.sqlite_store.SQLiteJobStore`
(the same contract tests run against both). Driver: psycopg 3 (the maintained successor of
psycopg2, binary wheels, server-side parameter binding) with a psycopg_pool connection pool per
process, imported lazily so ``import mmcorr.jobs`` never needs them.

Concurrency: every state change is one conditional ``UPDATE ... WHERE state = ...`` (row-locked by
PostgreSQL, re-checked after a concurrent commit), so two workers never claim one job;
``request_cancel`` reads with ``SELECT ... FOR UPDATE``. Submission order comes from an identity
column, not ``MAX(seq) + 1``, which would race under READ COMMITTED.

Schema: created or migrated on first use inside one transaction holding an advisory lock (so
workers starting together do not race on ``CREATE TABLE``), recorded in ``schema_version``. A
database written by a newer mmcorr is refused with a message naming both versions.

Outages: a server that cannot be reached raises :class:`~mmcorr.jobs.backends.ServiceUnavailable`
naming the server (password hidden) within ``CONNECT_TIMEOUT_S``; the pool drops broken
connections and reconnects by itself once the server is back.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections.abc import Iterator
from typing import Any, ClassVar

from mmcorr._validation import MmcorrError
from mmcorr.config import JobSpec
from mmcorr.jobs.backends import ServiceUnavailable, redact_url
from mmcorr.jobs.postgres_schema import JOB_COLUMNS as _COLUMNS
from mmcorr.jobs.postgres_schema import MIGRATIONS
from mmcorr.jobs.records import JobRecord, iso
from mmcorr.jobs.states import EventLevel, JobState
from mmcorr.jobs.store import SCHEMA_VERSION, WORKER_KEYS, WorkerRow

__all__ = ["PostgresJobStore", "MIGRATIONS", "CONNECT_TIMEOUT_S"]

#: Seconds to wait for a connection before reporting the database unreachable.
CONNECT_TIMEOUT_S = 5.0
#: Arbitrary constant key of the advisory lock serialising schema migrations.
_MIGRATION_LOCK = 0x6D6D636F7272  # "mmcorr"

_WORKER_COLUMNS = ", ".join(WORKER_KEYS)


def _after_fork_in_child() -> None:
    # A fork while another thread held the lock would leave it locked forever in the child; the
    # parent's pools are unusable there anyway (for_url keys stores by pid).
    PostgresJobStore._instances_lock = threading.Lock()


def _no_job(job_id: str, where: str) -> MmcorrError:
    return MmcorrError(f"There is no job with id {job_id!r} in {where}. List jobs with 'mmcorr jobs list'.")


class PostgresJobStore:
    """A :class:`~mmcorr.jobs.store.JobStore` in a PostgreSQL database (schema made on first use).

    url: a libpq URL, ``postgresql://user:password@host:5432/dbname?sslmode=verify-full``.
    max_connections: pool size per process, 1-64 (a worker needs 2: heartbeat + task thread; the
        dashboard 2-4). Keep ``processes x max_connections`` under the server's max_connections.
    """

    _instances: ClassVar[dict[tuple[str, int], PostgresJobStore]] = {}
    _instances_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, url: str, max_connections: int = 4) -> None:
        self.url = url
        self.where = f"the PostgreSQL job store at {redact_url(url)}"
        self.max_connections = max_connections
        self._pool: Any = None
        self._lock = threading.Lock()
        self._schema_ready = False
        # Set when a call found the server unreachable: later calls probe with one direct connect
        # (refused in milliseconds) instead of waiting CONNECT_TIMEOUT_S on the pool each time.
        self._down = False

    @classmethod
    def for_url(cls, url: str) -> PostgresJobStore:
        """The shared store of ``url`` in this process (pools must not cross a fork: keyed by pid)."""
        key = (url, os.getpid())
        with cls._instances_lock:
            store = cls._instances.get(key)
            if store is None:
                store = cls._instances[key] = cls(url)
            return store

    # -- connections, transactions, schema ------------------------------------------------------

    def _unreachable(self, exc: BaseException) -> ServiceUnavailable:
        from psycopg_pool import PoolTimeout

        if isinstance(exc, PoolTimeout):
            # The pool only says it timed out; one direct attempt tells people why (refused, bad
            # password, unknown database...).
            import psycopg

            try:
                psycopg.connect(self.url, connect_timeout=int(CONNECT_TIMEOUT_S)).close()
            except psycopg.Error as direct:
                exc = direct
        text = str(exc).strip()
        detail = " ".join(text.split("\n")[0].split()) if text else type(exc).__name__
        return ServiceUnavailable(
            f"Cannot reach {self.where} ({detail}). Check that PostgreSQL is running and reachable "
            "from this machine, and the user, password and database name in MMCORR_DB_URL. "
            "Workers retry on their own; this page recovers on its next refresh."
        )

    def _get_pool(self) -> Any:
        with self._lock:
            if self._pool is None:
                try:
                    from psycopg_pool import ConnectionPool
                except ImportError:
                    raise MmcorrError(
                        "MMCORR_DB_URL selects PostgreSQL but psycopg is not installed. Install it "
                        "with: pip install 'psycopg[binary]>=3.1,<4' 'psycopg-pool>=3.2,<4'."
                    ) from None
                # min_size=0: a process that never touches the store opens no connection.
                # check=: every checkout pings, so connections broken by a server restart are
                # replaced instead of failing the caller once.
                self._pool = ConnectionPool(
                    self.url,
                    min_size=0,
                    max_size=self.max_connections,
                    timeout=CONNECT_TIMEOUT_S,
                    kwargs={"connect_timeout": int(CONNECT_TIMEOUT_S), "application_name": "mmcorr"},
                    check=ConnectionPool.check_connection,
                    reconnect_timeout=CONNECT_TIMEOUT_S,
                    name="mmcorr-jobs",
                    open=True,
                )
            return self._pool

    @contextlib.contextmanager
    def _tx(self) -> Iterator[Any]:
        """A connection inside one transaction (committed on success, rolled back on error)."""
        import psycopg
        from psycopg_pool import PoolTimeout

        pool = self._get_pool()
        if self._down:
            self._probe()
        if not self._schema_ready:
            self._migrate(pool)
        try:
            with pool.connection() as conn, conn.transaction():
                yield conn
        except (PoolTimeout, psycopg.OperationalError, psycopg.InterfaceError) as exc:
            self._down = True
            raise self._unreachable(exc) from None

    def _probe(self) -> None:
        """While the server is known down: one direct connection attempt, ServiceUnavailable if it fails."""
        import psycopg

        try:
            psycopg.connect(self.url, connect_timeout=int(CONNECT_TIMEOUT_S)).close()
        except psycopg.Error as exc:
            raise self._unreachable(exc) from None
        self._down = False

    def _migrate(self, pool: Any) -> None:
        import psycopg
        from psycopg_pool import PoolTimeout

        try:
            with pool.connection() as conn, conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
                version = self._version(conn)
                if version > SCHEMA_VERSION:
                    raise MmcorrError(
                        f"{self.where[0].upper()}{self.where[1:]} has schema version {version}, newer "
                        f"than this mmcorr supports ({SCHEMA_VERSION}). Upgrade mmcorr on this machine."
                    )
                for step in range(version, SCHEMA_VERSION):
                    for stmt in MIGRATIONS[step]:
                        conn.execute(stmt)
                if version < SCHEMA_VERSION:
                    conn.execute("DELETE FROM schema_version")
                    conn.execute("INSERT INTO schema_version (version) VALUES (%s)", (SCHEMA_VERSION,))
        except (PoolTimeout, psycopg.OperationalError, psycopg.InterfaceError) as exc:
            self._down = True
            raise self._unreachable(exc) from None
        self._schema_ready = True

    @staticmethod
    def _version(conn: Any) -> int:
        exists = conn.execute("SELECT to_regclass('schema_version') IS NOT NULL").fetchone()[0]
        if not exists:
            return 0
        row = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    def schema_version(self) -> int:
        """The schema version stored in the database (0 when empty), without migrating anything."""
        import psycopg
        from psycopg_pool import PoolTimeout

        try:
            with self._get_pool().connection() as conn:
                return self._version(conn)
        except (PoolTimeout, psycopg.OperationalError, psycopg.InterfaceError) as exc:
            raise self._unreachable(exc) from None

    def ping(self) -> str:
        """The server version string, or ServiceUnavailable."""
        with self._tx() as conn:
            return str(conn.execute("SELECT version()").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.close()
                self._pool = None

    def _read(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._tx() as conn:
            return list(conn.execute(sql, params).fetchall())

    # -- jobs -----------------------------------------------------------------------------------

    def add_job(self, job_id: str, spec_json: str, name: str, epochs: int, resume_from: str | None) -> int:
        with self._tx() as conn:
            seq = conn.execute(
                "INSERT INTO jobs (id, name, state, spec, created, epochs, resume_from) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING seq",
                (job_id, name, JobState.QUEUED.value, spec_json, time.time(), epochs, resume_from),
            ).fetchone()[0]
            self._event(conn, job_id, EventLevel.INFO, f"submitted (position {seq} in submission order)")
        return int(seq)

    def get(self, job_id: str) -> JobRecord:
        rows = self._read(f"SELECT {_COLUMNS} FROM jobs WHERE id = %s", (job_id,))
        if not rows:
            raise _no_job(job_id, self.where)
        return self._record(rows[0])

    def list_jobs(self, limit: int = 50, states: tuple[JobState, ...] | None = None) -> list[JobRecord]:
        if states:
            rows = self._read(
                f"SELECT {_COLUMNS} FROM jobs WHERE state = ANY(%s) ORDER BY seq DESC LIMIT %s",
                ([s.value for s in states], int(limit)),
            )
        else:
            rows = self._read(f"SELECT {_COLUMNS} FROM jobs ORDER BY seq DESC LIMIT %s", (int(limit),))
        return [self._record(r) for r in rows]

    def claim(self, job_id: str, pid: int, host: str, worker: str | None = None) -> bool:
        with self._tx() as conn:
            cur = conn.execute(
                "UPDATE jobs SET state = %s, started = %s, worker_pid = %s, worker_host = %s, "
                "worker_name = %s, attempts = attempts + 1 WHERE id = %s AND state = %s",
                (JobState.RUNNING.value, time.time(), pid, host, worker, job_id, JobState.QUEUED.value),
            )
            if cur.rowcount == 1:
                by = f"worker {worker} (pid {pid} on {host})" if worker else f"worker pid {pid} on {host}"
                self._event(conn, job_id, EventLevel.INFO, f"started by {by}")
            return bool(cur.rowcount == 1)

    def record_epoch(self, job_id: str, record: dict[str, Any]) -> bool:
        text = json.dumps(record, default=float)
        epoch = int(record.get("epoch", 0))
        epochs = record.get("epochs")
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO progress (job_id, epoch, record, created) VALUES (%s, %s, %s, %s) "
                "ON CONFLICT (job_id, epoch) DO UPDATE SET record = excluded.record, "
                "created = excluded.created",
                (job_id, epoch, text, time.time()),
            )
            row = conn.execute(
                "UPDATE jobs SET epoch = %s, epochs = COALESCE(%s, epochs), last_record = %s "
                "WHERE id = %s RETURNING cancel_requested",
                (epoch, int(epochs) if epochs is not None else None, text, job_id),
            ).fetchone()
        return bool(row and row[0])

    def finish(
        self, job_id: str, state: JobState, message: str, traceback: str = "", run_dir: str | None = None
    ) -> bool:
        if not state.is_terminal:
            raise ValueError(f"finish() needs a terminal state, got {state}")  # programming error
        level = {JobState.SUCCEEDED: EventLevel.INFO, JobState.FAILED: EventLevel.ERROR}.get(
            state, EventLevel.WARNING
        )
        with self._tx() as conn:
            cur = conn.execute(
                "UPDATE jobs SET state = %s, finished = %s, message = %s, traceback = %s, run_dir = %s "
                "WHERE id = %s AND state = %s",
                (state.value, time.time(), message, traceback, run_dir, job_id, JobState.RUNNING.value),
            )
            if cur.rowcount == 1:
                self._event(conn, job_id, level, f"{state.value}: {message}")
            return bool(cur.rowcount == 1)

    def requeue(self, job_id: str, message: str) -> bool:
        with self._tx() as conn:
            cur = conn.execute(
                "UPDATE jobs SET state = %s, worker_pid = NULL, worker_host = NULL, worker_name = NULL, "
                "message = %s, "
                "resume_from = COALESCE(resume_from, id) WHERE id = %s AND state = %s",
                (JobState.QUEUED.value, message, job_id, JobState.RUNNING.value),
            )
            if cur.rowcount == 1:
                self._event(conn, job_id, EventLevel.WARNING, f"re-queued: {message}")
            return bool(cur.rowcount == 1)

    def request_cancel(self, job_id: str) -> JobState:
        with self._tx() as conn:
            row = conn.execute("SELECT state FROM jobs WHERE id = %s FOR UPDATE", (job_id,)).fetchone()
            if row is None:
                raise _no_job(job_id, self.where)
            state = JobState(row[0])
            if state is JobState.QUEUED:
                conn.execute(
                    "UPDATE jobs SET state = %s, finished = %s, message = %s WHERE id = %s",
                    (JobState.CANCELLED.value, time.time(), "cancelled before it started", job_id),
                )
                self._event(conn, job_id, EventLevel.WARNING, "cancelled before it started")
                return JobState.CANCELLED
            if state is JobState.RUNNING:
                conn.execute("UPDATE jobs SET cancel_requested = 1 WHERE id = %s", (job_id,))
                self._event(conn, job_id, EventLevel.WARNING, "cancel requested; stops after this epoch")
                return JobState.RUNNING
        raise MmcorrError(
            f"Job {job_id!r} is already {state.value}; only queued or running jobs can be cancelled."
        )

    def mark_lost(self, job_id: str, pid: int | None, message: str) -> bool:
        with self._tx() as conn:
            cur = conn.execute(
                "UPDATE jobs SET state = %s, finished = %s, message = %s "
                "WHERE id = %s AND state = %s AND (worker_pid = %s OR worker_pid IS NULL)",
                (JobState.FAILED.value, time.time(), message, job_id, JobState.RUNNING.value, pid),
            )
            if cur.rowcount == 1:
                self._event(conn, job_id, EventLevel.ERROR, f"failed: {message}")
            return bool(cur.rowcount == 1)

    def running(self) -> list[tuple[str, int | None, str | None]]:
        rows = self._read(
            "SELECT id, worker_pid, worker_host FROM jobs WHERE state = %s ORDER BY seq",
            (JobState.RUNNING.value,),
        )
        return [(r[0], r[1], r[2]) for r in rows]

    def running_workers(self) -> list[tuple[str, int | None, str | None]]:
        rows = self._read(
            "SELECT id, worker_pid, worker_name FROM jobs WHERE state = %s ORDER BY seq",
            (JobState.RUNNING.value,),
        )
        return [(r[0], r[1], r[2]) for r in rows]

    def queued_ids(self) -> list[str]:
        rows = self._read("SELECT id FROM jobs WHERE state = %s ORDER BY seq", (JobState.QUEUED.value,))
        return [r[0] for r in rows]

    def progress_rows(self, job_id: str) -> list[dict[str, Any]]:
        rows = self._read("SELECT record FROM progress WHERE job_id = %s ORDER BY epoch", (job_id,))
        return [json.loads(r[0]) for r in rows]

    # -- logs and heartbeats ----------------------------------------------------------------------

    @staticmethod
    def _event(conn: Any, job_id: str, level: EventLevel, text: str) -> None:
        conn.execute(
            "INSERT INTO events (job_id, ts, level, text) VALUES (%s, %s, %s, %s)",
            (job_id, time.time(), level.value, text),
        )

    def add_event(self, job_id: str, level: EventLevel, text: str) -> None:
        with self._tx() as conn:
            self._event(conn, job_id, level, text)

    def events(self, job_id: str) -> list[tuple[float, EventLevel, str]]:
        rows = self._read("SELECT ts, level, text FROM events WHERE job_id = %s ORDER BY ts, id", (job_id,))
        return [(float(r[0]), EventLevel(r[1]), r[2]) for r in rows]

    def heartbeat(
        self, pid: int, host: str, started: float, threads: int | None, state: str, name: str | None = None
    ) -> None:
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO workers (pid, host, name, started, heartbeat, state, threads) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (host, pid) DO UPDATE SET "
                "heartbeat = excluded.heartbeat, state = excluded.state, threads = excluded.threads, "
                "name = COALESCE(excluded.name, workers.name)",
                (pid, host, name, started, time.time(), state, threads),
            )

    def worker(self) -> WorkerRow | None:
        rows = self._read(f"SELECT {_WORKER_COLUMNS} FROM workers ORDER BY started DESC LIMIT 1")
        return dict(zip(WORKER_KEYS, rows[0], strict=True)) if rows else None

    def workers(self) -> list[WorkerRow]:
        """Every worker that ever sent a heartbeat, most recent heartbeat first."""
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
                    "SELECT COUNT(*) FROM jobs WHERE state = %s AND seq < %s", (JobState.QUEUED.value, seq)
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


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
