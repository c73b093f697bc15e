"""The main menu, the location, the language switch, the hand-off and answers to media."""

import copy

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from messaging.bot import ids
from messaging.bot.turn import Turn
from messaging.inbox import staff
from messaging.whatsapp import outgoing

Replies = list[outgoing.Outgoing]


def welcome(turn: Turn) -> str:
    name = f" {turn.name}" if turn.name else ""
    return _("Hello%(name)s! Welcome to %(business)s.") % {
        "name": name,
        "business": settings.BUSINESS_NAME,
    }


def greet(turn: Turn, replies: Replies) -> Replies:
    """Open the first answer ever with the greeting (in the same message when it is text)."""
    hello = welcome(turn)
    first = replies[0] if replies else None
    if first is None or first.type not in {"text", "interactive"}:
        return [outgoing.text(hello), *replies]
    content = copy.deepcopy(first.content)
    part = content if first.type == "text" else content["body"]
    key = "body" if first.type == "text" else "text"
    part[key] = f"{hello}\n\n{part[key]}"
    return [outgoing.Outgoing(first.type, content, f"{hello}\n\n{first.preview}"), *replies[1:]]


def main_menu(turn: Turn, *, lead: str = "") -> outgoing.Outgoing:
    """The three main choices as reply buttons."""
    lines = [lead] if lead else []
    lines.append(_("How can I help you? Choose below, or write what you need."))
    lines.append(_("Write “menu” for all options: our location, “عربي” for Arabic."))
    return outgoing.buttons(
        "\n\n".join(lines),
        [
            (ids.BOOK, pgettext("button", "Book")),
            (ids.MINE, _("My appointments")),
            (ids.STAFF, _("Talk to staff")),
        ],
    )


def full_menu(turn: Turn, *, lead: str = "") -> outgoing.Outgoing:
    """Every option as a list: the main three, the location and the other language."""
    other = "ar" if turn.language == "en" else "en"
    rows = [
        outgoing.Row(ids.BOOK, pgettext("button", "Book")),
        outgoing.Row(ids.MINE, _("My appointments")),
        outgoing.Row(ids.STAFF, _("Talk to staff")),
        outgoing.Row(ids.LOCATION, _("Our location")),
        # Each language names itself, so a customer who cannot read this one still finds theirs.
        outgoing.Row(ids.LANGUAGE + other, "العربية" if other == "ar" else "English"),
    ]
    body = "\n\n".join([*([lead] if lead else []), _("What would you like to do?")])
    return outgoing.list_message(body, _("Options"), [(_("Menu"), rows)])


def location(turn: Turn) -> Replies:
    latitude = settings.BUSINESS_LOCATION_LATITUDE
    longitude = settings.BUSINESS_LOCATION_LONGITUDE
    if latitude is None or longitude is None:
        address = settings.BUSINESS_LOCATION_ADDRESS
        lead = address or _("Please tap “Talk to staff” and we will send you directions.")
        return [main_menu(turn, lead=lead)]
    pin = outgoing.location(
        latitude,
        longitude,
        name=settings.BUSINESS_LOCATION_NAME or settings.BUSINESS_NAME,
        address=settings.BUSINESS_LOCATION_ADDRESS or None,
    )
    return [pin, main_menu(turn, lead=_("Here is where to find us."))]


def hand_off(turn: Turn, *, reason: str) -> Replies:
    staff.hand_off_to_staff(customer=turn.customer, reason=reason)
    turn.session.forget()
    text = _("Thank you. A member of our team will answer you here as soon as possible.")
    return [outgoing.text(text)]


def media_answer(turn: Turn, kind: str) -> Replies:
    """A short polite answer to what the bot cannot read, by type, then the menu."""
    answers = {
        "image": _("Thank you for the picture. I cannot look at pictures here."),
        "video": _("Thank you for the video. I cannot watch videos here."),
        "sticker": _("Thank you!"),
        "audio": _("Sorry, I cannot listen to voice messages. Please write your request."),
        "document": _("Thank you for the document. Please bring it with you to your visit."),
        # What the bot books is always for the sender (a card's number is not a customer who
        # agreed to hear from us): say so, and how the person on the card can book.
        "contacts": _(
            "Thank you for the contact. I can only book for you, on this number. The person on "
            "the card can write to us here to book, or our staff can book for them."
        ),
        "order": _("Thank you. Orders are not taken here; our staff can help."),
        "location": _("Thank you for sharing your location."),
    }
    lead = answers.get(kind, _("Sorry, I cannot read this kind of message. Please write to me."))
    return [main_menu(turn, lead=lead)]
