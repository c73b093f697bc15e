"""The booking engine: what can be booked, and booking, moving and cancelling under the rules.

The admin, the staff pages, the bot and the commands all go through these functions. Every
refusal raises a `BookingError` subclass; every change records a `notification_events` row.

Capacity holds across processes: a booking locks its customer row and then its resources on
that date (a transaction-scoped advisory lock on PostgreSQL; on SQLite the IMMEDIATE
transaction already serialises writers) before counting, and counts and writes inside that one
transaction. Which starts exist and which resource takes them is the engine of
`reservations.availability` (through `reservations.resources`), the same one that lists them.
"""

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from customers.models import Customer
from customers.phone import is_user_id, normalize_wa_id
from messaging.events import record_event
from reservations import resources as engine
from reservations import slots
from reservations.errors import (
    AlreadyBookedError,
    BookingError,
    ClosedError,
    CustomerBlockedError,
    CustomerLimitError,
    FutureAttendanceError,
    InPastError,
    InvalidNumberError,
    InvalidTypeError,
    NotActiveError,
    NotASlotError,
    PastReservationError,
    SlotFullError,
    TooFarError,
    TooSoonError,
    TypeFullError,
    UnavailableError,
    VacationError,
)
from reservations.models import (
    BookingRules,
    Reservation,
    Resource,
    Service,
    Source,
    VacationPeriod,
    WeeklySchedule,
)
from reservations.slots import Calendar, Counts, Day, Slot, WeekPlan

__all__ = [
    "AlreadyBookedError",
    "BookingError",
    "ClosedError",
    "CustomerBlockedError",
    "CustomerLimitError",
    "FutureAttendanceError",
    "InPastError",
    "InvalidNumberError",
    "InvalidTypeError",
    "NotASlotError",
    "NotActiveError",
    "PastReservationError",
    "ScheduleDay",
    "SlotFullError",
    "TooFarError",
    "TooSoonError",
    "TypeFullError",
    "UnavailableError",
    "VacationError",
    "available_slots",
    "cancel_reservation",
    "confirm_reservation",
    "load_calendar",
    "mark_attendance",
    "modify_reservation",
    "nearest_available_slots",
    "reinstate_reservation",
    "reserve_slot",
    "schedule_days",
]

logger = logging.getLogger(__name__)

MAX_RANGE_DAYS = 366
# nearest_available_slots looks this far before the wished day (and up to the horizon after).
NEAREST_LOOKBACK = timedelta(days=14)


# ---------------------------------------------------------------------------- reading


def load_calendar(*, start: date, end: date, rules: BookingRules | None = None) -> Calendar:
    """Rules (unless given), the normal week, the seasons and the vacations touching
    `start`..`end`."""
    rules = rules or BookingRules.objects.get_solo()
    week = None
    seasons = []
    for schedule in WeeklySchedule.objects.relevant_to(start, end).prefetch_related("intervals"):
        plan = WeekPlan.from_schedule(schedule)
        if schedule.is_normal_week:
            week = plan
        else:
            seasons.append(plan)
    vacations = tuple(
        VacationPeriod.objects.overlapping(start, end).values_list("start_date", "end_date")
    )
    return Calendar(rules=rules, week=week, seasons=tuple(seasons), vacations=vacations)


def count_active(*, start: date, end: date, exclude_id: int | None = None) -> Counts:
    """The clinic's active reservations per (date, time_slot, type): one grouped query over the
    range (bookings with other resources have their own engine, `reservations.resources`)."""
    reservations = Reservation.objects.active().between(start, end).of_clinic()
    if exclude_id is not None:
        reservations = reservations.exclude(pk=exclude_id)
    rows = reservations.values_list("date", "time_slot", "type").annotate(n=Count("id")).order_by()
    counts: dict[tuple[date, time], dict[int, int]] = {}
    for day, slot_time, type_, n in rows:
        counts.setdefault((day, slot_time), {})[type_] = n
    return counts


def available_slots(
    *,
    start: date,
    end: date,
    type: int | None = None,
    for_staff: bool = False,
    rules: BookingRules | None = None,
) -> list[Day]:
    """Per day from `start` to `end`, the slots that can be booked now with their remaining
    places; a day with none says why (closed, vacation, in_past, too_far, slot_full, ...).
    `rules`: the booking rules when the caller has them already."""
    _check_range(start, end)
    if type is not None:
        _check_type(type)
    return slots.build_days(
        load_calendar(start=start, end=end, rules=rules),
        start=start,
        end=end,
        counts=count_active(start=start, end=end),
        now=timezone.now(),
        type=type,
        for_staff=for_staff,
    )


