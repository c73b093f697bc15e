"""The day a customer means: relative days and weeks, weekdays, day and month (Gregorian or
Hijri), the day of the month alone, numeric dates. Works on normalized text (text.py).

Every reader returns the span it read, so that what is left can be checked for a date-like part
that was not understood (then the bot asks instead of guessing).
"""

import re
from dataclasses import dataclass, field
from datetime import date, timedelta

from hijridate import Gregorian, Hijri

from messaging.bot.understanding.numerals import AR_DAY_ORDINALS, number
from messaging.bot.understanding.text import any_of, near_miss

SUNDAY = 6  # as in the Gulf, "next week" begins on the coming Sunday (the clinic's rules say)


@dataclass
class DayReading:
    day: date | None = None
    from_day: date | None = None  # the days from then on ("next week", "in December")
    by_weekday: bool = False  # today named by its weekday: next week if its hour has passed
    weekday: int | None = None  # the weekday named, if one was
    unclear: bool = False  # a date was written but could not be read (31 November)
    spans: list[tuple[int, int]] = field(default_factory=list)


# ------------------------------------------------------------------------------ vocabulary
_WEEKDAYS: dict[str, int] = {
    # Monday is 0, as in date.weekday(). No bare "احد"/"اثنين": they also mean "one"/"two".
    "monday": 0, "mon": 0, "الاثنين": 0, "الاتنين": 0, "التنين": 0, "اثنين": 0,
    "tuesday": 1, "tue": 1, "tues": 1, "الثلاثاء": 1, "الثلاثا": 1, "ثلاثاء": 1, "التلات": 1,
    "التلاتا": 1,
    "التلاتاء": 1, "الثلوث": 1,
    "wednesday": 2, "wed": 2, "weds": 2, "الاربعاء": 2, "الاربعا": 2, "اربعاء": 2, "الاربع": 2,
    "thursday": 3, "thu": 3, "thur": 3, "thurs": 3, "الخميس": 3, "خميس": 3,
    "friday": 4, "fri": 4, "الجمعه": 4, "جمعه": 4,
    "saturday": 5, "sat": 5, "السبت": 5, "سبت": 5,
    "sunday": 6, "sun": 6, "الاحد": 6, "الحد": 6,
}  # fmt: skip
_FULL_WEEKDAYS = [w for w in _WEEKDAYS if w.isascii() and len(w) >= 6]
# After the preposition ل the article's alef goes: "للخميس" is "ل" + "الخميس".
# and in the Gulf "this Thursday" is "هالخميس" (ها + الخميس).
_WEEKDAYS |= {"لل" + w[2:]: n for w, n in _WEEKDAYS.items() if w.startswith("ال")} | {
    "ه" + w: n for w, n in _WEEKDAYS.items() if w.startswith("ال")
}

