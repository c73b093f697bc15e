"""One reading of a customer's message: what they want, the day, the time, and whether any
date- or time-like part was left unread (then the bot asks rather than guess)."""

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta

from messaging.bot.understanding.dates import SUNDAY, DayReading, read_day
from messaging.bot.understanding.intents import Intent, is_question, parse_intent
from messaging.bot.understanding.names import blank_names
from messaging.bot.understanding.text import any_of, normalize_text
from messaging.bot.understanding.times import PartOfDay, TimeCandidates, TimeReading, read_time

# Greetings that name a part of the day are not a part of the day.
_GREETINGS = any_of([
    "good morning", "good evening", "good afternoon", "صباح الخير", "صباح النور", "صباح الفل",
    "مساء الخير", "مساء النور", "مساء الفل", "يسعد صباحكم", "يسعد مساكم",
])  # fmt: skip
_LEADING_GREETING = re.compile(r"^(?:morning|evening)\b(?=\s*[!,.])")
# What is left after the day and time were read, and still looks like a day, a time, or a
# number that may be either.
_DAY_LEFT = re.compile(
    r"\b(?:eid|holidays?|weekend|end of|beginning of|mid|soon|couple|few|some ?day|someday"
    r"|month|week|wk)\b"
    r"|(?:^|\s)(?:ال|و|ب|ل)?(?:عيد|العيد|اجازه|ويكند|نهايه|اخر|اواخر|اوائل|بدايه|منتصف|نص|نصف"
    r"|اول الشهر|امتحان|امتحانات|الاختبارات|شهر|الشهر|اسبوع|الاسبوع|كم يوم|كام يوم|قريب)"
    r"(?=$|[\s,.!?])"
)
_TIME_LEFT = re.compile(r"\b(?:o'?clock|pm)\b|(?:^|\s)(?:ال)?ساعه(?=$|[\s,.!?])")
_NUMBER_LEFT = re.compile(
    r"(?<![a-z\d.:])\d{1,4}(?!\d)"
    r"(?!\s*(?:mins?|minutes?|min\b|دقيق|دقايق|دقائق|people|persons|kids|%|sar|ريال))"
)
_NOT_BOOKING = {Intent.LATE, Intent.QUESTION, Intent.LOCATION, Intent.STAFF, Intent.CANCEL}


@dataclass(frozen=True)
class Reading:
    intent: Intent | None
    day: date | None = None
    from_day: date | None = None  # the days from then on ("next week", "in December")
    times: TimeCandidates | None = None
    part: PartOfDay | None = None
    # A day (or time) was meant but not understood: ask for it, never guess.
    unclear_day: bool = False
    unclear_time: bool = False

    @property
    def unclear(self) -> bool:
        return self.unclear_day or self.unclear_time

    @property
    def has_when(self) -> bool:
        """Anything about when: a day, a run of days, a time, a part of the day, or unread."""
        return bool(self.day or self.from_day or self.times or self.part or self.unclear)


def read_message(
    text: str, *, now: datetime, week_starts_on: int = SUNDAY, names: Sequence[str] = ()
) -> Reading:
    """Read one message; `now` is the clinic's local time, `week_starts_on` its first weekday
    (Monday 0 .. Sunday 6), `names` the clinic's practitioners and services (read as names,
    never as keywords, days or times)."""
    normalized = normalize_text(text)
    named = False
    if names:
        blanked = blank_names(normalized, names)
        named, normalized = blanked != normalized, blanked
    intent = parse_intent(normalized)
    if named and intent in {None, Intent.GREETING} and not is_question(normalized):
        intent = Intent.BOOK  # "a cleaning with Dr Sara": naming what to book is booking
    quiet = _LEADING_GREETING.sub(" ", _GREETINGS.sub(lambda m: " " * len(m[0]), normalized))
    day = read_day(quiet, today=now.date(), week_starts_on=week_starts_on)
    rest = _blank(quiet, day.spans)
    clock = read_time(rest)
    if clock.times is None and clock.part is None and day.spans and not clock.unclear:
        clock = _hour_beside_the_day(rest, day.spans[0]) or clock
    rest = _blank(rest, clock.spans)
    number_left = _NUMBER_LEFT.search(rest) is not None
    unclear_day = day.unclear or _DAY_LEFT.search(rest) is not None
    if (day.day or day.from_day) and _another_day(rest, day, now.date(), week_starts_on):
        unclear_day = True  # "in 2 weeks on sunday", "thursday 27/11": which one? ask
    unclear_time = clock.unclear or _TIME_LEFT.search(rest) is not None
    if number_left:  # an hour when the time is missing, else a day
        unclear_time = unclear_time or clock.times is None
        unclear_day = unclear_day or clock.times is not None
    on = day.day
    passed = clock.times is not None and all(t <= now.time() for t in clock.times.times)
    if on is not None and day.by_weekday and passed:
        on += timedelta(days=7)  # "Monday 9am" said on a Monday at 10: next Monday
    reading = Reading(intent, on, day.from_day, clock.times, clock.part, unclear_day, unclear_time)
    if intent in _NOT_BOOKING or intent in {Intent.LANGUAGE_ARABIC, Intent.LANGUAGE_ENGLISH}:
        return reading
    if intent in {None, Intent.GREETING, Intent.THANKS, Intent.MENU} and reading.has_when:
        # Only an unread "when" in a question ("open at the weekend?") is not a booking.
        read = on or day.from_day or clock.times or clock.part
        if read or not is_question(normalized):
            return replace(reading, intent=Intent.BOOK)
    if intent is None and is_question(normalized):
        return replace(reading, intent=Intent.QUESTION)
    return reading


# "tomorrow 5", "الخميس ٤": a bare hour right after the day it belongs to.
_BARE_HOUR = re.compile(
    r"\s*,?\s*(?:at\s+)?(\d{1,2})(?=$|\s*[?!.,]|\s+(?:pls|please|plz|ok|لو|اذا))"
)


def _hour_beside_the_day(rest: str, day_span: tuple[int, int]) -> TimeReading | None:
    match = _BARE_HOUR.match(rest, day_span[1])
    if match is None or not 1 <= int(match[1]) <= 12:
        return None
    times = read_time(f"at {match[1]}").times
    return TimeReading(times=times, spans=[(day_span[1], match.end())])


def _another_day(rest: str, first: DayReading, today: date, week_starts_on: int) -> bool:
    """A second day in the message that is not the first one."""
    second = read_day(rest, today=today, week_starts_on=week_starts_on)
    if second.weekday is not None and first.day is not None:
        return second.weekday != first.day.weekday()
    return bool(second.day or second.from_day) and (second.day, second.from_day) != (
        first.day,
        first.from_day,
    )


def _blank(text: str, spans: list[tuple[int, int]]) -> str:
    for start, end in spans:
        text = text[:start] + " " * (end - start) + text[end:]
    return text


def proposed_slot(reading: Reading, *, now: datetime) -> tuple[date, time] | None:
    """The slot the bot would put to the customer for confirmation, if any: only a day and a
    time it read (a time alone means today if it is still ahead, else tomorrow)."""
    if reading.intent not in {Intent.BOOK, Intent.MOVE} or reading.unclear or not reading.times:
        return None
    if reading.from_day is not None:
        return None
    if reading.day is not None:
        return reading.day, reading.times.times[0]
    ahead = [t for t in reading.times.times if t > now.time()]
    if ahead:
        return now.date(), ahead[0]
    return now.date() + timedelta(days=1), reading.times.times[0]