def nearest_available_slots(
    *, near: datetime, type: int, limit: int, for_staff: bool = False
) -> list[Slot]:
    """Up to `limit` bookable slots closest in time to `near`, closest first."""
    _check_type(type)
    now = timezone.now()
    today = timezone.localdate(now)
    wished = timezone.localtime(near).date() if timezone.is_aware(near) else near.date()
    rules = BookingRules.objects.get_solo()
    last = wished + timedelta(days=31) if for_staff else today + timedelta(rules.max_horizon_days)
    first = max(today, min(wished, last) - NEAREST_LOOKBACK)
    if first > last:
        return []
    days = available_slots(start=first, end=last, type=type, for_staff=for_staff)
    target = near if timezone.is_aware(near) else timezone.make_aware(near)
    offered = [slot for day in days for slot in day.slots]
    offered.sort(key=lambda slot: (abs(slot.starts_at - target), slot.starts_at))
    return offered[:limit]


@dataclass(frozen=True)
class ScheduleDay:
    """A day of the staff schedule: every slot (staff limits) with its reservations."""

    day: Day
    capacity: int  # the customer-facing capacity, shown as booked/capacity
    reservations: dict[time, list[Reservation]]

    @property
    def rows(self) -> list[tuple[Slot, list[Reservation]]]:
        return [(slot, self.reservations.get(slot.time, [])) for slot in self.day.slots]

    @property
    def off_schedule(self) -> list[Reservation]:
        """Reservations at times that are no longer slots (the hours changed after booking)."""
        times = {slot.time for slot in self.day.slots}
        return [r for t, group in self.reservations.items() if t not in times for r in group]


def schedule_days(*, start: date, end: date, calendar: Calendar | None = None) -> list[ScheduleDay]:
    """The clinic's slots over `start`..`end` (the clinic resource and rows imported without a
    resource; other resources have the day board) in a fixed number of queries."""
    _check_range(start, end)
    calendar = calendar or load_calendar(start=start, end=end)
    reservations = list(
        Reservation.objects.active()
        .between(start, end)
        .of_clinic()
        .select_related("customer", "service", "resource")
    )
    counts: dict[tuple[date, time], dict[int, int]] = {}
    by_day: dict[date, dict[time, list[Reservation]]] = {}
    for reservation in reservations:
        per_type = counts.setdefault((reservation.date, reservation.time_slot), {})
        per_type[reservation.type] = per_type.get(reservation.type, 0) + 1
        by_day.setdefault(reservation.date, {}).setdefault(reservation.time_slot, []).append(
            reservation
        )
    days = slots.build_days(
        calendar,
        start=start,
        end=end,
        counts=counts,
        now=timezone.now(),
        for_staff=True,
        bookable_only=False,
    )
    return [
        ScheduleDay(
            day=day, capacity=calendar.rules.capacity, reservations=by_day.get(day.date, {})
        )
        for day in days
    ]


# ---------------------------------------------------------------------------- writing


