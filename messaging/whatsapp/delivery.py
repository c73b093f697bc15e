"""Outbound delivery: the sender, the shared send rate, the 24-hour window, delivery statuses.

Also `enqueue`, the one way work is handed to django-q2 (used by every messaging module).
"""

import logging
import time
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django_q.tasks import async_task

from customers.models import Customer
from messaging.events import record_event
from messaging.models import Conversation, SendRate, StatusUpdate
from messaging.whatsapp import cloud_api, outgoing

logger = logging.getLogger(__name__)

# The task that sends one outbound conversation row (every sending path queues this one).
SEND_TASK = "messaging.tasks.send_outbound"


class QueueUnavailable(Exception):  # noqa: N818
    """The broker (Redis) refused a task; the rows it points at are stored all the same."""


def enqueue(func: str, *args: Any) -> None:
    """Hand work to django-q2 together with the rows it points at (the rows are the truth).

    With the database broker the task row joins the current transaction: both commit or neither
    does, at the cost of one commit instead of two. Another broker (Redis) is told after the
    commit, so a worker never looks for rows not yet visible; if it cannot be told, the commit
    raises QueueUnavailable (the work is stored: the sweep or a redelivery queues it again).
    """
    if "orm" in settings.Q_CLUSTER:
        async_task(func, *args)
    else:
        transaction.on_commit(lambda: _push(func, *args))


def _push(func: str, *args: Any) -> None:
    try:
        async_task(func, *args)
    except Exception as exc:  # redis-py's errors, whatever the outage: refused, timeout, OOM
        raise QueueUnavailable(f"{func} not queued: {exc}") from exc


# ============================================================================ wake-ups
# A webhook starts the tasks that handle what it stored through a `task_wakeups` row
# (TaskWakeup): at most one queued run per task, whatever the rate of POSTs. Webhooks take this
# advisory lock shared, in the transaction that stores their rows; a run takes it exclusively to
# delete its row. So a webhook that finds the row either commits before the run deletes it (the
# run then sees its rows) or waits and finds the row gone (it queues a new run).
WAKEUP_LOCK = (0x3A4E, 1)
WAKEUP_SQL = (
    "INSERT INTO task_wakeups (task, requested_at) VALUES (%s, %s) ON CONFLICT (task) DO NOTHING"
)
# A wake-up this old was lost with its task (the broker or a worker lost it before it started):
# the sweep deletes it, so that the next webhook queues the task again.
WAKEUP_STALE_AFTER = timedelta(seconds=60)


def request_wakeup(*, func: str, now: datetime) -> bool:
    """In the transaction that stores the work: ask for a run of `func` (a task that finds its own
    work); True if none was asked for yet, and then the caller queues it (`enqueue`)."""
    if not connection.in_atomic_block:
        raise RuntimeError("request_wakeup must run in the transaction that stores the work")
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_advisory_xact_lock_shared(%s, %s)", WAKEUP_LOCK)
        cursor.execute(WAKEUP_SQL, [func, now])
        return cursor.rowcount == 1


def wakeup_ctes(*, funcs: list[str], now: datetime) -> tuple[list[str], list[Any]]:
    """`request_wakeup` as CTEs for a caller's one-statement insert on PostgreSQL: (the CTEs,
    their parameters). `SELECT task FROM woken` then names the tasks to queue."""
    values = ", ".join(["(%s)"] * len(funcs))
    return [
        "lock AS (SELECT pg_advisory_xact_lock_shared(%s, %s))",
        # Selecting from `lock` makes the insert wait for it (CTEs run in no set order).
        "woken AS (INSERT INTO task_wakeups (task, requested_at) "  # noqa: S608
        f"SELECT t, %s FROM lock, (VALUES {values}) AS funcs (t) "
        "ON CONFLICT (task) DO NOTHING RETURNING task)",
    ], [*WAKEUP_LOCK, now, *funcs]


