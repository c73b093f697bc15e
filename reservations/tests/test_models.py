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
    assert vacation.reopens_on == dt.date(2026, 12, 8)
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