_MONTHS: dict[str, int] = {
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4, "apr": 4,
    "may": 5, "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8, "september": 9,
    "sept": 9, "sep": 9, "october": 10, "oct": 10, "november": 11, "nov": 11, "december": 12,
    "dec": 12,
    "يناير": 1, "جنوري": 1, "جنيوري": 1, "فبراير": 2, "فبرواري": 2, "مارس": 3, "ابريل": 4,
    "مايو": 5, "يونيو": 6, "يونيه": 6, "يوليو": 7, "يوليه": 7, "اغسطس": 8,
    "سبتمبر": 9, "اكتوبر": 10, "نوفمبر": 11, "نوفمير": 11, "ديسمبر": 12, "دسمبر": 12,
    "كانون الثاني": 1, "كانون التاني": 1, "شباط": 2, "اذار": 3, "نيسان": 4, "ايار": 5,
    "حزيران": 6, "تموز": 7, "ايلول": 9, "تشرين الاول": 10, "تشرين الثاني": 11,
    "تشرين التاني": 11, "كانون الاول": 12,
}  # fmt: skip
_FULL_MONTHS = [m for m in _MONTHS if m.isascii() and len(m) >= 5]
_HIJRI_MONTHS: dict[str, int] = {
    "muharram": 1, "safar": 2, "rabi al-awwal": 3, "rabi al awwal": 3, "rabi al-thani": 4,
    "rabi al thani": 4, "jumada al-ula": 5, "jumada al-awwal": 5, "jumada al-akhirah": 6,
    "jumada al-akhira": 6, "jumada al-thani": 6, "jumada al akhirah": 6, "rajab": 7,
    "shaban": 8, "sha'ban": 8, "shaaban": 8, "ramadan": 9, "ramadhan": 9, "ramzan": 9,
    "shawwal": 10, "shawal": 10, "dhul qadah": 11, "dhu al-qadah": 11, "dhul hijjah": 12,
    "dhu al-hijjah": 12, "dhul hijja": 12,
    "محرم": 1, "صفر": 2, "ربيع الاول": 3, "ربيع الثاني": 4, "ربيع الاخر": 4,
    "جمادي الاولي": 5, "جمادي الاول": 5, "جمادي الاخره": 6, "جمادي الثانيه": 6,
    "جمادي الاخر": 6, "جمادي الثاني": 6, "رجب": 7, "شعبان": 8, "رمضان": 9, "شوال": 10,
    "ذو القعده": 11, "ذي القعده": 11, "ذو الحجه": 12, "ذي الحجه": 12,
}  # fmt: skip
# A month name that is also a common word ("may", "mar", "صفر" zero) only counts beside a day.
_MONTH_NEEDS_DAY = {"may", "mar", "jun", "sep", "oct", "dec", "صفر", "jan"}


def _alternation(words: object) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))  # type: ignore[call-overload]


_B, _E = r"(?:^|(?<=[\s,.!?;:()\-/]))", r"(?=$|[\s,.!?;:()\-/'])"
_AR_PREFIX = r"(?:و|ف|ب|ل)?"
_MONTH = rf"(?P<month>{_alternation(_MONTHS)})"
_HMONTH = rf"(?P<hmonth>{_alternation(_HIJRI_MONTHS)})"
_DAYNUM = r"(?P<day>\d{1,2})(?:st|nd|rd|th)?"
_ORDWORD = rf"(?P<ord>{_alternation(AR_DAY_ORDINALS)})"
_FIRST = r"(?P<first>(?:اول|first)(?:\s+(?:يوم|day))?)"
_OF = r"(?:\s*(?:of|من|في)\s+)?(?:\s*(?:شهر)\s+)?\s*"
_NUMBER_WORD = r"\d{1,2}|[a-z]+|[\u0600-\u06ff]+"

