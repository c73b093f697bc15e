"""Telling a customer that staff booked, moved or cancelled their appointment.

A text while WhatsApp's 24-hour window is open; outside it the approved template of the change
(BOOKED_NOTICE_TEMPLATES, MOVED_NOTICE_TEMPLATES, CANCELLED_NOTICE_TEMPLATES). The staff pages
reach this through the RESERVATION_CHANGE_NOTIFIER setting, so that `reservations` does not
import `messaging`.
"""

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import override

from messaging.bot.formatting import format_day, format_time
from messaging.events import record_event
from messaging.models import Conversation
from messaging.reminders.sending import template_setting
from messaging.whatsapp import outgoing
from messaging.whatsapp.delivery import SEND_TASK, enqueue, record_outbound, window_is_open
from reservations.models import Reservation

BOOKED, MOVED, CANCELLED = "booked", "moved", "cancelled"
CHANGES = (BOOKED, MOVED, CANCELLED)
NOTICE_KEY = "staff-change:"  # idempotency keys: one notice per change of a reservation


def _templates(change: str) -> dict[str, str]:
    return {
        BOOKED: settings.BOOKED_NOTICE_TEMPLATES,
        MOVED: settings.MOVED_NOTICE_TEMPLATES,
        CANCELLED: settings.CANCELLED_NOTICE_TEMPLATES,
    }[change]


def _parts(reservation: Reservation, language: str) -> dict[str, str]:
    service = reservation.service
    resource = reservation.resource
    with override(language):
        service_name = service.display_name(language) if service else reservation.get_type_display()
        with_whom = (
            resource.display_name(language)
            if resource is not None and not resource.is_clinic
            else settings.BUSINESS_NAME
        )
    return {
        "business": settings.BUSINESS_NAME,
        "service": service_name,
        "resource": with_whom,
        "day": format_day(reservation.date, language=language),
        "time": format_time(reservation.time_slot, language=language),
    }


def notice_text(*, reservation: Reservation, change: str, language: str) -> str:
    """The free-form notice (inside the 24-hour window) in `language`."""
    parts = _parts(reservation, language)
    with override(language):
        if change == BOOKED:
            return (
                _("%(business)s booked your %(service)s with %(resource)s on %(day)s at %(time)s.")
                % parts
            )
        if change == MOVED:
            return (
                _("%(business)s moved your %(service)s with %(resource)s to %(day)s at %(time)s.")
                % parts
            )
        return (
            _("%(business)s cancelled your %(service)s on %(day)s at %(time)s.") % parts
            + "\n"
            + _("Write to us to book another time.")
        )


def notice_template(*, reservation: Reservation, change: str, language: str) -> outgoing.Outgoing:
    """The approved template of the change (outside the window)."""
    name, code = template_setting(_templates(change), language)
    parts = _parts(reservation, language)
    if change == CANCELLED:
        params = [parts["business"], parts["service"], parts["day"], parts["time"]]
    else:
        params = [parts[key] for key in ("business", "service", "resource", "day", "time")]
    return outgoing.template(name, code, params=params)


def notify_reservation_change(*, reservation: Reservation, change: str) -> Conversation | None:
    """Queue the notice of `change` ("booked", "moved" or "cancelled") to the customer, once
    per change; None for a blocked customer (nothing is sent to them)."""
    if change not in CHANGES:
        raise ValueError(f"unknown change {change!r}; use one of {CHANGES}")
    customer = reservation.customer
    if customer.is_blocked:
        return None
    language = customer.message_language
    if window_is_open(customer=customer):
        message = outgoing.text(
            notice_text(reservation=reservation, change=change, language=language)
        )
    else:
        message = notice_template(reservation=reservation, change=change, language=language)
    key = f"{NOTICE_KEY}{change}:{reservation.pk}:{reservation.updated_at.isoformat()}"
    conversation, created = record_outbound(customer=customer, message=message, key=key)
    if created:
        enqueue(SEND_TASK, conversation.id)
        record_event(
            event_type="reservation_change_notified",
            data={"reservation_id": reservation.pk, "change": change, "type": message.type},
            wa_id=customer.wa_id,
        )
    return conversation
