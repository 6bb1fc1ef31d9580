"""The choice of job store backend, and the names callers import the store contract by.

The store is the single source of truth for job state, progress rows, job logs and worker
heartbeats; the queue only carries job ids. Everything the dashboard and the CLI show comes from
here. The contract (:class:`JobStore`) and the shared types live in :mod:`mmcorr.jobs.store_types`;
the one SQL store in :mod:`mmcorr.jobs.sql_store`, spoken to SQLite (the embedded default) or
PostgreSQL through their dialects. This module imports the backends; none of them imports it.
"""

from __future__ import annotations

import os
from pathlib import Path

from mmcorr._validation import MmcorrError
from mmcorr.jobs.postgres_store import PostgresJobStore
from mmcorr.jobs.sqlite_store import SQLiteJobStore
from mmcorr.jobs.states import DB_URL_ENV
from mmcorr.jobs.store_types import SCHEMA_VERSION, WORKER_KEYS, JobStore, WorkerRow
from mmcorr.paths import state_dir

__all__ = ["JobStore", "WorkerRow", "WORKER_KEYS", "get_store", "SCHEMA_VERSION"]


def get_store() -> JobStore:
    """The job store for this data home: SQLite under ``state_dir()`` unless ``MMCORR_DB_URL`` says else.

    ``MMCORR_DB_URL`` accepts ``sqlite:///<path>`` and ``postgresql://user:password@host:5432/db``
    (psycopg is imported only when a PostgreSQL store is first used).
    """
    url = os.environ.get(DB_URL_ENV, "").strip()
    if not url:
        return SQLiteJobStore.for_path(state_dir() / "jobs.db")
    if url.startswith("sqlite:///"):
        return SQLiteJobStore.for_path(Path(url[len("sqlite:///") :]))
    if url.startswith(("postgresql://", "postgres://")):
        return PostgresJobStore.for_url(url)
    raise MmcorrError(
        f"The {DB_URL_ENV} environment variable must be empty, a 'sqlite:///<path>' URL or a "
        "'postgresql://user:password@host:5432/dbname' URL. "
        f"Got {url!r} instead."
    )
