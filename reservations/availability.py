"""The resource engine: free start times of a service with one resource or with "anyone who
can", from the clinic's calendar (hours, seasons, vacations, rules), each resource's own hours
and exceptions, and the bookings they already hold. Pure functions, no database access: the
loaders in `reservations.resources` feed them, and the booking service checks a start with the
very same `evaluate_start`, so what is offered and what is accepted cannot drift apart.

A start is offered when the service (its duration, the clinic slot's length for a one-slot
service) fits inside the clinic's opening interval and the resource's working hours, misses
the resource's exceptions, and the range it blocks (buffers included) never overlaps more of
the resource's bookings than its capacity allows. Starts step from the beginning of each
window (clinic hours meeting the resource's hours) by the service's own step, or else by the
clinic's slot length. With the clinic as the only resource and one-slot services this is
exactly the slot engine of `reservations.slots`.

"Anyone": at each start the bookable resource least booked that day wins, then by name, then
by id, so the same inputs always name the same resource.
"""

import bisect
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, NamedTuple

from django.utils import timezone

from reservations import slots
from reservations.models import BookingRules
from reservations.slots import Calendar, WeekPlan

UNAVAILABLE = "unavailable"  # the resource does not work then (its hours or an exception)
NOT_A_SLOT = "not_a_slot"
ALREADY_BOOKED = "already_booked"
CUSTOMER_LIMIT = "customer_limit"

Span = tuple[time, time]
Hours = Mapping[int, tuple[Span, ...]]  # weekday -> sorted spans


@dataclass(frozen=True)
class ServicePlan:
    """A service as the engine sees it (`id` None: a service not saved, e.g. in tests)."""

    id: int | None
    type: int
    duration_minutes: int
    lasts_one_slot: bool = False
    buffer_before: int = 0
    buffer_after: int = 0
    step_minutes: int | None = None
    min_notice_minutes: int | None = None
    max_horizon_days: int | None = None

    @classmethod
    def from_service(cls, service: Any) -> "ServicePlan":
        return cls(
            id=service.pk,
            type=service.type,
            duration_minutes=service.duration_minutes,
            lasts_one_slot=service.lasts_one_slot,
            buffer_before=service.buffer_before_minutes,
            buffer_after=service.buffer_after_minutes,
            step_minutes=service.step_minutes,
            min_notice_minutes=service.min_notice_minutes,
            max_horizon_days=service.max_horizon_days,
        )

    def length(self, plan: WeekPlan) -> timedelta:
        return timedelta(
            minutes=plan.slot_minutes if self.lasts_one_slot else self.duration_minutes
        )

    def step(self, plan: WeekPlan) -> timedelta:
        return timedelta(minutes=self.step_minutes or plan.slot_minutes)

    def notice(self, rules: BookingRules) -> int:
        return (
            rules.min_notice_minutes if self.min_notice_minutes is None else self.min_notice_minutes
        )

    def horizon(self, rules: BookingRules) -> int:
        return rules.max_horizon_days if self.max_horizon_days is None else self.max_horizon_days


@dataclass(frozen=True)
class ResourcePlan:
    """A resource's capacity, weekly hours (None: the clinic's) and exceptions."""

    id: int
    name: str
    capacity: int = 1
    is_clinic: bool = False
    week: Hours | None = None
    # (first day, last day, hours) of the clinic seasons it has its own hours for
    seasons: tuple[tuple[date, date, Hours], ...] = ()
    # date -> blocked spans; (None, None) is the whole day
    exceptions: Mapping[date, tuple[tuple[time | None, time | None], ...]] = field(
        default_factory=dict
    )

    def limit(self, rules: BookingRules, *, for_staff: bool) -> int:
        """How many bookings may overlap at once (the clinic: the rules per slot)."""
        if self.is_clinic:
            return rules.staff_capacity if for_staff else rules.capacity
        return self.capacity

    def type_limit(self, rules: BookingRules, type: int, *, for_staff: bool) -> int | None:
        return rules.type_capacity(type) if self.is_clinic and not for_staff else None

    def hours_on(self, day: date) -> tuple[Span, ...] | None:
        """Its own spans on `day`, or None when it follows the clinic's hours."""
        for first, last, hours in self.seasons:
            if first <= day <= last:
                return hours.get(day.weekday(), ())
        if self.week is None:
            return None
        return self.week.get(day.weekday(), ())

    def off(self, day: date, start: datetime, end: datetime) -> bool:
        """Whether an exception of `day` blocks any of `start`..`end` (local, naive)."""
        for blocked_from, blocked_until in self.exceptions.get(day, ()):
            if blocked_from is None or blocked_until is None:
                return True
            if datetime.combine(day, blocked_from) < end and start < datetime.combine(
                day, blocked_until
            ):
                return True
        return False


