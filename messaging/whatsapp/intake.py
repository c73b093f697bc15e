"""Webhook intake: store what a webhook carried, once, and wake the workers that handle it."""

import logging
from contextlib import nullcontext, suppress
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import DatabaseError, connection, transaction
from django.db.models import Model
from django.utils import timezone

from config.db import is_transient_error, run_idempotent_statement
from messaging.events import record_event
from messaging.models import InboundMessage, StatusUpdate
from messaging.services import DRAIN_TASK
from messaging.whatsapp import cloud_api
from messaging.whatsapp.delivery import (
    STATUS_TASK,
    clear_wakeup,
    enqueue,
    request_wakeup,
    status_row,
    wakeup_ctes,
)

logger = logging.getLogger(__name__)

# PostgreSQL binds at most 65,535 parameters in one statement: a bigger batch (Meta promises
# 1,000 items at most, but has sent 11,000) takes the ORM path, in inserts of this many rows.
MAX_STATEMENT_PARAMS = 65_000
BULK_BATCH_SIZE = 2_000
# How much of the database's refusal is kept as the item's reason.
MAX_REASON_LENGTH = 500


@dataclass(frozen=True)
class Intake:
    messages: int
    statuses: int
    errors: int
    refused: int = 0  # items kept as failed queue rows, with their reason


def store_webhook(*, batch: cloud_api.WebhookBatch) -> Intake:
    """Store everything a webhook carried, once (a redelivery inserts nothing), and wake a worker.

    Messages become queue rows keyed by their wamid and statuses wait in `whatsapp_status_updates`,
    in one transaction with the wake-ups of the tasks that handle them (one queued run per task,
    not one per POST: `delivery.request_wakeup`); the tasks are queued after that commit. Items
    not in Meta's form (`batch.refused`), and any the database still refuses, become failed queue
    rows with their reason, beside the others. Raises only for what may succeed on retry: a
    transient DatabaseError if nothing could be stored (then nothing was), or DatabaseError or
    `delivery.QueueUnavailable` if a task could not be queued after the rows were (then its
    wake-up is taken back, so that the redelivery Meta makes after our 503 queues it).
    """
    now = timezone.now()
    tasks = [DRAIN_TASK] if batch.messages else []
    tasks += [STATUS_TASK] if batch.statuses else []
    one_by_one = False
    if (
        connection.vendor == "postgresql"
        and not batch.errors
        and not batch.refused
        and len(batch.messages) * 6 + len(batch.statuses) * 8 <= MAX_STATEMENT_PARAMS
    ):
        try:
            # Its own transaction; inside a caller's, a savepoint (a refusal leaves that usable).
            with transaction.atomic() if connection.in_atomic_block else nullcontext():
                woken = _store_in_one_statement(batch, tasks, now)
        except DatabaseError as exc:
            if is_transient_error(exc):
                raise
            logger.warning("the database refused a webhook batch, storing it item by item: %s", exc)
            one_by_one = True
        else:
            _queue_woken_tasks(woken)
            return Intake(len(batch.messages), len(batch.statuses), len(batch.errors))
    with transaction.atomic():
        refused = list(batch.refused)
        if not one_by_one:
            try:
                with transaction.atomic():
                    _store_with_the_orm(batch, now)
            except DatabaseError as exc:
                if is_transient_error(exc):
                    raise
                logger.warning("the database refused a webhook batch, item by item now: %s", exc)
                one_by_one = True
        if one_by_one:
            refused += _store_item_by_item(batch, now)
        _store_refused(refused, now)
        for error in batch.errors:
            record_event(
                event_type="whatsapp_error",
                data={"code": error.code, "title": error.title, "details": error.details},
            )
        woken = [func for func in tasks if request_wakeup(func=func, now=now)]
    _queue_woken_tasks(woken)
    return Intake(len(batch.messages), len(batch.statuses), len(batch.errors), len(refused))


def _queue_woken_tasks(woken: list[str]) -> None:
    """Queue the task of each wake-up this webhook made, after the rows' commit."""
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
    return [status_row(s, now=now) for s in batch.statuses]


def _store_with_the_orm(batch: cloud_api.WebhookBatch, now: datetime) -> None:
    # ignore_conflicts: ON CONFLICT DO NOTHING / INSERT OR IGNORE, on the unique (partial) indexes.
    InboundMessage.objects.bulk_create(
        [InboundMessage(**values) for values in _message_values(batch, now)],
        ignore_conflicts=True,
        batch_size=BULK_BATCH_SIZE,
    )
    StatusUpdate.objects.bulk_create(
        [StatusUpdate(**values) for values in _status_values(batch, now)],
        ignore_conflicts=True,
        batch_size=BULK_BATCH_SIZE,
    )


def _store_item_by_item(batch: cloud_api.WebhookBatch, now: datetime) -> list[cloud_api.Refused]:
    """The ORM path one item at a time, each in a savepoint: returns the items the database
    refused (with its reason), so that one bad item never keeps the others out."""
    refused = []
    for message, values in zip(batch.messages, _message_values(batch, now), strict=True):
        if reason := _insert_one(InboundMessage(**values)):
            refused.append(
                cloud_api.Refused(
                    kind="message",
                    reason=reason,
                    payload=values["payload"],
                    timestamp=message.timestamp,
                )
            )
    for values in _status_values(batch, now):
        if reason := _insert_one(StatusUpdate(**values)):
            payload = '{"status": ' + values["payload"] + "}"
            refused.append(cloud_api.Refused(kind="status", reason=reason, payload=payload))
    return refused


def _insert_one(row: Model) -> str | None:
    """Insert `row` (nothing if it is there already); the database's refusal, or None."""
    try:
        with transaction.atomic():
            type(row)._default_manager.bulk_create([row], ignore_conflicts=True)
    except DatabaseError as exc:
        if is_transient_error(exc):
            raise
        reason = cloud_api.clean_text(f"the database refused it: {exc}".strip())
        return reason[:MAX_REASON_LENGTH]
    return None


def _store_refused(refused: list[cloud_api.Refused], now: datetime) -> None:
    """Keep each refused item as a failed queue row (no customer: `wa_id` stays empty) with its
    reason, where staff see it (dashboard, admin) and can retry it."""
    if not refused:
        return
    InboundMessage.objects.bulk_create(
        [
            InboundMessage(
                message_id=item.message_id,
                wa_id=None,
                payload=item.payload,
                status=InboundMessage.Status.FAILED,
                last_error=f"refused at intake: {item.reason}",
                sent_at=item.timestamp or now,
                created_at=now,
                updated_at=now,
            )
            for item in refused
        ],
        ignore_conflicts=True,
        batch_size=BULK_BATCH_SIZE,
    )
    logger.warning("webhook: %d items refused (first: %s)", len(refused), refused[0].reason)
    record_event(
        event_type="message_failed",
        data={"direction": "inbound", "refused": len(refused), "error": refused[0].reason},
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
