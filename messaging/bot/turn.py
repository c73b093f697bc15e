"""One turn of the conversation: who is writing, in which language, and what the bot remembers."""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from customers.models import Customer
from messaging.bot.formatting import format_day, format_short_day, format_time
from messaging.bot.parsing import detect_language
from messaging.models import BotSession, Conversation
from messaging.whatsapp.cloud_api import Message
from reservations.models import Reservation, Resource

# How long the bot remembers a move in progress, a chosen type or texts it did not understand.
SESSION_TTL = timedelta(minutes=30)
LANGUAGES = frozenset(Customer.Language.values)


@dataclass
class Turn:
    customer: Customer
    language: str
    session: BotSession
    now: datetime
    first: bool  # the bot has never answered this customer
    name: str = ""
    memo: dict[Any, Any] = field(default_factory=dict)  # lookups made once per turn

    @property
    def today(self) -> date:
        return timezone.localdate(self.now)


def start_turn(message: Message, customer: Customer) -> Turn:
    """Load (or start) the customer's session and settle the language of the answer."""
    now = timezone.now()
    session = BotSession.objects.filter(customer=customer).first()
    if session is None:
        session = BotSession(customer=customer, expires_at=now)
    if not session.is_live:
        session.forget()
    return Turn(
        customer=customer,
        language=_language(message, customer),
        session=session,
        now=now,
        first=not Conversation.objects.filter(
            customer=customer, role=Conversation.Role.ASSISTANT
        ).exists(),
        name=customer.customer_name or message.profile_name or "",
    )


def finish_turn(turn: Turn) -> None:
    turn.session.expires_at = turn.now + SESSION_TTL
    turn.session.save()


def set_language(turn: Turn, language: str) -> None:
    turn.language = language
    turn.customer.language = language
    turn.customer.save(update_fields=["language", "updated_at"])


def _language(message: Message, customer: Customer) -> str:
    """The stored language; until there is one, the language of what the customer typed."""
    if customer.language in LANGUAGES:
        return customer.language
    if message.type == "text" and (detected := detect_language(message.text)):
        customer.language = detected
        customer.save(update_fields=["language", "updated_at"])
        return detected
    guess = detect_language(message.profile_name or "") or settings.LANGUAGE_CODE
    return guess if guess in LANGUAGES else "en"


# ---------------------------------------------------------------------------- shared wording


def offered_types() -> list[int]:
    types = [t for t in settings.BOOKING_TYPES_OFFERED if t in Reservation.Type.values]
    return types or [Reservation.Type.APPOINTMENT]


def type_label(type: int) -> str:
    return _("Follow-up") if type == Reservation.Type.FOLLOW_UP else _("Appointment")


def when(turn: Turn, day: date, at: time) -> str:
    """ "Sunday 29 November 2026 at 5:00 PM" in the customer's language."""
    return _("%(day)s at %(time)s") % {
        "day": format_day(day, language=turn.language),
        "time": format_time(at, language=turn.language),
    }


def slot_title(turn: Turn, day: date, at: time) -> str:
    """A day and time that fits a list row title (24 characters): "Mon 23 Nov 4:30 PM",
    "الأربعاء 25/11 4:30 م" (Arabic month names are too long to fit beside a time)."""
    moment = format_time(at, language=turn.language)
    if turn.language == "ar":
        with translation.override("ar"):
            return f"{date_format(day, 'l')} {day.day}/{day.month} {moment}"
    return f"{format_short_day(day, language=turn.language)} {moment}"


def what(reservation: Reservation, *, language: str) -> str:
    """What is booked: the visit type for the clinic's one-slot booking (as before services),
    else the service and who delivers it ("Cleaning with Dr Sara")."""
    service, resource = reservation.service, reservation.resource
    if not names_service(reservation):
        return type_label(reservation.type)
    name = service.display_name(language) if service else type_label(reservation.type)
    return service_with(name, resource, language=language)


def service_with(name: str, resource: Resource | None, *, language: str) -> str:
    """ "Cleaning with Dr Sara", or just the service when the clinic itself delivers it."""
    if resource is None or resource.is_clinic:
        return name
    return _("%(service)s with %(who)s") % {"service": name, "who": resource.display_name(language)}


def names_service(reservation: Reservation) -> bool:
    """Whether `what` says more than the visit type."""
    service, resource = reservation.service, reservation.resource
    plain = service is None or service.lasts_one_slot
    return not (plain and (resource is None or resource.is_clinic))


def describe(turn: Turn, reservation: Reservation) -> str:
    label = what(reservation, language=turn.language)
    return f"{label}: {when(turn, reservation.date, reservation.time_slot)}"


def upcoming_reservations(customer: Customer) -> list[Reservation]:
    return list(
        Reservation.objects.active()
        .upcoming()
        .for_customer(customer.wa_id)
        .select_related("service", "resource")
        .order_by("date", "time_slot")[:9]
    )


def own_reservation(turn: Turn, reservation_id: int) -> Reservation | None:
    """The customer's own active reservation that has not started, or None (ids are not trusted)."""
    reservation = (
        Reservation.objects.active()
        .for_customer(turn.customer.wa_id)
        .select_related("service", "resource")
        .filter(pk=reservation_id)
        .first()
    )
    if reservation is None or reservation.starts_at <= turn.now:
        return None
    return reservation
