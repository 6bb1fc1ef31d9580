"""Real servers going away and coming back: nothing queued is lost, outages are reported clearly."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from mmcorr._validation import MmcorrError
from mmcorr.jobs.backends import ServiceUnavailable
from mmcorr.jobs.states import DB_URL_ENV, QUEUE_URL_ENV

pytestmark = pytest.mark.services


def test_redis_killed_and_restarted_keeps_every_queued_job_in_order(
    redis_server, mmcorr_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mmcorr.jobs.queue import enqueue_job, get_huey, pending_job_ids, reset_queues

    monkeypatch.setenv(QUEUE_URL_ENV, redis_server.url)
    reset_queues()
    try:
        assert type(get_huey()).__name__ == "PriorityRedisHuey"
        for i in range(4):
            enqueue_job(f"job-{i}")
        enqueue_job("job-resumed", front=True)
        before = pending_job_ids()
        assert before == ["job-resumed", "job-0", "job-1", "job-2", "job-3"]
        # SIGKILL: no shutdown hook may save anything; only the fsynced AOF survives.
        redis_server.stop(signal.SIGKILL)
        redis_server.start()
        reset_queues()
        assert pending_job_ids() == before
    finally:
        reset_queues()


def test_postgres_outage_is_reported_plainly_and_the_store_recovers(
    postgres_server, mmcorr_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mmcorr.config import JobSpec
    from mmcorr.jobs.postgres_store import PostgresJobStore
    from mmcorr.jobs.store import get_store

    monkeypatch.setenv(DB_URL_ENV, postgres_server.url)
    store = get_store()
    assert isinstance(store, PostgresJobStore)
    store.add_job("j1", JobSpec(dataset_id="d").to_json(), "one", 3, None)
    postgres_server.stop()
    where = f"Cannot reach the PostgreSQL job store at postgresql://mmcorr@127.0.0.1:{postgres_server.port}"
    with pytest.raises(ServiceUnavailable, match=where):
        store.get("j1")
    with pytest.raises(ServiceUnavailable, match="Check that PostgreSQL is running"):
        store.heartbeat(1, "h", 0.0, 1, "running")
    postgres_server.start()
    # The pool drops the connections the restart broke and reconnects on its own.
    assert store.get("j1").name == "one"
    store.heartbeat(1, "h", 0.0, 1, "running")
    assert store.worker()["host"] == "h"


def test_a_newer_schema_is_refused_naming_both_versions(postgres_server) -> None:
    import psycopg

    from mmcorr.jobs.postgres_store import PostgresJobStore
    from mmcorr.jobs.store import SCHEMA_VERSION

    first = PostgresJobStore(postgres_server.url)
    assert first.schema_version() == 0
    first.queued_ids()  # creates the schema
    assert first.schema_version() == SCHEMA_VERSION
    first.close()
    with psycopg.connect(postgres_server.url, autocommit=True) as conn:
        conn.execute("UPDATE schema_version SET version = 99")
    later = PostgresJobStore(postgres_server.url)
    try:
        with pytest.raises(MmcorrError, match=rf"schema version 99, newer than .*\({SCHEMA_VERSION}\)"):
            later.queued_ids()
    finally:
        later.close()


def test_wrong_password_redis_is_a_clear_error(redis_server) -> None:
    from mmcorr.jobs.redis_queue import check_redis

    info = check_redis(redis_server.url)
    assert (info.aof_enabled, info.fsync, info.queued) == (True, "always", 0)
    import redis

    redis.Redis.from_url(redis_server.url).config_set("requirepass", "s3cret")
    bad = redis_server.url.replace("redis://", "redis://:wrong@")
    with pytest.raises(MmcorrError, match=r"refused the password") as err:
        check_redis(bad)
    assert "wrong" not in str(err.value)  # the password is never echoed