@transaction.atomic
def reserve_slot(
    *,
    wa_id: str,
    date: date,
    time_slot: time,
    type: int | None = None,
    source: str,
    customer_name: str | None = None,
    service: Service | None = None,
    resource: Resource | None = None,
) -> Reservation:
    """Book the customer (created if new) into a start of `service` (the default service of
    visit `type` when none is named) with `resource`, or with anyone who can (the booking
    names who), or reinstate their cancelled booking of that start. Staff may book up to the
    staff limit, and are not held to the notice, the horizon or the customer's limit of
    upcoming reservations (they decide on the spot)."""
    _check_source(source)
    service = _resolve_service(service, type)
    for_staff = source == Source.STAFF
    customer = _lock_customer(_normalize(wa_id), customer_name=customer_name)
    if customer.is_blocked and not for_staff:
        raise CustomerBlockedError()
    calendar = load_calendar(start=date, end=date)
    candidates = engine.resources_for(service=service, resource=resource, for_staff=for_staff)
    engine.lock_resources(
        candidates, dates=engine.touched_dates(date, time_slot, service, calendar)
    )
    mine = Reservation.objects.for_customer(customer.wa_id).filter(date=date, time_slot=time_slot)
    if mine.active().exists():
        raise AlreadyBookedError()
    placement = engine.place_or_refuse(
        calendar, service, candidates, date, time_slot, for_staff=for_staff
    )
    engine.check_own_overlap(customer.wa_id, placement)
    if not for_staff:
        limit = calendar.rules.max_upcoming_per_customer
        upcoming = Reservation.objects.active().upcoming().for_customer(customer.wa_id)
        held = list(upcoming[:limit])
        if len(held) >= limit:
            raise CustomerLimitError(reservations=held)

    cancelled = mine.cancelled().order_by("-cancelled_at", "-id").first()
    if cancelled is None:
        reservation = Reservation(customer=customer, date=date, time_slot=time_slot, source=source)
        engine.apply_placement(reservation, placement)
        engine.save_placed(reservation)
        _record("reservation_created", reservation, source=source)
        return reservation
    previously_cancelled_at = cancelled.cancelled_at
    cancelled.status = Reservation.Status.ACTIVE
    cancelled.cancelled_at = None
    cancelled.cancelled_source = None
    cancelled.source = source
    cancelled.confirmed_at = None  # a new booking: confirmed again by the next reminder
    engine.apply_placement(cancelled, placement)
    engine.save_placed(
        cancelled,
        update_fields=[
            "status",
            "cancelled_at",
            "cancelled_source",
            "source",
            "confirmed_at",
            *engine.PLACED_FIELDS,
        ],
    )
    _record(
        "reservation_reinstated",
        cancelled,
        source=source,
        previously_cancelled_at=previously_cancelled_at.isoformat()
        if previously_cancelled_at
        else None,
    )
    return cancelled


@transaction.atomic
def modify_reservation(
    *,
    reservation: Reservation,
    date: date,
    time_slot: time,
    type: int | None = None,
    source: str,
    resource: Resource | None = None,
) -> Reservation:
    """Move an active reservation to another start and/or change its type (to that type's
    default service), under the same rules as a new booking (its own place does not count
    against the target). It keeps its service and its resource; staff may name another
    resource that delivers the service."""
    _check_source(source)
    if type is not None:
        _check_type(type)
    for_staff = source == Source.STAFF
    if resource is not None and not for_staff:
        raise ValueError("only staff may move a reservation to another resource")
    customer = _lock_customer(reservation.customer_id)
    if customer.is_blocked and not for_staff:
        raise CustomerBlockedError()
    current = (
        Reservation.objects.select_for_update(of=("self",))
        .select_related("service", "resource")
        .get(pk=reservation.pk)
    )
    if not current.is_active:
        raise NotActiveError()
    # A row imported without them is the clinic's, for its type's default service.
    service = current.service or Service.objects.default_for(current.type)
    if type is not None and type != service.type:
        service = Service.objects.default_for(type)
    target = resource or current.resource or Resource.objects.get_clinic()
    if (current.date, current.time_slot, current.service_id, current.resource_id) == (
        date,
        time_slot,
        service.pk,
        target.pk,
    ):
        return current
    if not for_staff and current.starts_at <= timezone.now():
        raise PastReservationError()
    calendar = load_calendar(start=date, end=date)
    # Moving keeps a booking of a service since deactivated; if its resource no longer delivers
    # it (or is inactive), anyone who can takes it.
    candidates = engine.resources_for(service=service, resource=target, for_staff=True)
    if not candidates and target == current.resource and resource is None:
        candidates = engine.resources_for(service=service, for_staff=True)
    engine.lock_resources(
        candidates, dates=engine.touched_dates(date, time_slot, service, calendar)
    )
    clash = Reservation.objects.active().for_customer(customer.wa_id)
    if clash.filter(date=date, time_slot=time_slot).exclude(pk=current.pk).exists():
        raise AlreadyBookedError()
    placement = engine.place_or_refuse(
        calendar, service, candidates, date, time_slot, for_staff=for_staff, exclude_id=current.pk
    )
    engine.check_own_overlap(customer.wa_id, placement, exclude_id=current.pk)

    before = _describe(current)
    if (current.date, current.time_slot) != (date, time_slot):
        current.confirmed_at = None  # the customer confirmed the old time, not this one
    current.date, current.time_slot = date, time_slot
    engine.apply_placement(current, placement)
    engine.save_placed(
        current, update_fields=["date", "time_slot", "confirmed_at", *engine.PLACED_FIELDS]
    )
    _record("reservation_updated", current, source=source, previous=before)
    _sync(reservation, current)
    return current


