"""Taps on a reminder's quick replies ("rm:ok:42"): confirm, cancel (after a yes) or move."""

from django.utils.translation import gettext as _

from messaging.bot import appointments, ids
from messaging.bot.menu import Replies, main_menu
from messaging.bot.turn import Turn, names_service, own_reservation, what, when
from messaging.reminders.sending import confirm_reservation, parse_reminder_choice
from messaging.whatsapp import outgoing


def is_reminder_choice(reply_id: str) -> bool:
    return reply_id.startswith("rm:")


def on_tap(turn: Turn, reply_id: str) -> Replies:
    """Act on the reservation the button names, if it is still the customer's and upcoming."""
    parsed = parse_reminder_choice(reply_id)
    reservation = own_reservation(turn, parsed[1]) if parsed else None
    if parsed is None or reservation is None:
        return [main_menu(turn, lead=_("That appointment can no longer be changed."))]
    verb = parsed[0]
    if verb == "no":
        return appointments.ask_cancel(turn, reservation)
    if verb == "mv":
        return appointments.move(turn, reservation)
    confirm_reservation(reservation=reservation)
    text = _("Thank you! Your appointment of %(when)s is confirmed. See you then.") % {
        "when": when(turn, reservation.date, reservation.time_slot)
    }
    if names_service(reservation):
        text += "\n" + what(reservation, language=turn.language)
    return [
        outgoing.buttons(
            text,
            [(ids.appointment("show", reservation.pk), _("Change it")), (ids.MENU, _("Menu"))],
        )
    ]
