"""Property tests of the slot engine: whatever the rules, hours, vacations, bookings, zone and
moment, no offered slot is outside opening hours, on a vacation, in the past or over capacity."""

import datetime as dt
from zoneinfo import ZoneInfo

from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st

from reservations import slots
from reservations.models import BookingRules, Weekday
from reservations.slots import Calendar, WeekPlan

SETTINGS = settings(max_examples=60, deadline=None)
ZONES = ["Asia/Riyadh", "Europe/Berlin", "America/New_York", "Pacific/Auckland"]
# Around the DST changes of Berlin (March/October) and New York (March/November) in 2026.
BASE_DAYS = [
    dt.date(2026, 3, 26),
    dt.date(2026, 10, 22),
    dt.date(2026, 11, 19),
    dt.date(2026, 3, 5),
    dt.date(2026, 12, 28),
]


def minute_time(minute):
    return dt.time(minute // 60, minute % 60)


@st.composite
def day_hours(draw):
    if draw(st.integers(0, 6)) == 0:
        return ()  # a closed day
    marks = draw(st.lists(st.integers(0, 1439), min_size=2, max_size=6, unique=True))
    marks.sort()
    if len(marks) % 2:
        marks.pop()
    return tuple(
        (minute_time(marks[i]), minute_time(marks[i + 1])) for i in range(0, len(marks), 2)
    )


@st.composite
def week_plans(draw, start=None, end=None):
    hours = {day: draw(day_hours()) for day in range(7)}
    return WeekPlan(
        slot_minutes=draw(st.sampled_from([10, 15, 20, 30, 45, 60, 90])),
        hours={day: spans for day, spans in hours.items() if spans},
        start=start,
        end=end,
    )


@st.composite
def scenarios(draw):
    base = draw(st.sampled_from(BASE_DAYS))
    capacity = draw(st.integers(1, 4))
    rules = BookingRules(
        capacity=capacity,
        staff_capacity=capacity + draw(st.integers(0, 2)),
        appointment_capacity=draw(st.none() | st.integers(0, capacity)),
        follow_up_capacity=draw(st.none() | st.integers(0, capacity)),
        min_notice_minutes=draw(st.sampled_from([0, 0, 30, 120, 1440])),
        max_horizon_days=draw(st.integers(1, 20)),
        bookable_until=draw(st.sampled_from(["start", "end"])),
    )
    season_start = base + dt.timedelta(days=draw(st.integers(0, 10)))
    seasons = draw(
        st.lists(
            week_plans(
                start=season_start, end=season_start + dt.timedelta(draw(st.integers(0, 5)))
            ),
            max_size=1,
        )
    )
    vacations = []
    for _ in range(draw(st.integers(0, 2))):
        first = base + dt.timedelta(days=draw(st.integers(-3, 14)))
        length = draw(st.none() | st.integers(0, 4))
        vacations.append((first, None if length is None else first + dt.timedelta(length)))
    calendar = Calendar(
        rules=rules, week=draw(week_plans()), seasons=tuple(seasons), vacations=tuple(vacations)
    )
    start = base + dt.timedelta(days=draw(st.integers(0, 3)))
    end = start + dt.timedelta(days=draw(st.integers(0, 10)))
    counts = {}
    for day in slots.dates_between(start, end):
        for slot_time in calendar.slot_times(day):
            if draw(st.integers(0, 3)) == 0:
                counts[(day, slot_time)] = {
                    0: draw(st.integers(0, capacity + 2)),
                    1: draw(st.integers(0, 2)),
                }
    zone = ZoneInfo(draw(st.sampled_from(ZONES)))
    # Mostly inside the range, so that "today" and its passing slots are exercised.
    now_local = dt.datetime.combine(start, dt.time()) + dt.timedelta(
        minutes=draw(st.integers(-1440, ((end - start).days + 1) * 1440))
    )
    now = now_local.replace(tzinfo=zone)
    return {
        "calendar": calendar,
        "start": start,
        "end": end,
        "counts": counts,
        "zone": zone,
        "now": now,
        "type": draw(st.sampled_from([None, 0, 1])),
        "for_staff": draw(st.booleans()),
    }


def within_opening_hours(calendar, slot):
    plan = calendar.plan_for(slot.date)
    length = dt.timedelta(minutes=plan.slot_minutes)
    start = dt.datetime.combine(slot.date, slot.time)
    return any(
        dt.datetime.combine(slot.date, opens) <= start
        and start + length <= dt.datetime.combine(slot.date, closes)
        for opens, closes in plan.hours.get(slot.date.weekday(), ())
    )


@SETTINGS
@given(scenarios())
def test_no_offered_slot_breaks_a_rule(scenario):
    calendar, now = scenario["calendar"], scenario["now"]
    rules = calendar.rules
    for_staff, type_ = scenario["for_staff"], scenario["type"]
    with timezone.override(scenario["zone"]):
        days = slots.build_days(
            calendar,
            start=scenario["start"],
            end=scenario["end"],
            counts=scenario["counts"],
            now=now,
            type=type_,
            for_staff=for_staff,
        )
        today = timezone.localtime(now).date()
        capacity = rules.staff_capacity if for_staff else rules.capacity
        assert [day.date for day in days] == slots.dates_between(scenario["start"], scenario["end"])
        for day in days:
            assert (day.reason is None) == bool(day.slots)
            if calendar.on_vacation(day.date):
                assert day.reason == slots.VACATION
            elif not calendar.slot_times(day.date):
                assert day.reason == slots.CLOSED
            for slot in day.slots:
                assert slot.date == day.date
                assert not calendar.on_vacation(slot.date)
                assert within_opening_hours(calendar, slot)
                # Not in the past: before its start, or before its end when allowed.
                deadline = slot.starts_at if rules.bookable_until == "start" else slot.ends_at
                assert now < deadline
                assert timezone.localtime(slot.starts_at).date() == slot.date
                assert slot.ends_at > slot.starts_at
                counts = scenario["counts"].get((slot.date, slot.time), {})
                assert sum(counts.values()) < capacity
                assert 1 <= slot.remaining <= capacity - sum(counts.values())
                if not for_staff:
                    assert slot.date <= today + dt.timedelta(days=rules.max_horizon_days)
                    if rules.min_notice_minutes:
                        assert slot.starts_at >= now + dt.timedelta(
                            minutes=rules.min_notice_minutes
                        )
                    limit = None if type_ is None else rules.type_capacity(type_)
                    if limit is not None:
                        assert counts.get(type_, 0) < limit


@SETTINGS
@given(scenarios())
def test_every_open_slot_not_offered_has_a_reason(scenario):
    """The converse: the engine hides a slot only for one of the known refusals."""
    calendar = scenario["calendar"]
    with timezone.override(scenario["zone"]):
        everything = slots.build_days(
            calendar,
            start=scenario["start"],
            end=scenario["end"],
            counts=scenario["counts"],
            now=scenario["now"],
            type=scenario["type"],
            for_staff=scenario["for_staff"],
            bookable_only=False,
        )
        # In the clinic's zone: a day the clocks jump has no slot at the wall times skipped.
        grid = {day.date: calendar.slot_times(day.date) for day in everything}
    known = {slots.IN_PAST, slots.TOO_SOON, slots.TOO_FAR, slots.SLOT_FULL, slots.TYPE_FULL}
    for day in everything:
        assert [slot.time for slot in day.slots] == (
            [] if calendar.on_vacation(day.date) else grid[day.date]
        )
        for slot in day.slots:
            assert slot.refusal is None or slot.refusal in known
            assert (slot.refusal is None) == (slot.remaining > 0)


@SETTINGS
@given(
    day=st.dates(dt.date(2000, 1, 1), dt.date(2100, 12, 31)),
    first=st.sampled_from(list(Weekday)),
)
def test_a_week_starts_on_its_first_weekday_and_holds_the_day(day, first):
    start = slots.week_start(day, first)
    assert start.weekday() == first
    assert 0 <= (day - start).days < 7
