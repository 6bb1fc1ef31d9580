"""Which queue and job store to use: chosen by environment variables, the same code everywhere.

``MMCORR_QUEUE_URL`` unset means the embedded SQLite queue (one machine); ``redis://host:port/db``
(or ``rediss://`` for TLS) means huey on Redis. ``MMCORR_DB_URL`` unset means the embedded SQLite
job store; ``postgresql://...`` means PostgreSQL. Nothing here imports redis, psycopg or torch:
the server clients load lazily, only when a URL selects them.
"""

from __future__ import annotations

import os
import socket
from enum import StrEnum
from urllib.parse import urlsplit, urlunsplit

from mmcorr._validation import MmcorrError
from mmcorr.jobs.states import DB_URL_ENV, HOST_ENV, QUEUE_URL_ENV

__all__ = [
    "QueueBackend",
    "ServiceUnavailable",
    "StoreBackend",
    "queue_backend",
    "queue_url",
    "store_backend",
    "db_url",
    "uses_server_queue",
    "redact_url",
    "default_worker_name",
    "host_name",
    "check_worker_name",
]


class ServiceUnavailable(MmcorrError):
    """A server the jobs need (the PostgreSQL job store, the Redis queue) cannot be reached now.

    The message names the server (password hidden) and what to check. Workers catch it, wait and
    retry with backoff; the dashboard shows it verbatim and recovers on a later refresh.
    """


class QueueBackend(StrEnum):
    SQLITE = "sqlite"
    REDIS = "redis"


class StoreBackend(StrEnum):
    SQLITE = "sqlite"
    POSTGRES = "postgres"


_REDIS_SCHEMES = ("redis", "rediss", "unix")
_POSTGRES_SCHEMES = ("postgresql", "postgres")
_SQLITE_SCHEMES = ("sqlite",)


def redact_url(url: str) -> str:
    """``url`` with any password replaced by ``***``: safe to print, log and show in the dashboard."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, f"{user}:***@{host}", parts.path, parts.query, parts.fragment))


def _env_url(env: str) -> str | None:
    value = os.environ.get(env, "").strip()
    return value or None


def queue_url() -> str | None:
    """The validated ``MMCORR_QUEUE_URL``, or None for the embedded SQLite queue."""
    url = _env_url(QUEUE_URL_ENV)
    if url is None:
        return None
    scheme = urlsplit(url).scheme
    if scheme not in _REDIS_SCHEMES:
        raise MmcorrError(
            f"The {QUEUE_URL_ENV} environment variable must be a Redis URL "
            f"(redis://host:6379/0, rediss://... for TLS) or unset for the embedded SQLite queue. "
            f"Got {redact_url(url)!r} instead."
        )
    return url


def db_url() -> str | None:
    """The validated ``MMCORR_DB_URL``, or None for the embedded SQLite job store.

    ``sqlite:///<path>`` (an embedded store at another path) is accepted too.
    """
    url = _env_url(DB_URL_ENV)
    if url is None:
        return None
    scheme = urlsplit(url).scheme
    if scheme not in _POSTGRES_SCHEMES + _SQLITE_SCHEMES:
        raise MmcorrError(
            f"The {DB_URL_ENV} environment variable must be a PostgreSQL URL "
            f"(postgresql://user:password@host:5432/dbname), a 'sqlite:///<path>' URL, or unset for "
            f"the embedded SQLite job store. Got {redact_url(url)!r} instead."
        )
    return url


def queue_backend() -> QueueBackend:
    return QueueBackend.SQLITE if queue_url() is None else QueueBackend.REDIS


def store_backend() -> StoreBackend:
    url = db_url()
    if url is None or urlsplit(url).scheme in _SQLITE_SCHEMES:
        return StoreBackend.SQLITE
    return StoreBackend.POSTGRES


def uses_server_queue() -> bool:
    """True when workers run on their own (possibly other machines): never auto-start one then."""
    return queue_backend() is not QueueBackend.SQLITE


def host_name() -> str:
    """The machine name recorded with workers and jobs: ``MMCORR_HOST``, else the hostname.

    Jobs whose host equals this one are checked by process id (fast, exact); jobs of other hosts
    only by their worker's heartbeat. Set ``MMCORR_HOST`` when the hostname does not identify the
    machine (containers with random or shared hostnames: use the node's name).
    """
    value = os.environ.get(HOST_ENV, "").strip()
    if not value:
        return socket.gethostname()
    if len(value) <= 128 and value.isprintable() and " " not in value:
        return value
    raise MmcorrError(
        f"The {HOST_ENV} environment variable must be 1-128 printable characters without spaces "
        f"(a machine name such as 'gpu-node-3'), or unset for the hostname. Got {value!r} instead."
    )


def default_worker_name() -> str:
    """``host:pid``: unique across the machines sharing one queue and job store."""
    return f"{host_name()}:{os.getpid()}"


def check_worker_name(name: str) -> str:
    """Return ``name`` if it is a usable worker name (1-128 printable characters, no spaces)."""
    if isinstance(name, str) and 0 < len(name) <= 128 and name.isprintable() and " " not in name:
        return name
    raise MmcorrError(
        "The '--name' parameter (worker name) must be 1-128 printable characters without spaces, "
        f"such as 'gpu-node-3:0'. Got {name!r} instead."
    )
