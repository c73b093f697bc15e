"""Staff controls: the hand-off to staff, the bot's pause, staff replies, blocking, and the
automated-messaging switch."""

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from customers.models import Customer
from messaging.events import record_event
from messaging.models import (
    Conversation,
    MessagingSettings,
)
from messaging.whatsapp import delivery, outgoing
from messaging.whatsapp.delivery import SEND_TASK, enqueue

logger = logging.getLogger(__name__)

STAFF_KEY = "staff:"  # idempotency keys of staff replies (the sweep re-sends them if lost)
HELD_SUFFIX = ":held"  # a staff text kept in the transcript because the window was closed
TEXT_MAX_CHARS = 4096  # WhatsApp's limit for a text message body
# Stored in English (the admin reads it); the inbox shows it translated.
WINDOW_CLOSED_NOTE = gettext_noop(
    "Not sent: the 24-hour window was closed, so the re-engagement template went instead."
)


@transaction.atomic
def hand_off_to_staff(*, customer: Customer, reason: str) -> Customer:
    """Pause the bot for this customer and flag the conversation for staff.

    The bot stays silent until staff resume it or `BOT_HANDOFF_PAUSE_HOURS` pass.
    """
    now = timezone.now()
    customer.needs_staff_since = customer.needs_staff_since or now
    customer.bot_paused_until = now + timedelta(hours=settings.BOT_HANDOFF_PAUSE_HOURS)
    customer.save(update_fields=["needs_staff_since", "bot_paused_until", "updated_at"])
    record_event(event_type="handoff_requested", data={"reason": reason}, wa_id=customer.wa_id)
    return customer


@transaction.atomic
def note_for_staff(
    *, customer: Customer, note: str, event_type: str, data: dict[str, Any]
) -> Conversation:
    """Leave staff a note in the customer's transcript and flag the conversation for them,
    while the bot goes on answering (a late notice needs a person to know, not to take over).

    The note is a system row: it shows in the inbox and the transcript and is never sent.
    """
    now = timezone.now()
    row = Conversation.objects.create(
        customer=customer,
        role=Conversation.Role.SYSTEM,
        message=note,
        message_type="note",
        status=Conversation.Status.RECEIVED,
        status_at=now,
        created_at=now,
    )
    customer.needs_staff_since = customer.needs_staff_since or now
    customer.save(update_fields=["needs_staff_since", "updated_at"])
    record_event(event_type=event_type, data={**data, "note_id": row.id}, wa_id=customer.wa_id)
    return row


@transaction.atomic
def pause_bot(*, customer: Customer, hours: float | None = None, by: str = "staff") -> Customer:
    """Keep the bot silent for this customer (staff are talking to them)."""
    hours = settings.BOT_HANDOFF_PAUSE_HOURS if hours is None else hours
    customer.bot_paused_until = timezone.now() + timedelta(hours=hours)
    customer.save(update_fields=["bot_paused_until", "updated_at"])
    record_event(event_type="bot_paused", data={"hours": hours, "by": by}, wa_id=customer.wa_id)
    return customer


@transaction.atomic
def resume_bot(*, customer: Customer, by: str = "staff") -> Customer:
    """Let the bot answer this customer again; the hand-off is over."""
    customer.bot_paused_until = None
    customer.needs_staff_since = None
    customer.save(update_fields=["bot_paused_until", "needs_staff_since", "updated_at"])
    record_event(event_type="bot_resumed", data={"by": by}, wa_id=customer.wa_id)
    return customer


@dataclass(frozen=True)
class StaffReply:
    """What became of a staff reply: the row that goes out, and the staff text if it could not."""

    sent: Conversation  # the text itself, or the re-engagement template outside the window
    held_back: Conversation | None = None  # the staff text, kept in the transcript, not delivered

    @property
    def as_template(self) -> bool:
        return self.held_back is not None


