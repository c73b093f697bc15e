"""Understand the simple free text customers type, in Arabic and English.

Pure functions, no database: keywords ("book", "حجز"), dates ("tomorrow", "الأحد", "24-11",
"24/11/2026") and times ("5pm", "5 م", "17:00"). Anything not understood gives None, so the bot
falls back to its menu rather than guessing.
"""

import re
from dataclasses import dataclass
from datetime import date, time, timedelta
from enum import StrEnum

ARABIC_LETTERS = re.compile(r"[\u0600-\u06FF\u0750-\u077F\u08A0-\u08FF\uFB50-\uFDFF\uFE70-\uFEFF]")
LATIN_LETTERS = re.compile(r"[A-Za-z]")

# Arabic-Indic (٠-٩) and Eastern Arabic-Indic (۰-۹, used in Persian/Urdu keyboards) digits.
_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")
# Letter variants people type interchangeably: alef forms, teh marbuta/heh, alef maksura/yeh;
# tatweel and diacritics are dropped.
_ARABIC_FOLD = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ة": "ه", "ى": "ي", "ـ": None})
_DIACRITICS = re.compile(r"[\u064B-\u0652\u0670]")


def normalize_text(text: str) -> str:
    """Lower-case, Western digits, folded Arabic letter variants, single spaces."""
    text = _DIACRITICS.sub("", text.translate(_DIGITS)).translate(_ARABIC_FOLD)
    text = text.replace("،", ",").replace("؟", "?")
    return re.sub(r"\s+", " ", text).strip().lower()


def detect_language(text: str) -> str | None:
    """'ar' when the text is mostly Arabic script, 'en' when mostly Latin, None otherwise."""
    arabic = len(ARABIC_LETTERS.findall(text))
    latin = len(LATIN_LETTERS.findall(text))
    if arabic == latin == 0:
        return None
    return "ar" if arabic >= latin else "en"


class Intent(StrEnum):
    BOOK = "book"
    MY_APPOINTMENTS = "my_appointments"
    MOVE = "move"
    CANCEL = "cancel"
    STAFF = "staff"
    LOCATION = "location"
    MENU = "menu"
    GREETING = "greeting"
    THANKS = "thanks"
    LANGUAGE_ARABIC = "language_ar"
    LANGUAGE_ENGLISH = "language_en"


# Checked in this order: "cancel my booking" is a cancellation, not a booking.
_KEYWORDS: list[tuple[Intent, tuple[str, ...]]] = [
    (Intent.LANGUAGE_ARABIC, ("arabic", "عربي", "العربيه")),
    (Intent.LANGUAGE_ENGLISH, ("english", "انجليزي", "انقليزي", "الانجليزيه")),
    (Intent.CANCEL, ("cancel", "الغاء", "الغي", "كنسل", "لا اريد الموعد")),
    (
        Intent.MOVE,
        ("reschedule", "move", "change", "postpone", "تغيير", "تعديل", "تاجيل", "اجل", "انقل"),
    ),
    (
        Intent.MY_APPOINTMENTS,
        ("my appointment", "my booking", "my reservation", "مواعيدي", "موعدي", "حجوزاتي", "حجزي"),
    ),
    (
        Intent.STAFF,
        (
            "staff", "human", "agent", "person", "reception", "talk to", "call me",
            "موظف", "الاستقبال", "السكرتير", "شخص", "كلمني", "اتصل",
        ),
    ),
    (
        Intent.LOCATION,
        ("location", "address", "where are you", "map", "الموقع", "العنوان", "وين", "لوكيشن"),
    ),
    (
        Intent.BOOK,
        ("book", "booking", "appointment", "reserve", "reservation", "حجز", "احجز", "موعد"),
    ),
    (Intent.THANKS, ("thank", "thanks", "شكرا", "مشكور", "يعطيك العافيه")),
    (Intent.MENU, ("menu", "help", "start", "options", "القائمه", "مساعده", "ابدا")),
    (
        Intent.GREETING,
        ("hello", "hi", "hey", "good morning", "good evening",
         "السلام", "مرحبا", "اهلا", "هلا", "صباح الخير", "مساء الخير"),
    ),
]  # fmt: skip


def parse_intent(text: str) -> Intent | None:
    """The first intent whose keyword appears as a word (or phrase) in the text."""
    normalized = normalize_text(text)
    for intent, keywords in _KEYWORDS:
        for keyword in keywords:
            if _contains_word(normalized, normalize_text(keyword)):
                return intent
    return None


def _contains_word(text: str, phrase: str) -> bool:
    # Arabic words take attached prefixes: a conjunction or preposition (و ف ب ل) and, for a word
    # without its own article, the article (ال, or لل after ل). A phrase written with the article
    # keeps it required, so "الاحد" (Sunday) does not match "واحد" (one). English matches whole
    # words, plural allowed ("hi" is not "this"; "my appointments" is "my appointment").
    if ARABIC_LETTERS.search(phrase):
        if phrase.startswith("ال"):
            pattern = rf"(?:^|[\s,.!?])(?:و|ف|ب)?(?:ال|لل){re.escape(phrase[2:])}"
        else:
            pattern = rf"(?:^|[\s,.!?])(?:و|ف|ب|ل)?(?:ال|ل)?{re.escape(phrase)}"
        return re.search(pattern, text) is not None
    return re.search(rf"\b{re.escape(phrase)}s?\b", text) is not None


# --------------------------------------------------------------------------- dates