def clear_wakeup(func: str) -> None:
    """As a run of `func` starts, before it looks for work: what is stored later needs a new run."""
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", WAKEUP_LOCK)
        cursor.execute("DELETE FROM task_wakeups WHERE task = %s", [func])


def mark_read(*, message_id: str, typing: bool = False) -> None:
    """Mark the customer's message read; with `typing`, also show "typing..." until the reply
    (at most 25 s). Best effort: a failure is logged, never raised.

    It takes no send slot: a read receipt is not a message, and Meta's throughput counts
    messages. Counted, it halved the replies a number can send: at 80/s, 40 messages a second
    each took a reply and a receipt, and a busy node could never work off a backlog. Should
    Meta ever refuse one (130429), the customer misses only the blue ticks."""
    try:
        cloud_api.post_messages(outgoing.read_receipt(message_id, typing=typing))
    except cloud_api.WhatsAppError as exc:
        logger.info("could not mark %s read: %s", message_id, exc)


# ============================================================================ delivery statuses
STATUS_ORDER = [
    Conversation.Status.QUEUED,
    Conversation.Status.SENT,
    Conversation.Status.DELIVERED,
    Conversation.Status.READ,
]


STATUS_TASK = "messaging.tasks.apply_statuses"
STATUS_BATCH = 1000
# A status usually finds its message at once (the sender records the WhatsApp id before Meta can
# report on it). The task, run once per burst of webhooks, looks back STATUS_TASK_LOOKBACK, so
# statuses whose message stays unknown (sent by another app on the number, or erased since) are
# not read again on every run; the sweep, once a minute, looks back STATUS_LOOKBACK.
STATUS_TASK_LOOKBACK = timedelta(minutes=10)
STATUS_LOOKBACK = timedelta(days=1)
# A status whose message is still unknown this long after it arrived is set aside (unmatched_at):
# by then its send has recorded its id (and applied it) or never will. Otherwise every sweep read
# a day of them again (96,000 took each sweep 2.1 s). Run-time, not arrival: after an outage the
# first runs still find the messages the returning workers record.
STATUS_UNMATCHED_AFTER = timedelta(minutes=10)


def status_row(status: cloud_api.Status, *, now: datetime) -> dict[str, Any]:
    """The `whatsapp_status_updates` row's values for one status from a webhook."""
    error = status.errors[0] if status.errors else None
    return {
        "wa_message_id": status.id,
        "status": status.status,
        "occurred_at": status.timestamp,
        "recipient_id": status.recipient_id,
        "error_code": error.code if error else None,
        "error_message": _describe(error) if error else None,
        "payload": cloud_api.dump_json(status.raw),
        "created_at": now,
    }


def _describe(error: cloud_api.ApiError) -> str:
    return ": ".join(part for part in (error.message or error.title, error.details) if part)


def apply_new_statuses() -> int:
    """The status task: apply what webhooks stored (clearing the wake-up first: TaskWakeup)."""
    clear_wakeup(STATUS_TASK)
    return apply_status_updates(since=timezone.now() - STATUS_TASK_LOOKBACK)


