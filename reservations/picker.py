"""The start times staff pick from when booking or moving: the engine's real starts of a
service on one day (staff rules), each saying which customer rules staff would override."""

from dataclasses import dataclass
from datetime import date, time

from django.utils.translation import gettext as _

from reservations import availability, slots
from reservations import resources as engine
from reservations.models import BookingRules, Reservation, Resource, Service

# The customer rules staff are not held to (the engine's refusal codes).
OVERRIDABLE = (
    slots.TOO_SOON,
    slots.TOO_FAR,
    slots.SLOT_FULL,
    slots.TYPE_FULL,
    availability.CUSTOMER_LIMIT,
)


@dataclass(frozen=True)
class Choice:
    """A start staff may book: with whom, and the customer rules it overrides (codes)."""

    time: time
    resource_id: int
    resource_name: str
    overrides: tuple[str, ...] = ()

    @property
    def value(self) -> str:
        return self.time.strftime("%H:%M")

    @property
    def override_text(self) -> str:
        return describe_overrides(self.overrides)


def staff_choices(
    *,
    service: Service,
    day: date,
    resource: Resource | None = None,
    wa_id: str | None = None,
    exclude_id: int | None = None,
) -> list[Choice]:
    """The starts of `service` on `day` that staff may book (with `resource`, or anyone who
    can), each with what a customer would have been refused (too soon, full for customers...)."""
    staff = engine.free_starts(
        service=service, start=day, end=day, resource=resource, for_staff=True,
        exclude_id=exclude_id,
    )  # fmt: skip
    customer = engine.free_starts(
        service=service, start=day, end=day, resource=resource, wa_id=wa_id,
        bookable_only=False, exclude_id=exclude_id,
    )  # fmt: skip
    refused = {start.time: start.refusal for d in customer for start in d.starts}
    choices = []
    for d in staff:
        for start in d.starts:
            refusal = refused.get(start.time) if start.time in refused else slots.SLOT_FULL
            codes = (refusal,) if refusal in OVERRIDABLE else ()
            choices.append(
                Choice(
                    time=start.time,
                    resource_id=start.resource_id,
                    resource_name=start.resource_name,
                    overrides=codes,
                )
            )
    return choices


def overrides_for(
    *,
    service: Service,
    day: date,
    at: time,
    resource: Resource | None,
    wa_id: str | None,
    exclude_id: int | None = None,
) -> tuple[str, ...]:
    """The customer rules a staff booking of `at` overrides (checked before booking)."""
    codes: list[str] = []
    for choice in staff_choices(
        service=service, day=day, resource=resource, wa_id=wa_id, exclude_id=exclude_id
    ):
        if choice.time == at:
            codes.extend(choice.overrides)
            break
    if wa_id is not None and availability.CUSTOMER_LIMIT not in codes:
        limit = BookingRules.objects.get_solo().max_upcoming_per_customer
        upcoming = Reservation.objects.active().upcoming().for_customer(wa_id)
        if exclude_id is None and upcoming.count() >= limit:
            codes.append(availability.CUSTOMER_LIMIT)
    return tuple(codes)


def describe_overrides(codes: tuple[str, ...]) -> str:
    """What staff override, in their language ("" for nothing)."""
    texts = {
        slots.TOO_SOON: _("inside the minimum notice"),
        slots.TOO_FAR: _("beyond the booking horizon"),
        slots.SLOT_FULL: _("full for customers (up to the staff limit)"),
        slots.TYPE_FULL: _("full for this visit type for customers"),
        availability.CUSTOMER_LIMIT: _("over the customer's limit of upcoming bookings"),
    }
    return "; ".join(str(texts[code]) for code in dict.fromkeys(codes) if code in texts)
