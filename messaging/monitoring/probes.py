"""What /readyz checks, and the worker heartbeat it reads: each a small bounded query."""

import logging
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import DatabaseError, connection
from django.utils import timezone

from messaging.models import Heartbeat, InboundMessage

logger = logging.getLogger(__name__)

WORKER = "worker"


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str = "ok"


def record_heartbeat(*, name: str = WORKER) -> datetime:
    """The scheduled task's one write: a worker ran a task now."""
    now = timezone.now()
    Heartbeat.objects.update_or_create(name=name, defaults={"beat_at": now})
    return now


def heartbeat_age(*, now: datetime, name: str = WORKER) -> float | None:
    """Seconds since a worker last beat, or None if none ever did."""
    beat_at = Heartbeat.objects.filter(name=name).values_list("beat_at", flat=True).first()
    return None if beat_at is None else max((now - beat_at).total_seconds(), 0.0)


def inbound_lag(*, now: datetime) -> float:
    """Seconds the oldest due inbound message has waited since it was stored (0: none waits).

    Due, not merely pending: a message backing off before its next try is not lag. Walks the
    (status, created_at) index from its oldest pending row to the first due one.
    """
    oldest = (
        InboundMessage.objects.due(now)
        .order_by("created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    return 0.0 if oldest is None else max((now - oldest).total_seconds(), 0.0)


def check_readiness() -> list[Check]:
    """The database answers, a worker beat recently, the inbound queue keeps up, and (on Redis)
    the broker answers. Without the database the rest cannot be read, so it stops there."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError as exc:
        logger.warning("readiness: the database does not answer: %s", exc)
        return [Check("database", False, "unreachable")]
    now = timezone.now()
    checks = [Check("database", True)]
    limit = settings.HEALTH_MAX_HEARTBEAT_AGE_SECONDS
    age = heartbeat_age(now=now)
    if age is None:
        checks.append(Check("worker", False, "no heartbeat yet (is qcluster running?)"))
    elif age > limit:
        checks.append(Check("worker", False, f"no heartbeat for more than {limit} s"))
    else:
        checks.append(Check("worker", True))
    limit = settings.HEALTH_MAX_QUEUE_LAG_SECONDS
    if inbound_lag(now=now) > limit:
        checks.append(Check("queue", False, f"a message has waited more than {limit} s"))
    else:
        checks.append(Check("queue", True))
    if "redis" in settings.Q_CLUSTER:
        checks.append(_check_redis())
    return checks


def _check_redis() -> Check:
    import redis

    client = redis.Redis.from_url(
        settings.Q_CLUSTER["redis"], socket_connect_timeout=2, socket_timeout=2
    )
    try:
        client.ping()
    except redis.RedisError as exc:
        logger.warning("readiness: Redis does not answer: %s", exc)
        return Check("broker", False, "Redis unreachable")
    finally:
        client.close()
    return Check("broker", True)
