"""Fixtures for the scale-out tests: real redis-server / PostgreSQL on loopback.

The tests skip, saying which binary is missing, unless ``MMCORR_REQUIRE_SERVICES=1`` (CI), where a
missing binary fails them instead. Every server a fixture starts, it stops.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from svc_servers import (
    REQUIRE_ENV,
    PostgresServer,
    RedisServer,
    postgres_binaries,
    redis_binary,
)


def _missing(what: str) -> None:
    reason = (
        f"{what} not found on PATH (nor /usr/lib/postgresql/*/bin): install it "
        "(apt-get install redis-server postgresql) to run the scale-out tests"
    )
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{REQUIRE_ENV}=1 but {reason}")
    pytest.skip(reason)


def _need_python(module: str) -> None:
    try:
        __import__(module)
    except ImportError:
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(f"{REQUIRE_ENV}=1 but the Python package {module!r} is not installed")
        pytest.skip(f"the Python package {module!r} is not installed (pip install -r requirements.txt)")


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    if redis_binary() is None:
        _missing("redis-server")
    _need_python("redis")
    server = RedisServer(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgres_server() -> Iterator[PostgresServer]:
    if postgres_binaries() is None:
        _missing("initdb/postgres")
    _need_python("psycopg")
    _need_python("psycopg_pool")
    server = PostgresServer()
    try:
        server.start()
        yield server
    finally:
        server.cleanup()