_DAY_MONTH = re.compile(
    rf"{_B}(?:the\s+)?(?:{_DAYNUM}|{_ORDWORD}|{_FIRST}){_OF}{_AR_PREFIX}(?:{_MONTH}|{_HMONTH}){_E}"
)
_MONTH_DAY = re.compile(rf"{_B}(?:{_MONTH}|{_HMONTH})\s+(?:the\s+)?{_DAYNUM}{_E}")
_MONTH_ALONE = re.compile(
    rf"{_B}(?:in\s+|في\s+|ب)?(?:شهر\s+)?{_AR_PREFIX}(?:{_MONTH}|{_HMONTH}){_E}"
)
_ISO = re.compile(r"(?<!\d)(\d{4})\s*-\s*(\d{1,2})\s*-\s*(\d{1,2})(?!\d)")
NUMERIC = re.compile(r"(?<![\d:])(\d{1,2})\s*[-/]\s*(\d{1,2})(?:\s*[-/]\s*(\d{4}|\d{2}))?(?![\d:])")
# "24.11.2026": with dots only with the year ("6.30" is a time).
_DOTTED = re.compile(r"(?<![\d:.])(\d{1,2})\.(\d{1,2})\.(\d{4}|\d{2})(?![\d:])")
_THIS_MONTH = (
    r"(?:this month|هذا الشهر|هالشهر|الشهر هذا|الشهر الحالي"
    r"|(?:ال|ل)شهر(?! (?:الجاي|القادم|الياي|اللي)))"
)
_NEXT_MONTH = r"(?:next month|الشهر (?:الجاي|القادم|الياي|الجاي)|الشهر اللي جاي)"
_DAY_OF_MONTH = re.compile(
    rf"{_B}(?:(?:on\s+)?the\s+{_DAYNUM}|(?P<day2>\d{{1,2}})(?:st|nd|rd|th)"
    rf"|(?:يوم|تاريخ)\s+(?P<day3>\d{{1,2}})|(?:يوم\s+)?{_ORDWORD}"
    rf"|(?P<day4>\d{{1,2}})(?=\s+(?:من\s+)?(?:{_THIS_MONTH}|{_NEXT_MONTH})))"
    rf"(?:\s+(?:من\s+)?(?P<which>{_THIS_MONTH}|{_NEXT_MONTH}))?{_E}"
)
_MONTH_SHIFT = re.compile(rf"{_B}(?P<which>{_NEXT_MONTH}){_E}")
_RELATIVE = re.compile(
    rf"{_B}(?:(?:in|after|within)\s+(?P<n1>{_NUMBER_WORD})\s+(?P<u1>days?|weeks?|wks?|fortnight)"
    rf"(?:\s+(?:from\s+(?:now|today)|time|later))?"
    rf"|(?P<n2>{_NUMBER_WORD})\s+(?P<u2>days?|weeks?|wks?)\s+(?:from\s+(?:now|today)|later)"
    rf"|(?:بعد|عقب)\s+(?:(?P<n3>{_NUMBER_WORD})\s+)?(?P<u3>ايام|تيام|يوم|يومين|اسبوع|اسبوعين|اسابيع|جمعه)"
    rf"(?:\s+من\s+(?:اليوم|النهارده|الحين|الان))?)(?=$|[\s,.!?;:])"
)
_RELATIVE_DAYS = [
    (any_of(["day after tomorrow", "the day after tomorrow", "بعد بكره", "بعد بكرا", "بعد غد",
             "بعد الغد", "عقب باجر", "بعد باجر", "عقب بكره"]), 2),
    (any_of(["tomorrow", "tmrw", "tmr", "tmw", "tmrow", "2moro", "2morrow", "2mrw", "2mro",
             "tomorow", "tommorow", "tommorrow", "tomorrw", "bukra", "bokra", "bukrah", "بكره",
             "بكرا", "باجر", "غدا", "غدوه", "الغد"]), 1),
    (any_of(["today", "tdy", "اليوم", "النهارده", "النهاردا", "الحين"]), 0),
]  # fmt: skip
# Today, said with its part of the day: the part is left for the time reader.
_TONIGHT = any_of(["tonight", "this evening", "this morning", "this afternoon", "الليله"])
_NEXT_BEFORE = (
    r"(?:(?P<weekfirst>next\s+(?:week|wk)|(?:ال)?اسبوع\s+(?:الجاي|القادم|الياي))\s*,?\s*(?:on\s+)?"
    r"|(?P<next>next|nxt|coming|the coming)\s+|(?P<this>this)\s+)"
)
_NEXT_AFTER = (
    r"\s+(?:(?P<nextweek>next\s+week|الاسبوع\s+(?:الجاي|القادم|الياي))"
    r"|(?P<next2>الجاي|الجايه|القادم|القادمه|الياي|اللي\s+جاي|اللي\s+جايه|الي\s+جاي))"
)
_WEEKDAY = re.compile(
    rf"{_B}{_NEXT_BEFORE}?(?:(?:on|يوم)\s+)?{_AR_PREFIX}(?P<name>{_alternation(_WEEKDAYS)})"
    rf"(?:{_NEXT_AFTER})?{_E}"
)
_WEEK = re.compile(
    rf"{_B}(?:(?P<next>next\s+(?:week|wk)|(?:ال|ب|في\s+ال)اسبوع\s+(?:الجاي|القادم|الياي|اللي\s+جاي)"
    rf"|الاسبوع\s+الجاي)|(?P<this>this\s+week|هالاسبوع|هذا\s+الاسبوع|الاسبوع\s+هذا))(?=$|[\s,.!?;:])"
)
_END_OF = re.compile(r"(?:end of|اخر|نهايه|اخير)\s*$")


