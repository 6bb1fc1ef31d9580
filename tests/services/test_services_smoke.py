from __future__ import annotations

import psycopg
import redis


def test_servers_start(redis_server, postgres_server) -> None:
    r = redis.Redis.from_url(redis_server.url)
    r.set("k", "v")
    assert r.get("k") == b"v"
    with psycopg.connect(postgres_server.url) as conn:
        assert conn.execute("select 1").fetchone() == (1,)
