"""Messaging workflows: the inbound queue and its sweep (intake.py stores, delivery.py sends)."""

import json
import logging
import os
import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.db.models.functions import Coalesce
from django.utils import timezone
from django_q.tasks import async_task

from config.db import is_transient_error
from customers.models import Customer
from customers.phone import normalize_wa_id
from messaging import vacations
from messaging.bot.assisted import ask_model
from messaging.bot.router import reply_to
from messaging.bot.understanding.llm import ModelReading
from messaging.events import record_event
from messaging.inbox.staff import STAFF_KEY
from messaging.models import (
    Conversation,
    InboundMessage,
    SendRate,
    StatusUpdate,
    TaskWakeup,
)
from messaging.whatsapp import cloud_api
from messaging.whatsapp.delivery import (
    SEND_TASK,
    STATUS_LOOKBACK,
    WAKEUP_STALE_AFTER,
    apply_status_updates,
    clear_wakeup,
    enqueue,
    mark_read,
    send_outbound_message,
    status_row,
)

logger = logging.getLogger(__name__)

# Set only by the test that kills a worker in the middle of a message.
HANG_AFTER_RECORD_ENV = "MESSAGING_TEST_HANG_AFTER_RECORD"
DRAIN_TASK = "messaging.tasks.drain_inbound"


# ============================================================================ the inbound queue
@dataclass
class DrainResult:
    done: int = 0
    retrying: int = 0
    failed: int = 0
    more: bool = False

    def __str__(self) -> str:
        return f"{self.done} done, {self.retrying} to retry later, {self.failed} failed"


class PermanentFailure(Exception):  # noqa: N818
    """A message that no retry can handle (it goes straight to 'failed')."""