def apply_status_updates(
    *, wa_message_ids: Iterable[str] | None = None, since: datetime | None = None
) -> int:
    """Apply stored statuses to their outbound messages, forward only; return how many applied.

    Walks every unapplied status (of those messages, or since then) in batches, in arrival order.
    A status whose message is not (yet) known stays stored for a later call; walking by time (the
    task, the sweep), one still unknown after STATUS_UNMATCHED_AFTER is set aside for good.
    """
    rows = StatusUpdate.objects.unapplied() if since is None else StatusUpdate.objects.to_sweep()
    updates = rows.order_by("id")
    if wa_message_ids is not None:
        updates = updates.filter(wa_message_id__in=list(wa_message_ids))
    if since is not None:
        updates = updates.filter(created_at__gte=since)
    set_aside_before = timezone.now() - STATUS_UNMATCHED_AFTER
    applied_count = 0
    after = 0
    while True:
        batch = list(updates.filter(id__gt=after)[:STATUS_BATCH])
        if not batch:
            return applied_count
        after = batch[-1].id
        messages = {
            conv.wa_message_id: conv
            for conv in Conversation.objects.outbound().filter(
                wa_message_id__in={u.wa_message_id for u in batch}
            )
        }
        applied, unmatched = [], []
        for update in batch:
            conv = messages.get(update.wa_message_id)
            if conv is not None:
                _apply_status(conv, update)
                applied.append(update.id)
            elif since is not None and update.created_at < set_aside_before:
                unmatched.append(update.id)
        StatusUpdate.objects.filter(id__in=applied).update(applied_at=timezone.now())
        if unmatched:
            StatusUpdate.objects.filter(id__in=unmatched).update(unmatched_at=timezone.now())
        applied_count += len(applied)
        if len(batch) < STATUS_BATCH:
            return applied_count


def _apply_status(conv: Conversation, update: StatusUpdate) -> None:
    at = update.occurred_at or timezone.now()
    rows = Conversation.objects.filter(id=conv.id)
    if update.status == Conversation.Status.FAILED:
        moved = rows.filter(
            status__in=[Conversation.Status.QUEUED, Conversation.Status.SENT]
        ).update(
            status=Conversation.Status.FAILED,
            status_at=at,
            error_code=update.error_code,
            error_message=update.error_message,
            updated_at=timezone.now(),
        )
        if moved:
            record_event(
                event_type="message_failed",
                data={"message_id": update.wa_message_id, "code": update.error_code},
                wa_id=conv.customer_id,
            )
            if update.error_code in cloud_api.NEEDS_TEMPLATE_CODES:
                queue_reengagement(conversation=conv)
        return
    if update.status not in STATUS_ORDER:
        return  # e.g. "played": not a step of our delivery status
    rank = STATUS_ORDER.index(Conversation.Status(update.status))
    rows.filter(status__in=STATUS_ORDER[:rank]).update(status=update.status, status_at=at)


def record_outbound(
    *,
    customer: Customer,
    message: outgoing.Outgoing,
    key: str,
    role: str = Conversation.Role.ASSISTANT,
) -> tuple[Conversation, bool]:
    """The queued outbox row for `message`, created once per idempotency key (a retry finds it).

    A new row moves the customer's conversation to the top of the staff inbox.
    """
    conversation, created = Conversation.objects.get_or_create(
        idempotency_key=key,
        defaults={
            "customer": customer,
            "role": role,
            "message": message.preview,
            "message_type": message.type,
            "status": Conversation.Status.QUEUED,
            "payload": message.body(customer.wa_id),
        },
    )
    if created:
        Customer.objects.filter(pk=customer.pk).touch_last_message(conversation.created_at)
    return conversation, created


def queue_reengagement(*, conversation: Conversation) -> None:
    """After a 131047 failure, queue the re-engagement template once for that message."""
    if conversation.message_type == "template":
        return
    conv, created = record_outbound(
        customer=conversation.customer,
        message=reengagement_template(),
        key=f"reengage:{conversation.id}",
    )
    if created:
        enqueue(SEND_TASK, conv.id)


# ============================================================================ sending
def reengagement_template() -> outgoing.Outgoing:
    return outgoing.template(
        settings.WHATSAPP_REENGAGEMENT_TEMPLATE,
        settings.WHATSAPP_REENGAGEMENT_LANGUAGE,
        params=[settings.BUSINESS_NAME],
    )


def window_is_open(*, customer: Customer) -> bool:
    """Whether free-form messages may go: the window is open and Meta has not said otherwise."""
    if not customer.can_receive_free_form():
        return False
    return not Conversation.objects.filter(
        customer=customer,
        error_code__in=cloud_api.NEEDS_TEMPLATE_CODES,
        status_at__gt=customer.last_inbound_at,
    ).exists()


