"""Practitioners, rooms and services: booking a service with someone, through the engine."""

import datetime as dt

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from reservations import resources, services
from reservations.models import (
    Reservation,
    Resource,
    Service,
    Source,
    StaffException,
    VacationPeriod,
    Weekday,
)
from reservations.tests.conftest import SUNDAY
from reservations.tests.factories import make_resource, make_schedule, make_service

pytestmark = pytest.mark.usefixtures("clinic")

MONDAY = SUNDAY + dt.timedelta(days=1)
T = dt.time


def book(at, *, service, resource=None, wa_id="966501234567", day=MONDAY, source=Source.CUSTOMER):
    return services.reserve_slot(
        wa_id=wa_id, date=day, time_slot=at, source=source, service=service, resource=resource
    )


def offered(service, *, resource=None, day=MONDAY, **kwargs):
    [found] = resources.free_starts(
        service=service, start=day, end=day, resource=resource, **kwargs
    )
    return [(start.time, start.resource_name) for start in found.starts]


def times(service, **kwargs):
    return [at for at, _name in offered(service, **kwargs)]


def test_the_upgrade_leaves_the_clinic_as_one_resource_with_two_one_slot_services():
    clinic = Resource.objects.get(is_clinic=True)
    kinds = Service.objects.filter(lasts_one_slot=True).order_by("type")
    assert [(s.type, s.duration_minutes) for s in kinds] == [(0, 30), (1, 30)]
    assert all(list(s.resources.all()) == [clinic] for s in kinds)


def test_a_booking_without_a_service_is_the_clinics_for_one_slot_of_its_type():
    reservation = services.reserve_slot(
        wa_id="966501234567", date=MONDAY, time_slot=T(11), type=1, source=Source.CUSTOMER
    )
    assert reservation.resource == Resource.objects.get_clinic()
    assert (reservation.service, reservation.type) == (Service.objects.default_for(1), 1)
    assert reservation.end_time == T(11, 30)
    assert (reservation.blocked_from, reservation.blocked_until) == (
        reservation.starts_at, reservation.starts_at + dt.timedelta(minutes=30)
    )  # fmt: skip
    assert not reservation.exclusive


def test_a_one_slot_service_lasts_a_seasons_shorter_slot():
    make_schedule(slot_minutes=15, start_date=MONDAY, end_date=MONDAY, name="Ramadan")
    reservation = services.reserve_slot(
        wa_id="966501234567", date=MONDAY, time_slot=T(11, 15), type=0, source=Source.CUSTOMER
    )
    assert reservation.end_time == T(11, 30)


def test_a_service_books_its_duration_and_its_buffers_keep_the_neighbours_free():
    sara = make_resource("Dr Sara")
    cleaning = make_service(minutes=45, buffer_after_minutes=15, step_minutes=15, resources=[sara])
    reservation = book(T(11), service=cleaning)
    assert (reservation.resource, reservation.end_time, reservation.exclusive) == (
        sara, T(11, 45), True
    )  # fmt: skip
    assert reservation.blocked_until - reservation.blocked_from == dt.timedelta(hours=1)
    starts = times(cleaning)
    assert starts[:2] == [T(12), T(12, 15)]  # the 15 minutes after 11:45 stay free
    assert starts[-1] == T(16, 15)  # 45 minutes still fit before 17:00
    with pytest.raises(services.SlotFullError):
        book(T(11, 45), service=cleaning, wa_id="966500000002")


def test_a_buffer_before_keeps_the_time_before_a_booking_free_too():
    sara = make_resource("Dr Sara")
    prep = make_service(minutes=30, buffer_before_minutes=30, resources=[sara])
    book(T(12), service=prep)  # blocks 11:30-12:30
    starts = times(prep)
    assert T(11) in starts  # 11:00-11:30 (its own buffer before) ends as the other's begins
    assert T(11, 30) not in starts  # would run into 11:30-12:00, the other's preparation
    assert T(12, 30) not in starts  # its preparation would meet 12:00-12:30
    assert T(13) in starts


def test_anyone_takes_the_least_booked_that_day_then_by_name_and_says_who():
    sara, ali = make_resource("Dr Sara"), make_resource("Dr Ali")
    cleaning = make_service(resources=[sara, ali])
    assert offered(cleaning)[0] == (T(11), "Dr Ali")  # both free: by name
    first = book(T(11), service=cleaning, wa_id="966500000001")
    assert first.resource == ali
    assert offered(cleaning)[0] == (T(11), "Dr Sara")  # Ali is taken at 11:00
    assert dict(offered(cleaning))[T(12)] == "Dr Sara"  # the least booked that day
    second = book(T(12), service=cleaning, wa_id="966500000002")
    assert second.resource == sara
    assert dict(offered(cleaning))[T(13)] == "Dr Ali"  # one each: by name again


