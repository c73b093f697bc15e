"""Reservations leaving the system: a CSV export for a date range and an iCalendar feed.

Both read through `.iterator()` and `values_list()`, so a year of reservations streams in
constant memory.
"""

import csv
import hashlib
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import icalendar
from django.conf import settings
from django.db.models import Count, Max
from django.http import StreamingHttpResponse
from django.utils import timezone

from reservations.models import Reservation, ReservationQuerySet, WeeklySchedule
from reservations.services import load_calendar

CSV_HEADER = [
    "id",
    "date",
    "time",
    "wa_id",
    "customer_name",
    "type",
    "status",
    "attendance",
    "booked_by",
    "created_at",
    "cancelled_at",
    "cancelled_by",
]
_CSV_FIELDS = [
    "id",
    "date",
    "time_slot",
    "customer_id",
    "customer__customer_name",
    "type",
    "status",
    "attendance",
    "source",
    "created_at",
    "cancelled_at",
    "cancelled_source",
]
_TYPE_NAMES = {Reservation.Type.APPOINTMENT: "appointment", Reservation.Type.FOLLOW_UP: "follow_up"}
# Spreadsheets run a cell that starts with one of these as a formula (CSV injection).
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
CHUNK_ROWS = 2000


class _Echo:
    """A file-like object whose write() returns the line, for streaming csv.writer output."""

    def write(self, value: str) -> str:
        return value


def csv_lines(queryset: ReservationQuerySet) -> Iterator[str]:
    """The CSV text of `queryset`, one line at a time (header first), oldest slot first."""
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow(CSV_HEADER)  # the BOM makes Excel read UTF-8 (Arabic names)
    rows = queryset.order_by("date", "time_slot", "id").values_list(*_CSV_FIELDS)
    for row in rows.iterator(chunk_size=CHUNK_ROWS):
        yield writer.writerow(_csv_row(row))


def _csv_row(row: tuple[Any, ...]) -> list[str]:
    (pk, day, slot, wa_id, name, type_, status, attendance, source, created, cancelled, by) = row
    return [
        str(pk),
        day.isoformat(),
        slot.strftime("%H:%M"),
        wa_id,
        _cell(name or ""),
        _TYPE_NAMES.get(type_, str(type_)),
        status,
        attendance or "",
        source,
        _local(created),
        _local(cancelled),
        by or "",
    ]


def _cell(text: str) -> str:
    return f"'{text}" if text.startswith(_FORMULA_PREFIXES) else text


def _local(moment: datetime | None) -> str:
    return timezone.localtime(moment).isoformat(timespec="seconds") if moment else ""


def csv_filename(start: date, end: date) -> str:
    return f"reservations-{start:%Y%m%d}-{end:%Y%m%d}.csv"


def csv_response(queryset: ReservationQuerySet, *, filename: str) -> StreamingHttpResponse:
    """Stream `queryset` as a CSV download."""
    response = StreamingHttpResponse(csv_lines(queryset), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# ---------------------------------------------------------------------------- iCalendar
FEED_DAYS_BEFORE = 7
FEED_DAYS_AFTER = 60


def feed_window(today: date | None = None) -> tuple[date, date]:
    today = today or timezone.localdate()
    return today - timedelta(days=FEED_DAYS_BEFORE), today + timedelta(days=FEED_DAYS_AFTER)


def feed_version(*, today: date | None = None) -> str:
    """Changes whenever the feed would: a cheap ETag, so that phones polling an unchanged
    schedule get a 304 without the feed being built (one indexed aggregate query)."""
    start, end = feed_window(today)
    row = Reservation.objects.between(start, end).aggregate(
        changed=Max("updated_at"), rows=Count("id")
    )
    rules = WeeklySchedule.objects.aggregate(changed=Max("updated_at"), rows=Count("id"))
    raw = f"{start}|{row['changed']}|{row['rows']}|{rules['changed']}|{rules['rows']}"
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


def schedule_ical(*, today: date | None = None, host: str = "clinic.local") -> bytes:
    """The active reservations from a week ago to two months ahead as an iCalendar file.

    Events are in UTC (every calendar app understands it); UIDs stay the same when a reservation
    moves, so a phone updates the event instead of adding a second one.
    """
    start, end = feed_window(today)
    calendar = load_calendar(start=start, end=end)
    feed = icalendar.Calendar()
    feed.add("prodid", "-//Clinic reservations//EN")
    feed.add("version", "2.0")
    feed.add("calscale", "GREGORIAN")
    feed.add("x-wr-calname", settings.BUSINESS_NAME)
    feed.add("x-wr-timezone", settings.TIME_ZONE)
    rows = (
        Reservation.objects.active()
        .between(start, end)
        .order_by("date", "time_slot", "id")
        .values_list(
            "id",
            "date",
            "time_slot",
            "type",
            "customer_id",
            "customer__customer_name",
            "updated_at",
        )
    )
    for pk, day, slot, type_, wa_id, name, changed in rows.iterator(chunk_size=CHUNK_ROWS):
        starts = timezone.make_aware(datetime.combine(day, slot)).astimezone(UTC)
        length = calendar.slot_length(day) or timedelta(minutes=30)
        event = icalendar.Event()
        event.add("uid", f"reservation-{pk}@{host}")
        event.add("dtstamp", changed.astimezone(UTC))
        event.add("dtstart", starts)
        event.add("dtend", starts + length)
        event.add("summary", f"{name or '+' + wa_id} ({Reservation.Type(type_).label})")
        event.add("description", f"+{wa_id}")
        feed.add_component(event)
    return feed.to_ical()