def send_outbound_message(*, conversation: Conversation) -> None:
    """Send one queued outbound row (a template instead outside the 24-hour window).

    Retryable failures raise WhatsAppError (the caller backs off); permanent ones mark the row
    failed. A row already sent is left alone, so a retry of the same work sends nothing twice.
    """
    conversation.refresh_from_db()
    if conversation.status != Conversation.Status.QUEUED or not conversation.payload:
        return
    customer = conversation.customer
    body: dict[str, Any] = conversation.payload
    if body.get("type") != "template" and not window_is_open(customer=customer):
        body = reengagement_template().body(customer.wa_id)
    Conversation.objects.filter(id=conversation.id).update(attempts=F("attempts") + 1)
    try:
        body, result = _post_with_template_fallback(body, customer)
    except cloud_api.WhatsAppError as exc:
        if exc.retryable:
            _note_retryable_error(conversation, exc)
            raise
        _mark_send_failed(conversation, exc)
        return
    now = timezone.now()
    Conversation.objects.filter(id=conversation.id, status=Conversation.Status.QUEUED).update(
        status=Conversation.Status.SENT,
        status_at=now,
        wa_message_id=result.message_id,
        payload=body,
        message_type=body.get("type", "text"),
        error_code=None,
        error_message=None,
        updated_at=now,
    )
    record_event(
        event_type="message_sent",
        data={"message_id": result.message_id, "type": body.get("type"), "role": conversation.role},
        wa_id=customer.wa_id,
    )
    if result.message_id:
        apply_status_updates(wa_message_ids=[result.message_id])  # statuses that came first


def _post_with_template_fallback(
    body: dict[str, Any], customer: Customer
) -> tuple[dict[str, Any], cloud_api.SendResult]:
    """Post `body`; if Meta answers 131047 (window closed), post the re-engagement template."""
    try:
        return body, cloud_api.post_messages(body, wait_for_slot=wait_for_send_slot)
    except cloud_api.WhatsAppError as exc:
        if not exc.needs_template or body.get("type") == "template":
            raise
    template = reengagement_template().body(customer.wa_id)
    return template, cloud_api.post_messages(template, wait_for_slot=wait_for_send_slot)


def _note_retryable_error(conversation: Conversation, exc: cloud_api.WhatsAppError) -> None:
    """Keep why the send failed on the still-queued row: staff see it while it is retried."""
    Conversation.objects.filter(id=conversation.id, status=Conversation.Status.QUEUED).update(
        error_code=exc.code, error_message=str(exc), updated_at=timezone.now()
    )


def _mark_send_failed(conversation: Conversation, exc: cloud_api.WhatsAppError) -> None:
    logger.error("message %s cannot be sent: %s", conversation.id, exc)
    now = timezone.now()
    Conversation.objects.filter(id=conversation.id).update(
        status=Conversation.Status.FAILED,
        status_at=now,
        error_code=exc.code,
        error_message=str(exc),
        updated_at=now,
    )
    record_event(
        event_type="message_failed",
        data={"conversation_id": conversation.id, "code": exc.code, "error": str(exc)},
        wa_id=conversation.customer_id,
    )


def reserve_send_slot(*, now: datetime | None = None) -> float:
    """Count one send in the current second; return 0, or how long to wait if it is full.

    One upsert on a row per second, so the limit holds across processes and machines.
    """
    now = now or timezone.now()
    second = int(now.timestamp())
    table = SendRate._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (second, sent) VALUES (%s, 1) "  # noqa: S608 (our table name)
            f"ON CONFLICT (second) DO UPDATE SET sent = {table}.sent + 1 RETURNING sent",
            [second],
        )
        (sent,) = cursor.fetchone()
    if sent <= settings.WHATSAPP_MAX_MESSAGES_PER_SECOND:
        return 0.0
    return max(second + 1 - now.timestamp(), 0.001)


def wait_for_send_slot() -> None:
    while (delay := reserve_send_slot()) > 0:
        time.sleep(delay)
