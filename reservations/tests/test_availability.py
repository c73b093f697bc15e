"""The resource engine without a database: with the clinic as its only resource and one-slot
services it is exactly the slot engine, whatever the rules, hours, seasons, vacations, bookings,
zone and moment (the property that makes the upgrade change nothing)."""

import datetime as dt

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
        busy = busy_from_counts(calendar, scenario["counts"])
        before = slots.build_days(
            calendar, start=scenario["start"], end=scenario["end"], counts=scenario["counts"],
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