@transaction.atomic
def send_staff_reply(
    *, customer: Customer, text: str, user: AbstractBaseUser, key: str | None = None
) -> StaffReply:
    """Queue a staff member's reply to the customer; it leaves through the one sender.

    Inside the 24-hour window the text goes out as is. Outside it WhatsApp refuses free text, so
    the configured re-engagement template goes instead and the text stays in the transcript as a
    failed (never sent) staff message, for staff to send again once the customer answers.
    `key` (one per rendered form) makes a resubmitted form send nothing twice. The reply ends the
    wait for staff but leaves the bot paused. Raises ValidationError for a blocked customer or an
    empty or oversized text.
    """
    text = text.strip()
    if customer.is_blocked:
        raise ValidationError(_("This customer is blocked: unblock them to reply."))
    if not text:
        raise ValidationError(_("Write a message first."))
    if len(text) > TEXT_MAX_CHARS:
        raise ValidationError(
            _("A WhatsApp message holds at most %(limit)d characters; this one has %(count)d.")
            % {"limit": TEXT_MAX_CHARS, "count": len(text)}
        )
    prefix = f"{STAFF_KEY}{key or uuid.uuid4().hex}"
    existing = Conversation.objects.filter(idempotency_key__in=[prefix, prefix + HELD_SUFFIX])
    if earlier := list(existing.order_by("id")):  # the same form posted again
        return StaffReply(earlier[0], earlier[1] if len(earlier) > 1 else None)
    now = timezone.now()
    in_window = delivery.window_is_open(customer=customer)
    message = outgoing.text(text) if in_window else delivery.reengagement_template()
    sent, _created = delivery.record_outbound(
        customer=customer, message=message, key=prefix, role=Conversation.Role.SECRETARY
    )
    held_back = None
    if not in_window:
        held_back = Conversation.objects.create(
            customer=customer,
            role=Conversation.Role.SECRETARY,
            message=text,
            message_type="text",
            status=Conversation.Status.FAILED,
            status_at=now,
            error_message=WINDOW_CLOSED_NOTE,
            idempotency_key=prefix + HELD_SUFFIX,
            created_at=now,
        )
    enqueue(SEND_TASK, sent.id)
    customer.needs_staff_since = None
    customer.save(update_fields=["needs_staff_since", "updated_at"])
    record_event(
        event_type="staff_replied",
        data={
            "conversation_id": sent.id,
            "by": user.get_username(),
            "as": "text" if in_window else "template",
        },
        wa_id=customer.wa_id,
    )
    return StaffReply(sent, held_back)


@transaction.atomic
def set_customer_blocked(*, customer: Customer, blocked: bool, by: str = "staff") -> Customer:
    """Block (nothing is answered or sent) or unblock a customer."""
    if customer.is_blocked == blocked:
        return customer
    customer.is_blocked = blocked
    customer.save(update_fields=["is_blocked", "updated_at"])
    record_event(
        event_type="customer_blocked" if blocked else "customer_unblocked",
        data={"by": by},
        wa_id=customer.wa_id,
    )
    return customer


def mark_conversation_read(*, customer: Customer, upto: int | None = None) -> None:
    """Staff have seen the conversation up to message `upto` (None: everything up to now).

    With `upto`, what the customer wrote after the page was drawn (a higher id) stays unread;
    the mark never moves back.
    """
    moment: datetime | None = timezone.now()
    rows = Conversation.objects.for_customer(customer.wa_id)
    if upto is not None and rows.filter(id__gt=upto, role=Conversation.Role.USER).exists():
        moment = rows.filter(id=upto).values_list("created_at", flat=True).first()
    if moment is None:  # not a message of this customer's: nothing is marked
        return
    marked = Customer.objects.filter(pk=customer.pk).filter(
        Q(staff_read_at__isnull=True) | Q(staff_read_at__lt=moment)
    )
    if marked.update(staff_read_at=moment):
        customer.staff_read_at = moment


# ============================================================================ automated messaging
@transaction.atomic
def set_automated_messaging_paused(*, paused: bool, by: str, reason: str = "") -> MessagingSettings:
    """Pause (or resume) automated messages such as reminders for the whole business."""
    row = MessagingSettings.objects.select_for_update().get_or_create(
        id=MessagingSettings.SINGLETON_ID
    )[0]
    was_paused = row.automated_paused
    row.automated_paused = paused
    row.paused_reason = reason if paused else ""
    row.changed_by = by
    row.changed_at = timezone.now()
    row.save()
    if was_paused != paused:
        record_event(
            event_type="automated_messaging_paused" if paused else "automated_messaging_resumed",
            data={"by": by, "reason": reason},
        )
    return row
