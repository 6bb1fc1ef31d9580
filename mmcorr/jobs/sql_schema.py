"""The job store's tables, one list of statements per version step, for SQLite and PostgreSQL alike.

The statements are templates: ``{seq}``, ``{event_id}`` and ``{if_not_exists}`` are filled from the
dialect's ``ddl`` mapping (:mod:`mmcorr.jobs.sqlite_store`, :mod:`mmcorr.jobs.postgres_store`).
Everything else is portable SQL, column for column the same on both backends. The differences:
PostgreSQL numbers submissions and log lines with identity columns (SQLite hands out ``seq``
under its exclusive write lock and orders log lines by ``rowid``), and only PostgreSQL can say
``ADD COLUMN IF NOT EXISTS``.
"""

from __future__ import annotations

from mmcorr.jobs.store_types import SCHEMA_VERSION

__all__ = ["MIGRATIONS", "JOB_COLUMNS"]

#: MIGRATIONS[v] brings a schema at version v to version v + 1 (v = 0: an empty database). The
#: version-1 statements are idempotent (``IF NOT EXISTS``) and also run when migrating a version-1
#: store, so a version-1 SQLite file from an early build that lacks a table gets it before step 1
#: alters it.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)",
        """CREATE TABLE IF NOT EXISTS jobs (
            id TEXT PRIMARY KEY,
            seq {seq} UNIQUE,
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
            {event_id}job_id TEXT NOT NULL,
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
    ),
    (
        # 2: match a running job to its worker's heartbeat by name, across machines.
        "ALTER TABLE workers ADD COLUMN {if_not_exists}name TEXT",
        "ALTER TABLE jobs ADD COLUMN {if_not_exists}worker_name TEXT",
    ),
)
assert len(MIGRATIONS) == SCHEMA_VERSION, "add a migration when SCHEMA_VERSION grows"

#: The job columns, in the order ``SQLJobStore._record`` unpacks them.
JOB_COLUMNS = (
    "id, seq, name, state, spec, created, started, finished, epoch, epochs, last_record, message, "
    "traceback, run_dir, worker_pid, cancel_requested, resume_from, worker_name"
)
