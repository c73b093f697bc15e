"""Personal data over time: the retention job for old messages, and erasing one customer.

Both keep counts intact: a message older than the retention period keeps its role, date, time and
status (or, in "delete" mode, goes); an erased customer's reservations and messages stay as rows
of an anonymous customer, so "how many bookings last year" does not change.
"""

import logging
import secrets
import time
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.contrib.admin.models import LogEntry
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from customers.models import Customer
from messaging.events import record_event
from messaging.models import (
    BotSession,
    Conversation,
    ErasedMessageId,
    InboundMessage,
    NotificationEvent,
    SandboxMessage,
    StatusUpdate,
)
from reservations.models import Reservation

logger = logging.getLogger(__name__)

ERASED_PREFIX = "erased-"


# ============================================================================ retention
@dataclass
class RetentionResult:
    mode: str
    conversation: int = 0
    inbound: int = 0
    statuses: int = 0
    more: bool = False  # stopped at the time budget; the task queues itself again

    def __str__(self) -> str:
        verb = "deleted" if self.mode == "delete" else "anonymised"
        return (
            f"{verb} {self.conversation} messages, {self.inbound} inbound payloads, "
            f"{self.statuses} status payloads{' (more to do)' if self.more else ''}"
        )


def apply_retention(*, batch_size: int = 1000, max_seconds: float = 30) -> RetentionResult:
    """Anonymise or delete what is older than CONVERSATION_RETENTION_DAYS, in small batches."""
    mode = settings.CONVERSATION_RETENTION_MODE
    result = RetentionResult(mode=mode)
    days = settings.CONVERSATION_RETENTION_DAYS
    if not days:
        return result
    cutoff = timezone.now() - timedelta(days=days)
    delete = mode == "delete"
    conversation = Conversation.objects.filter(created_at__lt=cutoff)
    inbound = InboundMessage.objects.filter(
        status=InboundMessage.Status.DONE, created_at__lt=cutoff
    )
    # Applied, or set aside with no message to apply to (they would otherwise be kept for ever).
    statuses = StatusUpdate.objects.filter(
        Q(applied_at__isnull=False) | Q(unmatched_at__isnull=False), created_at__lt=cutoff
    )
    if not delete:  # rows already anonymised are not selected again
        conversation = conversation.exclude(Q(message="") & Q(payload__isnull=True))
        inbound = inbound.exclude(payload="")
        statuses = statuses.exclude(payload="")
    jobs: list[tuple[str, QuerySet, dict]] = [
        ("conversation", conversation, {"message": "", "payload": None}),
        ("inbound", inbound, {"payload": ""}),
        ("statuses", statuses, {"payload": ""}),
    ]
    deadline = time.monotonic() + max_seconds
    for name, queryset, blank in jobs:
        last_id = 0
        while True:
            if time.monotonic() > deadline:
                result.more = True
                logger.info("retention stopped at its time budget: %s", result)
                return result
            ids = list(
                queryset.filter(id__gt=last_id)
                .order_by("id")
                .values_list("id", flat=True)[:batch_size]
            )
            if not ids:
                break
            last_id = ids[-1]
            batch = queryset.model.objects.filter(id__in=ids)
            count = batch.delete()[0] if delete else batch.update(**blank)
            setattr(result, name, getattr(result, name) + count)
    logger.info("retention: %s", result)
    return result


# ============================================================================ erasure
@dataclass
class ErasureResult:
    tombstone: str
    counts: dict[str, int] = field(default_factory=dict)