_WEEKDAYS: dict[str, int] = {
    # Monday is 0, as in date.weekday(). No bare "احد"/"اثنين": they also mean "one"/"two".
    "monday": 0, "mon": 0, "الاثنين": 0, "الاتنين": 0,
    "tuesday": 1, "tue": 1, "tues": 1, "الثلاثاء": 1, "الثلاثا": 1, "ثلاثاء": 1,
    "wednesday": 2, "wed": 2, "الاربعاء": 2, "الاربعا": 2, "اربعاء": 2,
    "thursday": 3, "thu": 3, "thur": 3, "thurs": 3, "الخميس": 3, "خميس": 3,
    "friday": 4, "fri": 4, "الجمعه": 4, "جمعه": 4,
    "saturday": 5, "sat": 5, "السبت": 5, "سبت": 5,
    "sunday": 6, "sun": 6, "الاحد": 6,
}  # fmt: skip

_RELATIVE_DAYS: list[tuple[tuple[str, ...], int]] = [
    (("day after tomorrow", "بعد بكره", "بعد بكرا", "بعد غد", "بعد الغد"), 2),
    (("tomorrow", "tmrw", "tmr", "بكره", "بكرا", "غدا", "غدوه", "الغد"), 1),
    (("today", "tonight", "اليوم", "الليله"), 0),
]

_NUMERIC_DATE = re.compile(
    r"(?<!\d)(\d{1,2})\s*[-/.]\s*(\d{1,2})(?:\s*[-/.]\s*(\d{2}|\d{4}))?(?!\d)"
)
_ISO_DATE = re.compile(r"(?<!\d)(\d{4})-(\d{1,2})-(\d{1,2})(?!\d)")


def parse_date(text: str, *, today: date) -> date | None:
    """The day a customer means, never in the past.

    Relative days, weekday names (the next such day, today included) and numeric day-month forms
    (24-11, 24/11, 24.11.2026, 2026-11-24). A day-month without a year that has passed this
    year means next year.
    """
    normalized = normalize_text(text)
    if match := _ISO_DATE.search(normalized):
        return _safe_date(int(match[1]), int(match[2]), int(match[3]))
    if match := _NUMERIC_DATE.search(normalized):
        day, month, year = int(match[1]), int(match[2]), match[3]
        if year is not None:
            full_year = int(year) + (2000 if len(year) == 2 else 0)
            return _safe_date(full_year, month, day)
        candidate = _safe_date(today.year, month, day)
        if candidate is not None and candidate < today:
            candidate = _safe_date(today.year + 1, month, day)
        return candidate
    for phrases, offset in _RELATIVE_DAYS:
        if any(_contains_word(normalized, normalize_text(p)) for p in phrases):
            return today + timedelta(days=offset)
    for name, weekday in _WEEKDAYS.items():
        if _contains_word(normalized, normalize_text(name)):
            return today + timedelta(days=(weekday - today.weekday()) % 7)
    return None


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


# --------------------------------------------------------------------------- times


@dataclass(frozen=True)
class TimeCandidates:
    """The times a customer may mean: one when it is clear, two for a bare "5" (05:00/17:00)."""

    times: tuple[time, ...]

    @property
    def is_ambiguous(self) -> bool:
        return len(self.times) > 1


_PM_WORDS = (
    "pm", "p.m.", "م", "مساء", "مساءا", "المساء", "بالليل", "الليل", "العصر", "عصرا", "بعد الظهر",
    "الظهر",
)  # fmt: skip
_AM_WORDS = ("am", "a.m.", "ص", "صباحا", "صباح", "الصباح", "الصبح")
_MARKERS = sorted((normalize_text(w) for w in _PM_WORDS + _AM_WORDS), key=len, reverse=True)
_PM_MARKERS = {normalize_text(w) for w in _PM_WORDS}
_TIME = re.compile(
    r"(?<![\d/.-])(\d{1,2})(?:\s*[:.]\s*(\d{2}))?"
    # a marker must end a word: "5 م" is 5 p.m., "5 مواعيد" is not
    rf"(?:\s*({'|'.join(re.escape(m) for m in _MARKERS)})(?=$|[\s,.!?]))?"
    r"(?![\d/-])"
)
_HOUR_WORDS = ("at", "الساعه", "ساعه", "around", "حوالي", "on")


def parse_time(text: str) -> TimeCandidates | None:
    """The time of day in the text: "5pm", "5:30 pm", "17:00", "5 م", "الساعة 5 مساء", "at 5".

    A bare hour from 1 to 11 ("at 5", "الساعة 5") is ambiguous and gives both readings, the
    afternoon one first (clinics are mostly open then). Numbers that are part of a date are not
    read as times.
    """
    normalized = normalize_text(_NUMERIC_DATE.sub(" ", _ISO_DATE.sub(" ", normalize_text(text))))
    for match in _TIME.finditer(normalized):
        hour, minute, marker = int(match[1]), int(match[2] or 0), match[3]
        has_colon = match[2] is not None
        if minute > 59:
            continue
        if marker:
            if not 1 <= hour <= 12:
                continue
            is_pm = marker in _PM_MARKERS
            hour = hour % 12 + (12 if is_pm else 0)
            return TimeCandidates((time(hour, minute),))
        if has_colon and 0 <= hour <= 23:
            if hour >= 13 or hour == 0:
                return TimeCandidates((time(hour, minute),))
            if hour == 12:
                return TimeCandidates((time(12, minute),))
            return TimeCandidates((time(hour + 12, minute), time(hour, minute)))
        if _preceded_by_hour_word(normalized, match.start()) and 1 <= hour <= 23:
            if hour >= 12:
                return TimeCandidates((time(hour, minute),))
            return TimeCandidates((time(hour + 12, minute), time(hour, minute)))
    return None


def _preceded_by_hour_word(text: str, position: int) -> bool:
    before = text[:position].rstrip().split(" ")
    return bool(before) and before[-1] in _HOUR_WORDS
