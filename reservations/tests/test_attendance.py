"""mark_attendance: arrived / no-show beside the reservation's status."""

import datetime as dt

import pytest
from django.db import IntegrityError, transaction

from messaging.models import NotificationEvent
from reservations import services
from reservations.models import Reservation, Source
from reservations.tests.conftest import SUNDAY
from reservations.tests.factories import ReservationFactory

pytestmark = pytest.mark.usefixtures("clinic")

MONDAY = SUNDAY + dt.timedelta(days=1)
STARTED = dt.time(8, 30)  # the clinic fixture's clock says 09:00


def events(event_type):
    return list(NotificationEvent.objects.of_type(event_type))


ARRIVED = Reservation.Attendance.ARRIVED
NO_SHOW = Reservation.Attendance.NO_SHOW


def test_attendance_is_marked_today_with_the_moment_and_an_event():
    reservation = ReservationFactory(date=SUNDAY, time_slot=STARTED)
    services.mark_attendance(reservation=reservation, attendance=ARRIVED, source=Source.STAFF)
    reservation.refresh_from_db()
    assert reservation.attendance == ARRIVED
    assert reservation.attendance_at == dt.datetime(2026, 11, 22, 6, 0, tzinfo=dt.UTC)
    assert reservation.status == Reservation.Status.ACTIVE
    [event] = events("reservation_attendance")
    assert event.data["attendance"] == ARRIVED
    assert event.data["previous_attendance"] is None
    assert event.data["source"] == Source.STAFF
    assert event.wa_id == reservation.customer_id


def test_attendance_can_be_marked_for_a_past_day_and_changed():
    reservation = ReservationFactory(date=SUNDAY - dt.timedelta(days=3))
    services.mark_attendance(reservation=reservation, attendance=ARRIVED, source=Source.STAFF)
    services.mark_attendance(reservation=reservation, attendance=NO_SHOW, source=Source.STAFF)
    reservation.refresh_from_db()
    assert reservation.attendance == NO_SHOW
    assert [e.data["previous_attendance"] for e in events("reservation_attendance")] == [
        ARRIVED,
        None,
    ]


def test_marking_the_same_attendance_twice_records_one_event():
    reservation = ReservationFactory(date=SUNDAY, time_slot=STARTED)
    for _ in range(2):
        services.mark_attendance(reservation=reservation, attendance=NO_SHOW, source=Source.STAFF)
    assert len(events("reservation_attendance")) == 1


def test_attendance_can_be_cleared_after_a_mis_tap():
    reservation = ReservationFactory(date=SUNDAY, time_slot=STARTED)
    services.mark_attendance(reservation=reservation, attendance=NO_SHOW, source=Source.STAFF)
    services.mark_attendance(reservation=reservation, attendance=None, source=Source.STAFF)
    reservation.refresh_from_db()
    assert reservation.attendance is None
    assert reservation.attendance_at is None


@pytest.mark.parametrize(
    ("day", "at"),
    [(MONDAY, dt.time(8, 0)), (SUNDAY, dt.time(9, 30)), (SUNDAY, dt.time(9, 0, 1))],
    ids=["tomorrow", "later-today", "a-second-from-now"],
)
@pytest.mark.parametrize("attendance", [ARRIVED, NO_SHOW])
def test_attendance_is_refused_before_the_appointment_starts(day, at, attendance):
    reservation = ReservationFactory(date=day, time_slot=at)
    with pytest.raises(services.FutureAttendanceError):
        services.mark_attendance(
            reservation=reservation, attendance=attendance, source=Source.STAFF
        )
    reservation.refresh_from_db()
    assert reservation.attendance is None
    assert events("reservation_attendance") == []


def test_attendance_can_be_marked_from_the_start_of_the_appointment():
    reservation = ReservationFactory(date=SUNDAY, time_slot=dt.time(9, 0))  # now
    services.mark_attendance(reservation=reservation, attendance=NO_SHOW, source=Source.STAFF)
    assert Reservation.objects.get(pk=reservation.pk).attendance == NO_SHOW


def test_attendance_is_refused_for_a_cancelled_reservation():
    reservation = ReservationFactory(
        date=SUNDAY, status=Reservation.Status.CANCELLED, cancelled_at=dt.datetime.now(dt.UTC)
    )
    with pytest.raises(services.NotActiveError):
        services.mark_attendance(reservation=reservation, attendance=ARRIVED, source=Source.STAFF)


def test_unknown_attendance_value_is_refused():
    reservation = ReservationFactory(date=SUNDAY)
    with pytest.raises(ValueError, match="unknown attendance"):
        services.mark_attendance(reservation=reservation, attendance="late", source=Source.STAFF)


def test_database_refuses_attendance_without_its_moment():
    reservation = ReservationFactory(date=SUNDAY)
    with pytest.raises(IntegrityError), transaction.atomic():
        Reservation.objects.filter(pk=reservation.pk).update(attendance=ARRIVED)
