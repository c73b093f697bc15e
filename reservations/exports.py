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

from reservations.models import Reservation, ReservationQuerySet, Resource, WeeklySchedule
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
    "end_time",
    "service",
    "resource",
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
    "end_time",
    "service__name",
    "resource__name",
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
    (pk, day, slot, wa_id, name, type_, status, attendance, source, created, cancelled, by) = row[
        :12
    ]
    end, service, resource = row[12:]
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
        end.strftime("%H:%M") if end else "",
        _cell(service or ""),
        _cell(resource or ""),
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


def _feed_rows(start: date, end: date, resource: Resource | None) -> ReservationQuerySet:
    rows = Reservation.objects.between(start, end)
    if resource is None:
        return rows
    return rows.of_clinic() if resource.is_clinic else rows.filter(resource=resource)


def feed_version(*, today: date | None = None, resource: Resource | None = None) -> str:
    """Changes whenever the feed would: a cheap ETag, so that phones polling an unchanged
    schedule get a 304 without the feed being built (one indexed aggregate query)."""
    start, end = feed_window(today)
    row = _feed_rows(start, end, resource).aggregate(changed=Max("updated_at"), rows=Count("id"))
    rules = WeeklySchedule.objects.aggregate(changed=Max("updated_at"), rows=Count("id"))
    raw = f"{start}|{row['changed']}|{row['rows']}|{rules['changed']}|{rules['rows']}"
    raw += f"|{resource.pk if resource else ''}|{resource.updated_at if resource else ''}"
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


def schedule_ical(
    *, today: date | None = None, host: str = "clinic.local", resource: Resource | None = None
) -> bytes:
    """The active reservations (of `resource`, or everyone's) from a week ago to two months
    ahead as an iCalendar file: each event as long as its service, naming the service and
    the resource.

    Events are in UTC (every calendar app understands it); UIDs stay the same when a reservation
    moves, so a phone updates the event instead of adding a second one.
    """
    start, end = feed_window(today)
    calendar = load_calendar(start=start, end=end)
    feed = icalendar.Calendar()
    feed.add("prodid", "-//Clinic reservations//EN")
    feed.add("version", "2.0")
    feed.add("calscale", "GREGORIAN")
    name = f"{settings.BUSINESS_NAME} - {resource.name}" if resource else settings.BUSINESS_NAME
    feed.add("x-wr-calname", name)
    feed.add("x-wr-timezone", settings.TIME_ZONE)
    rows = (
        _feed_rows(start, end, resource)
        .active()
        .order_by("date", "time_slot", "id")
        .values_list(
            "id",
            "date",
            "time_slot",
            "end_time",
            "type",
            "service__name",
            "resource__name",
            "customer_id",
            "customer__customer_name",
            "updated_at",
        )
    )
    for row in rows.iterator(chunk_size=CHUNK_ROWS):
        pk, day, slot, end_time, type_, service, with_whom, wa_id, name, changed = row
        starts_local = timezone.make_aware(datetime.combine(day, slot))
        if end_time is not None:
            ends_day = day if end_time > slot else day + timedelta(days=1)
            ends_local = timezone.make_aware(datetime.combine(ends_day, end_time))
        else:
            ends_local = starts_local + (calendar.slot_length(day) or timedelta(minutes=30))
        what = service or str(Reservation.Type(type_).label)
        event = icalendar.Event()
        event.add("uid", f"reservation-{pk}@{host}")
        event.add("dtstamp", changed.astimezone(UTC))
        event.add("dtstart", starts_local.astimezone(UTC))
        event.add("dtend", ends_local.astimezone(UTC))
        event.add("summary", f"{name or '+' + wa_id} ({what})")
        event.add("description", f"+{wa_id}\n{what}" + (f"\n{with_whom}" if with_whom else ""))
        if with_whom:
            event.add("location", with_whom)
        feed.add_component(event)
    return feed.to_ical()