@transaction.atomic
def cancel_reservation(
    *, reservation: Reservation, source: str, allow_past: bool = False
) -> Reservation:
    """Cancel a reservation that has not started yet; staff may pass `allow_past=True` to cancel
    one that has. Cancelling a cancelled reservation changes nothing."""
    _check_source(source)
    current = Reservation.objects.select_for_update().get(pk=reservation.pk)
    if not current.is_active:
        return current
    now = timezone.now()
    if current.starts_at <= now and not (allow_past and source == Source.STAFF):
        raise PastReservationError()
    current.status = Reservation.Status.CANCELLED
    current.cancelled_at = now
    current.cancelled_source = source
    current.save(update_fields=["status", "cancelled_at", "cancelled_source", "updated_at"])
    _record("reservation_cancelled", current, source=source)
    _sync(reservation, current)
    return current


@transaction.atomic
def reinstate_reservation(
    *, reservation: Reservation, source: str, allow_past: bool = False
) -> Reservation:
    """Undo a cancellation: the same reservation (its type, who booked it, its confirmation)
    active again, if its slot still takes it under the rules of `source` (staff: the staff
    limit) and the customer has not booked that slot again since. One that has started comes
    back only for staff passing `allow_past=True` (as for cancelling it); nothing can be booked
    into the past, so no limit applies then. Reinstating an active reservation changes nothing."""
    _check_source(source)
    for_staff = source == Source.STAFF
    customer = _lock_customer(reservation.customer_id)
    if customer.is_blocked and not for_staff:
        raise CustomerBlockedError()
    current = Reservation.objects.select_for_update().get(pk=reservation.pk)
    if current.is_active:
        return current
    # The same service with the same resource (staff change the resource by moving it after).
    service = _resolve_service(current.service, None if current.service else current.type)
    calendar = load_calendar(start=current.date, end=current.date)
    candidates = engine.resources_for(
        service=service, resource=current.resource, for_staff=for_staff
    )
    engine.lock_resources(
        candidates,
        dates=engine.touched_dates(current.date, current.time_slot, service, calendar),
    )
    mine = Reservation.objects.active().for_customer(customer.wa_id)
    if mine.filter(date=current.date, time_slot=current.time_slot).exists():
        raise AlreadyBookedError()
    fields = ["status", "cancelled_at", "cancelled_source", "updated_at"]
    if current.has_started:
        if not (allow_past and for_staff):
            raise PastReservationError()
    else:
        placement = engine.place_or_refuse(
            calendar,
            service,
            candidates,
            current.date,
            current.time_slot,
            for_staff=for_staff,
            exclude_id=current.pk,
        )
        engine.check_own_overlap(customer.wa_id, placement, exclude_id=current.pk)
        if not for_staff:
            limit = calendar.rules.max_upcoming_per_customer
            held = list(mine.upcoming()[:limit])
            if len(held) >= limit:
                raise CustomerLimitError(reservations=held)
        engine.apply_placement(current, placement)
        fields += engine.PLACED_FIELDS
    previously_cancelled_at = current.cancelled_at
    current.status = Reservation.Status.ACTIVE
    current.cancelled_at = None
    current.cancelled_source = None
    engine.save_placed(current, update_fields=list(dict.fromkeys(fields)))
    _record(
        "reservation_reinstated",
        current,
        source=source,
        previously_cancelled_at=previously_cancelled_at.isoformat()
        if previously_cancelled_at
        else None,
    )
    _sync(reservation, current)
    return current


@transaction.atomic
def mark_attendance(
    *, reservation: Reservation, attendance: str | None, source: str
) -> Reservation:
    """Record that the customer arrived or did not come (None clears a mis-tap). Only for active
    reservations that have started; marking the same value again changes nothing."""
    _check_source(source)
    if attendance is not None and attendance not in Reservation.Attendance.values:
        raise ValueError(
            f"unknown attendance {attendance!r}; use one of {Reservation.Attendance.values}"
        )
    current = Reservation.objects.select_for_update().get(pk=reservation.pk)
    if not current.is_active:
        raise NotActiveError()
    if attendance is not None and not current.has_started:
        raise FutureAttendanceError()
    if current.attendance != attendance:
        previous = current.attendance
        current.attendance = attendance
        current.attendance_at = timezone.now() if attendance else None
        current.save(update_fields=["attendance", "attendance_at", "updated_at"])
        _record(
            "reservation_attendance",
            current,
            source=source,
            attendance=attendance,
            previous_attendance=previous,
        )
    reservation.attendance, reservation.attendance_at = current.attendance, current.attendance_at
    reservation.updated_at = current.updated_at
    return current


