"""The time of day a customer means: "5pm", "17:00", "٥ م", "half past two", "٢ ونص",
"٤ إلا ربع", "الساعة الرابعة والنصف عصراً", "noon"; or only a part of the day ("tomorrow
evening", "بكرة المغرب"). Works on normalized text (text.py) from which the date was taken out.
"""

import re
from dataclasses import dataclass, field
from datetime import time
from enum import StrEnum

from messaging.bot.understanding.numerals import HOUR_WORDS, number
from messaging.bot.understanding.text import any_of


@dataclass(frozen=True)
class TimeCandidates:
    """The times a customer may mean: one when it is clear, two for a bare "5" (17:00/05:00)."""

    times: tuple[time, ...]

    @property
    def is_ambiguous(self) -> bool:
        return len(self.times) > 1


class PartOfDay(StrEnum):
    MORNING = "morning"
    AFTERNOON = "afternoon"
    EVENING = "evening"
    NIGHT = "night"

    @property
    def hours(self) -> tuple[time, time]:
        """From (included) and until (excluded); "until" 23:59 stands for midnight."""
        return {
            "morning": (time(5), time(12)),
            "afternoon": (time(12), time(17)),
            "evening": (time(16, 30), time(23, 59)),
            "night": (time(20), time(23, 59)),
        }[self.value]


@dataclass
class TimeReading:
    times: TimeCandidates | None = None
    part: PartOfDay | None = None
    unclear: bool = False  # a time was written but could not be read ("25:00", "5 or 6")
    spans: list[tuple[int, int]] = field(default_factory=list)


# The word after an hour that says which half of the day it is in.
_NOON = ("noon", "ظهرا", "الظهر", "الضهر", "ضهرا", "الظهريه", "الظهيره", "بعد الظهر", "بعد الضهر")
_PM = (
    "pm", "p.m.", "p.m", "p m", "م", "مساء", "مساءا", "المساء", "مسا", "المسا", "بالليل", "الليل",
    "في الليل", "ليلا", "بليل", "العصر", "عصرا", "عصر", "المغرب", "مغرب", "العشا", "العشاء",
    "in the evening", "in the afternoon", "at night", "tonight", "this evening", "evening",
    "afternoon", "night", "في المساء",
)  # fmt: skip
_AM = ("am", "a.m.", "a.m", "a m", "ص", "صباحا", "صباح", "الصباح", "الصبح", "صبح",
       "in the morning", "morning", "this morning", "في الصباح")  # fmt: skip
_MARKER_KIND = dict.fromkeys(_NOON, "noon") | dict.fromkeys(_PM, "pm") | dict.fromkeys(_AM, "am")
# Before an hour: "at 5", "الساعة 5", "around 5", "@5".
_AT = r"(?:at|@|around|abt|about|by|الساعه|ساعه|الساعة|حوالي|ع|على|عند)"
_HOUR = rf"(?P<h>\d{{1,2}}|{'|'.join(sorted(HOUR_WORDS, key=len, reverse=True))})"
_FRACTION = (
    r"(?P<frac>(?:و\s*)?(?:ال)?نص(?:ف)?|و\s*(?:ال)?ربع|(?:الا|غير)\s*(?:ربع|ثلث|تلت)"
    r"|و\s*(?:ثلث|تلت)|thirty|fifteen|forty[\s-]?five|o'?clock|ish)"
)
_MARKER = (
    rf"(?P<marker>{'|'.join(re.escape(m) for m in sorted(_MARKER_KIND, key=len, reverse=True))})"
)
_B, _E = r"(?:^|(?<=[\s,.!?;:()\-/]))", r"(?=$|[\s,.!?;:()\-/])"
_CLOCK = re.compile(
    rf"{_B}(?P<at>{_AT}\s*)?(?:(?P<en>half\s+past|quarter\s+past|quarter\s+to|half)\s+)?{_HOUR}"
    rf"(?:\s*[:.]\s*(?P<m>\d{{2}}))?(?:\s*{_FRACTION})?(?:\s*{_MARKER})?{_E}"
)
# "الظهر ١٢", "evening 7": the half of the day first.
_MARKER_FIRST = re.compile(
    rf"{_B}{_MARKER}\s+(?:{_AT}\s*)?(?P<h>\d{{1,2}})(?:\s*[:.]\s*(?P<m>\d{{2}}))?{_E}"
)
_NOON_WORDS = any_of(["noon", "midday", "12 noon", "الظهيره", "عند الظهيره"])
_PARTS = [
    (PartOfDay.NIGHT, any_of(["بعد العشا", "بعد العشاء", "late night", "late at night"])),
    (PartOfDay.MORNING, any_of([
        "morning", "mornin", "mrng", "morng", "first thing", "before noon", "before lunch",
        "الصبح", "الصباح", "صباحا", "صباحي", "صباحيه", "بدري", "الفجر", "الضحي", "قبل الظهر",
        "قبل الضهر",
    ])),
    (PartOfDay.AFTERNOON, any_of([
        "afternoon", "arvo", "aftn", "afternon", "aftrnoon", "lunchtime", "lunch time",
        "after lunch", "العصر", "عصرا", "بعد الظهر",
        "بعد الضهر", "العصريه", "الظهر", "الضهر",
    ])),
    (PartOfDay.EVENING, any_of([
        "evening", "eve", "evng", "tonight", "night", "المغرب", "مساء", "مساءا", "المساء", "المسا",
        "بالليل", "بليل", "مسائي", "مسائيه", "الليل", "عشيه", "العشيه", "ليلا",
    ])),
]  # fmt: skip
_UNCLEAR = re.compile(
    r"(?<![\d:])\d{1,2}\s*(?:or|او|ولا|-|to)\s*\d{1,2}(?![\d:/])"
    r"|after\s+(?:work|school|office)|بعد\s+(?:الدوام|الشغل|المدرسه|العمل)"
)


