"""The pure slot engine, without a database."""

import datetime as dt
from zoneinfo import ZoneInfo

from django.utils import timezone

from reservations import slots
from reservations.models import BookingRules, Weekday
from reservations.slots import Calendar, WeekPlan

T = dt.time
MONDAY = dt.date(2026, 11, 23)
NOW = dt.datetime(2026, 11, 22, 6, 0, tzinfo=dt.UTC)


def week(hours, slot_minutes=30, **dates):
    return WeekPlan(slot_minutes=slot_minutes, hours=hours, **dates)


def test_slots_fill_each_interval_with_whole_slots_around_a_lunch_break():
    plan = week({Weekday.MONDAY: ((T(9), T(12)), (T(13), T(14, 50)))}, slot_minutes=40)
    assert plan.slot_times(MONDAY) == [T(9), T(9, 40), T(10, 20), T(11, 0), T(13), T(13, 40)]
    assert plan.slot_times(MONDAY + dt.timedelta(days=1)) == []  # no Tuesday hours: closed


def test_an_interval_ending_at_midnight_keeps_its_last_slot():
    plan = week({Weekday.MONDAY: ((T(22), T(23, 59)),)}, slot_minutes=60)
    assert plan.slot_times(MONDAY) == [T(22)]


def test_a_season_replaces_the_week_inside_its_range_only():
    normal = week({d: ((T(11), T(12)),) for d in range(7)})
    ramadan = week(
        {d: ((T(21), T(22)),) for d in range(7)},
        start=MONDAY,
        end=MONDAY + dt.timedelta(days=1),
    )
    calendar = Calendar(rules=BookingRules(), week=normal, seasons=(ramadan,))
    assert calendar.slot_times(MONDAY - dt.timedelta(days=1)) == [T(11), T(11, 30)]
    assert calendar.slot_times(MONDAY + dt.timedelta(days=1)) == [T(21), T(21, 30)]
    assert calendar.slot_times(MONDAY + dt.timedelta(days=2)) == [T(11), T(11, 30)]


def test_without_any_schedule_every_day_is_closed():
    calendar = Calendar(rules=BookingRules(), week=None)
    [day] = slots.build_days(calendar, start=MONDAY, end=MONDAY, counts={}, now=NOW)
    assert day.reason == slots.CLOSED


def test_vacations_win_over_opening_hours_and_may_be_open_ended():
    calendar = Calendar(
        rules=BookingRules(),
        week=week({d: ((T(11), T(12)),) for d in range(7)}),
        vacations=((MONDAY, None),),
    )
    days = slots.build_days(
        calendar, start=MONDAY - dt.timedelta(days=1), end=MONDAY + dt.timedelta(400), counts={},
        now=NOW,
    )  # fmt: skip
    assert days[0].reason is None
    assert {day.reason for day in days[1:]} == {slots.VACATION}


def test_a_day_with_nothing_left_says_why():
    calendar = Calendar(rules=BookingRules(capacity=1), week=week({0: ((T(11), T(12)),)}))
    counts = {(MONDAY, T(11)): {0: 1}, (MONDAY, T(11, 30)): {1: 1}}
    [day] = slots.build_days(calendar, start=MONDAY, end=MONDAY, counts=counts, now=NOW)
    assert day.reason == slots.SLOT_FULL
    assert day.slots == ()


def test_slot_times_are_the_clinics_wall_clock_in_the_current_zone():
    calendar = Calendar(rules=BookingRules(), week=week({0: ((T(11), T(12)),)}))
    with timezone.override(ZoneInfo("Europe/Berlin")):
        slot = slots.evaluate_slot(calendar, MONDAY, T(11), counts={}, now=NOW)
    assert slot.starts_at == dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC)  # CET is UTC+1
    assert slot.ends_at - slot.starts_at == dt.timedelta(minutes=30)


def test_slots_on_the_night_berlin_springs_forward_still_last_their_length():
    sunday = dt.date(2026, 3, 29)  # 02:00 -> 03:00
    calendar = Calendar(rules=BookingRules(), week=week({6: ((T(1), T(4)),)}))
    with timezone.override(ZoneInfo("Europe/Berlin")):
        found = [
            slots.evaluate_slot(calendar, sunday, t, counts={}, now=NOW)
            for t in calendar.slot_times(sunday)
        ]
    assert all(slot.ends_at - slot.starts_at == dt.timedelta(minutes=30) for slot in found)
    assert found[0].starts_at == dt.datetime(2026, 3, 29, 0, 0, tzinfo=dt.UTC)  # 01:00 CET


def test_week_start_for_saturday_and_sunday_weeks():
    wednesday = dt.date(2026, 11, 25)
    assert slots.week_start(wednesday, Weekday.SUNDAY) == dt.date(2026, 11, 22)
    assert slots.week_start(wednesday, Weekday.SATURDAY) == dt.date(2026, 11, 21)
    assert slots.week_start(wednesday, Weekday.MONDAY) == dt.date(2026, 11, 23)
    saturday = dt.date(2026, 11, 28)
    assert slots.week_start(saturday, Weekday.SATURDAY) == saturday
    assert slots.week_start(saturday, Weekday.SUNDAY) == dt.date(2026, 11, 22)
