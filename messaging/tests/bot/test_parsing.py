import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from messaging.bot.parsing import (
    Intent,
    detect_language,
    normalize_text,
    parse_date,
    parse_intent,
    parse_time,
)

MONDAY = dt.date(2026, 11, 23)


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("I'd like to book an appointment", Intent.BOOK),
        ("أبغى أحجز موعد", Intent.BOOK),
        ("ابي موعد للحجز", Intent.BOOK),
        ("please cancel my booking", Intent.CANCEL),
        ("إلغاء الموعد", Intent.CANCEL),
        ("can I reschedule?", Intent.MOVE),
        ("ابغى اغير الموعد، تأجيل", Intent.MOVE),
        ("my appointments", Intent.MY_APPOINTMENTS),
        ("مواعيدي", Intent.MY_APPOINTMENTS),
        ("talk to staff", Intent.STAFF),
        ("ابغى اكلم موظف", Intent.STAFF),
        ("where are you located? address please", Intent.LOCATION),
        ("وين موقعكم", Intent.LOCATION),
        ("السلام عليكم", Intent.GREETING),
        ("Hi!", Intent.GREETING),
        ("شكراً جزيلاً", Intent.THANKS),
        ("English please", Intent.LANGUAGE_ENGLISH),
        ("عربي", Intent.LANGUAGE_ARABIC),
    ],
)
def test_keywords_in_both_languages(text, intent):
    assert parse_intent(text) == intent


@pytest.mark.parametrize("text", ["this is it", "ok", "🙂", "", "whatever works"])
def test_unplaced_text_has_no_intent(text):
    assert parse_intent(text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("today", MONDAY),
        ("tomorrow at 5", dt.date(2026, 11, 24)),
        ("بكرة", dt.date(2026, 11, 24)),
        ("غداً", dt.date(2026, 11, 24)),
        ("بعد بكرة", dt.date(2026, 11, 25)),
        ("day after tomorrow", dt.date(2026, 11, 25)),
        ("الأحد", dt.date(2026, 11, 29)),
        ("يوم الخميس", dt.date(2026, 11, 26)),
        ("Sunday 5pm", dt.date(2026, 11, 29)),
        ("monday", MONDAY),  # today is a Monday: today, not in a week
        ("24-11", dt.date(2026, 11, 24)),
        ("24/11/2026", dt.date(2026, 11, 24)),
        ("٢٤/١١", dt.date(2026, 11, 24)),
        ("1/1", dt.date(2027, 1, 1)),  # passed this year: next year
        ("5.12.26", dt.date(2026, 12, 5)),
        ("2026-12-05", dt.date(2026, 12, 5)),
    ],
)
def test_dates(text, expected):
    assert parse_date(text, today=MONDAY) == expected


@pytest.mark.parametrize("text", ["30/2", "موعد واحد", "two appointments", "hello", "32-01"])
def test_no_date(text):
    assert parse_date(text, today=MONDAY) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("5pm", [dt.time(17, 0)]),
        ("5 PM", [dt.time(17, 0)]),
        ("5:30 pm", [dt.time(17, 30)]),
        ("10 a.m.", [dt.time(10, 0)]),
        ("12 am", [dt.time(0, 0)]),
        ("12 pm", [dt.time(12, 0)]),
        ("17:00", [dt.time(17, 0)]),
        ("5 م", [dt.time(17, 0)]),
        ("٥:٣٠ م", [dt.time(17, 30)]),
        ("الساعة ٥ مساءً", [dt.time(17, 0)]),
        ("بكرة الساعة 4 العصر", [dt.time(16, 0)]),
        ("10 صباحا", [dt.time(10, 0)]),
        ("at 5", [dt.time(17, 0), dt.time(5, 0)]),
        ("الساعة 11", [dt.time(11, 0), dt.time(23, 0)]),  # a clinic's 11 is in the morning
        ("4:30", [dt.time(16, 30), dt.time(4, 30)]),
        ("24/11 at 5pm", [dt.time(17, 0)]),
    ],
)
def test_times(text, expected):
    candidates = parse_time(text)
    assert candidates is not None
    assert list(candidates.times) == expected
    assert candidates.is_ambiguous == (len(expected) > 1)


@pytest.mark.parametrize("text", ["5 مواعيد", "I want 3 appointments", "24/11", "25:00", "5:75 pm"])
def test_no_time(text):
    assert parse_time(text) is None


def test_language_detection():
    assert detect_language("السلام عليكم") == "ar"
    assert detect_language("Hello there") == "en"
    assert detect_language("ok حجز موعد") == "ar"
    assert detect_language("👍 123") is None


def test_normalize_folds_arabic_variants_and_digits():
    assert normalize_text("  إلغاء   الموعدـ ١٢ ") == "الغاء الموعد 12"


@given(st.text(max_size=200))
def test_parsers_never_raise_on_any_text(text):
    parse_intent(text)
    parse_date(text, today=MONDAY)
    parse_time(text)
    detect_language(text)


@given(st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2100, 1, 1)))
def test_parsed_dates_are_never_in_the_past(today):
    for text in ("1/1", "today", "الجمعة", "29/2", "31-12"):
        parsed = parse_date(text, today=today)
        assert parsed is None or parsed >= today