class Busy(NamedTuple):
    """One active booking's blocked range (aware, buffers included; UTC compares fastest)."""

    resource_id: int
    start: datetime
    end: datetime
    type: int
    day: date  # its clinic-local date, for "least booked that day"


@dataclass(frozen=True)
class Start:
    date: date
    time: time
    starts_at: datetime
    ends_at: datetime
    resource_id: int
    resource_name: str
    capacity: int  # how many may overlap (the audience's limit)
    booked: int  # the most bookings overlapping its blocked range at once
    remaining: int  # places left (0 when refused)
    refusal: str | None

    @property
    def bookable(self) -> bool:
        return self.refusal is None


@dataclass(frozen=True)
class ServiceDay:
    date: date
    reason: str | None  # why nothing can be booked that day, or None
    starts: tuple[Start, ...] = ()


class BusyIndex:
    """Bookings per resource, sorted by start, for fast overlap lookups."""

    def __init__(self, busy: Iterable[Busy] = ()) -> None:
        self._by_resource: dict[int, list[Busy]] = {}
        self._per_day: dict[tuple[int, date], int] = {}
        for item in busy:
            key = (item.resource_id, item.day)
            self._per_day[key] = self._per_day.get(key, 0) + 1
            self._by_resource.setdefault(item.resource_id, []).append(item)
        self._starts: dict[int, list[datetime]] = {}
        self._longest: dict[int, timedelta] = {}
        for resource_id, items in self._by_resource.items():
            items.sort(key=lambda item: item.start)
            self._starts[resource_id] = [item.start for item in items]
            self._longest[resource_id] = max(item.end - item.start for item in items)

    def overlapping(self, resource_id: int, start: datetime, end: datetime) -> list[Busy]:
        items = self._by_resource.get(resource_id)
        if not items:
            return []
        starts = self._starts[resource_id]
        first = bisect.bisect_left(starts, start - self._longest[resource_id])
        last = bisect.bisect_left(starts, end)
        return [item for item in items[first:last] if item.end > start]

    def booked_on(self, resource_id: int, day: date) -> int:
        return self._per_day.get((resource_id, day), 0)


def peak(items: Sequence[Busy], start: datetime, end: datetime, type: int | None = None) -> int:
    """The most of `items` (of `type`, if given) overlapping at one instant of start..end."""
    events: list[tuple[datetime, int]] = []
    for item in items:
        if (type is None or item.type == type) and item.start < end and start < item.end:
            events.append((max(item.start, start), 1))
            events.append((min(item.end, end), -1))
    events.sort()  # at one instant an end (-1) sorts before a start (+1): ranges are half-open
    most = current = 0
    for _moment, change in events:
        current += change
        most = max(most, current)
    return most


def windows(calendar: Calendar, resource: ResourcePlan, day: date) -> list[Span]:
    """Where the clinic's opening intervals meet the resource's hours on `day`."""
    plan = calendar.plan_for(day)
    if plan is None or calendar.on_vacation(day):
        return []
    clinic = plan.hours.get(day.weekday(), ())
    own = resource.hours_on(day)
    if own is None:
        return list(clinic)
    found = []
    for opens, closes in clinic:
        for works_from, works_until in own:
            low, high = max(opens, works_from), min(closes, works_until)
            if low < high:
                found.append((low, high))
    return sorted(found)


def start_times(
    calendar: Calendar, service: ServicePlan, resource: ResourcePlan, day: date
) -> list[time]:
    """The grid of starts whose service fits a window, before exceptions and bookings."""
    plan = calendar.plan_for(day)
    if plan is None:
        return []
    return _grid(day, windows(calendar, resource, day), service.length(plan), service.step(plan))


def _grid(day: date, spans: Iterable[Span], length: timedelta, step: timedelta) -> list[time]:
    """The starts of the windows' grid, but for wall times the clocks skip (`slots.slot_times`)."""
    times: list[time] = []
    for opens, closes in spans:
        moment = datetime.combine(day, opens)
        last = datetime.combine(day, closes) - length
        while moment <= last:
            times.append(moment.time())
            moment += step
    return slots.without_skipped_times(day, times)


