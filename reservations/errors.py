"""Why a booking was refused: a machine-readable `code` and a message in the customer's language.

Import them from `reservations.services`, which re-exports every class here.
"""

from typing import Any

from django.utils import translation
from django.utils.translation import gettext, gettext_noop

from reservations import slots
from reservations.models import Reservation


class BookingError(Exception):
    """A refusal by the booking engine; `code` for programs, `message_for()` for people."""

    code = "booking_error"
    message = gettext_noop("This booking is not possible.")

    def __init__(self, **params: Any) -> None:
        self.params = params
        super().__init__(self.message_for("en"))

    def message_for(self, language: str | None) -> str:
        """The message in `language` (e.g. "ar"), or in the active language when None."""
        if language is None:
            return self._render()
        with translation.override(language):
            return self._render()

    def _render(self) -> str:
        text = gettext(self.message)
        return text % self.params if self.params else text


class SlotFullError(BookingError):
    code = slots.SLOT_FULL
    message = gettext_noop("That time is fully booked. Please choose another time.")


class TypeFullError(BookingError):
    code = slots.TYPE_FULL
    message = gettext_noop(
        "There is no room left for this type of visit at that time. Please choose another time."
    )


class ClosedError(BookingError):
    code = slots.CLOSED
    message = gettext_noop("The clinic is closed at that time.")


class VacationError(BookingError):
    code = slots.VACATION
    message = gettext_noop("The clinic is closed for a holiday on that day.")


class InPastError(BookingError):
    code = slots.IN_PAST
    message = gettext_noop("That time has already passed.")


class TooSoonError(BookingError):
    code = slots.TOO_SOON
    message = gettext_noop("That time is too soon. Please book at least %(minutes)s minutes ahead.")


class TooFarError(BookingError):
    code = slots.TOO_FAR
    message = gettext_noop("Bookings open at most %(days)s days ahead.")


class UnavailableError(BookingError):
    """The resource does not work then (its own hours, a day off, blocked hours), is inactive,
    or does not deliver the service."""

    code = "unavailable"
    message = gettext_noop("Not available at that time. Please choose another time.")


class NotASlotError(BookingError):
    code = "not_a_slot"
    message = gettext_noop("That is not one of the clinic's appointment times.")


class AlreadyBookedError(BookingError):
    code = "already_booked"
    message = gettext_noop("You are already booked at that time.")


class CustomerLimitError(BookingError):
    """The customer holds the maximum of upcoming reservations; `reservations` lists them so
    the caller can offer to move one (the engine never moves one by itself)."""

    code = "customer_limit"
    message = gettext_noop("You already have an upcoming reservation. You can move it instead.")

    def __init__(self, *, reservations: list[Reservation]) -> None:
        self.reservations = reservations
        super().__init__()


class CustomerBlockedError(BookingError):
    code = "blocked"
    message = gettext_noop("Bookings are not available for this number. Please call the clinic.")


class InvalidNumberError(BookingError):
    code = "invalid_number"
    message = gettext_noop("That is not a valid WhatsApp number.")


class InvalidTypeError(BookingError):
    code = "invalid_type"
    message = gettext_noop("Unknown type of visit.")


class NotActiveError(BookingError):
    code = "not_active"
    message = gettext_noop("This reservation has been cancelled.")


class PastReservationError(BookingError):
    code = "past_reservation"
    message = gettext_noop("This reservation is in the past and can no longer be changed.")


class FutureAttendanceError(BookingError):
    code = "future_attendance"
    message = gettext_noop("Attendance can only be marked once the appointment has started.")
