"""The job queue on Redis (huey's Redis storage), chosen when ``MMCORR_QUEUE_URL`` is a redis:// URL.

The queue holds only job ids: the job spec, its state and its progress live in the job store, so
a queue message lost with an unpersisted Redis can be rebuilt from the store (see
:func:`requeue_missing`). Run Redis with ``appendonly yes`` + ``appendfsync always`` and nothing
acknowledged is lost across a restart (docs/deploy.md). ``redis`` is imported lazily here only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mmcorr._validation import MmcorrError
from mmcorr.jobs.backends import ServiceUnavailable, redact_url

if TYPE_CHECKING:
    from huey import PriorityRedisHuey

__all__ = ["RedisQueueInfo", "make_redis_huey", "check_redis", "queued_job_ids"]

#: Seconds to wait for Redis to answer before calling it unreachable.
CONNECT_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class RedisQueueInfo:
    """What ``mmcorr doctor`` reports about the queue server."""

    url: str  # redacted
    version: str
    aof_enabled: bool
    fsync: str  # appendfsync policy: always / everysec / no
    queued: int


def _require_redis() -> Any:
    try:
        import redis
    except ImportError:
        raise MmcorrError(
            "MMCORR_QUEUE_URL selects the Redis queue but the 'redis' Python package is not installed. "
            "Install it with: pip install 'redis>=5,<7'."
        ) from None
    return redis


def unreachable(url: str, exc: BaseException) -> ServiceUnavailable:
    """The one wording of 'Redis is down', shown by the CLI, the worker log and the dashboard."""
    return ServiceUnavailable(
        f"Cannot reach the Redis queue at {redact_url(url)} ({type(exc).__name__}: {exc}). "
        "Check that redis-server is running and reachable from this machine, and the password in "
        "MMCORR_QUEUE_URL."
    )


def make_redis_huey(url: str, name: str = "mmcorr") -> PriorityRedisHuey:
    """A huey instance whose queue lives in Redis at ``url`` (no connection is made here).

    name: the key prefix in Redis; every process sharing a queue must use the same name.
    """
    redis = _require_redis()
    from huey import PriorityRedisHuey

    # Priority storage (a sorted set, Redis >= 5): same order as the SQLite queue, i.e. priority
    # first (a job re-queued by a worker shutdown goes to the front), then submission time.
    # results=False: outcomes live in the job store. blocking=True: workers wait on BZPOPMIN
    # instead of polling; read_timeout bounds each wait so a worker notices shutdown and Redis
    # restarts within a second or two.
    from mmcorr.jobs.messages import JobMessageSerializer

    # JSON messages naming one job id, never pickle (mmcorr.jobs.messages).
    return PriorityRedisHuey(
        name=name,
        serializer=JobMessageSerializer(),
        results=False,
        utc=True,
        blocking=True,
        read_timeout=2,
        connection_pool=redis.ConnectionPool.from_url(
            url, socket_connect_timeout=CONNECT_TIMEOUT_S, health_check_interval=10, retry_on_timeout=True
        ),
    )


def check_redis(url: str, name: str = "mmcorr") -> RedisQueueInfo:
    """Connect to Redis, or raise a MmcorrError saying plainly why not.

    Also reads the persistence settings, so ``mmcorr doctor`` can warn when queued jobs would
    not survive a Redis restart.
    """
    redis = _require_redis()
    try:
        client = redis.Redis.from_url(
            url, socket_connect_timeout=CONNECT_TIMEOUT_S, socket_timeout=CONNECT_TIMEOUT_S
        )
        client.ping()
        server = client.info("server")
        persistence = client.info("persistence")
    except redis.AuthenticationError as exc:
        raise MmcorrError(
            f"The Redis queue at {redact_url(url)} refused the password ({exc}). Put the right "
            "password in MMCORR_QUEUE_URL as redis://:PASSWORD@host:6379/0."
        ) from None
    except redis.RedisError as exc:
        raise unreachable(url, exc) from None
    try:
        fsync = client.config_get("appendfsync").get("appendfsync", "unknown")
    except redis.RedisError:
        fsync = "unknown"  # CONFIG may be forbidden by an ACL; INFO still told us about the AOF
    huey = make_redis_huey(url, name)
    return RedisQueueInfo(
        url=redact_url(url),
        version=str(server.get("redis_version", "?")),
        aof_enabled=bool(int(persistence.get("aof_enabled", 0))),
        fsync=str(fsync),
        queued=int(huey.pending_count()),
    )


def queued_job_ids(huey: Any) -> set[str]:
    """The job ids of the messages waiting in a huey queue (its tasks take the job id first).

    Used to re-queue, from the job store, queued jobs whose message a non-persistent Redis lost.
    """
    from mmcorr.jobs.messages import decoded_job_ids

    return set(decoded_job_ids(huey))