def read_time(text: str) -> TimeReading:
    """The time (or part of the day) in normalized text."""
    if match := _UNCLEAR.search(text):
        return TimeReading(unclear=True, spans=[match.span()])
    for match in _CLOCK.finditer(text):
        reading = _clock(match)
        if reading is not None:
            return reading
    if (match := _MARKER_FIRST.search(text)) and (reading := _marked(match)):
        return reading
    if match := _NOON_WORDS.search(text):
        return TimeReading(times=TimeCandidates((time(12),)), spans=[match.span()])
    for part, pattern in _PARTS:
        if match := pattern.search(text):
            return TimeReading(part=part, spans=[match.span()])
    return TimeReading()


def _clock(match: re.Match[str]) -> TimeReading | None:
    hour = number(match["h"])
    en, frac, marker = match["en"], (match["frac"] or "").replace(" ", ""), match["marker"]
    said_as_time = bool(match["at"] or match["m"] or frac or marker or en)
    if hour is None or not said_as_time:
        return None
    if not match["h"].isdigit() and not (match["at"] or frac or marker or en):
        return None
    minute = int(match["m"]) if match["m"] else 0
    if en:
        hour, minute = _english_fraction(en, hour)
    elif frac:
        hour, minute = _fraction(frac, hour, minute)
    span = [match.span()]
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        return TimeReading(unclear=True, spans=span)
    if marker:
        return _with_marker(hour, minute, marker, span)
    if hour == 0 or hour >= 12:
        return _one(hour, minute, span)
    # A bare hour: a clinic's "5" is in the afternoon, its "9" in the morning.
    day, night = time(hour, minute), time(hour + 12, minute)
    first, second = (day, night) if hour >= 8 else (night, day)
    return TimeReading(times=TimeCandidates((first, second)), spans=span)


def _marked(match: re.Match[str]) -> TimeReading | None:
    minute = int(match["m"]) if match["m"] else 0
    if not 0 <= minute <= 59:
        return TimeReading(unclear=True, spans=[match.span()])
    return _with_marker(int(match["h"]), minute, match["marker"], [match.span()])


def _with_marker(hour: int, minute: int, marker: str, span: list[tuple[int, int]]) -> TimeReading:
    kind = _MARKER_KIND[marker]
    if not 1 <= hour <= 12:  # "17:00 pm" is still 17:00; "25 pm" is not a time
        return (
            _one(hour, minute, span)
            if hour <= 23 and kind != "am"
            else TimeReading(unclear=True, spans=span)
        )
    if kind == "am":
        return _one(hour % 12, minute, span)
    if kind == "noon" and hour in (11, 12):
        return _one(hour, minute, span)
    return _one(hour % 12 + 12, minute, span)


def _one(hour: int, minute: int, span: list[tuple[int, int]]) -> TimeReading:
    return TimeReading(times=TimeCandidates((time(hour, minute),)), spans=span)


def _english_fraction(words: str, hour: int) -> tuple[int, int]:
    if words.startswith("quarter") and words.endswith("to"):
        return hour - 1, 45
    if words.startswith("quarter"):
        return hour, 15
    return hour, 30  # "half past two"; "half two" is British for 2:30


def _fraction(frac: str, hour: int, minute: int) -> tuple[int, int]:
    if frac.startswith(("الا", "غير")):
        return hour - 1, 45 if frac.endswith("ربع") else 40
    if "نص" in frac:
        return hour, 30
    if "ربع" in frac:
        return hour, 15
    if frac.endswith(("ثلث", "تلت")):
        return hour, 20
    return hour, {"thirty": 30, "fifteen": 15}.get(frac, 45 if frac.startswith("forty") else minute)
