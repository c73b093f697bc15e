import datetime as dt

import factory

from customers.tests.factories import CustomerFactory
from reservations.models import (
    BookingRules,
    OpeningInterval,
    Reservation,
    Resource,
    Service,
    ServiceResource,
    StaffWorkingHours,
    VacationPeriod,
    Weekday,
    WeeklySchedule,
)


class ReservationFactory(factory.django.DjangoModelFactory[Reservation]):
    class Meta:
        model = Reservation

    customer = factory.SubFactory(CustomerFactory)
    date = factory.LazyFunction(lambda: dt.date.today() + dt.timedelta(days=3))
    time_slot = dt.time(11, 0)
    type = Reservation.Type.APPOINTMENT


class VacationPeriodFactory(factory.django.DjangoModelFactory[VacationPeriod]):
    class Meta:
        model = VacationPeriod

    title = "Vacation"
    start_date = factory.LazyFunction(lambda: dt.date.today() + dt.timedelta(days=10))
    end_date = factory.LazyAttribute(lambda o: o.start_date + dt.timedelta(days=4))


class WeeklyScheduleFactory(factory.django.DjangoModelFactory[WeeklySchedule]):
    class Meta:
        model = WeeklySchedule

    name = "Normal week"
    slot_minutes = 30


class OpeningIntervalFactory(factory.django.DjangoModelFactory[OpeningInterval]):
    class Meta:
        model = OpeningInterval

    schedule = factory.SubFactory(WeeklyScheduleFactory)
    weekday = Weekday.SUNDAY
    opens = dt.time(11, 0)
    closes = dt.time(17, 0)


# The demo clinic's week: Sun-Thu 11:00-17:00, Saturday 16:00-22:00, Friday closed.
CLINIC_HOURS = {
    Weekday.SUNDAY: [(dt.time(11), dt.time(17))],
    Weekday.MONDAY: [(dt.time(11), dt.time(17))],
    Weekday.TUESDAY: [(dt.time(11), dt.time(17))],
    Weekday.WEDNESDAY: [(dt.time(11), dt.time(17))],
    Weekday.THURSDAY: [(dt.time(11), dt.time(17))],
    Weekday.SATURDAY: [(dt.time(16), dt.time(22))],
}


def make_schedule(
    hours: dict[int, list[tuple[dt.time, dt.time]]] | None = None,
    *,
    slot_minutes: int = 30,
    start_date: dt.date | None = None,
    end_date: dt.date | None = None,
    name: str = "Normal week",
) -> WeeklySchedule:
    schedule = WeeklyScheduleFactory(
        name=name, slot_minutes=slot_minutes, start_date=start_date, end_date=end_date
    )
    for weekday, spans in (CLINIC_HOURS if hours is None else hours).items():
        for opens, closes in spans:
            OpeningIntervalFactory(schedule=schedule, weekday=weekday, opens=opens, closes=closes)
    return schedule


def set_rules(**values: object) -> BookingRules:
    rules = BookingRules.objects.get_solo()
    for name, value in values.items():
        setattr(rules, name, value)
    rules.save()
    return rules


# ---------------------------------------------------------------------------- resources


def make_resource(
    name: str = "Dr Sara",
    *,
    capacity: int = 1,
    kind: str = "practitioner",
    hours: dict[int, list[tuple[dt.time, dt.time]]] | None = None,
    season: WeeklySchedule | None = None,
) -> Resource:
    """A resource; with `hours`, its own weekly hours (of `season` when given)."""
    resource = Resource.objects.create(name=name, resource_type=kind, capacity=capacity)
    for weekday, spans in (hours or {}).items():
        for start, end in spans:
            StaffWorkingHours.objects.create(
                resource=resource, season=season, day_of_week=weekday, start_time=start,
                end_time=end,
            )  # fmt: skip
    return resource


def make_service(
    name: str = "Cleaning",
    *,
    minutes: int = 30,
    resources: list[Resource] = (),  # type: ignore[assignment]
    **values: object,
) -> Service:
    service = Service.objects.create(name=name, duration_minutes=minutes, **values)
    for resource in resources:
        ServiceResource.objects.create(service=service, resource=resource)
    return service