def read_day(text: str, *, today: date, week_starts_on: int = SUNDAY) -> DayReading:
    """The day (or the first of a run of days) in normalized text, never in the past.

    `week_starts_on` (Monday 0 .. Sunday 6) places "next week".
    """
    for reader in (_iso, _numeric, _day_and_month, _month_alone, _day_of_month, _relative):
        if (found := reader(text, today)) is not None:
            return found
    for pattern, offset in _RELATIVE_DAYS:
        if match := pattern.search(text):
            return DayReading(day=today + timedelta(days=offset), spans=[match.span()])
    if _TONIGHT.search(text):
        return DayReading(day=today)
    return (
        _weekday(text, today, week_starts_on) or _week(text, today, week_starts_on) or DayReading()
    )


def _iso(text: str, today: date) -> DayReading | None:
    if not (match := _ISO.search(text)):
        return None
    return _dated(_safe_date(int(match[1]), int(match[2]), int(match[3])), match)


def _numeric(text: str, today: date) -> DayReading | None:
    if not (match := NUMERIC.search(text) or _DOTTED.search(text)):
        return None
    day, month, year = int(match[1]), int(match[2]), match[3]
    if year is not None:
        full_year = int(year) + (2000 if len(year) == 2 else 0)
        return _dated(_safe_date(full_year, month, day), match)
    return _dated(_upcoming(today, month, day), match)


def _day_and_month(text: str, today: date) -> DayReading | None:
    for pattern in (_DAY_MONTH, _MONTH_DAY):
        if match := pattern.search(text):
            day = int(match["day"]) if match["day"] else AR_DAY_ORDINALS.get(match["ord"], 1)
            if match["hmonth"]:
                return _dated(_upcoming_hijri(today, _HIJRI_MONTHS[match["hmonth"]], day), match)
            return _dated(_upcoming(today, _MONTHS[match["month"]], day), match)
    return None


_AFTER = re.compile(r"(?:after|بعد|عقب)\s*$")


def _month_alone(text: str, today: date) -> DayReading | None:
    for match in _MONTH_ALONE.finditer(text):
        if _AFTER.search(text[: match.start()]):  # "after Ramadan": which day? ask
            return DayReading(unclear=True, spans=[match.span()])
        if match["hmonth"] and match["hmonth"] not in _MONTH_NEEDS_DAY:
            first = _upcoming_hijri(today, _HIJRI_MONTHS[match["hmonth"]], 1, month_start=True)
            return DayReading(from_day=first, spans=[match.span()])
        if match["month"] and match["month"] not in _MONTH_NEEDS_DAY:
            first = _upcoming(today, _MONTHS[match["month"]], 1, month_start=True)
            return DayReading(from_day=first, spans=[match.span()])
    for word in re.findall(r"[a-z]{5,}", text):
        if (month := near_miss(word, _FULL_MONTHS)) and word not in _WEEKDAYS:
            start = text.index(word)
            return _day_and_month(text.replace(word, month), today) or DayReading(
                from_day=_upcoming(today, _MONTHS[month], 1, month_start=True),
                spans=[(start, start + len(word))],
            )
    return None


