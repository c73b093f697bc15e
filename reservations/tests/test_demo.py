import datetime as dt

import pytest

from customers.demo import seed_customers
from messaging.models import NotificationEvent
from reservations import services
from reservations.demo import seed_reservations, seed_resources, seed_schedule
from reservations.models import (
    BookingRules,
    Reservation,
    Resource,
    Service,
    StaffWorkingHours,
    WeeklySchedule,
)

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
    # Each is a service with whom the engine named, inside that resource's capacity.
    for reservation in Reservation.objects.select_related("service", "resource"):
        assert reservation.service is not None
        assert reservation.resource is not None
        assert reservation.service in reservation.resource.services.all()
        assert reservation.ends_at - reservation.starts_at == dt.timedelta(
            minutes=reservation.service.duration_minutes
        )
        overlapping = Reservation.objects.active().filter(
            resource=reservation.resource,
            blocked_from__lt=reservation.blocked_until,
            blocked_until__gt=reservation.blocked_from,
        )
        assert overlapping.count() == 1


def test_demo_clinic_has_three_practitioners_a_room_and_four_services():
    assert seed_resources() == 4
    assert seed_resources() == 0  # idempotent
    team = Resource.objects.active().order_by("name")
    assert [(r.name, r.resource_type) for r in team] == [
        ("Dr Lina", "practitioner"), ("Dr Omar", "practitioner"), ("Dr Sara", "practitioner"),
        ("X-ray room", "room"),
    ]  # fmt: skip
    assert StaffWorkingHours.objects.filter(resource__name="Dr Lina").count() == 3  # part-time
    offered = Service.objects.active().order_by("duration_minutes")
    assert [s.duration_minutes for s in offered] == [15, 30, 45, 60]
    xray = offered.get(duration_minutes=60)
    assert [r.name for r in xray.resources.all()] == ["X-ray room"]
