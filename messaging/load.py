"""Load data for benchmarks: many customers, reservations, messages and events, fast.

On PostgreSQL every table is filled by one `INSERT ... SELECT generate_series(...)` (a million
rows in seconds); elsewhere by `bulk_create` in batches. Meant for a dedicated database: rows are
added next to whatever is there, with numbers under the 96659 prefix.
"""

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from itertools import islice
from typing import Any

from django.db import connection, models, transaction
from django.utils import timezone

from customers.models import Customer
from messaging.models import Conversation, InboundMessage, NotificationEvent
from reservations.models import Reservation

logger = logging.getLogger(__name__)

NUMBER_PREFIX = "96659"
DAYS_BACK = 365
DAYS_AHEAD = 60
BATCH = 5000
EVENT_TYPES = [
    "reservation_created",
    "message_received",
    "message_sent",
    "reservation_updated",
    "reservation_cancelled",
    "message_failed",
]


@dataclass(frozen=True)
class LoadSummary:
    customers: int
    reservations: int
    messages: int
    events: int
    inbound: int

    def __str__(self) -> str:
        return (
            f"{self.customers} customers, {self.reservations} reservations, "
            f"{self.messages} messages, {self.events} events, {self.inbound} queued inbound"
        )


def seed_load_data(
    *, customers: int, reservations: int, messages: int, events: int, inbound: int
) -> LoadSummary:
    """Add synthetic rows: reservations spread over the past year and the next two months (one
    in seven cancelled), messages and events over the past year, a few failed and pending."""
    if customers < 1 and (reservations or messages):
        raise ValueError("reservations and messages need at least one customer")
    now = timezone.now()
    today = timezone.localdate()
    counts = {
        "customers": customers,
        "reservations": reservations,
        "messages": messages,
        "events": events,
        "inbound": inbound,
    }
    with transaction.atomic():
        if connection.vendor == "postgresql":
            _seed_postgresql(now=now, today=today, **counts)
        else:
            _seed_orm(now=now, today=today, **counts)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "ANALYZE customers, reservations, conversation, notification_events, "
                "inbound_message_queue"
            )
    return LoadSummary(**counts)


def _number(n: int) -> str:
    return f"{NUMBER_PREFIX}{n:07d}"


# ---------------------------------------------------------------------------- PostgreSQL
_SQL = {
    "customers": """
        INSERT INTO customers (wa_id, customer_name, language, is_blocked, created_at, updated_at)
        SELECT %(prefix)s || lpad(g::text, 7, '0'), 'Load customer ' || g,
               CASE WHEN g %% 3 = 0 THEN 'ar' ELSE 'en' END, false, %(now)s, %(now)s
        FROM generate_series(0, %(customers)s - 1) AS g
        ON CONFLICT (wa_id) DO NOTHING
    """,
    "reservations": """
        INSERT INTO reservations (wa_id, date, time_slot, type, status, cancelled_at,
                                  cancelled_source, created_at, updated_at, source)
        SELECT %(prefix)s || lpad(((g / %(days)s) %% %(customers)s)::text, 7, '0'),
               %(first_day)s::date + (g %% %(days)s),
               time '11:00' + ((g / 7) %% 12) * interval '30 minutes',
               (g %% 4 = 0)::int,
               CASE WHEN g %% 7 = 0 THEN 'cancelled' ELSE 'active' END,
               CASE WHEN g %% 7 = 0 THEN %(now)s END,
               CASE WHEN g %% 7 = 0 THEN 'customer' END,
               %(now)s, %(now)s, 'customer'
        FROM generate_series(0, %(reservations)s - 1) AS g
    """,
    "messages": """
        INSERT INTO conversation (wa_id, role, message, date, time, created_at, updated_at,
                                  message_type, status, error_code, error_message, attempts)
        SELECT %(prefix)s || lpad((g %% %(customers)s)::text, 7, '0'),
               CASE WHEN g %% 2 = 0 THEN 'user' ELSE 'assistant' END,
               'Load message ' || g,
               (m AT TIME ZONE %(tz)s)::date, (m AT TIME ZONE %(tz)s)::time(0), m, m, 'text',
               CASE WHEN g %% 2 = 0 THEN 'received'
                    WHEN g %% 5001 = 1 THEN 'failed' ELSE 'read' END,
               CASE WHEN g %% 2 = 1 AND g %% 5001 = 1 THEN 131047 END,
               CASE WHEN g %% 2 = 1 AND g %% 5001 = 1 THEN 'Re-engagement message' END,
               CASE WHEN g %% 2 = 0 THEN 0 ELSE 1 END
        FROM generate_series(0, %(messages)s - 1) AS g,
             LATERAL (SELECT %(now)s - (g * %(spread)s) * interval '1 second' AS m) AS t
    """,
    "events": """
        INSERT INTO notification_events (event_type, ts_iso, data, created_at, wa_id)
        SELECT (%(types)s::text[])[1 + g %% %(type_count)s],
               to_char(m AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"'),
               jsonb_build_object('n', g), m,
               %(prefix)s || lpad((g %% greatest(%(customers)s, 1))::text, 7, '0')
        FROM generate_series(0, %(events)s - 1) AS g,
             LATERAL (SELECT %(now)s - (g * %(event_spread)s) * interval '1 second' AS m) AS t
    """,
    "inbound": """
        INSERT INTO inbound_message_queue (message_id, wa_id, payload, status, attempts,
                                           created_at, updated_at, last_error, processed_at)
        SELECT 'wamid.LOAD' || g, %(prefix)s || lpad((g %% greatest(%(customers)s, 1))::text,
               7, '0'), '{}',
               CASE WHEN g < 25 THEN 'pending' WHEN g < 40 THEN 'failed' ELSE 'done' END,
               CASE WHEN g < 25 THEN 0 ELSE 1 END,
               m, m,
               CASE WHEN g >= 25 AND g < 40 THEN 'ValueError: load test' END,
               CASE WHEN g >= 40 THEN m END
        FROM generate_series(0, %(inbound)s - 1) AS g,
             LATERAL (SELECT %(now)s - (g * 30) * interval '1 second' AS m) AS t
        ON CONFLICT DO NOTHING
    """,
}


