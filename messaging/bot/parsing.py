"""The simple entry points of the bot's understanding (see messaging/bot/understanding/).

`read_message` is what the router uses; `parse_intent`, `parse_date` and `parse_time` read one
thing each from raw text.
"""

from datetime import date

from messaging.bot.understanding.dates import read_day
from messaging.bot.understanding.intents import Intent
from messaging.bot.understanding.intents import parse_intent as _parse_intent
from messaging.bot.understanding.reading import Reading, proposed_slot, read_message
from messaging.bot.understanding.text import (
    ARABIC_LETTERS,
    contains_word,
    detect_language,
    normalize_text,
)
from messaging.bot.understanding.times import PartOfDay, TimeCandidates, read_time

_ANY_DAY = date(2026, 1, 1)

__all__ = [
    "ARABIC_LETTERS",
    "Intent",
    "PartOfDay",
    "Reading",
    "TimeCandidates",
    "contains_word",
    "detect_language",
    "normalize_text",
    "parse_date",
    "parse_intent",
    "parse_time",
    "proposed_slot",
    "read_message",
]


def parse_intent(text: str) -> Intent | None:
    """The first intent whose keyword appears as a word (or phrase) in the text."""
    return _parse_intent(normalize_text(text))


def parse_date(text: str, *, today: date) -> date | None:
    """The day a customer means, never in the past (None when no single day is named)."""
    return read_day(normalize_text(text), today=today).day


def parse_time(text: str) -> TimeCandidates | None:
    """The time of day in the text; numbers that are part of a date are not read as times."""
    normalized = normalize_text(text)
    day = read_day(normalized, today=_ANY_DAY)  # only where the date is matters here
    for start, end in day.spans:
        normalized = normalized[:start] + " " * (end - start) + normalized[end:]
    return read_time(normalized).times
