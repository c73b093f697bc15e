"""Strict reading of what a staff page takes from its URL: malformed input is a 400, never a 500.

Every staff view reads its GET parameters through these functions. Each returns a value the
database and the date arithmetic can use as is, or raises `BadQueryError` (a `BadRequest`), which
Django answers with the site's 400 page (`config.errors.bad_request`). Integers are ASCII digits
within a database bigint (`"²".isdigit()` is true, `int("²")` is not); dates and datetimes are
ISO 8601 in ASCII digits, real calendar days, with years far enough from 1 and 9999 that a day's
neighbours and a time zone shift stay representable. NUL bytes never get this far
(`config.middleware.MalformedRequestMiddleware`).
"""

import re
from datetime import date, datetime, time

from django.core.exceptions import BadRequest
from django.http import HttpRequest
from django.utils import timezone

BIGINT_MAX = 2**63 - 1
# A day's neighbours (the week around it, the trend around today) must stay inside date's range.
EARLIEST = date(1000, 1, 1)
LATEST = date(9000, 12, 31)
_DIGITS = re.compile(r"[0-9]{1,19}")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_TIME = re.compile(r"[0-9]{2}:[0-9]{2}")
_DATETIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?"
    r"(Z|[+-][0-9]{2}:?[0-9]{2})"
)


class BadQueryError(BadRequest, ValueError):
    """A query parameter that is not what the page expects: answered with 400.

    Also a ValueError, so that parsers below the views (cursors) can raise and catch it plainly.
    """


def parse_int(raw: str, *, name: str = "value", maximum: int = BIGINT_MAX) -> int:
    """A non-negative integer written in ASCII digits, at most `maximum`."""
    if not _DIGITS.fullmatch(raw) or int(raw) > maximum:
        raise BadQueryError(f"{name}: not a whole number from 0 to {maximum}")
    return int(raw)


def parse_date(raw: str, *, name: str = "date") -> date:
    """A calendar day written YYYY-MM-DD, between EARLIEST and LATEST."""
    try:
        if not _DATE.fullmatch(raw):
            raise ValueError(raw)
        day = date.fromisoformat(raw)
    except ValueError:
        raise BadQueryError(f"{name}: not a date (YYYY-MM-DD)") from None
    if not EARLIEST <= day <= LATEST:
        raise BadQueryError(f"{name}: out of range")
    return day


def parse_datetime(raw: str, *, name: str = "datetime") -> datetime:
    """An ISO 8601 moment with its UTC offset (naive times are ambiguous), in a sane range."""
    try:
        if not _DATETIME.fullmatch(raw):
            raise ValueError(raw)
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise BadQueryError(f"{name}: not a date and time with its offset (ISO 8601)") from None
    if timezone.is_naive(moment) or not EARLIEST <= moment.date() <= LATEST:
        raise BadQueryError(f"{name}: out of range")
    return moment


def parse_time(raw: str, *, name: str = "time") -> time:
    """A wall-clock time written HH:MM."""
    try:
        if not _TIME.fullmatch(raw):
            raise ValueError(raw)
        return time.fromisoformat(raw)
    except ValueError:
        raise BadQueryError(f"{name}: not a time (HH:MM)") from None


def query_text(request: HttpRequest, name: str, *, max_length: int = 200) -> str:
    """A free-text parameter, trimmed and cut to `max_length` characters ("" when absent)."""
    return request.GET.get(name, "").strip()[:max_length]


def query_int(request: HttpRequest, name: str, *, maximum: int = BIGINT_MAX) -> int | None:
    """An integer parameter, or None when absent or empty."""
    raw = request.GET.get(name, "")
    return parse_int(raw, name=name, maximum=maximum) if raw else None


def query_date(request: HttpRequest, name: str) -> date | None:
    raw = request.GET.get(name, "")
    return parse_date(raw, name=name) if raw else None


def query_time(request: HttpRequest, name: str) -> time | None:
    raw = request.GET.get(name, "")
    return parse_time(raw, name=name) if raw else None


def query_datetime(request: HttpRequest, name: str) -> datetime | None:
    raw = request.GET.get(name, "")
    return parse_datetime(raw, name=name) if raw else None


def query_flag(request: HttpRequest, name: str) -> bool:
    """A checkbox: "1" is on, absent or empty is off; anything else is malformed."""
    raw = request.GET.get(name, "")
    if raw not in ("", "1"):
        raise BadQueryError(f"{name}: expected 1 or nothing")
    return raw == "1"
