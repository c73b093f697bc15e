"""Capacity holds when many bookings of one slot arrive at once, each on its own connection."""

import datetime as dt
import threading

import pytest
import time_machine
from django.db import connection

from customers.tests.factories import CustomerFactory
from reservations import services
from reservations.models import Reservation, Source
from reservations.tests.conftest import NOW
from reservations.tests.factories import make_schedule, set_rules

MONDAY = dt.date(2026, 11, 23)
THREADS = 24


def _run_at_once(target, count):
    """Start `count` threads that wait for each other, then call `target(index)`."""
    barrier = threading.Barrier(count)
    results: list[object] = [None] * count

    def worker(index):
        try:
            barrier.wait()
            results[index] = target(index)
        except Exception as exc:
            results[index] = exc
        finally:
            connection.close()  # each thread has its own connection; close it at thread end

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_simultaneous_bookings_never_exceed_the_slot_capacity():
    make_schedule()
    rules = set_rules(capacity=3, staff_capacity=3)
    with time_machine.travel(NOW, tick=False):
        results = _run_at_once(
            lambda n: services.reserve_slot(
                wa_id=f"96650{n:07d}",
                date=MONDAY,
                time_slot=dt.time(11),
                type=0,
                source=Source.CUSTOMER,
            ),
            THREADS,
        )
    booked = [r for r in results if isinstance(r, Reservation)]
    refused = [r for r in results if isinstance(r, services.BookingError)]
    assert len(booked) == rules.capacity
    assert len(refused) == THREADS - rules.capacity
    assert {error.code for error in refused} == {"slot_full"}
    assert Reservation.objects.active().on(MONDAY).count() == rules.capacity


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_simultaneous_moves_into_one_slot_never_exceed_its_capacity():
    make_schedule()
    set_rules(capacity=2, staff_capacity=2)
    with time_machine.travel(NOW, tick=False):
        sources = [
            services.reserve_slot(
                wa_id=f"96650{n:07d}",
                date=MONDAY,
                time_slot=dt.time(12 + n % 4),
                type=0,
                source=Source.CUSTOMER,
            )
            for n in range(8)
        ]
        results = _run_at_once(
            lambda n: services.modify_reservation(
                reservation=sources[n], date=MONDAY, time_slot=dt.time(11), source=Source.CUSTOMER
            ),
            len(sources),
        )
    assert sum(isinstance(r, Reservation) for r in results) == 2
    assert Reservation.objects.active().on(MONDAY).filter(time_slot=dt.time(11)).count() == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_one_customer_booking_many_slots_at_once_gets_only_the_allowed_number():
    make_schedule()
    CustomerFactory(wa_id="966501234567")  # existing, so creating it serialises nothing
    with time_machine.travel(NOW, tick=False):
        results = _run_at_once(
            lambda n: services.reserve_slot(
                wa_id="966501234567",
                date=MONDAY,
                time_slot=dt.time(11 + n % 6, 30 * (n % 2)),
                type=0,
                source=Source.CUSTOMER,
            ),
            12,
        )
    assert sum(isinstance(r, Reservation) for r in results) == 1
    assert Reservation.objects.active().for_customer("966501234567").count() == 1
