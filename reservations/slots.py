"""The slot engine: pure functions from rules, opening hours, vacations and booking counts to
the slots of each day. No database access here; `reservations.services` loads the inputs in a
few queries and the booking workflows reuse the same verdicts, so what is offered and what is
accepted cannot drift apart.

Dates and times are the clinic's wall clock (the current time zone, TIME_ZONE by default);
`now` is an aware datetime.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from django.utils import timezone

from reservations.models import BookingRules, WeeklySchedule

# Why a day or a slot cannot be booked: the same codes as the BookingError subclasses.
CLOSED = "closed"
VACATION = "vacation"
IN_PAST = "in_past"
TOO_SOON = "too_soon"
TOO_FAR = "too_far"
SLOT_FULL = "slot_full"
TYPE_FULL = "type_full"

# (date, time_slot) -> {type: active reservations}
Counts = Mapping[tuple[date, time], Mapping[int, int]]


@dataclass(frozen=True)
class WeekPlan:
    """Opening intervals per weekday and a slot length; a season when it has dates."""

    slot_minutes: int
    hours: Mapping[int, tuple[tuple[time, time], ...]]
    start: date | None = None
    end: date | None = None

    @classmethod
    def from_schedule(cls, schedule: WeeklySchedule) -> "WeekPlan":
        """Build from a schedule whose `intervals` are prefetched."""
        hours: dict[int, list[tuple[time, time]]] = {}
        for interval in schedule.intervals.all():
            hours.setdefault(interval.weekday, []).append((interval.opens, interval.closes))
        return cls(
            slot_minutes=schedule.slot_minutes,
            hours={day: tuple(sorted(spans)) for day, spans in hours.items()},
            start=schedule.start_date,
            end=schedule.end_date,
        )

    def covers(self, day: date) -> bool:
        return self.start is None or self.end is None or self.start <= day <= self.end

    def slot_times(self, day: date) -> list[time]:
        """Start times of the whole slots that fit in the day's intervals, but for those the
        clinic's clocks skip (the hour lost when summer time starts): such a time names no
        instant, and an aware datetime built on it lies after the next slot's."""
        length = timedelta(minutes=self.slot_minutes)
        times: list[time] = []
        for opens, closes in self.hours.get(day.weekday(), ()):
            moment = datetime.combine(day, opens)
            last = datetime.combine(day, closes) - length
            while moment <= last:
                times.append(moment.time())
                moment += length
        return without_skipped_times(day, times)


def without_skipped_times(day: date, times: list[time]) -> list[time]:
    """`times` but for the wall times the current zone's clocks skip on `day` (looked for only
    on a day they jump forward)."""
    if not clocks_skip_ahead(day):
        return times
    return [at for at in times if exists_locally(day, at)]


def clocks_skip_ahead(day: date) -> bool:
    """Whether the current time zone's clocks jump forward on `day` (some wall times are lost)."""
    zone = timezone.get_current_timezone()
    starts = datetime.combine(day, time.min, tzinfo=zone).utcoffset()
    ends = datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone).utcoffset()
    return starts is not None and ends is not None and ends > starts


def exists_locally(day: date, at: time) -> bool:
    """Whether the wall time `at` on `day` happens in the current time zone."""
    naive = datetime.combine(day, at)
    there = timezone.make_aware(naive)  # through UTC: astimezone() to its own zone is a no-op
    return there.astimezone(UTC).astimezone(there.tzinfo).replace(tzinfo=None) == naive


@dataclass(frozen=True)
class Calendar:
    """Everything the engine needs besides the counts; loaded once per request."""

    rules: BookingRules
    week: WeekPlan | None
    seasons: tuple[WeekPlan, ...] = ()
    vacations: tuple[tuple[date, date | None], ...] = ()

    def plan_for(self, day: date) -> WeekPlan | None:
        for season in self.seasons:
            if season.covers(day):
                return season
        return self.week

    def on_vacation(self, day: date) -> bool:
        return any(start <= day and (end is None or day <= end) for start, end in self.vacations)

    def slot_times(self, day: date) -> list[time]:
        plan = self.plan_for(day)
        return plan.slot_times(day) if plan else []

    def slot_length(self, day: date) -> timedelta:
        plan = self.plan_for(day)
        return timedelta(minutes=plan.slot_minutes if plan else 0)


