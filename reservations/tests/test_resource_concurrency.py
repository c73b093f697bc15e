"""Resources hold under simultaneous bookings, each on its own connection (PostgreSQL): a
one-at-a-time practitioner or room never ends up with two overlapping active bookings, buffers
included, and a room for two never holds three at once."""

import datetime as dt
import itertools

import pytest
import time_machine

from reservations import services
from reservations.availability import Busy, peak
from reservations.models import Reservation, Source
from reservations.tests.conftest import NOW
from reservations.tests.factories import make_resource, make_schedule, make_service
from reservations.tests.test_concurrency import _run_at_once

MONDAY = dt.date(2026, 11, 23)
THREADS = 50


def book_at_once(service_for, starts):
    with time_machine.travel(NOW, tick=False):
        return _run_at_once(
            lambda n: services.reserve_slot(
                wa_id=f"96650{n:07d}",
                date=MONDAY,
                time_slot=starts[n % len(starts)],
                source=Source.CUSTOMER,
                service=service_for(n),
            ),
            THREADS,
        )


def active_ranges(resource):
    rows = Reservation.objects.active().filter(resource=resource)
    return [(r.blocked_from, r.blocked_until) for r in rows]


def assert_never_overlapping(ranges):
    for (a_from, a_until), (b_from, b_until) in itertools.combinations(ranges, 2):
        assert a_until <= b_from or b_until <= a_from


def quarter_hours(first, n):
    start = dt.datetime.combine(MONDAY, first)
    return [(start + dt.timedelta(minutes=15 * k)).time() for k in range(n)]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_fifty_customers_booking_overlapping_starts_of_one_practitioner_never_overlap():
    make_schedule()
    sara = make_resource("Dr Sara")
    cleaning = make_service(minutes=45, buffer_after_minutes=15, step_minutes=15, resources=[sara])
    results = book_at_once(lambda n: cleaning, quarter_hours(dt.time(11), 8))
    booked = [r for r in results if isinstance(r, Reservation)]
    refused = [r for r in results if isinstance(r, services.BookingError)]
    assert len(booked) + len(refused) == THREADS
    assert booked
    assert {error.code for error in refused} == {"slot_full"}
    ranges = active_ranges(sara)
    assert len(ranges) == len(booked) == 2  # 11:00-12:00 and 12:00-13:00 of 11:00..12:45
    assert_never_overlapping(ranges)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_room_shared_by_two_services_never_holds_two_bookings_at_once():
    make_schedule()
    room = make_resource("X-ray room", kind="room")
    short = make_service("X-ray", minutes=15, step_minutes=15, resources=[room])
    long = make_service("Scan", minutes=60, buffer_before_minutes=15, step_minutes=15,
                        resources=[room])  # fmt: skip
    results = book_at_once(lambda n: short if n % 2 else long, quarter_hours(dt.time(11), 12))
    assert all(isinstance(r, Reservation | services.BookingError) for r in results)
    assert_never_overlapping(active_ranges(room))
    assert active_ranges(room)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_room_for_two_never_holds_three_at_once():
    make_schedule()
    gym = make_resource("Gym", kind="room", capacity=2)
    session = make_service(minutes=60, step_minutes=15, resources=[gym])
    results = book_at_once(lambda n: session, quarter_hours(dt.time(11), 8))
    assert all(isinstance(r, Reservation | services.BookingError) for r in results)
    busy = [
        Busy(resource_id=gym.pk, start=start, end=end, type=0, day=MONDAY)
        for start, end in active_ranges(gym)
    ]
    first = min(item.start for item in busy)
    assert peak(busy, first, first + dt.timedelta(days=1)) == 2