def _day_of_month(text: str, today: date) -> DayReading | None:
    if match := _DAY_OF_MONTH.search(text):
        raw = match["day"] or match["day2"] or match["day3"] or match["day4"]
        day = int(raw) if raw else AR_DAY_ORDINALS[match["ord"]]
        which = match["which"] or ""
        if which and re.fullmatch(_NEXT_MONTH, which):
            year, month = (today.year + today.month // 12, today.month % 12 + 1)
            return _dated(_safe_date(year, month, day), match)
        if which:  # this month's: a day gone by cannot be booked, so ask
            this_month = _safe_date(today.year, today.month, day)
            return _dated(this_month if this_month and this_month >= today else None, match)
        if day > 31:
            return DayReading(unclear=True, spans=[match.span()])
        for ahead in range(3):  # the next time this day of the month comes round
            year, month = divmod(today.month - 1 + ahead, 12)
            candidate = _safe_date(today.year + year, month + 1, day)
            if candidate is not None and candidate >= today:
                return _dated(candidate, match)
    if match := _MONTH_SHIFT.search(text):
        year, month = (today.year + today.month // 12, today.month % 12 + 1)
        return DayReading(from_day=date(year, month, 1), spans=[match.span()])
    return None


def _relative(text: str, today: date) -> DayReading | None:
    if not (match := _RELATIVE.search(text)):
        return None
    raw = match["n1"] or match["n2"] or match["n3"]
    unit = match["u1"] or match["u2"] or match["u3"]
    if raw is None:
        count = 2 if unit in {"يومين", "اسبوعين"} else 1
    elif (count := number(raw)) is None or count > 60:  # type: ignore[assignment]
        return DayReading(unclear=True, spans=[match.span()])
    weeks = unit.startswith(("week", "wk", "اسب", "اسا", "جمعه"))
    days = count * (14 if unit == "fortnight" else 7 if weeks else 1)
    return DayReading(day=today + timedelta(days=days), spans=[match.span()])


def _weekday(text: str, today: date, week_starts_on: int) -> DayReading | None:
    match = _WEEKDAY.search(text)
    name = match["name"] if match else None
    span = match.span() if match else (0, 0)
    if match is None:
        for word in re.findall(r"[a-z]{5,}", text):
            if name := near_miss(word, _FULL_WEEKDAYS):
                start = text.index(word)
                span = (start, start + len(word))
                break
        else:
            return None
    if name is None:
        return None
    if name.startswith("لل"):
        name = "ال" + name[2:]
    if _END_OF.search(text[: span[0]]):  # "آخر الجمعة", "end of the week": not one day
        return DayReading(unclear=True, spans=[span])
    ahead = (_WEEKDAYS[name] - today.weekday()) % 7
    if match and (match["nextweek"] or match["weekfirst"]):
        next_week = _next_week(today, week_starts_on)
        ahead = (next_week - today).days + (_WEEKDAYS[name] - week_starts_on) % 7
    elif match and (match["next"] or match["next2"]) and ahead == 0:
        ahead = 7  # "next Monday" said on a Monday
    return DayReading(
        day=today + timedelta(days=ahead),
        by_weekday=ahead == 0,
        weekday=_WEEKDAYS[name],
        spans=[span],
    )


def _week(text: str, today: date, week_starts_on: int) -> DayReading | None:
    if not (match := _WEEK.search(text)):
        return None
    if match["this"]:
        return DayReading(from_day=today, spans=[match.span()])
    return DayReading(from_day=_next_week(today, week_starts_on), spans=[match.span()])


def _next_week(today: date, week_starts_on: int) -> date:
    return today + timedelta(days=(week_starts_on - today.weekday() - 1) % 7 + 1)


# ------------------------------------------------------------------------------ calendars
def _dated(day: date | None, match: re.Match[str]) -> DayReading:
    return DayReading(day=day, unclear=day is None, spans=[match.span()])


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _upcoming(today: date, month: int, day: int, *, month_start: bool = False) -> date | None:
    """This year's day, or next year's once it has passed (a month: once it has ended)."""
    candidate = _safe_date(today.year, month, day)
    if candidate is None:
        return None
    passed = month < today.month if month_start else candidate < today
    return _safe_date(today.year + 1, month, day) if passed else candidate


def _upcoming_hijri(today: date, month: int, day: int, *, month_start: bool = False) -> date | None:
    """The Gregorian day of this Hijri year's day (Umm al-Qura), or next Hijri year's."""
    now = Gregorian(today.year, today.month, today.day).to_hijri()
    for year in (now.year, now.year + 1):
        if month_start and (year, month) == (now.year, now.month):
            return today
        try:
            candidate = Hijri(year, month, day).to_gregorian()
        except (ValueError, OverflowError):
            return None
        if candidate >= today:
            return date(candidate.year, candidate.month, candidate.day)
    return None