def _seed_postgresql(*, now: datetime, today: Any, **counts: int) -> None:
    seconds_back = DAYS_BACK * 86400
    params: dict[str, Any] = {
        **counts,
        "prefix": NUMBER_PREFIX,
        "now": now,
        "tz": timezone.get_current_timezone_name(),
        "days": DAYS_BACK + DAYS_AHEAD,
        "first_day": today - timedelta(days=DAYS_BACK),
        "spread": seconds_back / max(counts["messages"], 1),
        "event_spread": seconds_back / max(counts["events"], 1),
        "types": EVENT_TYPES,
        "type_count": len(EVENT_TYPES),
    }
    with connection.cursor() as cursor:
        for table, sql in _SQL.items():
            if counts[table]:
                cursor.execute(sql, params)
                logger.info("seeded %s: %s rows", table, cursor.rowcount)


# ---------------------------------------------------------------------------- other databases
def _seed_orm(*, now: datetime, today: Any, **counts: int) -> None:
    n_customers, days = counts["customers"], DAYS_BACK + DAYS_AHEAD
    first_day = today - timedelta(days=DAYS_BACK)
    spread = DAYS_BACK * 86400 / max(counts["messages"], 1)
    event_spread = DAYS_BACK * 86400 / max(counts["events"], 1)

    def customer(g: int) -> Customer:
        return Customer(wa_id=_number(g), customer_name=f"Load customer {g}", created_at=now)

    def reservation(g: int) -> Reservation:
        cancelled = g % 7 == 0
        return Reservation(
            customer_id=_number((g // days) % n_customers),
            date=first_day + timedelta(days=g % days),
            time_slot=(
                datetime.combine(today, time(11)) + timedelta(minutes=30 * ((g // 7) % 12))
            ).time(),
            type=int(g % 4 == 0),
            status="cancelled" if cancelled else "active",
            cancelled_at=now if cancelled else None,
            cancelled_source="customer" if cancelled else None,
            source="customer",
            created_at=now,
        )

    def message(g: int) -> Conversation:
        moment = now - timedelta(seconds=g * spread)
        inbound = g % 2 == 0
        row = Conversation(
            customer_id=_number(g % n_customers),
            role="user" if inbound else "assistant",
            message=f"Load message {g}",
            status="received" if inbound else ("failed" if g % 5001 == 1 else "read"),
            created_at=moment,
        )
        row.set_local_date_time(moment)
        return row

    def event(g: int) -> NotificationEvent:
        moment = now - timedelta(seconds=g * event_spread)
        return NotificationEvent(
            event_type=EVENT_TYPES[g % len(EVENT_TYPES)],
            ts_iso=moment.astimezone(UTC).isoformat(timespec="microseconds"),
            data={"n": g},
            created_at=moment,
            wa_id=_number(g % max(n_customers, 1)),
        )

    def inbound(g: int) -> InboundMessage:
        status = "pending" if g < 25 else "failed" if g < 40 else "done"
        return InboundMessage(
            message_id=f"wamid.LOAD{g}",
            wa_id=_number(g % max(n_customers, 1)),
            payload="{}",
            status=status,
            created_at=now - timedelta(seconds=g * 30),
        )

    builders: list[tuple[type[models.Model], Callable[[int], models.Model], int]] = [
        (Customer, customer, counts["customers"]),
        (Reservation, reservation, counts["reservations"]),
        (Conversation, message, counts["messages"]),
        (NotificationEvent, event, counts["events"]),
        (InboundMessage, inbound, counts["inbound"]),
    ]
    for model, build, count in builders:
        rows = (build(g) for g in range(count))
        for batch in _batches(rows):
            model._default_manager.bulk_create(batch, ignore_conflicts=model is Customer)


def _batches(rows: Iterator[models.Model]) -> Iterator[list[models.Model]]:
    while batch := list(islice(rows, BATCH)):
        yield batch
