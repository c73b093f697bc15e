"""Demo reservations and vacations for `make run`."""

from datetime import date, time, timedelta

from django.utils import timezone

from customers.models import Customer
from reservations.models import Reservation, Source, VacationPeriod


def seed_reservations(customers: list[Customer], *, today: date | None = None) -> int:
    """Book the demo customers into the coming working days (Sun-Thu), once."""
    if Reservation.objects.exists():
        return 0
    today = today or timezone.localdate()
    day = today
    created = 0
    for index, customer in enumerate(customers):
        day += timedelta(days=1)
        while day.weekday() in (4, 5):  # Friday and Saturday are not demo working days
            day += timedelta(days=1)
        Reservation.objects.create(
            customer=customer,
            date=day,
            time_slot=time(11 + index % 6, 0 if index % 2 else 30),
            type=index % 2,
            source=Source.CUSTOMER if index % 3 else Source.STAFF,
        )
        created += 1
    return created


def seed_vacations(*, today: date | None = None) -> int:
    if VacationPeriod.objects.exists():
        return 0
    today = today or timezone.localdate()
    start = today + timedelta(days=45)
    VacationPeriod.objects.create(
        title="Annual leave", start_date=start, end_date=start + timedelta(days=6)
    )
    return 1