def claim_next_inbound(*, now: datetime | None = None) -> InboundMessage | None:
    """Claim the oldest due message of a customer who has none in progress, or None.

    One customer's messages go one at a time, in the order they were sent: a row is a candidate
    only if no other row of the same sender is processing or pending with an earlier send time.
    `FOR UPDATE SKIP LOCKED` keeps PostgreSQL workers apart; on SQLite (no row locks) the write
    transaction is taken at BEGIN, and the conditional UPDATE's row count says who won anyway.
    """
    now = now or timezone.now()
    if connection.vendor == "postgresql":
        return _claim_next_inbound_in_one_statement(now)
    ordered = InboundMessage.objects.annotate(order_at=Coalesce("sent_at", "created_at"))
    busy = InboundMessage.objects.filter(
        wa_id=OuterRef("wa_id"), status=InboundMessage.Status.PROCESSING
    )
    earlier = ordered.filter(wa_id=OuterRef("wa_id"), status=InboundMessage.Status.PENDING).filter(
        Q(order_at__lt=OuterRef("order_at"))
        | Q(order_at=OuterRef("order_at"), id__lt=OuterRef("id"))
    )
    with transaction.atomic():
        candidate = (
            ordered.filter(
                Q(status=InboundMessage.Status.PENDING)
                & (Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
            )
            .exclude(Exists(busy))
            .exclude(Exists(earlier))
            .order_by("order_at", "id")
            .select_for_update(skip_locked=True, of=("self",))
            .only("id")
            .first()
        )
        if candidate is None:
            return None
        won = InboundMessage.objects.filter(
            id=candidate.id, status=InboundMessage.Status.PENDING
        ).update(
            status=InboundMessage.Status.PROCESSING,
            locked_at=now,
            attempts=F("attempts") + 1,
            updated_at=now,
        )
    return InboundMessage.objects.get(id=candidate.id) if won else None


# The same claim as the ORM query above, as one statement: PostgreSQL picks, locks (SKIP LOCKED),
# marks and returns the row in one round trip. bench/bench_drain.py measured the ORM version at
# ~7 ms per message, half of it building the query in Python, with four round trips.
CLAIM_SQL = """
UPDATE inbound_message_queue AS q
   SET status = 'processing', locked_at = %(now)s, attempts = q.attempts + 1, updated_at = %(now)s
 WHERE q.status = 'pending' AND q.id = (
       SELECT c.id FROM inbound_message_queue AS c
        WHERE c.status = 'pending'
          AND (c.next_attempt_at IS NULL OR c.next_attempt_at <= %(now)s)
          AND NOT EXISTS (SELECT 1 FROM inbound_message_queue AS b
                           WHERE b.wa_id = c.wa_id AND b.status = 'processing')
          AND NOT EXISTS (SELECT 1 FROM inbound_message_queue AS e
                           WHERE e.wa_id = c.wa_id AND e.status = 'pending'
                             AND (COALESCE(e.sent_at, e.created_at)
                                      < COALESCE(c.sent_at, c.created_at)
                                  OR (COALESCE(e.sent_at, e.created_at)
                                      = COALESCE(c.sent_at, c.created_at) AND e.id < c.id)))
        ORDER BY COALESCE(c.sent_at, c.created_at), c.id
        LIMIT 1
          FOR UPDATE SKIP LOCKED)
RETURNING q.*
"""


def _claim_next_inbound_in_one_statement(now: datetime) -> InboundMessage | None:
    return next(iter(InboundMessage.objects.raw(CLAIM_SQL, {"now": now})), None)


def drain_inbound_queue(*, max_seconds: float | None = None) -> DrainResult:
    """Handle due inbound messages until none is left (or `max_seconds` have passed)."""
    clear_wakeup(DRAIN_TASK)  # before looking: a message stored from now on wakes another run
    result = DrainResult()
    started = time.monotonic()
    while True:
        if max_seconds is not None and time.monotonic() - started > max_seconds:
            result.more = InboundMessage.objects.due().exists()
            return result
        row = claim_next_inbound()
        if row is None:
            return result
        status = handle_inbound_message(row=row)
        if status == InboundMessage.Status.DONE:
            result.done += 1
        elif status == InboundMessage.Status.FAILED:
            result.failed += 1
        else:
            result.retrying += 1


def handle_inbound_message(*, row: InboundMessage) -> str:
    """Process one claimed row; record the outcome on it (done, back to pending, or failed)."""
    try:
        _process(row)
    except Exception as exc:
        return _retry_or_fail(row, exc)
    now = timezone.now()
    InboundMessage.objects.filter(id=row.id).update(
        status=InboundMessage.Status.DONE,
        processed_at=now,
        locked_at=None,
        last_error=None,
        updated_at=now,
    )
    return InboundMessage.Status.DONE


def is_permanent(exc: Exception) -> bool:
    """Whether no retry of the same message can succeed: only a retryable WhatsApp error, a
    database error that may pass (a lost connection, a deadlock) or an OS error is worth a retry;
    anything else (bad data, a bug) would fail the same way while holding the customer's later
    messages."""
    if isinstance(exc, cloud_api.WhatsAppError):
        return exc.permanent
    if isinstance(exc, DatabaseError):
        return not is_transient_error(exc)
    return not isinstance(exc, OSError)  # a socket or file that may work next time


def _retry_or_fail(row: InboundMessage, exc: Exception) -> str:
    now = timezone.now()
    # The error may quote the message: keep it storable (text and jsonb refuse NUL).
    error = cloud_api.clean_text(f"{type(exc).__name__}: {exc}")[:2000]
    if is_permanent(exc) or row.attempts >= settings.WHATSAPP_INBOUND_MAX_ATTEMPTS:
        logger.error("inbound %s failed for good: %s", row.message_id, error)
        InboundMessage.objects.filter(id=row.id).update(
            status=InboundMessage.Status.FAILED, last_error=error, locked_at=None, updated_at=now
        )
        record_event(
            event_type="message_failed",
            data={"direction": "inbound", "message_id": row.message_id, "error": error},
            wa_id=row.wa_id,
        )
        return InboundMessage.Status.FAILED
    logger.warning("inbound %s will be retried: %s", row.message_id, error)
    InboundMessage.objects.filter(id=row.id).update(
        status=InboundMessage.Status.PENDING,
        last_error=error,
        locked_at=None,
        next_attempt_at=now + timedelta(seconds=cloud_api.backoff_seconds(row.attempts)),
        updated_at=now,
    )
    return InboundMessage.Status.PENDING


def _process(row: InboundMessage) -> None:
    try:
        if _is_refused_status(row.payload):
            _store_refused_status(row.payload)
            return
        message = cloud_api.Message.from_payload(row.payload)
    except (ValueError, cloud_api.MalformedWebhook) as exc:
        raise PermanentFailure(f"unreadable payload: {exc}") from exc
    if message.problem:  # refused at intake, and retried by staff: still not Meta's form
        raise PermanentFailure(message.problem)
    if row.wa_id != message.sender:  # a refused row that now passes: erasure must find it
        InboundMessage.objects.filter(id=row.id).update(wa_id=message.sender)
    # The language model (if any) is asked before the transaction: a slow answer holds no lock.
    # While it thinks, the customer sees their message read and "typing...".
    typing_shown = False

    def show_typing() -> None:
        nonlocal typing_shown
        mark_read(message_id=message.id, typing=True)
        typing_shown = True

    model = ask_model(message=message, while_waiting=show_typing)
    replies = record_inbound_message(message=message, model=model)
    if os.environ.get(HANG_AFTER_RECORD_ENV):
        sys.stdout.write(f"hanging after recording {message.id}\n")
        sys.stdout.flush()
        threading.Event().wait()
    for reply in replies:
        send_outbound_message(conversation=reply)
    # The rules answer at once: the reply goes first and the read receipt after it, since a
    # "typing..." shown just before the reply would only hold it back by one call to Meta (the
    # worker waits ~0.2 s for each). No reply (a hand-off): staff read it in the inbox.
    if replies and not typing_shown:
        mark_read(message_id=message.id)


def _is_refused_status(payload: str) -> bool:
    return payload.startswith('{"status": ')


def _store_refused_status(payload: str) -> None:
    """A delivery status refused at intake (`intake.store_webhook`), retried by staff: store it
    if it now passes, and apply it."""
    status = cloud_api.parse_status(json.loads(payload)["status"])
    with transaction.atomic():
        StatusUpdate.objects.bulk_create(
            [StatusUpdate(**status_row(status, now=timezone.now()))], ignore_conflicts=True
        )
        apply_status_updates(wa_message_ids=[status.id])


@transaction.atomic
def record_inbound_message(
    *, message: cloud_api.Message, model: ModelReading | None = None
) -> list[Conversation]:
    """Write the message and the bot's replies (queued, not sent); return the unsent replies.

    The first time, this also runs the bot (with the language model's reading of the text, if
    it was asked); a retry finds the inbound row already written and only returns what is still
    unsent, so a message's effects happen once.
    """
    customer = upsert_customer(message=message)
    moment = min(message.timestamp or timezone.now(), timezone.now())
    _, created = Conversation.objects.get_or_create(
        wa_message_id=message.id,
        defaults={
            "customer": customer,
            "role": Conversation.Role.USER,
            "message": message.text,
            "message_type": message.type,
            "status": Conversation.Status.RECEIVED,
            "created_at": moment,
        },
    )
    prefix = f"reply:{message.id}:"
    if created:
        if message.is_genuine:
            # A redelivery never gets here, so it never extends the 24-hour window.
            Customer.objects.filter(pk=customer.pk).filter(
                Q(last_inbound_at__isnull=True) | Q(last_inbound_at__lt=moment)
            ).update(last_inbound_at=moment)
        record_event(
            event_type="message_received",
            data={"message_id": message.id, "type": message.type},
            wa_id=customer.wa_id,
        )
        replies = []
        if customer.is_bot_paused and not customer.is_blocked and message.is_genuine:
            # The bot is silent (a hand-off, or staff paused it), so this waits for staff: the
            # inbox's "needs staff" and the dashboard's open hand-offs both show it.
            Customer.objects.filter(pk=customer.pk).flag_needing_staff(since=moment)
        elif not customer.is_blocked and not customer.is_bot_paused:
            replies = reply_to(message, customer=customer, model=model)
        rows = [
            Conversation(
                customer=customer,
                role=Conversation.Role.ASSISTANT,
                message=reply.preview,
                message_type=reply.type,
                status=Conversation.Status.QUEUED,
                payload=reply.body(customer.wa_id),
                idempotency_key=f"{prefix}{index}",
            )
            for index, reply in enumerate(replies)
        ]
        for row in rows:
            row.set_local_date_time(row.created_at)
        Conversation.objects.bulk_create(rows)
        latest = max([moment, *(row.created_at for row in rows)])
        Customer.objects.filter(pk=customer.pk).touch_last_message(latest)
    return list(
        Conversation.objects.filter(
            idempotency_key__startswith=prefix, status=Conversation.Status.QUEUED
        ).order_by("id")
    )


def upsert_customer(*, message: cloud_api.Message) -> Customer:
    """The sender's customer row, created or updated from the contact's profile.

    Only ids in Meta's forms make a customer (the intake refuses the others; this is the last
    guard): never one "cleaned" into another number by gluing its digits together.
    """
    if message.problem:
        raise PermanentFailure(message.problem)
    phone, user_id = message.phone, message.user_id
    name = message.profile_name
    if phone:
        try:
            wa_id = normalize_wa_id(phone)
        except ValidationError:
            wa_id = phone  # Meta's digits, even if our phone library does not know the range
        customer, _ = Customer.objects.get_or_create(wa_id=wa_id)
    else:
        # No number (a user with a username): the business-scoped id is the key.
        if not user_id:
            raise PermanentFailure("the message names no sender")
        customer = (
            Customer.objects.filter(user_id=user_id).first()
            or Customer.objects.get_or_create(wa_id=user_id)[0]
        )
    changed = customer.take_profile_name(name) if name else []
    if user_id and not customer.user_id and not Customer.objects.filter(user_id=user_id).exists():
        customer.user_id = user_id
        changed.append("user_id")
    if changed:
        customer.save(update_fields=[*changed, "updated_at"])
    return customer


@dataclass(frozen=True)
class SweepResult:
    reclaimed: int
    statuses_applied: int
    drain_queued: bool

    def __str__(self) -> str:
        return (
            f"{self.reclaimed} stale claims taken back, {self.statuses_applied} statuses applied, "
            f"drain {'queued' if self.drain_queued else 'not needed'}"
        )


def sweep_queues() -> SweepResult:
    """The periodic safety net: take back stale claims, re-queue due work, apply late statuses."""
    now = timezone.now()
    reclaimed = InboundMessage.objects.stale_claims(
        timedelta(seconds=settings.WHATSAPP_CLAIM_TIMEOUT_SECONDS)
    ).update(status=InboundMessage.Status.PENDING, locked_at=None, updated_at=now)
    applied = apply_status_updates(since=now - STATUS_LOOKBACK)
    for conv_id in Conversation.objects.filter(
        Q(idempotency_key__startswith="reengage:")
        | Q(idempotency_key__startswith=STAFF_KEY)
        | Q(idempotency_key__startswith=vacations.NOTIFY_KEY),
        status=Conversation.Status.QUEUED,
        created_at__lt=now - timedelta(minutes=1),
        attempts__lt=settings.WHATSAPP_INBOUND_MAX_ATTEMPTS,
    ).values_list("id", flat=True):
        async_task(SEND_TASK, conv_id)
    SendRate.objects.filter(second__lt=int(now.timestamp()) - 60).delete()
    TaskWakeup.objects.filter(requested_at__lt=now - WAKEUP_STALE_AFTER).delete()
    due = InboundMessage.objects.due(now).exists()
    if due:
        async_task(DRAIN_TASK)
    return SweepResult(reclaimed, applied, due)


@transaction.atomic
def retry_inbound_messages(*, ids: Iterable[int]) -> int:
    """Put failed (or stuck) queue rows back to pending, due now; return how many moved."""
    count = (
        InboundMessage.objects.filter(id__in=list(ids))
        .exclude(status=InboundMessage.Status.DONE)
        .update(
            status=InboundMessage.Status.PENDING,
            next_attempt_at=None,
            locked_at=None,
            updated_at=timezone.now(),
        )
    )
    if count:
        enqueue(DRAIN_TASK)
    logger.info("re-queued %d inbound messages", count)
    return count
