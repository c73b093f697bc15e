"""My appointments: list them, then move one (the booking flow) or cancel it (after a yes)."""

from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from messaging.bot import booking, ids
from messaging.bot.menu import Replies, main_menu
from messaging.bot.turn import (
    Turn,
    describe,
    names_service,
    own_reservation,
    slot_title,
    upcoming_reservations,
    what,
    when,
)
from messaging.whatsapp import outgoing
from reservations import services
from reservations.errors import BookingError
from reservations.models import Reservation, Source


def show_list(turn: Turn, *, verb: str = "show") -> Replies:
    """The upcoming reservations; tapping one does `verb` (show its choices, move or cancel)."""
    upcoming = upcoming_reservations(turn.customer)
    if not upcoming:
        return [
            outgoing.buttons(
                _("You have no upcoming appointments."),
                [(ids.BOOK, pgettext("button", "Book")), (ids.MENU, _("Menu"))],
            )
        ]
    if len(upcoming) == 1:
        return on_tap(turn, verb, upcoming[0].pk)
    prompts = {
        "mv": _("Which appointment would you like to move?"),
        "cx": _("Which appointment would you like to cancel?"),
    }
    rows = [
        outgoing.Row(
            ids.appointment(verb, r.pk),
            slot_title(turn, r.date, r.time_slot),
            what(r, language=turn.language),
        )
        for r in upcoming
    ]
    rows.append(outgoing.Row(ids.MENU, _("Menu")))
    body = prompts.get(verb, _("Your upcoming appointments:"))
    return [outgoing.list_message(body, _("Appointments"), [(_("Your appointments"), rows)])]


def on_tap(turn: Turn, verb: str, reservation_id: int) -> Replies:
    if verb == "cxok":
        return cancel(turn, reservation_id)
    reservation = own_reservation(turn, reservation_id)
    if reservation is None:
        return [main_menu(turn, lead=_("That appointment can no longer be changed."))]
    if verb == "mv":
        return move(turn, reservation)
    if verb == "cx":
        return ask_cancel(turn, reservation)
    return show_one(turn, reservation)


def show_one(turn: Turn, reservation: Reservation) -> Replies:
    body = _("Your appointment:") + "\n" + describe(turn, reservation)
    choices = [
        (ids.appointment("mv", reservation.pk), _("Move it")),
        (ids.appointment("cx", reservation.pk), _("Cancel it")),
        (ids.MENU, _("Menu")),
    ]
    return [outgoing.buttons(body, choices)]


def move(turn: Turn, reservation: Reservation) -> Replies:
    turn.session.moving_reservation_id = reservation.pk
    turn.session.booking_type = reservation.type
    return booking.days(turn, booking.moving_step(reservation).to("dp", day=turn.today))


def ask_cancel(turn: Turn, reservation: Reservation) -> Replies:
    body = _("Cancel this appointment?") + "\n" + describe(turn, reservation)
    choices = [
        (ids.appointment("cxok", reservation.pk), _("Yes, cancel it")),
        (ids.STOP, _("Keep it")),
    ]
    return [outgoing.buttons(body, choices)]


def cancel(turn: Turn, reservation_id: int) -> Replies:
    reservation = (
        Reservation.objects.for_customer(turn.customer.wa_id)
        .select_related("service", "resource")
        .filter(pk=reservation_id)
        .first()
    )
    if reservation is None:
        return [main_menu(turn, lead=_("That appointment can no longer be changed."))]
    if not reservation.is_active:
        return [main_menu(turn, lead=_("This appointment is already cancelled."))]
    try:
        services.cancel_reservation(reservation=reservation, source=Source.CUSTOMER)
    except BookingError as error:
        return [main_menu(turn, lead=error.message_for(turn.language))]
    turn.session.forget()
    text = _("Your appointment of %(when)s is cancelled.") % {
        "when": when(turn, reservation.date, reservation.time_slot)
    }
    if names_service(reservation):
        text += "\n" + what(reservation, language=turn.language)
    return [outgoing.buttons(text, [(ids.BOOK, _("Book again")), (ids.MENU, _("Menu"))])]
