"""Fixtures for the scale-out tests: real redis-server / PostgreSQL on loopback.

The tests skip, saying which binary is missing, unless ``MMCORR_REQUIRE_SERVICES=1`` (CI), where a
missing binary fails them instead. Every server a fixture starts, it stops.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from svc_servers import PostgresServer, RedisServer, need_binary, need_postgres, need_python, redis_binary


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    need_binary("redis-server", redis_binary())
    need_python("redis")
    server = RedisServer(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgres_server() -> Iterator[PostgresServer]:
    need_postgres()
    server = PostgresServer()
    try:
        server.start()
        yield server
    finally:
        server.cleanup()
