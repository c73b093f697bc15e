"""The entry point: read one inbound message, route it to a flow, return the replies."""

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _

from customers.models import Customer
from messaging import vacations
from messaging.bot import (
    appointments,
    assisted,
    booking,
    catalog,
    faq,
    ids,
    menu,
    questions,
    reminders,
)
from messaging.bot.ids import Step
from messaging.bot.menu import Replies, main_menu
from messaging.bot.parsing import Intent, normalize_text
from messaging.bot.turn import (
    LANGUAGES,
    Turn,
    finish_turn,
    offered_types,
    own_reservation,
    set_language,
    start_turn,
    upcoming_reservations,
)
from messaging.bot.understanding.llm import ModelReading
from messaging.whatsapp import outgoing
from messaging.whatsapp.cloud_api import Message
from reservations.models import Reservation, Resource, Service

# Types the bot can read; a person tapping a button or list row is reading, too.
READABLE_TYPES = frozenset({"text", "interactive", "button"})
# Events, not messages: nothing to answer.
SILENT_TYPES = frozenset({"reaction", "system"})
# Texts the bot could not place in a row before a person takes over.
UNPLACED_BEFORE_HANDOFF = 2
FOLLOW_UP_WORDS = ("follow", "followup", "مراجعه", "متابعه")


def reply_to(
    message: Message, *, customer: Customer, model: ModelReading | None = None
) -> list[outgoing.Outgoing]:
    """The replies to one inbound message, in the order they are to be sent; `model` is the
    language model's reading of a text the rules cannot place (`assisted.ask_model`)."""
    if message.type in SILENT_TYPES:
        return []
    turn = start_turn(message, customer)
    with translation.override(turn.language):
        notice = vacation_notice(turn)
        if notice is not None and not settings.VACATION_ALLOW_BOOKING_AFTER:
            finish_turn(turn)
            return notice  # the bot stays quiet after the notice until the reopening
        if message.type not in READABLE_TYPES:
            replies = menu.media_answer(turn, message.type)
        elif message.reply_id:
            turn.session.unplaced_texts = 0
            replies = on_tap(turn, message.reply_id)
        else:
            replies = on_text(turn, message.text, model=model)
        if turn.first:
            replies = menu.greet(turn, replies)
    finish_turn(turn)
    return (notice or []) + replies


def vacation_notice(turn: Turn) -> Replies | None:
    """During a vacation: the notice (empty once the customer has had it); otherwise None."""
    vacation = vacations.running_vacation(turn.today)
    if vacation is None:
        return None
    return vacations.take_vacation_notice(
        customer=turn.customer, vacation=vacation, today=turn.today, language=turn.language
    )


def on_tap(turn: Turn, reply_id: str) -> Replies:
    simple = {
        ids.BOOK: lambda: booking.start(turn),
        ids.MINE: lambda: appointments.show_list(turn),
        ids.STAFF: lambda: menu.hand_off(turn, reason="customer_asked"),
        ids.MENU: lambda: [menu.full_menu(turn)],
        ids.STOP: lambda: stop(turn),
        ids.LOCATION: lambda: menu.location(turn),
    }
    if reply_id in simple:
        return simple[reply_id]()
    if reply_id.startswith(ids.LANGUAGE) and reply_id[len(ids.LANGUAGE) :] in LANGUAGES:
        return switch_language(turn, reply_id[len(ids.LANGUAGE) :])
    if step := ids.parse_step(reply_id):
        return booking.on_step(turn, step)
    if tapped := ids.parse_appointment(reply_id):
        return appointments.on_tap(turn, *tapped)
    if reminders.is_reminder_choice(reply_id):
        return reminders.on_tap(turn, reply_id)
    return [main_menu(turn, lead=_("Sorry, that choice is no longer available."))]