def why_not(
    calendar: Calendar, service: ServicePlan, resource: ResourcePlan, day: date, at: time
) -> str | None:
    """Why `at` is not a start of the service with the resource at all, or None if it is."""
    if calendar.on_vacation(day):
        return slots.VACATION
    plan = calendar.plan_for(day)
    if plan is None or not plan.hours.get(day.weekday()):
        return slots.CLOSED
    if at in start_times(calendar, service, resource, day):
        moment = datetime.combine(day, at)
        if resource.off(day, moment, moment + service.length(plan)):
            return UNAVAILABLE
        return None
    if not any(opens <= at < closes for opens, closes in plan.hours.get(day.weekday(), ())):
        return slots.CLOSED
    if not any(low <= at < high for low, high in windows(calendar, resource, day)):
        return UNAVAILABLE
    return NOT_A_SLOT


def evaluate_start(
    calendar: Calendar,
    service: ServicePlan,
    resource: ResourcePlan,
    day: date,
    at: time,
    *,
    busy: BusyIndex,
    now: datetime,
    for_staff: bool = False,
    today: date | None = None,
) -> Start:
    """The verdict on one start of the grid (see `why_not` for times off the grid)."""
    rules = calendar.rules
    plan = calendar.plan_for(day)
    length = service.length(plan) if plan else timedelta(0)
    today = today or timezone.localtime(now).date()
    starts_at = timezone.make_aware(datetime.combine(day, at))
    ends_at = starts_at + length
    refusal = _time_refusal(
        rules, service, day, starts_at, ends_at, now=now, today=today, for_staff=for_staff
    )
    return _judge(
        rules,
        service,
        resource,
        day,
        at,
        starts_at,
        ends_at,
        busy=busy,
        for_staff=for_staff,
        refusal=refusal,
    )


def _time_refusal(
    rules: BookingRules,
    service: ServicePlan,
    day: date,
    starts_at: datetime,
    ends_at: datetime,
    *,
    now: datetime,
    today: date,
    for_staff: bool,
) -> str | None:
    """The refusal that depends on the moment only (the same for every resource), or None."""
    deadline = starts_at if rules.bookable_until == BookingRules.BookableUntil.START else ends_at
    notice = service.notice(rules)
    if now >= deadline:
        return slots.IN_PAST
    if not for_staff and notice and starts_at < now + timedelta(minutes=notice):
        return slots.TOO_SOON
    if not for_staff and day > today + timedelta(days=service.horizon(rules)):
        return slots.TOO_FAR
    return None


def _judge(
    rules: BookingRules,
    service: ServicePlan,
    resource: ResourcePlan,
    day: date,
    at: time,
    starts_at: datetime,
    ends_at: datetime,
    *,
    busy: BusyIndex,
    for_staff: bool,
    refusal: str | None,
) -> Start:
    """The verdict for `resource` at a start, given the moment's own refusal (if any)."""
    # Compare in UTC: the bookings are stored so, and equal time zones compare cheaply.
    utc_start, utc_end = starts_at.astimezone(UTC), ends_at.astimezone(UTC)
    blocked_from = utc_start - timedelta(minutes=service.buffer_before)
    blocked_until = utc_end + timedelta(minutes=service.buffer_after)
    around = busy.overlapping(resource.id, blocked_from, blocked_until)
    booked = peak(around, blocked_from, blocked_until) if around else 0
    capacity = resource.limit(rules, for_staff=for_staff)
    remaining = capacity - booked
    type_limit = resource.type_limit(rules, service.type, for_staff=for_staff)
    if type_limit is not None:
        of_type = peak(around, blocked_from, blocked_until, service.type) if around else 0
        remaining = min(remaining, type_limit - of_type)
    if refusal is None:
        if booked >= capacity:
            refusal = slots.SLOT_FULL
        elif remaining <= 0:
            refusal = slots.TYPE_FULL
    return Start(
        date=day,
        time=at,
        starts_at=starts_at,
        ends_at=ends_at,
        resource_id=resource.id,
        resource_name=resource.name,
        capacity=capacity,
        booked=booked,
        remaining=max(remaining, 0) if refusal is None else 0,
        refusal=refusal,
    )


def _rank(busy: BusyIndex, resource_id: int, name: str, day: date) -> tuple[int, str, int]:
    return busy.booked_on(resource_id, day), name.casefold(), resource_id


