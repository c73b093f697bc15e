"""When the clinic is closed: the reopening after a vacation (the first day it really opens), and
the active reservations that the opening hours and vacations no longer hold.

Everything that tells someone when the clinic reopens (the bot's vacation notice, the vacation
template, the reminders' wait) asks `vacation_closure`; everything that asks which reservations a
change of hours or a vacation leaves outside asks `reservations_outside_hours`.
"""

from dataclasses import dataclass
from datetime import date, time, timedelta

from reservations.models import Reservation, VacationPeriod
from reservations.services import load_calendar
from reservations.slots import Calendar

# How far `vacation_closure` looks for an open day before it says "until further notice".
LOOKAHEAD_DAYS = 366

# Why an active reservation is outside the clinic's hours (the slot engine's codes, and one more).
VACATION = "vacation"
CLOSED = "closed"  # no opening hours on that day
OUTSIDE_HOURS = "outside_hours"  # the day is open, but not at that time


@dataclass(frozen=True)
class Closure:
    """A vacation as customers live it: chained or overlapping vacations and the closed days
    between them are one closure."""

    start: date
    last_vacation_day: date | None  # the last vacation day of the chain (None: open-ended)
    reopens_on: date | None  # the first open day after it (None: until further notice)


def vacation_closure(*, vacation: VacationPeriod) -> Closure:
    """The closure `vacation` belongs to: its last vacation day and the first day after it that
    is neither on a vacation nor closed by the weekly hours or a season."""
    if vacation.end_date is None:
        return Closure(vacation.start_date, None, None)
    first = vacation.end_date + timedelta(days=1)
    calendar = load_calendar(start=first, end=first + timedelta(days=LOOKAHEAD_DAYS))
    last_vacation_day = vacation.end_date
    for offset in range(LOOKAHEAD_DAYS + 1):
        day = first + timedelta(days=offset)
        if calendar.on_vacation(day):
            last_vacation_day = day
            if _open_ended_from(calendar, day):
                return Closure(vacation.start_date, None, None)
            continue
        if calendar.slot_times(day):
            return Closure(vacation.start_date, last_vacation_day, day)
    return Closure(vacation.start_date, last_vacation_day, None)


def _open_ended_from(calendar: Calendar, day: date) -> bool:
    return any(start <= day and end is None for start, end in calendar.vacations)


def reopening_day(*, vacation: VacationPeriod) -> date | None:
    """The first day the clinic opens after `vacation`, or None (until further notice)."""
    return vacation_closure(vacation=vacation).reopens_on


def reservations_outside_hours(*, start: date, ids: list[int] | None = None) -> dict[int, str]:
    """Active reservations from `start` on (or only those of `ids`) whose slot the hours and
    vacations no longer hold, with why: VACATION, CLOSED or OUTSIDE_HOURS."""
    found = Reservation.objects.active().filter(date__gte=start)
    if ids is not None:
        found = found.filter(pk__in=ids)
    rows = list(found.values_list("pk", "date", "time_slot"))
    if not rows:
        return {}
    calendar = load_calendar(start=start, end=max(day for _, day, _ in rows))
    times: dict[date, set[time]] = {}
    outside: dict[int, str] = {}
    for pk, day, slot_time in rows:
        if calendar.on_vacation(day):
            outside[pk] = VACATION
            continue
        if day not in times:
            times[day] = set(calendar.slot_times(day))
        if not times[day]:
            outside[pk] = CLOSED
        elif slot_time not in times[day]:
            outside[pk] = OUTSIDE_HOURS
    return outside