@dataclass(frozen=True)
class Slot:
    date: date
    time: time
    starts_at: datetime
    ends_at: datetime
    capacity: int  # the audience's limit: customer capacity, or the staff limit
    booked: int  # active reservations of any type
    booked_by_type: Mapping[int, int]
    remaining: int  # places left for the requested type (0 when refused)
    refusal: str | None  # why it cannot be booked, or None

    @property
    def bookable(self) -> bool:
        return self.refusal is None


@dataclass(frozen=True)
class Day:
    date: date
    reason: str | None  # why nothing can be booked (closed, vacation, in_past, ...), or None
    slots: tuple[Slot, ...] = field(default=())


def week_start(day: date, first_weekday: int) -> date:
    """The first day of the week holding `day`, for a week starting on `first_weekday`."""
    return day - timedelta(days=(day.weekday() - first_weekday) % 7)


def dates_between(start: date, end: date) -> list[date]:
    return [start + timedelta(days=offset) for offset in range((end - start).days + 1)]


def evaluate_slot(
    calendar: Calendar,
    day: date,
    start: time,
    *,
    counts: Mapping[int, int],
    now: datetime,
    type: int | None = None,
    for_staff: bool = False,
    today: date | None = None,
) -> Slot:
    """One slot's capacity and verdict for a customer (or staff) booking `type`; `today` (the
    clinic's date at `now`) may be passed in when evaluating many slots."""
    rules = calendar.rules
    today = today or timezone.localtime(now).date()
    starts_at = timezone.make_aware(datetime.combine(day, start))
    # Elapsed time, not wall-clock arithmetic: a slot always ends after it starts, DST or not.
    ends_at = starts_at + calendar.slot_length(day)
    booked = sum(counts.values())
    capacity = rules.staff_capacity if for_staff else rules.capacity
    remaining = capacity - booked
    if type is not None and not for_staff:
        type_limit = rules.type_capacity(type)
        if type_limit is not None:
            remaining = min(remaining, type_limit - counts.get(type, 0))
    deadline = starts_at if rules.bookable_until == BookingRules.BookableUntil.START else ends_at
    refusal = None
    if now >= deadline:
        refusal = IN_PAST
    elif (
        not for_staff
        and rules.min_notice_minutes
        and starts_at < now + timedelta(minutes=rules.min_notice_minutes)
    ):
        refusal = TOO_SOON
    elif not for_staff and day > today + timedelta(days=rules.max_horizon_days):
        refusal = TOO_FAR
    elif booked >= capacity:
        refusal = SLOT_FULL
    elif remaining <= 0:
        refusal = TYPE_FULL
    return Slot(
        date=day,
        time=start,
        starts_at=starts_at,
        ends_at=ends_at,
        capacity=capacity,
        booked=booked,
        booked_by_type=dict(counts),
        remaining=max(remaining, 0) if refusal is None else 0,
        refusal=refusal,
    )


def build_days(
    calendar: Calendar,
    *,
    start: date,
    end: date,
    counts: Counts,
    now: datetime,
    type: int | None = None,
    for_staff: bool = False,
    bookable_only: bool = True,
) -> list[Day]:
    """Every day from `start` to `end` with its slots (only the bookable ones by default)."""
    days = []
    empty: dict[int, int] = {}
    today = timezone.localtime(now).date()
    for day in dates_between(start, end):
        if calendar.on_vacation(day):
            days.append(Day(date=day, reason=VACATION))
            continue
        times = calendar.slot_times(day)
        if not times:
            days.append(Day(date=day, reason=CLOSED))
            continue
        slots = [
            evaluate_slot(
                calendar,
                day,
                slot_time,
                counts=counts.get((day, slot_time), empty),
                now=now,
                type=type,
                for_staff=for_staff,
                today=today,
            )
            for slot_time in times
        ]
        offered = [slot for slot in slots if slot.bookable]
        # A day with nothing left says why its last slot is refused (full, past, too far...).
        reason = None if offered else slots[-1].refusal
        days.append(Day(date=day, reason=reason, slots=tuple(offered if bookable_only else slots)))
    return days
