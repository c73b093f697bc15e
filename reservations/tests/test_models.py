import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from reservations.models import Reservation, VacationPeriod
from reservations.tests.factories import ReservationFactory, VacationPeriodFactory


@pytest.mark.django_db
def test_duration_is_derived_from_the_dates():
    vacation = VacationPeriodFactory(start_date=dt.date(2026, 12, 1), end_date=dt.date(2026, 12, 7))
    assert vacation.duration_days == 7
    vacation.end_date = None
    vacation.save(update_fields=["end_date"])
    vacation.refresh_from_db()
    assert vacation.duration_days is None


def test_vacation_cannot_end_before_it_starts():
    with pytest.raises(ValidationError):
        VacationPeriod(start_date=dt.date(2026, 12, 5), end_date=dt.date(2026, 12, 1)).clean()


@pytest.mark.django_db
def test_covering_includes_open_ended_vacations():
    open_ended = VacationPeriodFactory(start_date=dt.date(2026, 12, 1), end_date=None)
    VacationPeriodFactory(start_date=dt.date(2026, 11, 1), end_date=dt.date(2026, 11, 3))
    assert list(VacationPeriod.objects.covering(dt.date(2027, 6, 1))) == [open_ended]
    assert VacationPeriod.objects.covering(dt.date(2026, 11, 4)).count() == 0
    assert open_ended.covers(dt.date(2030, 1, 1))


@pytest.mark.django_db
def test_one_active_reservation_per_customer_per_slot():
    first = ReservationFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        ReservationFactory(customer=first.customer, date=first.date, time_slot=first.time_slot)


@pytest.mark.django_db
def test_a_cancelled_reservation_frees_the_customers_slot():
    first = ReservationFactory(
        status=Reservation.Status.CANCELLED, cancelled_at=dt.datetime.now(dt.UTC)
    )
    second = ReservationFactory(customer=first.customer, date=first.date, time_slot=first.time_slot)
    assert second.is_active


@pytest.mark.django_db
def test_cancelled_status_needs_a_cancellation_time():
    with pytest.raises(IntegrityError), transaction.atomic():
        ReservationFactory(status=Reservation.Status.CANCELLED, cancelled_at=None)


@pytest.mark.django_db
def test_queryset_filters():
    today = dt.date.today()
    kept = ReservationFactory(date=today + dt.timedelta(days=2))
    ReservationFactory(date=today + dt.timedelta(days=9))
    cancelled = ReservationFactory(
        date=today + dt.timedelta(days=2), time_slot=dt.time(12, 0),
        status=Reservation.Status.CANCELLED, cancelled_at=dt.datetime.now(dt.UTC),
    )  # fmt: skip
    window = Reservation.objects.between(today, today + dt.timedelta(days=3))
    assert set(window) == {kept, cancelled}
    assert list(window.active()) == [kept]
    assert list(Reservation.objects.for_customer(kept.customer_id)) == [kept]


def test_starts_at_is_aware_in_the_clinic_zone(settings):
    reservation = Reservation(date=dt.date(2026, 12, 1), time_slot=dt.time(9, 0))
    assert reservation.starts_at.utcoffset() == dt.timedelta(hours=3)  # Asia/Riyadh


# ---------------------------------------------------------------------------- schedule rules


@pytest.mark.django_db
def test_the_rules_are_a_single_row_in_the_database():
    from reservations.models import BookingRules

    assert BookingRules.objects.get_solo().pk == 1  # created by a migration
    with pytest.raises(IntegrityError), transaction.atomic():
        BookingRules.objects.create(id=2)


@pytest.mark.django_db
def test_the_database_refuses_a_staff_limit_below_capacity_and_type_limits_above_it():
    from reservations.models import BookingRules

    for values in ({"capacity": 3, "staff_capacity": 2}, {"appointment_capacity": 5}):
        with pytest.raises(IntegrityError), transaction.atomic():
            BookingRules.objects.filter(pk=1).update(**values)


