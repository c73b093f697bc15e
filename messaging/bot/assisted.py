"""What a typed text means to the bot: the rules' reading and the FAQ entry it asks about; for a
text the rules cannot place, the optional language model's reading, checked here; and the daily
counts of how texts were placed (the dashboard) and of the model's requests (its budget).

The model is asked by `ask_model`, which the worker calls before it opens the message's database
transaction (a slow model never holds locks); the turn then gets the reading through `reply_to`.
The model only ever proposes a reading: the same flows as for the rules' readings answer, every
booking, move or cancellation still needs the customer's tap, and nothing it writes reaches them.
"""

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from customers.models import Customer
from messaging.bot import catalog, faq
from messaging.bot.turn import Turn
from messaging.bot.understanding import llm
from messaging.bot.understanding.intents import Intent
from messaging.bot.understanding.reading import Reading, read_message
from messaging.bot.understanding.times import TimeCandidates
from messaging.models import BotDailyCount, Conversation, FaqEntry
from messaging.whatsapp.cloud_api import Message
from reservations.models import BookingRules, Resource, Service

logger = logging.getLogger(__name__)

Kind = BotDailyCount.Kind
# How far ahead a day the model read may be; a later (or a past) one is asked about instead.
MODEL_DAYS_AHEAD = 366
# The most of each list the model is shown (the prompt stays small).
CONTEXT_LIMIT = 50
_MODEL_INTENTS = {
    "book": Intent.BOOK,
    "move": Intent.MOVE,
    "cancel": Intent.CANCEL,
    "my_appointments": Intent.MY_APPOINTMENTS,
    "late": Intent.LATE,
    "question": Intent.QUESTION,
    "location": Intent.LOCATION,
    "staff": Intent.STAFF,
    "greeting": Intent.GREETING,
    "thanks": Intent.THANKS,
}
# A phone number written in the text (9 digits or more, spaces and dashes allowed, any script).
_PHONE = re.compile(r"\+?\d(?:[\s\-.]*\d){8,}")


@dataclass(frozen=True)
class TextReading:
    reading: Reading
    entry: FaqEntry | None = None
    by_model: bool = False
    service: Service | None = None
    practitioner: Resource | None = None

    @property
    def placed(self) -> bool:
        return self.reading.intent is not None or self.reading.has_when or self.entry is not None


def read_text(text: str, *, now: datetime) -> TextReading:
    """The rules' reading of `text`, with the FAQ entry it asks about (if any)."""
    week_starts_on = BookingRules.objects.get_solo().week_starts_on
    reading = read_message(
        text,
        now=timezone.localtime(now),
        week_starts_on=week_starts_on,
        names=catalog.names(),
    )
    asks = reading.intent is Intent.QUESTION or (reading.intent is None and not reading.has_when)
    return TextReading(reading, faq.find_entry(text) if asks else None)


# ============================================================================ the model
def ask_model(
    *, message: Message, while_waiting: Callable[[], object] | None = None
) -> llm.ModelReading | None:
    """The model's reading of a text the rules cannot place; None when off, not needed, over
    budget, failing or slow. Call it outside any transaction: it waits on the network.
    `while_waiting` is called just before the model is asked (only if it is)."""
    if not llm.is_enabled() or message.type != "text" or message.reply_id:
        return None
    text = message.text.strip()
    if not text or Conversation.objects.filter(wa_message_id=message.id).exists():
        return None  # nothing to read, or a retry of a message already answered
    customer = Customer.objects.filter(wa_id=message.sender).first() if message.sender else None
    if customer is not None and (customer.is_blocked or customer.is_bot_paused):
        return None  # the bot will not answer
    now = timezone.now()
    if read_text(text, now=now).placed:
        return None
    today = timezone.localdate(now)
    names = [message.profile_name or ""]
    if customer is not None:
        names += [customer.customer_name or "", customer.profile_name or ""]
    if while_waiting is not None:
        while_waiting()
    try:
        return llm.read_text(
            redact(text, names=names),
            context=clinic_context(today),
            may_call=lambda: take_model_request(day=today),
        )
    except llm.BudgetSpentError:
        logger.info("the language model's daily budget is spent; the rules answer alone")
    except llm.ModelError as exc:
        logger.warning("no reading from the language model: %s", exc)
        count_text(day=today, kind=Kind.MODEL_FAILED)
    return None


