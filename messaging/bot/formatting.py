"""Dates and times as a customer reads them: in their language, optionally with the Hijri date."""

from datetime import date, time

from django.conf import settings
from django.utils import translation
from django.utils.formats import date_format, time_format
from hijridate import Gregorian


def format_day(day: date, *, language: str, with_hijri: bool | None = None) -> str:
    """ "Sunday 29 November 2026" / "الأحد 29 نوفمبر 2026", plus "(9 Jumada al-Akhirah 1448)"."""
    with translation.override(language):
        text = date_format(day, "l j F Y")
    show_hijri = settings.SHOW_HIJRI_DATES if with_hijri is None else with_hijri
    if show_hijri and (hijri := hijri_date(day, language=language)):
        text = f"{text} ({hijri})"
    return text


def format_short_day(day: date, *, language: str) -> str:
    """ "Sun 29 Nov" / "الأحد 29 نوفمبر": fits a WhatsApp list row title (24 characters)."""
    with translation.override(language):
        return date_format(day, "l j F" if language == "ar" else "D j M")


def format_time(moment: time, *, language: str) -> str:
    """ "5:30 PM" / "5:30 م"."""
    with translation.override(language):
        return time_format(moment, "g:i A")


def hijri_date(day: date, *, language: str) -> str | None:
    """The Umm al-Qura date ("9 Jumada al-Akhirah 1448" / "9 جمادى الآخرة 1448 هـ"), or None
    outside the calendar's range (1343-1500 AH)."""
    try:
        hijri = Gregorian(day.year, day.month, day.day).to_hijri()
    except (OverflowError, ValueError):
        return None
    if language == "ar":
        return f"{hijri.day} {hijri.month_name('ar')} {hijri.year} هـ"
    return f"{hijri.day} {hijri.month_name('en')} {hijri.year} AH"