@pytest.mark.django_db
def test_there_is_one_normal_week():
    from reservations.models import WeeklySchedule
    from reservations.tests.factories import WeeklyScheduleFactory

    WeeklyScheduleFactory()
    with pytest.raises(ValidationError):
        WeeklySchedule(name="Another").full_clean()
    with pytest.raises(IntegrityError), transaction.atomic():
        WeeklyScheduleFactory(name="Another")


@pytest.mark.django_db
def test_a_season_needs_both_dates_and_may_not_overlap_another():
    from reservations.models import WeeklySchedule
    from reservations.tests.factories import WeeklyScheduleFactory

    WeeklyScheduleFactory(
        name="Ramadan", start_date=dt.date(2027, 2, 8), end_date=dt.date(2027, 3, 9)
    )
    with pytest.raises(ValidationError, match="both"):
        WeeklySchedule(name="x", start_date=dt.date(2027, 1, 1)).full_clean()
    with pytest.raises(ValidationError, match="overlaps"):
        WeeklySchedule(
            name="Eid", start_date=dt.date(2027, 3, 9), end_date=dt.date(2027, 3, 12)
        ).full_clean()
    WeeklySchedule(
        name="Eid", start_date=dt.date(2027, 3, 10), end_date=dt.date(2027, 3, 12)
    ).full_clean()


@pytest.mark.django_db
def test_an_interval_must_open_before_it_closes_and_not_overlap_a_saved_one():
    from reservations.models import OpeningInterval
    from reservations.tests.factories import OpeningIntervalFactory

    saved = OpeningIntervalFactory(weekday=0, opens=dt.time(9), closes=dt.time(12))
    with pytest.raises(ValidationError, match="after opening"):
        OpeningInterval(schedule=saved.schedule, weekday=1, opens=dt.time(12),
                        closes=dt.time(9)).full_clean()  # fmt: skip
    with pytest.raises(ValidationError, match="overlap"):
        OpeningInterval(schedule=saved.schedule, weekday=0, opens=dt.time(11),
                        closes=dt.time(13)).full_clean()  # fmt: skip
    OpeningInterval(schedule=saved.schedule, weekday=0, opens=dt.time(12),
                    closes=dt.time(13)).full_clean()  # fmt: skip
    with pytest.raises(IntegrityError), transaction.atomic():
        OpeningIntervalFactory(schedule=saved.schedule, opens=dt.time(12), closes=dt.time(9))


@pytest.mark.postgres
@pytest.mark.django_db
def test_postgres_refuses_overlapping_seasons_and_intervals():
    from reservations.tests.factories import OpeningIntervalFactory, WeeklyScheduleFactory

    WeeklyScheduleFactory(name="A", start_date=dt.date(2027, 2, 8), end_date=dt.date(2027, 3, 9))
    with pytest.raises(IntegrityError), transaction.atomic():
        WeeklyScheduleFactory(
            name="B", start_date=dt.date(2027, 3, 9), end_date=dt.date(2027, 3, 10)
        )
    saved = OpeningIntervalFactory(weekday=0, opens=dt.time(9), closes=dt.time(12))
    with pytest.raises(IntegrityError), transaction.atomic():
        OpeningIntervalFactory(
            schedule=saved.schedule, weekday=0, opens=dt.time(11), closes=dt.time(13)
        )
    # Touching intervals, another weekday or another schedule are fine.
    OpeningIntervalFactory(
        schedule=saved.schedule, weekday=0, opens=dt.time(12), closes=dt.time(13)
    )
    OpeningIntervalFactory(schedule=saved.schedule, weekday=1, opens=dt.time(9), closes=dt.time(12))
    other = WeeklyScheduleFactory(
        name="C", start_date=dt.date(2028, 1, 1), end_date=dt.date(2028, 1, 2)
    )
    OpeningIntervalFactory(schedule=other, weekday=0, opens=dt.time(9), closes=dt.time(12))


def test_find_overlap_compares_intervals_of_the_same_weekday_only():
    from reservations.models import find_overlap

    t = dt.time
    assert find_overlap([(0, t(9), t(12)), (1, t(10), t(11)), (0, t(12), t(13))]) is None
    assert find_overlap([(0, t(12), t(14)), (0, t(9), t(12, 30))]) == (
        (0, t(9), t(12, 30)),
        (0, t(12), t(14)),
    )
