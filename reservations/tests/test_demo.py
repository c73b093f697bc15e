import datetime as dt

import pytest

from customers.demo import seed_customers
from messaging.models import NotificationEvent
from reservations import services
from reservations.demo import seed_reservations, seed_schedule
from reservations.models import BookingRules, Reservation, WeeklySchedule

pytestmark = pytest.mark.usefixtures("frozen", "db")


def test_demo_schedule_is_a_real_clinic_week_with_ramadan():
    assert seed_schedule() == 2
    assert seed_schedule() == 0  # idempotent
    assert BookingRules.objects.get_solo().capacity == 2
    sunday, friday, saturday = dt.date(2026, 11, 22), dt.date(2026, 11, 27), dt.date(2026, 11, 28)
    days = {d.date: d for d in services.available_slots(start=sunday, end=saturday, for_staff=True)}
    assert days[sunday].slots[0].time == dt.time(11)
    assert days[sunday].slots[-1].time == dt.time(16, 30)
    assert days[friday].reason == "closed"
    assert days[saturday].slots[0].time == dt.time(16)
    ramadan_day = dt.date(2027, 2, 10)  # a Wednesday in Ramadan
    calendar = services.load_calendar(start=ramadan_day, end=ramadan_day)
    times = calendar.slot_times(ramadan_day)
    assert times[:2] == [dt.time(13), dt.time(13, 15)]
    assert times[-1] == dt.time(23, 15)
    assert WeeklySchedule.objects.seasons().get().name == "Ramadan 1448"


def test_demo_reservations_are_booked_through_the_engine():
    customers = seed_customers()
    created = seed_reservations(customers)
    assert created == len(customers)
    assert seed_reservations(customers) == 0
    assert NotificationEvent.objects.of_type("reservation_created").count() == created
    calendar = services.load_calendar(start=dt.date(2026, 11, 22), end=dt.date(2026, 12, 31))
    for reservation in Reservation.objects.all():
        assert reservation.time_slot in calendar.slot_times(reservation.date)
        assert (
            Reservation.objects.active()
            .filter(date=reservation.date, time_slot=reservation.time_slot)
            .count()
            <= calendar.rules.capacity
        )
