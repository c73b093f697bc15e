"""The resource engine without a database: with the clinic as its only resource and one-slot
services it is exactly the slot engine, whatever the rules, hours, seasons, vacations, bookings,
zone and moment (the property that makes the upgrade change nothing)."""

import datetime as dt
from zoneinfo import ZoneInfo

from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from reservations import availability, slots
from reservations.availability import Busy, BusyIndex, ResourcePlan, ServicePlan
from reservations.models import BookingRules, Weekday
from reservations.slots import Calendar, WeekPlan
from reservations.tests.test_properties import SETTINGS, scenarios

T = dt.time
MONDAY = dt.date(2026, 11, 23)
CLINIC = ResourcePlan(id=1, name="Clinic", is_clinic=True)


def busy_from_counts(calendar, counts):
    items = []
    for (day, at), per_type in counts.items():
        starts = timezone.make_aware(dt.datetime.combine(day, at))
        for type_, n in per_type.items():
            items += [
                Busy(resource_id=1, start=starts, end=starts + calendar.slot_length(day),
                     type=type_, day=day)
            ] * n  # fmt: skip
    return BusyIndex(items)


@SETTINGS
@given(scenarios(), st.sampled_from([0, 1]), st.booleans())
def test_the_clinic_with_one_slot_services_is_exactly_the_slot_engine(scenario, type_, only):
    calendar, now = scenario["calendar"], scenario["now"]
    with timezone.override(scenario["zone"]):
        # No booking at a wall time the clocks skip: it names no instant (nor is it offered),
        # so counting it by its wall time and placing it at an instant cannot agree.
        counts = {key: n for key, n in scenario["counts"].items() if slots.exists_locally(*key)}
        busy = busy_from_counts(calendar, counts)
        before = slots.build_days(
            calendar, start=scenario["start"], end=scenario["end"], counts=counts,
            now=now, type=type_, for_staff=scenario["for_staff"], bookable_only=only,
        )  # fmt: skip
        after = availability.build_service_days(
            calendar, ServicePlan(id=None, type=type_, duration_minutes=30, lasts_one_slot=True),
            [CLINIC], start=scenario["start"], end=scenario["end"], busy=busy, now=now,
            for_staff=scenario["for_staff"], bookable_only=only,
        )  # fmt: skip
        for old, new in zip(before, after, strict=True):
            assert (new.date, new.reason) == (old.date, old.reason)
            assert [
                (s.time, s.remaining, s.refusal, s.starts_at, s.ends_at) for s in new.starts
            ] == [(s.time, s.remaining, s.refusal, s.starts_at, s.ends_at) for s in old.slots]
            for slot in old.slots:
                reason = availability.why_not(
                    calendar, ServicePlan(id=None, type=type_, duration_minutes=30,
                                          lasts_one_slot=True), CLINIC, old.date, slot.time,
                )  # fmt: skip
                assert reason is None


def test_no_start_at_a_wall_time_the_clocks_skip_and_both_engines_agree_around_it():
    """New York's clocks skip 02:00-03:00 on 8 March 2026: 02:30 names no instant (an aware
    datetime built on it lies after 03:00's), so neither engine offers it, and a booking at
    03:00 fills 03:00 alone. Found by hypothesis (the test above)."""
    zone = ZoneInfo("America/New_York")
    day = dt.date(2026, 3, 8)
    week = WeekPlan(slot_minutes=30, hours={day.weekday(): ((T(1), T(4)),)})
    calendar = Calendar(rules=BookingRules(), week=week)
    counts = {(day, T(3)): {0: 1}}
    now = dt.datetime(2026, 3, 6, tzinfo=zone)
    with timezone.override(zone):
        assert calendar.slot_times(day) == [T(1), T(1, 30), T(3), T(3, 30)]
        assert calendar.slot_times(day - dt.timedelta(days=7)) == [
            T(1), T(1, 30), T(2), T(2, 30), T(3), T(3, 30)
        ]  # fmt: skip
        [old] = slots.build_days(calendar, start=day, end=day, counts=counts, now=now, type=0)
        [new] = availability.build_service_days(
            calendar, ServicePlan(id=None, type=0, duration_minutes=30, lasts_one_slot=True),
            [CLINIC], start=day, end=day, busy=busy_from_counts(calendar, counts), now=now,
        )  # fmt: skip
    assert [(s.time, s.remaining) for s in new.starts] == [(s.time, s.remaining) for s in old.slots]
    assert [s.time for s in old.slots] == [T(1), T(1, 30), T(3), T(3, 30)]
    assert all(s.ends_at > s.starts_at for s in old.slots)


def test_peak_counts_overlaps_at_one_instant_with_half_open_ranges():
    def at(hour, minute=0):
        return dt.datetime(2026, 11, 23, hour, minute, tzinfo=dt.UTC)

    items = [
        Busy(resource_id=1, start=at(9), end=at(10), type=0, day=MONDAY),
        Busy(resource_id=1, start=at(10), end=at(11), type=1, day=MONDAY),
        Busy(resource_id=1, start=at(9, 30), end=at(10, 30), type=0, day=MONDAY),
    ]
    assert availability.peak(items, at(9), at(11)) == 2
    assert availability.peak(items, at(10, 30), at(11)) == 1
    assert availability.peak(items, at(9), at(11), type=1) == 1
    assert availability.peak(items, at(11), at(12)) == 0


