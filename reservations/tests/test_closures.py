import datetime as dt

import pytest

from reservations import closures
from reservations.closures import reopening_day, reservations_outside_hours, vacation_closure
from reservations.tests.factories import ReservationFactory, VacationPeriodFactory, make_schedule

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clinic")]

SUNDAY = dt.date(2026, 11, 22)  # the clinic fixture's today; Friday is closed every week


def day(offset: int) -> dt.date:
    return SUNDAY + dt.timedelta(days=offset)


def test_a_lone_vacation_reopens_the_next_open_day():
    assert reopening_day(vacation=VacationPeriodFactory(start_date=day(0), end_date=day(1))) == day(
        2
    )


def test_overlapping_vacations_reopen_after_the_later_end():
    first = VacationPeriodFactory(start_date=day(0), end_date=day(2))
    VacationPeriodFactory(start_date=day(1), end_date=day(3))
    assert vacation_closure(vacation=first) == closures.Closure(day(0), day(3), day(4))


def test_a_season_that_closes_a_weekday_is_skipped_too():
    # A season over the week after the vacation opens only on Thursdays.
    make_schedule(
        {3: [(dt.time(9), dt.time(12))]}, start_date=day(1), end_date=day(7), name="Short week"
    )
    assert reopening_day(vacation=VacationPeriodFactory(start_date=day(0), end_date=day(0))) == day(
        4
    )


def test_no_open_day_within_a_year_is_until_further_notice():
    make_schedule({}, start_date=day(1), end_date=day(400), name="Closed")
    closure = vacation_closure(vacation=VacationPeriodFactory(start_date=day(0), end_date=day(0)))
    assert closure.reopens_on is None


def test_reservations_outside_hours_name_why():
    on_vacation = ReservationFactory(date=day(1), time_slot=dt.time(11))
    friday = ReservationFactory(date=day(5), time_slot=dt.time(11))
    late = ReservationFactory(date=day(2), time_slot=dt.time(18))
    ReservationFactory(date=day(2), time_slot=dt.time(11))  # fine
    VacationPeriodFactory(start_date=day(1), end_date=day(1))
    assert reservations_outside_hours(start=SUNDAY) == {
        on_vacation.pk: closures.VACATION,
        friday.pk: closures.CLOSED,
        late.pk: closures.OUTSIDE_HOURS,
    }