@transaction.atomic
def erase_customer(*, customer: Customer, by: AbstractBaseUser | None) -> ErasureResult:
    """Erase everything that names `customer`, for good; their bookings stay as anonymous rows.

    The customer's key is their phone number, so the row cannot stay: reservations and messages
    move to a new customer row with a random key ("erased-..."), no name, age, notes or WhatsApp
    ids, blocked so nothing is ever sent to it; then the original row is deleted. No record of
    which number became which tombstone is kept anywhere, so the erasure cannot be undone.

    A WhatsApp message id carries the customer's number, so the rows keep none, and their
    statuses go: only a hash of each id is kept, unlinked, so that the statuses Meta sends later
    (a `read` when the customer opens the chat) are never stored (ErasedMessageId).
    """
    wa_id = customer.wa_id
    wamids = _message_ids_of(customer)
    ErasedMessageId.objects.bulk_create(
        [ErasedMessageId(id_hash=ErasedMessageId.hash(wamid)) for wamid in wamids],
        ignore_conflicts=True,
        batch_size=1000,
    )
    recipient = Q(recipient_id=wa_id)
    if customer.user_id:
        recipient |= Q(recipient_id=customer.user_id)
    statuses = StatusUpdate.objects.filter(recipient).delete()[0]
    for start in range(0, len(wamids), 1000):
        chunk = wamids[start : start + 1000]
        statuses += StatusUpdate.objects.filter(wa_message_id__in=chunk).delete()[0]
    tombstone = Customer.objects.create(
        wa_id=ERASED_PREFIX + secrets.token_hex(8),
        customer_name=None,
        is_blocked=True,
        created_at=customer.created_at,  # so "new customers per month" keeps its counts
    )
    counts = {
        "reservations": Reservation.objects.filter(customer_id=wa_id).update(customer=tombstone),
        "messages": Conversation.objects.filter(customer_id=wa_id).update(
            customer=tombstone, message="", payload=None, error_message=None, wa_message_id=None
        ),
        "inbound": InboundMessage.objects.filter(wa_id=wa_id).update(
            wa_id=tombstone.wa_id, payload="", last_error=None, message_id=None
        ),
        "statuses": statuses,
        "events": NotificationEvent.objects.filter(wa_id=wa_id).update(
            wa_id=tombstone.wa_id, data={}
        ),
        "admin_log": _scrub_admin_log(customer, tombstone),
    }
    # A reply's key names the message it answers ("reply:<wamid>:0").
    Conversation.objects.filter(customer=tombstone, idempotency_key__startswith="reply:").update(
        idempotency_key=None
    )
    BotSession.objects.filter(customer_id=wa_id).delete()
    SandboxMessage.objects.filter(wa_id=wa_id).delete()
    customer.delete()
    record_event(
        event_type="customer_erased",
        data={"customer": tombstone.wa_id, "by": by.pk if by else None, **counts},
        wa_id=tombstone.wa_id,
    )
    return ErasureResult(tombstone=tombstone.wa_id, counts=counts)


def _message_ids_of(customer: Customer) -> list[str]:
    """Every WhatsApp message id stored for the customer: their messages both ways, their queue
    rows, and the statuses reported to their number."""
    ids = set(
        Conversation.objects.filter(customer=customer, wa_message_id__isnull=False).values_list(
            "wa_message_id", flat=True
        )
    )
    ids.update(
        InboundMessage.objects.filter(wa_id=customer.wa_id, message_id__isnull=False).values_list(
            "message_id", flat=True
        )
    )
    ids.update(
        StatusUpdate.objects.filter(recipient_id=customer.wa_id).values_list(
            "wa_message_id", flat=True
        )
    )
    return sorted(wamid for wamid in ids if wamid)


def _scrub_admin_log(customer: Customer, tombstone: Customer) -> int:
    """The admin's history names objects by their __str__ (a reservation's holds the number)."""
    own = LogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(Customer), object_id=customer.wa_id
    )
    count = own.update(object_id=tombstone.wa_id, object_repr=str(tombstone), change_message="")
    naming = Q(object_repr__contains=customer.wa_id)
    if customer.customer_name:
        naming |= Q(object_repr__contains=customer.customer_name)
    return count + LogEntry.objects.filter(naming).update(
        object_repr=str(tombstone), change_message=""
    )
