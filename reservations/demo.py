"""Demo rules, opening hours, reservations and vacations for `make run` (idempotent)."""

from datetime import date, datetime, time, timedelta

from django.utils import timezone

from customers.models import Customer
from reservations import resources, services
from reservations.models import (
    BookingRules,
    OpeningInterval,
    Reservation,
    Resource,
    Service,
    ServiceResource,
    Source,
    StaffWorkingHours,
    VacationPeriod,
    Weekday,
    WeeklySchedule,
)

# A small clinic with one doctor: 30-minute slots hold 2 patients (the doctor sees them in
# arrival order while the assistant prepares the next), staff may squeeze in a third (an urgent
# case or a walk-in). Like the clinic we started from, a slot stays bookable until it ends, with
# no minimum notice; customers book up to 30 days ahead and hold one upcoming visit at a time.
DEMO_RULES = {
    "capacity": 2,
    "staff_capacity": 3,
    "min_notice_minutes": 0,
    "max_horizon_days": 30,
    "bookable_until": BookingRules.BookableUntil.END,
    "max_upcoming_per_customer": 1,
    "week_starts_on": Weekday.SUNDAY,
}
WORKDAY = (time(11), time(17))
NORMAL_WEEK: dict[int, list[tuple[time, time]]] = {
    Weekday.SUNDAY: [WORKDAY],
    Weekday.MONDAY: [WORKDAY],
    Weekday.TUESDAY: [WORKDAY],
    Weekday.WEDNESDAY: [WORKDAY],
    Weekday.THURSDAY: [WORKDAY],
    Weekday.SATURDAY: [(time(16), time(22))],
}  # Friday closed
# Ramadan 1448 AH (about 2027-02-08 to 2027-03-09): afternoon and late-evening sittings, shorter
# 15-minute visits (both sittings divide evenly); Friday closed.
RAMADAN = (date(2027, 2, 8), date(2027, 3, 9))
RAMADAN_HOURS = [(time(13), time(16)), (time(21), time(23, 30))]
RAMADAN_WEEK: dict[int, list[tuple[time, time]]] = {
    day: RAMADAN_HOURS for day in Weekday if day != Weekday.FRIDAY
}


def seed_schedule() -> int:
    """Create the demo rules and schedules if the clinic has none yet; return schedules made."""
    if WeeklySchedule.objects.exists():
        return 0
    rules = BookingRules.objects.get_solo()
    for name, value in DEMO_RULES.items():
        setattr(rules, name, value)
    rules.save()
    _schedule("Normal week", NORMAL_WEEK, slot_minutes=30)
    _schedule("Ramadan 1448", RAMADAN_WEEK, slot_minutes=15, dates=RAMADAN)
    return 2


def _schedule(
    name: str,
    hours: dict[int, list[tuple[time, time]]],
    *,
    slot_minutes: int,
    dates: tuple[date, date] | None = None,
) -> None:
    start, end = dates or (None, None)
    schedule = WeeklySchedule.objects.create(
        name=name, slot_minutes=slot_minutes, start_date=start, end_date=end
    )
    OpeningInterval.objects.bulk_create(
        OpeningInterval(schedule=schedule, weekday=day, opens=opens, closes=closes)
        for day, spans in hours.items()
        for opens, closes in spans
    )


# Three practitioners (Dr Lina part-time), an X-ray room, and four services. A service needing
# a practitioner *and* the room is designed for (ServiceResource's roles) but not booked as a
# pair yet: the 60-minute X-ray is delivered by the room alone.
PRACTITIONERS = [
    ("Dr Sara", "د. سارة", None),
    ("Dr Omar", "د. عمر", None),
    # Part-time: Sunday, Tuesday and Thursday mornings (inside the clinic's hours).
    ("Dr Lina", "د. لينا", {Weekday.SUNDAY: [(time(11), time(14))],
                            Weekday.TUESDAY: [(time(11), time(14))],
                            Weekday.THURSDAY: [(time(11), time(14))]}),
]  # fmt: skip
ROOM = ("X-ray room", "غرفة الأشعة")
DOCTORS = ["Dr Sara", "Dr Omar", "Dr Lina"]
# (English, Arabic, minutes, visit type, delivered by)
SERVICES = [
    ("Consultation", "استشارة", 15, Reservation.Type.APPOINTMENT, DOCTORS),
    ("Follow-up", "مراجعة", 30, Reservation.Type.FOLLOW_UP, DOCTORS),
    ("Cleaning", "تنظيف", 45, Reservation.Type.APPOINTMENT, ["Dr Sara", "Dr Lina"]),
    ("X-ray", "أشعة", 60, Reservation.Type.APPOINTMENT, ["X-ray room"]),
]  # fmt: skip


def seed_resources() -> int:
    """The demo team, room and services, once; the clinic's one-slot defaults retire (their
    bookings keep them)."""
    if Resource.objects.filter(is_clinic=False).exists():
        return 0
    made: dict[str, Resource] = {}
    for name, name_ar, hours in PRACTITIONERS:
        made[name] = Resource.objects.create(
            name=name, name_ar=name_ar, resource_type=Resource.Type.PRACTITIONER
        )
        for weekday, spans in (hours or {}).items():
            for start, end in spans:
                StaffWorkingHours.objects.create(
                    resource=made[name], day_of_week=weekday, start_time=start, end_time=end
                )
    made[ROOM[0]] = Resource.objects.create(
        name=ROOM[0], name_ar=ROOM[1], resource_type=Resource.Type.ROOM
    )
    Service.objects.filter(lasts_one_slot=True).update(is_active=False)
    Resource.objects.filter(is_clinic=True).update(is_active=False)
    for name, name_ar, minutes, kind, by in SERVICES:
        service = Service.objects.create(
            name=name, name_ar=name_ar, duration_minutes=minutes, type=kind
        )
        ServiceResource.objects.bulk_create(
            ServiceResource(service=service, resource=made[who]) for who in by
        )
    return len(made)


def seed_reservations(customers: list[Customer], *, today: date | None = None) -> int:
    """Book the demo customers into the coming days through the booking engine, once: each a
    service in turn, with whom the engine names."""
    seed_schedule()
    if Reservation.objects.exists():
        return 0
    seed_resources()
    today = today or timezone.localdate()
    offered = list(Service.objects.active().order_by("duration_minutes", "id"))
    created = 0
    for index, customer in enumerate(customers):
        wished = timezone.make_aware(
            datetime.combine(today + timedelta(days=1 + index), time(11 + index % 6))
        )
        service = offered[index % len(offered)]
        starts = resources.nearest_free_starts(service=service, near=wished, limit=1)
        if not starts:
            continue
        services.reserve_slot(
            wa_id=customer.wa_id,
            date=starts[0].date,
            time_slot=starts[0].time,
            source=Source.CUSTOMER if index % 3 else Source.STAFF,
            service=service,
            resource=Resource.objects.get(pk=starts[0].resource_id),
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