def on_text(turn: Turn, text: str, *, model: ModelReading | None = None) -> Replies:
    understood = assisted.read_text(text, now=turn.now)
    if not understood.placed and model is not None:
        understood = assisted.checked(model, turn=turn) or understood
    reading, entry, placed = understood.reading, understood.entry, understood.placed
    intent = reading.intent
    turn.session.unplaced_texts = 0 if placed else turn.session.unplaced_texts + 1
    handed_off = not turn.first and turn.session.unplaced_texts >= UNPLACED_BEFORE_HANDOFF
    assisted.count_text(
        day=turn.today, kind=assisted.text_outcome(understood, handed_off=handed_off)
    )
    if intent is Intent.LANGUAGE_ARABIC:
        return switch_language(turn, "ar")
    if intent is Intent.LANGUAGE_ENGLISH:
        return switch_language(turn, "en")
    if intent is Intent.LATE:
        return questions.late_notice(turn, text)
    if intent is Intent.STAFF:
        return menu.hand_off(turn, reason="customer_asked")
    if entry is not None:
        return faq.answer(turn, entry)
    if intent is Intent.QUESTION:
        return questions.question(turn, text)
    if intent is Intent.LOCATION:
        return menu.location(turn)
    if intent is Intent.CANCEL:
        return appointments.show_list(turn, verb="cx")
    if intent is Intent.MOVE:
        upcoming = upcoming_reservations(turn.customer)
        if len(upcoming) == 1 and reading.has_when:
            turn.session.moving_reservation_id = upcoming[0].pk
        elif upcoming or not reading.has_when:
            return appointments.show_list(turn, verb="mv")
    if intent is Intent.MY_APPOINTMENTS:
        return appointments.show_list(turn)
    if reading.has_when:
        step = typed_step(turn, text)
        if step is None:  # which service is not clear: ask it first
            return booking.start(turn, type=typed_type(text), resource=typed_names(text)[1])
        return booking.by_reading(turn, step, reading)
    if intent is Intent.BOOK:
        service, resource = typed_names(text) if catalog.uses_services() else (None, None)
        if understood.by_model:
            service, resource = understood.service, understood.practitioner
        type = understood.service.type if understood.service else typed_type(text)
        return booking.start(turn, type=type, service=service, resource=resource)
    if intent is Intent.THANKS:
        return [outgoing.text(_("You are welcome!"))]
    if intent is Intent.MENU:
        return [menu.full_menu(turn)]
    if placed or turn.first:
        return [main_menu(turn)]
    if handed_off:
        return menu.hand_off(turn, reason="not_understood")
    return [main_menu(turn, lead=_("Sorry, I did not understand that."))]


def typed_type(text: str) -> int | None:
    normalized = normalize_text(text)
    if any(word in normalized for word in FOLLOW_UP_WORDS):
        return Reservation.Type.FOLLOW_UP
    return None


def typed_names(text: str) -> tuple[Service | None, Resource | None]:
    """The offered service and the practitioner (or room) the text names, each if exactly one."""
    offered = catalog.offered_services()
    service = catalog.named_service(text, offered)
    if service is not None:
        people = catalog.who_can(service)
    else:
        people = list({r.pk: r for s in offered for r in catalog.who_can(s)}.values())
    return service, catalog.named_resource(text, people)


def typed_step(turn: Turn, text: str) -> Step | None:
    """What a typed day or time is for: the move in progress, else a booking of the service
    (and with whom) the text names, else of the right type; None when the clinic books
    services and the text does not say which."""
    session = turn.session
    if session.moving_reservation_id and (
        reservation := own_reservation(turn, session.moving_reservation_id)
    ):
        return booking.moving_step(reservation, "t")
    if catalog.uses_services():
        return typed_service_step(turn, text)
    types = offered_types()
    chosen = typed_type(text)
    if chosen not in types:
        chosen = session.booking_type if session.booking_type in types else types[0]
    return Step("t", chosen, 0)


def typed_service_step(turn: Turn, text: str) -> Step | None:
    """The service (and who) the text names; else the one chosen a moment ago; else the only
    one that fits (None: ask)."""
    service, resource = typed_names(text)
    session = turn.session
    if service is None and resource is None and session.booking_service_id:
        chosen = [s for s in catalog.offered_services() if s.pk == session.booking_service_id]
        if chosen:
            service = chosen[0]
            resource = Resource.objects.filter(pk=session.booking_resource_id or 0).first()
    if service is None:
        fitting = catalog.offered_services()
        if resource is not None:
            fitting = [s for s in fitting if resource in catalog.who_can(s)]
        if (type := typed_type(text)) is not None:
            fitting = [s for s in fitting if s.type == type] or fitting
        if len(fitting) != 1:
            return None
        service = fitting[0]
    who = resource.pk if resource is not None and resource in catalog.who_can(service) else 0
    return Step("t", service.type, 0, service=service.pk, resource=who)


def stop(turn: Turn) -> Replies:
    turn.session.forget()
    return [main_menu(turn, lead=_("OK, nothing was changed."))]


def switch_language(turn: Turn, language: str) -> Replies:
    set_language(turn, language)
    with translation.override(language):
        return [main_menu(turn, lead=_("I will write to you in English."))]