@transaction.atomic
def confirm_reservation(*, reservation: Reservation, source: str) -> Reservation:
    """Record that the customer will come (a reminder's Confirm). Only for active reservations
    that have not started; confirming again changes nothing."""
    _check_source(source)
    current = Reservation.objects.select_for_update().get(pk=reservation.pk)
    if not current.is_active:
        raise NotActiveError()
    if current.has_started:
        raise PastReservationError()
    if current.confirmed_at is None:
        current.confirmed_at = timezone.now()
        current.save(update_fields=["confirmed_at", "updated_at"])
        _record("reservation_confirmed", current, source=source)
    reservation.confirmed_at, reservation.updated_at = current.confirmed_at, current.updated_at
    return current


# ---------------------------------------------------------------------------- helpers


def _check_range(start: date, end: date) -> None:
    if end < start:
        raise ValueError("end is before start")
    if (end - start).days >= MAX_RANGE_DAYS:
        raise ValueError(f"ask for at most {MAX_RANGE_DAYS} days at a time")


def _check_type(type: int) -> None:
    if type not in Reservation.Type.values:
        raise InvalidTypeError()


def _check_source(source: str) -> None:
    if source not in Source.values:
        raise ValueError(f"unknown source {source!r}; use one of {Source.values}")


def _normalize(wa_id: str) -> str:
    """The customer key for `wa_id`: a number in any typed form, or a business-scoped user id
    (the key of a customer WhatsApp gave us no number for)."""
    if is_user_id(wa_id):
        return wa_id
    try:
        return normalize_wa_id(wa_id)
    except ValidationError as exc:
        raise InvalidNumberError() from exc


def _lock_customer(wa_id: str, *, customer_name: str | None = None) -> Customer:
    """Create the customer if new and lock the row, so that two bookings for one customer
    cannot both pass the upcoming-reservations limit."""
    name = (customer_name or "").strip() or None
    Customer.objects.get_or_create(wa_id=wa_id, defaults={"customer_name": name})
    customer = Customer.objects.select_for_update().get(pk=wa_id)
    if name and not customer.customer_name:
        customer.customer_name = name
        customer.save(update_fields=["customer_name", "updated_at"])
    return customer


def _resolve_service(service: Service | None, type: int | None) -> Service:
    if service is not None:
        if type is not None and type != service.type:
            raise InvalidTypeError()  # the type comes from the service
        return service
    if type is None:
        raise InvalidTypeError()
    _check_type(type)
    return Service.objects.default_for(type)


def _describe(reservation: Reservation) -> dict[str, Any]:
    return {
        "date": reservation.date.isoformat(),
        "time_slot": reservation.time_slot.strftime("%H:%M"),
        "type": reservation.type,
    }


def _record(event_type: str, reservation: Reservation, *, source: str, **extra: Any) -> None:
    data = {
        "reservation_id": reservation.pk,
        "wa_id": reservation.customer_id,
        **_describe(reservation),
        "end_time": reservation.end_time.strftime("%H:%M") if reservation.end_time else None,
        "service_id": reservation.service_id,
        "resource_id": reservation.resource_id,
        "status": reservation.status,
        "source": str(source),
        **extra,
    }
    record_event(event_type=event_type, data=data, wa_id=reservation.customer_id)
    # The number is personal data: logs name the reservation only.
    logger.info("%s reservation %s (%s)", event_type, reservation.pk, source)


SYNCED_FIELDS: tuple[str, ...] = ("date", "time_slot", "type", "status", "cancelled_at")
SYNCED_FIELDS += ("cancelled_source", "service", "resource", "end_time", "blocked_from")
SYNCED_FIELDS += ("blocked_until", "exclusive", "confirmed_at")


def _sync(target: Reservation, source: Reservation) -> None:
    """Bring the caller's instance up to date with the row that was written."""
    for name in SYNCED_FIELDS:
        setattr(target, name, getattr(source, name))
    target.updated_at = source.updated_at
