"""The upgrade to practitioners, rooms and services (migrations 0007-0009) on a database that
already holds bookings: the clinic becomes one resource and two services, and every booking
theirs, with the end of its slot (a season's shorter slot included)."""

import datetime as dt

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

BEFORE = [("reservations", "0006_staff_permissions")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_the_upgrade_turns_the_clinic_into_one_resource_and_its_bookings_into_theirs():
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes("reservations")
    old = _migrate(BEFORE)
    try:
        old.get_model("reservations", "BookingRules").objects.update_or_create(
            pk=1, defaults={"capacity": 3, "staff_capacity": 4}
        )
        schedule = old.get_model("reservations", "WeeklySchedule")
        schedule.objects.create(name="Normal", slot_minutes=20, is_normal_week=True)
        schedule.objects.create(
            name="Ramadan", slot_minutes=15, start_date=dt.date(2027, 2, 8),
            end_date=dt.date(2027, 3, 9),
        )  # fmt: skip
        customer = old.get_model("customers", "Customer").objects.create(wa_id="966501234567")
        reservation = old.get_model("reservations", "Reservation")
        for day, at, type_ in [
            (dt.date(2026, 12, 1), dt.time(11), 0),
            (dt.date(2027, 2, 10), dt.time(21, 45), 1),
        ]:
            reservation.objects.create(customer=customer, date=day, time_slot=at, type=type_)
    finally:
        new = _migrate(latest)

    clinic = new.get_model("reservations", "Resource").objects.get()
    assert (clinic.is_clinic, clinic.capacity, clinic.is_active) == (True, 3, True)
    assert not clinic.working_hours.exists()  # it works the clinic's hours, as they change
    kinds = new.get_model("reservations", "Service").objects.order_by("type")
    assert [(s.type, s.duration_minutes, s.lasts_one_slot) for s in kinds] == [
        (0, 20, True), (1, 20, True)
    ]  # fmt: skip
    assert all(list(s.resources.all()) == [clinic] for s in kinds)
    rows = new.get_model("reservations", "Reservation").objects.order_by("date")
    assert [(r.resource_id, r.service.type, r.end_time, r.exclusive) for r in rows] == [
        (clinic.pk, 0, dt.time(11, 20), False),
        (clinic.pk, 1, dt.time(22), False),  # Ramadan's 15-minute slot
    ]
    first = rows[0]
    starts = timezone.make_aware(dt.datetime(2026, 12, 1, 11))
    assert (first.blocked_from, first.blocked_until) == (starts, starts + dt.timedelta(minutes=20))
