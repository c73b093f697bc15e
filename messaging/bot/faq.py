"""Answers to customers' questions from the staff's FAQ, matched on its keywords with the same
Arabic folding as the rest of the bot; the opening hours come from the schedule itself."""

import re
from datetime import timedelta
from functools import lru_cache

from django.utils import translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from messaging.bot.formatting import format_time
from messaging.bot.menu import Replies
from messaging.bot.parsing import normalize_text
from messaging.bot.turn import Turn
from messaging.bot.understanding.text import any_of
from messaging.models import FaqEntry
from messaging.whatsapp import outgoing
from reservations import services

DASH = " \u2013 "


def find_entry(text: str) -> FaqEntry | None:
    """The active entry whose keywords cover most of the text (the lower position on a tie)."""
    normalized = normalize_text(text)
    best, best_score = None, 0
    for entry in FaqEntry.objects.active():
        pattern = _keywords_pattern(tuple(entry.keywords))
        score = sum(len(match[0]) for match in pattern.finditer(normalized))
        if score > best_score:
            best, best_score = entry, score
    return best


@lru_cache(maxsize=512)
def _keywords_pattern(keywords: tuple[str, ...]) -> re.Pattern[str]:
    return any_of(keywords)


def answer(turn: Turn, entry: FaqEntry) -> Replies:
    if entry.kind == FaqEntry.Kind.OPENING_HOURS:
        text = opening_hours(turn)
    else:
        text = entry.answer_in(turn.language)
    return [outgoing.text(text)]


def opening_hours(turn: Turn) -> str:
    """The coming seven days' hours from the schedule (seasons and vacations included), days
    with the same hours run together: "Sunday - Thursday: 11:00 AM - 5:00 PM" (en dashes)."""
    first = turn.today
    calendar = services.load_calendar(start=first, end=first + timedelta(days=6))
    runs: list[tuple[str, str, str]] = []  # (first weekday, last weekday, hours)
    for offset in range(7):
        day = first + timedelta(days=offset)
        plan = calendar.plan_for(day)
        spans = plan.hours.get(day.weekday(), ()) if plan else ()
        if calendar.on_vacation(day):
            hours = _("closed (holiday)")
        elif spans:
            hours = ", ".join(
                f"{format_time(opens, language=turn.language)}{DASH}"
                f"{format_time(closes, language=turn.language)}"
                for opens, closes in spans
            )
        else:
            hours = _("closed")
        with translation.override(turn.language):
            name = date_format(day, "l")
        if runs and runs[-1][2] == hours:
            runs[-1] = (runs[-1][0], name, hours)
        else:
            runs.append((name, name, hours))
    lines = [_("Our opening hours this week:")]
    for start, end, hours in runs:
        days = start if start == end else f"{start}{DASH}{end}"
        lines.append(f"{days}: {hours}")
    return "\n".join(lines)