def test_a_resource_works_its_own_hours_inside_the_clinics_and_not_on_its_exceptions():
    sara = make_resource("Dr Sara", hours={Weekday.MONDAY: [(T(9), T(12)), (T(13), T(15))]})
    cleaning = make_service(resources=[sara])
    StaffException.objects.create(resource=sara, date=MONDAY, start_time=T(14), end_time=T(14, 30))
    assert times(cleaning) == [T(11), T(11, 30), T(13), T(13, 30), T(14, 30)]
    with pytest.raises(services.UnavailableError):
        book(T(12), service=cleaning)
    with pytest.raises(services.UnavailableError):
        book(T(14), service=cleaning)
    with pytest.raises(services.NotASlotError):
        book(T(13, 10), service=cleaning)
    with pytest.raises(services.ClosedError):
        book(T(10), service=cleaning)  # her hours, but the clinic is closed
    assert times(cleaning, day=MONDAY + dt.timedelta(days=1)) == []  # no Tuesday hours
    StaffException.objects.create(resource=sara, date=MONDAY + dt.timedelta(days=7))
    [day] = resources.free_starts(
        service=cleaning, start=MONDAY + dt.timedelta(days=7), end=MONDAY + dt.timedelta(days=7)
    )
    assert (day.reason, day.starts) == ("unavailable", ())


def test_a_resources_season_hours_replace_its_normal_hours_inside_the_season():
    season = make_schedule(
        {Weekday.MONDAY: [(T(20), T(23))]}, start_date=MONDAY, end_date=MONDAY, name="Ramadan"
    )
    sara = make_resource("Dr Sara", hours={Weekday.MONDAY: [(T(11), T(12))]})
    make_resource("unused")
    from reservations.models import StaffWorkingHours

    StaffWorkingHours.objects.create(
        resource=sara, season=season, day_of_week=Weekday.MONDAY, start_time=T(21),
        end_time=T(22),
    )  # fmt: skip
    cleaning = make_service(resources=[sara])
    assert times(cleaning) == [T(21), T(21, 30)]
    assert times(cleaning, day=MONDAY + dt.timedelta(days=7)) == [T(11), T(11, 30)]


def test_vacations_close_every_resource():
    sara = make_resource("Dr Sara")
    cleaning = make_service(resources=[sara])
    VacationPeriod.objects.create(start_date=MONDAY, end_date=MONDAY)
    [day] = resources.free_starts(service=cleaning, start=MONDAY, end=MONDAY)
    assert day.reason == "vacation"
    with pytest.raises(services.VacationError):
        book(T(11), service=cleaning)


def test_a_room_for_two_holds_two_overlapping_bookings_at_any_moment():
    room = make_resource("Gym", kind="room", capacity=2)
    session = make_service(minutes=60, resources=[room])
    book(T(11), service=session, wa_id="966500000001")
    book(T(11, 30), service=session, wa_id="966500000002")
    assert T(11, 30) not in times(session)  # 11:30-12:00 holds both
    assert T(12) in times(session)  # only the 11:30 one still runs
    with pytest.raises(services.SlotFullError):
        book(T(11), service=session, wa_id="966500000003")
    assert not Reservation.objects.filter(resource=room, exclusive=True).exists()


def test_the_engine_knows_the_customers_limit_and_own_bookings():
    sara = make_resource("Dr Sara")
    cleaning = make_service(resources=[sara])
    book(T(11), service=cleaning)
    assert times(cleaning, wa_id="966501234567") == []
    [day] = resources.free_starts(
        service=cleaning, start=MONDAY, end=MONDAY, wa_id="966501234567", bookable_only=False
    )
    assert {start.refusal for start in day.starts} == {"slot_full", "customer_limit"}
    with pytest.raises(services.CustomerLimitError):
        book(T(12), service=cleaning)


def test_a_customer_cannot_be_booked_in_two_places_at_once():
    sara, ali = make_resource("Dr Sara"), make_resource("Dr Ali")
    one, other = make_service(resources=[sara]), make_service("Check", minutes=60, resources=[ali])
    book(T(11), service=other, source=Source.STAFF)
    with pytest.raises(services.AlreadyBookedError):
        book(T(11, 30), service=one, source=Source.STAFF)


def test_inactive_or_unlinked_resources_and_inactive_services_take_no_booking():
    sara, ali = make_resource("Dr Sara"), make_resource("Dr Ali")
    cleaning = make_service(resources=[sara])
    with pytest.raises(services.UnavailableError):
        book(T(11), service=cleaning, resource=ali)
    Resource.objects.filter(pk=sara.pk).update(is_active=False)
    assert times(cleaning) == []
    with pytest.raises(services.UnavailableError):
        book(T(11), service=cleaning)
    Resource.objects.filter(pk=sara.pk).update(is_active=True)
    Service.objects.filter(pk=cleaning.pk).update(is_active=False)
    cleaning.refresh_from_db()
    with pytest.raises(services.UnavailableError):
        book(T(11), service=cleaning)
    assert book(T(11), service=cleaning, source=Source.STAFF).resource == sara