def choose(candidates: Sequence[Start], busy: BusyIndex) -> Start:
    """Anyone: the bookable start whose resource is least booked that day, then by name and
    id; when none is bookable, the first refusal in that same order."""

    def rank(start: Start) -> tuple[int, str, int]:
        return _rank(busy, start.resource_id, start.resource_name, start.date)

    bookable = [start for start in candidates if start.bookable]
    return min(bookable or candidates, key=rank)


def build_service_days(
    calendar: Calendar,
    service: ServicePlan,
    resources: Sequence[ResourcePlan],
    *,
    start: date,
    end: date,
    busy: BusyIndex,
    now: datetime,
    for_staff: bool = False,
    bookable_only: bool = True,
    refuse_all: str | None = None,
    refuse_ranges: Sequence[tuple[datetime, datetime]] = (),
) -> list[ServiceDay]:
    """Every day from `start` to `end` with its starts, each naming its resource (chosen among
    `resources` as `choose` does). `refuse_all` refuses every start (e.g. the customer's limit);
    `refuse_ranges` refuses starts overlapping them (the customer's own bookings)."""
    days = []
    today = timezone.localtime(now).date()
    for day in slots.dates_between(start, end):
        if calendar.on_vacation(day):
            days.append(ServiceDay(date=day, reason=slots.VACATION))
            continue
        plan = calendar.plan_for(day)
        if plan is None or not plan.hours.get(day.weekday()):
            days.append(ServiceDay(date=day, reason=slots.CLOSED))
            continue
        length = service.length(plan)
        # The resources in `choose`'s order (its rank is fixed for the day), and per start the
        # ones working then: the first bookable one wins, so the rest need no verdict.
        ranked = sorted(resources, key=lambda r: _rank(busy, r.id, r.name, day))
        working: dict[time, list[ResourcePlan]] = {}
        grids: dict[tuple[Span, ...], list[time]] = {}  # resources with equal windows share
        for resource in ranked:
            spans = tuple(windows(calendar, resource, day))
            if spans not in grids:
                grids[spans] = _grid(day, spans, length, service.step(plan))
            times = grids[spans]
            if resource.exceptions.get(day):
                times = [
                    at
                    for at in times
                    if not resource.off(
                        day, datetime.combine(day, at), datetime.combine(day, at) + length
                    )
                ]
            for at in times:
                working.setdefault(at, []).append(resource)
        chosen = []
        for at in sorted(working):
            starts_at = timezone.make_aware(datetime.combine(day, at))
            ends_at = starts_at + length
            moment_refusal = _time_refusal(
                calendar.rules,
                service,
                day,
                starts_at,
                ends_at,
                now=now,
                today=today,
                for_staff=for_staff,
            )
            winner: Start | None = None
            first: Start | None = None
            for resource in working[at]:
                verdict = _judge(
                    calendar.rules,
                    service,
                    resource,
                    day,
                    at,
                    starts_at,
                    ends_at,
                    busy=busy,
                    for_staff=for_staff,
                    refusal=moment_refusal,
                )
                if verdict.bookable:
                    winner = verdict
                    break
                first = first or verdict
                if moment_refusal is not None:
                    break  # refused for the moment itself: so is every resource
            winner = winner or first
            if winner is not None:  # always: each start has a resource working then
                chosen.append(winner)
        if refuse_all or refuse_ranges:
            chosen = [_refuse(item, refuse_all, refuse_ranges) for item in chosen]
        if not chosen:
            # Nothing fits: the clinic's own grid is empty too (closed), or the resources are off.
            nothing = slots.CLOSED if not calendar.slot_times(day) else UNAVAILABLE
            days.append(ServiceDay(date=day, reason=nothing))
            continue
        offered = [item for item in chosen if item.bookable]
        days.append(
            ServiceDay(
                date=day,
                reason=None if offered else chosen[-1].refusal,
                starts=tuple(offered if bookable_only else chosen),
            )
        )
    return days


def _refuse(
    item: Start, refuse_all: str | None, ranges: Sequence[tuple[datetime, datetime]]
) -> Start:
    if not item.bookable:
        return item
    if any(low < item.ends_at and item.starts_at < high for low, high in ranges):
        return _with_refusal(item, ALREADY_BOOKED)
    if refuse_all:
        return _with_refusal(item, refuse_all)
    return item


def _with_refusal(item: Start, refusal: str) -> Start:
    return replace(item, refusal=refusal, remaining=0)
