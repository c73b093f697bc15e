"""The engine and the booking path agree: across random resources (capacity, own hours,
exceptions), services (duration, buffers, step, notice), existing bookings and customers, every
start the engine offers is booked (with the resource it named) and every other time is
refused."""

import contextlib
import datetime as dt

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reservations import resources, services
from reservations.models import Source, StaffException, Weekday
from reservations.tests.conftest import SUNDAY
from reservations.tests.factories import make_resource, make_service, set_rules

MONDAY = SUNDAY + dt.timedelta(days=1)
QUARTERS = [dt.time(h, m) for h in range(9, 19) for m in (0, 15, 30, 45)]
# Every 5 minutes around the clinic's Monday hours (11:00-17:00): on and off every grid.
PROBES = [dt.time(h, m) for h in range(10, 18) for m in range(0, 60, 5) if (h, m) >= (10, 30)]


class _Undo(Exception):  # noqa: N818 - a control-flow signal
    pass


@st.composite
def spans(draw):
    marks = sorted(draw(st.lists(st.sampled_from(QUARTERS), min_size=2, max_size=4, unique=True)))
    if len(marks) % 2:
        marks.pop()
    return [(marks[i], marks[i + 1]) for i in range(0, len(marks), 2)]


@st.composite
def worlds(draw):
    people = []
    for n in range(draw(st.integers(1, 3))):
        people.append(
            {
                "name": f"R{draw(st.integers(0, 9))}{n}",
                "capacity": draw(st.sampled_from([1, 1, 2])),
                "hours": draw(st.none() | spans()),
                "off": draw(st.sampled_from(["none", "none", "day", "hour"])),
                "off_at": draw(st.sampled_from(QUARTERS[8:30])),
            }
        )
    linked = draw(
        st.lists(st.integers(0, len(people) - 1), min_size=1, max_size=len(people), unique=True)
    )
    return {
        "people": people,
        "linked": linked,
        "service": {
            "minutes": draw(st.sampled_from([15, 30, 45, 60])),
            "buffer_before_minutes": draw(st.sampled_from([0, 0, 10, 15])),
            "buffer_after_minutes": draw(st.sampled_from([0, 5, 15])),
            "step_minutes": draw(st.sampled_from([None, 15, 20])),
            "min_notice_minutes": draw(st.sampled_from([None, 1620])),  # Monday 12:00
        },
        "bookings": draw(
            st.lists(st.tuples(st.sampled_from(PROBES), st.none() | st.integers(0, 2)), max_size=6)
        ),
        "named": draw(st.none() | st.integers(0, len(linked) - 1)),
        "for_staff": draw(st.booleans()),
        "holds_one": draw(st.booleans()),
        "limit": draw(st.sampled_from([1, 3])),
    }


def build(world):
    set_rules(max_upcoming_per_customer=world["limit"])
    everyone = []
    for person in world["people"]:
        hours: dict[int, list] | None = (
            {Weekday.MONDAY: person["hours"]} if person["hours"] is not None else None
        )
        resource = make_resource(person["name"], capacity=person["capacity"], hours=hours)
        if person["off"] == "day":
            StaffException.objects.create(resource=resource, date=MONDAY)
        elif person["off"] == "hour":
            end = (dt.datetime.combine(MONDAY, person["off_at"]) + dt.timedelta(hours=1)).time()
            StaffException.objects.create(
                resource=resource, date=MONDAY, start_time=person["off_at"], end_time=end
            )
        everyone.append(resource)
    linked = [everyone[i] for i in world["linked"]]
    service = make_service(resources=linked, **world["service"])
    for n, (at, who) in enumerate(world["bookings"]):
        chosen = None if who is None or who >= len(linked) else linked[who]
        with contextlib.suppress(services.BookingError):
            services.reserve_slot(
                wa_id=f"96650000{n:04d}", date=MONDAY, time_slot=at, source=Source.STAFF,
                service=service, resource=chosen,
            )  # fmt: skip
    if world["holds_one"]:
        services.reserve_slot(
            wa_id="966509999999", date=MONDAY + dt.timedelta(days=1), time_slot=dt.time(11),
            type=0, source=Source.STAFF,
        )  # fmt: skip
    named = None if world["named"] is None else linked[world["named"]]
    return service, named


def attempt(service, named, at, for_staff):
    """The resource the booking path books at `at`, or None if refused (undone either way)."""
    booked = None
    try:
        with transaction.atomic():
            reservation = services.reserve_slot(
                wa_id="966509999999", date=MONDAY, time_slot=at, service=service,
                resource=named, source=Source.STAFF if for_staff else Source.CUSTOMER,
            )  # fmt: skip
            booked = reservation.resource_id
            raise _Undo
    except _Undo:
        pass
    except services.BookingError:
        return None
    return booked


@pytest.mark.usefixtures("clinic")
@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(worlds())
def test_the_engine_offers_exactly_what_the_booking_path_accepts(world):
    try:
        with transaction.atomic():
            service, named = build(world)
            [day] = resources.free_starts(
                service=service, start=MONDAY, end=MONDAY, resource=named,
                for_staff=world["for_staff"], wa_id="966509999999",
            )  # fmt: skip
            offered = {start.time: start.resource_id for start in day.starts}
            accepted = {}
            for at in PROBES:
                booked = attempt(service, named, at, world["for_staff"])
                if booked is not None:
                    accepted[at] = booked
            assert accepted == offered
            raise _Undo
    except _Undo:
        pass