def test_moving_keeps_the_service_and_resource_and_staff_may_change_the_resource():
    sara, ali = make_resource("Dr Sara"), make_resource("Dr Ali")
    cleaning = make_service(minutes=45, step_minutes=15, resources=[sara, ali])
    reservation = book(T(11), service=cleaning, resource=sara)
    moved = services.modify_reservation(
        reservation=reservation, date=MONDAY, time_slot=T(11, 15), source=Source.CUSTOMER
    )
    assert (moved.resource, moved.service, moved.end_time) == (sara, cleaning, T(12))
    assert reservation.end_time == T(12)  # the caller's instance follows
    with pytest.raises(ValueError, match="only staff"):
        services.modify_reservation(
            reservation=moved, date=MONDAY, time_slot=T(12), source=Source.CUSTOMER, resource=ali
        )
    moved = services.modify_reservation(
        reservation=moved, date=MONDAY, time_slot=T(11, 15), source=Source.STAFF, resource=ali
    )
    assert moved.resource == ali


def test_reinstating_books_the_start_again_through_the_engine():
    sara = make_resource("Dr Sara")
    cleaning = make_service(resources=[sara])
    reservation = book(T(11), service=cleaning)
    services.cancel_reservation(reservation=reservation, source=Source.CUSTOMER)
    book(T(11), service=cleaning, wa_id="966500000009")
    with pytest.raises(services.SlotFullError):
        book(T(11), service=cleaning)
    again = book(T(11, 30), service=cleaning)
    assert again.pk != reservation.pk


def test_lowering_a_capacity_below_the_overlaps_is_refused_and_exclusivity_follows():
    room = make_resource("Gym", kind="room", capacity=2)
    session = make_service(minutes=60, resources=[room])
    book(T(11), service=session, wa_id="966500000001")
    assert resources.overlap_beyond(resource=room, capacity=1) is None
    book(T(11, 30), service=session, wa_id="966500000002")
    assert resources.overlap_beyond(resource=room, capacity=1) == MONDAY
    Reservation.objects.filter(time_slot=T(11, 30)).update(
        status="cancelled", cancelled_at=timezone.now()
    )
    room.capacity = 1
    resources.save_resource(resource=room)
    assert list(Reservation.objects.active().values_list("exclusive", flat=True)) == [True]


@pytest.mark.postgres
def test_the_database_refuses_overlapping_bookings_of_a_one_at_a_time_resource():
    """Fails if migration 0010's exclusion constraint is dropped."""
    sara = make_resource("Dr Sara")
    cleaning = make_service(minutes=30, buffer_after_minutes=10, resources=[sara])
    first = book(T(11), service=cleaning)

    def insert(at, **values):
        row = Reservation(
            customer=first.customer, date=MONDAY, time_slot=at, resource=sara, service=cleaning,
            **values,
        )  # fmt: skip
        row.place(length=dt.timedelta(minutes=30), buffer_before=0, buffer_after=10)
        with transaction.atomic():
            row.save()
        return row

    with pytest.raises(IntegrityError, match="ex_reservations_resource_overlap"):
        insert(T(11, 35))  # inside the first one's buffer (11:30-11:40)
    insert(T(11, 40))  # right after it: allowed
    insert(T(11, 10), status="cancelled", cancelled_at=first.created_at)  # cancelled: no claim


def test_rows_imported_with_the_original_columns_only_count_as_one_clinic_slot():
    from django.db import connection

    from customers.tests.factories import CustomerFactory

    for _n in range(2):
        customer = CustomerFactory()
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO reservations (wa_id, date, time_slot, type, status, created_at,"
                " updated_at, source) VALUES (%s, %s, %s, 0, 'active', %s, %s, 'staff')",
                [customer.wa_id, MONDAY, "11:00", timezone.now(), timezone.now()],
            )
    appointment = Service.objects.default_for(0)
    assert T(11) not in times(appointment)
    assert T(11, 30) in times(appointment)
    with pytest.raises(services.SlotFullError):
        services.reserve_slot(
            wa_id="966501234567", date=MONDAY, time_slot=T(11), type=0, source=Source.CUSTOMER
        )


def test_nearest_free_starts_are_the_closest_bookable_times_naming_who():
    sara, ali = make_resource("Dr Sara"), make_resource("Dr Ali")
    cleaning = make_service(resources=[sara, ali])
    book(T(12), service=cleaning, wa_id="966500000001", resource=sara)
    book(T(12), service=cleaning, wa_id="966500000002", resource=ali)
    wished = timezone.make_aware(dt.datetime.combine(MONDAY, T(12)))
    nearest = resources.nearest_free_starts(service=cleaning, near=wished, limit=3)
    assert [(s.time, s.resource_name) for s in nearest] == [
        (T(11, 30), "Dr Ali"), (T(12, 30), "Dr Ali"), (T(11), "Dr Ali")
    ]  # fmt: skip


def test_the_clinics_slots_count_the_clinics_bookings_only():
    sara = make_resource("Dr Sara")
    cleaning = make_service(resources=[sara])
    book(T(11), service=cleaning, wa_id="966500000001")
    book(T(11), service=Service.objects.default_for(0), wa_id="966500000002")
    [monday] = services.available_slots(start=MONDAY, end=MONDAY, type=0)
    assert (monday.slots[0].time, monday.slots[0].booked) == (T(11), 1)
