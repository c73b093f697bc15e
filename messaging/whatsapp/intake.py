"""Webhook intake: store what a webhook carried, once, and wake the workers that handle it."""

import json
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from config.db import run_idempotent_statement
from messaging.events import record_event
from messaging.models import InboundMessage, StatusUpdate
from messaging.services import DRAIN_TASK
from messaging.whatsapp import cloud_api
from messaging.whatsapp.delivery import (
    STATUS_TASK,
    clear_wakeup,
    enqueue,
    request_wakeup,
    wakeup_ctes,
)


@dataclass(frozen=True)
class Intake:
    messages: int
    statuses: int
    errors: int


def store_webhook(*, batch: cloud_api.WebhookBatch) -> Intake:
    """Store everything a webhook carried, once (a redelivery inserts nothing), and wake a worker.

    Messages become queue rows keyed by their wamid and statuses wait in `whatsapp_status_updates`,
    in one transaction with the wake-ups of the tasks that handle them (one queued run per task,
    not one per POST: `delivery.request_wakeup`); the tasks are queued after that commit.
    Raises DatabaseError if nothing could be stored (then nothing was), or DatabaseError or
    `delivery.QueueUnavailable` if a task could not be queued after the rows were (then its
    wake-up is taken back, so that the redelivery Meta makes after our 503 queues it).
    """
    now = timezone.now()
    tasks = [DRAIN_TASK] if batch.messages else []
    tasks += [STATUS_TASK] if batch.statuses else []
    if connection.vendor == "postgresql" and not batch.errors:
        woken = _store_in_one_statement(batch, tasks, now)
    else:
        with transaction.atomic():
            _store_with_the_orm(batch, now)
            for error in batch.errors:
                record_event(
                    event_type="whatsapp_error",
                    data={"code": error.code, "title": error.title, "details": error.details},
                )
            woken = [func for func in tasks if request_wakeup(func=func, now=now)]
    for func in woken:
        try:
            # In a transaction of its own, which a broker other than the database is told about
            # as it commits (a savepoint in a caller's block: then as the caller commits).
            with transaction.atomic():
                enqueue(func)
        except Exception:
            # Take the wake-up back, so that Meta's redelivery (we answer 503) queues the task;
            # if even that fails, the sweep deletes it once stale.
            with suppress(DatabaseError):
                clear_wakeup(func)
            raise
    return Intake(len(batch.messages), len(batch.statuses), len(batch.errors))


def _message_values(batch: cloud_api.WebhookBatch, now: datetime) -> list[dict[str, Any]]:
    return [
        {
            "message_id": m.id,
            "wa_id": m.sender,
            "payload": m.to_payload(),
            "sent_at": m.timestamp or now,
            "created_at": now,
            "updated_at": now,
        }
        for m in batch.messages
    ]


def _status_values(batch: cloud_api.WebhookBatch, now: datetime) -> list[dict[str, Any]]:
    return [
        {
            "wa_message_id": s.id,
            "status": s.status,
            "occurred_at": s.timestamp,
            "recipient_id": s.recipient_id,
            "error_code": s.errors[0].code if s.errors else None,
            "error_message": _describe(s.errors[0]) if s.errors else None,
            "payload": json.dumps(s.raw, ensure_ascii=False),
            "created_at": now,
        }
        for s in batch.statuses
    ]


def _store_with_the_orm(batch: cloud_api.WebhookBatch, now: datetime) -> None:
    # ignore_conflicts: ON CONFLICT DO NOTHING / INSERT OR IGNORE, on the unique (partial) indexes.
    InboundMessage.objects.bulk_create(
        [InboundMessage(**values) for values in _message_values(batch, now)],
        ignore_conflicts=True,
    )
    StatusUpdate.objects.bulk_create(
        [StatusUpdate(**values) for values in _status_values(batch, now)], ignore_conflicts=True
    )


def _store_in_one_statement(
    batch: cloud_api.WebhookBatch, tasks: list[str], now: datetime
) -> list[str]:
    """The ORM path's inserts and wake-ups as one statement on PostgreSQL; returns the tasks to
    queue (those whose wake-up row it inserted).

    One round trip in its own transaction instead of six, and no ORM query building: the webhook's
    cost per POST (bench/bench_intake.py). Data-modifying CTEs all run, in no set order; the
    wake-ups (`delivery.wakeup_ctes`) take their lock before their insert.
    """
    # Names come from the models and constants, every value is a parameter (hence the noqa S608).
    parts: list[str] = []
    params: list[Any] = []
    for table, values in (
        (InboundMessage._meta.db_table, _message_values(batch, now)),
        (StatusUpdate._meta.db_table, _status_values(batch, now)),
    ):
        if not values:
            continue
        columns = list(values[0])
        row = "(" + ", ".join(["%s"] * len(columns)) + ")"
        parts.append(
            f"i{len(parts)} AS (INSERT INTO {table} ({', '.join(columns)}) "  # noqa: S608
            f"VALUES {', '.join([row] * len(values))} ON CONFLICT DO NOTHING)"
        )
        params += [v[c] for v in values for c in columns]
    if not parts:
        return []
    wakeups, wakeup_params = wakeup_ctes(funcs=tasks, now=now)
    parts += wakeups
    params += wakeup_params
    sql = f"WITH {', '.join(parts)} SELECT task FROM woken"  # noqa: S608
    return [task for (task,) in run_idempotent_statement(sql, params)]


def _describe(error: cloud_api.ApiError) -> str:
    return ": ".join(part for part in (error.message or error.title, error.details) if part)
