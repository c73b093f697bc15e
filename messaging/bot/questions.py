"""Messages that are not requests for a slot: a late notice, and questions for the staff."""

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _

from messaging.bot.formatting import format_day, format_time
from messaging.bot.menu import Replies
from messaging.bot.turn import Turn, describe, upcoming_reservations
from messaging.inbox import staff
from messaging.whatsapp import outgoing

# A late notice is about a visit starting soon: today's or tomorrow's.
LATE_WITHIN_DAYS = 1


def late_notice(turn: Turn, text: str) -> Replies:
    """Tell the staff (a note in the inbox, with the visit it is about) and thank the customer.

    The bot keeps answering: being late needs a person to know, not to take over.
    """
    upcoming = upcoming_reservations(turn.customer)
    visit = next((r for r in upcoming if (r.date - turn.today).days <= LATE_WITHIN_DAYS), None)
    with translation.override(settings.LANGUAGE_CODE):  # the note is for the staff
        about = _("no appointment today or tomorrow")
        if visit:
            about = _("%(day)s at %(time)s") % {
                "day": format_day(visit.date, language=settings.LANGUAGE_CODE),
                "time": format_time(visit.time_slot, language=settings.LANGUAGE_CODE),
            }
        note = _("Late notice: “%(text)s” (%(about)s).") % {"text": text.strip(), "about": about}
    staff.note_for_staff(
        customer=turn.customer,
        note=note,
        event_type="late_notice",
        data={
            "reservation_id": visit.pk if visit else None,
            "date": visit.date.isoformat() if visit else None,
            "time": visit.time_slot.strftime("%H:%M") if visit else None,
        },
    )
    lines = [_("Thank you for letting us know. We have told our team you are on your way.")]
    if visit:
        lines.append(describe(turn, visit))
    lines.append(_("Please drive safely; see you soon."))
    return [outgoing.text("\n".join(lines))]


def question(turn: Turn, text: str) -> Replies:
    """A question the bot cannot answer: to the staff, who will answer here."""
    staff.hand_off_to_staff(customer=turn.customer, reason="question")
    turn.session.forget()
    return [
        outgoing.text(_("I have passed your question to our staff; they will answer you here."))
    ]