def redact(text: str, *, names: list[str]) -> str:
    """The text without phone numbers or the customer's names (the model never sees who)."""
    text = _PHONE.sub("[number]", text)
    words = {w for name in names for w in re.split(r"\W+", name) if len(w) >= 2}
    if words:
        pattern = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
        text = re.sub(rf"(?<!\w)(?:{pattern})(?!\w)", "[name]", text, flags=re.IGNORECASE)
    return text


def clinic_context(today: date) -> llm.Context:
    """What the model may choose from: the services offered, who delivers them, the FAQ."""

    def both(english: str, arabic: str) -> str:
        return f"{english} / {arabic}" if arabic and arabic != english else english

    services = catalog.offered_services()[:CONTEXT_LIMIT]
    practitioners = _practitioners(services)[:CONTEXT_LIMIT]
    questions = FaqEntry.objects.active()[:CONTEXT_LIMIT]
    return llm.Context(
        today=today,
        services=[llm.Choice(s.pk, both(s.name, s.name_ar)) for s in services],
        practitioners=[llm.Choice(r.pk, both(r.name, r.name_ar)) for r in practitioners],
        faq=[llm.Choice(q.pk, both(q.question_en, q.question_ar)) for q in questions],
    )


def _practitioners(services: list[Service]) -> list[Resource]:
    found = {r.pk: r for s in services for r in catalog.who_can(s)}
    return [
        r
        for r in found.values()
        if r.resource_type == Resource.Type.PRACTITIONER and not r.is_clinic
    ]


def checked(model: llm.ModelReading, *, turn: Turn) -> TextReading | None:
    """The model's reading as the bot may act on it: an FAQ entry that is active, a service
    that is offered and a practitioner who delivers it, a day from today within
    MODEL_DAYS_AHEAD (else the day is asked for); None if it placed nothing. The service and
    practitioner are remembered as the customer's choice, as if they had tapped them."""
    intent = _MODEL_INTENTS.get(model.intent)
    if intent is None:
        return None
    today = turn.today
    entry = service = practitioner = None
    if intent is Intent.QUESTION and model.faq_id:
        entry = FaqEntry.objects.active().filter(pk=model.faq_id).first()
    if intent is Intent.BOOK and (model.service_id or model.practitioner_id):
        offered = catalog.offered_services()
        service = next((s for s in offered if s.pk == model.service_id), None)
        people = _practitioners([service] if service else offered)
        practitioner = next((r for r in people if r.pk == model.practitioner_id), None)
        session = turn.session
        if service is not None:
            session.booking_type = service.type
            session.booking_service_id = service.pk
            session.booking_resource_id = practitioner.pk if practitioner else None
    reading = Reading(intent)
    if intent in {Intent.BOOK, Intent.MOVE}:
        in_range = model.day and today <= model.day <= today + timedelta(days=MODEL_DAYS_AHEAD)
        day = model.day if in_range else None
        reading = Reading(
            intent,
            day=day,
            times=TimeCandidates((model.at,)) if model.at else None,
            unclear_day=model.unclear_day or (model.day is not None and day is None),
            unclear_time=model.unclear_time,
        )
    return TextReading(reading, entry, by_model=True, service=service, practitioner=practitioner)


# ============================================================================ daily counts
def count_text(*, day: date, kind: str) -> None:
    """Add one to the day's count of `kind`."""
    BotDailyCount.objects.add_one(day=day, kind=kind)


def take_model_request(*, day: date) -> bool:
    """Spend one of the day's LLM_DAILY_BUDGET requests; False when none is left. The row's
    conditional update decides, so workers in any number of processes share one budget."""
    BotDailyCount.objects.bulk_create(
        [BotDailyCount(day=day, kind=Kind.MODEL_REQUEST, shard=0)], ignore_conflicts=True
    )
    return bool(
        BotDailyCount.objects.filter(
            day=day, kind=Kind.MODEL_REQUEST, shard=0, count__lt=settings.LLM_DAILY_BUDGET
        ).update(count=F("count") + 1)
    )


def text_outcome(understood: TextReading, *, handed_off: bool) -> str:
    """How a text was placed, for the dashboard: by the model, from the FAQ, handed to staff
    (a question no entry answers, or one text too many not understood), by the rules, or not."""
    if understood.by_model:
        return Kind.MODEL
    if understood.entry is not None:
        return Kind.FAQ
    if understood.reading.intent is Intent.QUESTION or handed_off:
        return Kind.STAFF
    return Kind.RULES if understood.placed else Kind.NOT_UNDERSTOOD