def test_windows_are_where_the_clinic_and_the_resource_both_work():
    week = WeekPlan(slot_minutes=30, hours={Weekday.MONDAY: ((T(9), T(12)), (T(14), T(18)))})
    calendar = Calendar(rules=BookingRules(), week=week)
    sara = ResourcePlan(id=2, name="Sara", week={Weekday.MONDAY: ((T(11), T(15)),)})
    assert availability.windows(calendar, sara, MONDAY) == [(T(11), T(12)), (T(14), T(15))]
    assert availability.windows(calendar, CLINIC, MONDAY) == [(T(9), T(12)), (T(14), T(18))]
    off = ResourcePlan(id=3, name="Off", week={})
    assert availability.windows(calendar, off, MONDAY) == []


def test_starts_step_from_each_window_by_the_services_step_and_fit_its_length():
    week = WeekPlan(slot_minutes=30, hours={Weekday.MONDAY: ((T(9), T(10, 30)),)})
    calendar = Calendar(rules=BookingRules(), week=week)
    service = ServicePlan(id=1, type=0, duration_minutes=45, step_minutes=15)
    sara = ResourcePlan(id=2, name="Sara")
    assert availability.start_times(calendar, service, sara, MONDAY) == [
        T(9), T(9, 15), T(9, 30), T(9, 45)
    ]  # fmt: skip


def reference_service_days(calendar, service, resources, *, start, end, busy, now, for_staff):
    """Every start of every resource judged on its own, then `choose`: the plain reading of
    "anyone" that the engine's shortcuts (shared starts, first bookable wins) must equal."""
    found = {}
    today = timezone.localtime(now).date()
    for day in slots.dates_between(start, end):
        plan = calendar.plan_for(day)
        if calendar.on_vacation(day) or plan is None or not plan.hours.get(day.weekday()):
            continue
        per_time: dict[dt.time, list[availability.Start]] = {}
        for resource in resources:
            for at in availability.start_times(calendar, service, resource, day):
                moment = dt.datetime.combine(day, at)
                if resource.off(day, moment, moment + service.length(plan)):
                    continue
                per_time.setdefault(at, []).append(
                    availability.evaluate_start(
                        calendar,
                        service,
                        resource,
                        day,
                        at,
                        busy=busy,
                        now=now,
                        for_staff=for_staff,
                        today=today,
                    )
                )
        found[day] = [availability.choose(per_time[at], busy) for at in sorted(per_time)]
    return found


@st.composite
def teams(draw, calendar, start, end):
    people = []
    for n in range(draw(st.integers(1, 5))):
        own = draw(st.none() | st.lists(st.integers(6 * 60, 22 * 60), min_size=2, max_size=4))
        week = None
        if own is not None:
            marks = sorted(set(own))[: len(set(own)) // 2 * 2]
            spans = tuple(
                (T(*divmod(marks[i], 60)), T(*divmod(marks[i + 1], 60)))
                for i in range(0, len(marks), 2)
            )
            week = dict.fromkeys(range(7), spans)
        off_day = start + dt.timedelta(days=draw(st.integers(0, (end - start).days)))
        off = draw(st.sampled_from([(), ((None, None),), ((T(10), T(12)),)]))
        people.append(
            ResourcePlan(
                id=10 + n,
                name=draw(st.sampled_from(["Sara", "sam", "Omar"])),
                capacity=draw(st.integers(1, 2)),
                is_clinic=n == 0 and draw(st.booleans()),
                week=week,
                exceptions={off_day: off} if off else {},
            )
        )
    items = []
    for _ in range(draw(st.integers(0, 25))):
        who = draw(st.sampled_from(people))
        day = start + dt.timedelta(days=draw(st.integers(0, (end - start).days)))
        begins = timezone.make_aware(
            dt.datetime.combine(day, T(*divmod(draw(st.integers(6 * 60, 22 * 60)), 60)))
        )
        length = dt.timedelta(minutes=draw(st.sampled_from([15, 30, 45, 90])))
        items.append(Busy(who.id, begins, begins + length, draw(st.sampled_from([0, 1])), day))
    return people, BusyIndex(items)


@SETTINGS
@given(scenarios(), st.data())
def test_anyone_equals_judging_every_resource_at_every_start(scenario, data):
    calendar, now = scenario["calendar"], scenario["now"]
    start, end = scenario["start"], scenario["end"]
    with timezone.override(scenario["zone"]):
        people, busy = data.draw(teams(calendar, start, end))
        service = ServicePlan(
            id=None, type=data.draw(st.sampled_from([0, 1])),
            duration_minutes=data.draw(st.sampled_from([15, 30, 60])),
            buffer_before=data.draw(st.sampled_from([0, 10])),
            buffer_after=data.draw(st.sampled_from([0, 15])),
            step_minutes=data.draw(st.sampled_from([None, 15, 20])),
        )  # fmt: skip
        expected = reference_service_days(
            calendar, service, people, start=start, end=end, busy=busy, now=now,
            for_staff=scenario["for_staff"],
        )  # fmt: skip
        days = availability.build_service_days(
            calendar, service, people, start=start, end=end, busy=busy, now=now,
            for_staff=scenario["for_staff"], bookable_only=False,
        )  # fmt: skip
        for day in days:
            assert list(day.starts) == expected.get(day.date, [])
