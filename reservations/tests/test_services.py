import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from customers.models import Customer
from customers.tests.factories import CustomerFactory
from messaging.models import NotificationEvent
from reservations import services
from reservations.models import BookingRules, Reservation, Source
from reservations.tests.conftest import SUNDAY
from reservations.tests.factories import (
    ReservationFactory,
    VacationPeriodFactory,
    make_schedule,
    set_rules,
)

pytestmark = pytest.mark.usefixtures("clinic")

APPOINTMENT = Reservation.Type.APPOINTMENT
FOLLOW_UP = Reservation.Type.FOLLOW_UP
MONDAY = SUNDAY + dt.timedelta(days=1)
FRIDAY = SUNDAY + dt.timedelta(days=5)
ELEVEN = dt.time(11, 0)
RIYADH = ZoneInfo("Asia/Riyadh")


def book(wa_id="966501234567", day=MONDAY, at=ELEVEN, type=APPOINTMENT, source=Source.CUSTOMER):
    return services.reserve_slot(wa_id=wa_id, date=day, time_slot=at, type=type, source=source)


def fill(day=MONDAY, at=ELEVEN, n=2, type=APPOINTMENT):
    return [ReservationFactory(date=day, time_slot=at, type=type) for _ in range(n)]


def events(event_type):
    return list(NotificationEvent.objects.of_type(event_type))


# ---------------------------------------------------------------------------- available_slots


def test_available_slots_lists_each_day_with_remaining_places_and_says_why_days_are_closed():
    fill(n=1)
    days = services.available_slots(start=MONDAY, end=FRIDAY)
    assert [day.date for day in days] == [MONDAY + dt.timedelta(days=n) for n in range(5)]
    monday = days[0]
    assert monday.reason is None
    assert [slot.time for slot in monday.slots][:3] == [ELEVEN, dt.time(11, 30), dt.time(12)]
    assert monday.slots[-1].time == dt.time(16, 30)  # the last whole slot before 17:00
    assert (monday.slots[0].booked, monday.slots[0].remaining) == (1, 1)
    assert days[-1].reason == "closed"
    assert days[-1].slots == ()


def test_a_full_slot_is_not_offered():
    fill(n=2)
    monday = services.available_slots(start=MONDAY, end=MONDAY)[0]
    assert ELEVEN not in [slot.time for slot in monday.slots]


def test_vacation_days_offer_nothing_and_say_vacation():
    VacationPeriodFactory(start_date=MONDAY, end_date=None)  # open-ended
    days = services.available_slots(start=SUNDAY, end=MONDAY + dt.timedelta(days=40))
    assert days[0].reason is None
    assert {day.reason for day in days[1:]} == {"vacation"}


def test_slots_already_over_are_not_offered(frozen):
    frozen.move_to(dt.datetime(2026, 11, 22, 11, 10, tzinfo=dt.UTC))  # 14:10 in Riyadh
    sunday = services.available_slots(start=SUNDAY, end=SUNDAY)[0]
    assert sunday.slots[0].time == dt.time(14, 0)  # under way: bookable until it ends
    set_rules(bookable_until=BookingRules.BookableUntil.START)
    sunday = services.available_slots(start=SUNDAY, end=SUNDAY)[0]
    assert sunday.slots[0].time == dt.time(14, 30)
    assert services.available_slots(start=SUNDAY - dt.timedelta(days=1), end=SUNDAY)[0].reason in (
        "in_past",
        "closed",
    )


def test_minimum_notice_hides_slots_starting_too_soon():
    set_rules(min_notice_minutes=150)  # now is 09:00: 11:30 is the first slot allowed
    sunday = services.available_slots(start=SUNDAY, end=SUNDAY)[0]
    assert sunday.slots[0].time == dt.time(11, 30)
    staff = services.available_slots(start=SUNDAY, end=SUNDAY, for_staff=True)[0]
    assert staff.slots[0].time == ELEVEN


def test_days_beyond_the_horizon_say_too_far_except_for_staff():
    set_rules(max_horizon_days=2)
    days = services.available_slots(start=SUNDAY, end=SUNDAY + dt.timedelta(days=4))
    assert [day.reason for day in days] == [None, None, None, "too_far", "too_far"]
    staff = services.available_slots(
        start=SUNDAY, end=SUNDAY + dt.timedelta(days=4), for_staff=True
    )
    assert staff[3].reason is None


def test_type_capacity_limits_one_type_inside_the_slot():
    set_rules(follow_up_capacity=1)
    fill(n=1, type=FOLLOW_UP)
    follow_ups = services.available_slots(start=MONDAY, end=MONDAY, type=FOLLOW_UP)[0]
    appointments = services.available_slots(start=MONDAY, end=MONDAY, type=APPOINTMENT)[0]
    assert ELEVEN not in [slot.time for slot in follow_ups.slots]
    assert appointments.slots[0].time == ELEVEN
    assert appointments.slots[0].remaining == 1


def test_staff_see_the_staff_limit():
    fill(n=2)
    staff = services.available_slots(start=MONDAY, end=MONDAY, for_staff=True)[0]
    assert (staff.slots[0].time, staff.slots[0].capacity, staff.slots[0].remaining) == (
        ELEVEN,
        3,
        1,
    )


def test_a_season_replaces_the_normal_week_with_its_own_hours_and_slot_length():
    make_schedule(
        {0: [(dt.time(13), dt.time(14))], 5: []},
        slot_minutes=20,
        start_date=MONDAY,
        end_date=MONDAY + dt.timedelta(days=1),
        name="Ramadan",
    )
    monday, tuesday, wednesday = services.available_slots(
        start=MONDAY, end=MONDAY + dt.timedelta(days=2)
    )
    assert [slot.time for slot in monday.slots] == [dt.time(13), dt.time(13, 20), dt.time(13, 40)]
    assert tuesday.reason == "closed"  # the season has no Tuesday hours
    assert wednesday.slots[0].time == ELEVEN  # the normal week again


def test_available_slots_takes_a_fixed_number_of_queries(django_assert_max_num_queries):
    for n in range(40):
        fill(day=MONDAY + dt.timedelta(days=n % 20), at=dt.time(11 + n % 6), n=1)
    VacationPeriodFactory(start_date=MONDAY + dt.timedelta(days=25), end_date=None)
    with django_assert_max_num_queries(5):
        days = services.available_slots(start=SUNDAY, end=SUNDAY + dt.timedelta(days=29))
    assert len(days) == 30


def test_nearest_available_slots_are_the_closest_bookable_times():
    fill(at=dt.time(12), n=2)
    near = dt.datetime(2026, 11, 23, 12, 0, tzinfo=RIYADH)  # Monday 12:00, which is full
    found = services.nearest_available_slots(near=near, type=APPOINTMENT, limit=3)
    assert [(slot.date, slot.time) for slot in found] == [
        (MONDAY, dt.time(11, 30)),
        (MONDAY, dt.time(12, 30)),
        (MONDAY, ELEVEN),
    ]


def test_nearest_available_slots_stay_inside_the_horizon():
    set_rules(max_horizon_days=1)
    near = dt.datetime(2027, 1, 1, 12, 0, tzinfo=dt.UTC)
    found = services.nearest_available_slots(near=near, type=APPOINTMENT, limit=1)
    assert [(slot.date, slot.time) for slot in found] == [(MONDAY, dt.time(16, 30))]


# ---------------------------------------------------------------------------- reserve_slot


def test_reserve_slot_creates_the_customer_and_records_an_event():
    reservation = services.reserve_slot(
        wa_id="+966 50 123 4567", date=MONDAY, time_slot=ELEVEN, type=FOLLOW_UP,
        source=Source.STAFF, customer_name="Sara",
    )  # fmt: skip
    assert reservation.customer_id == "966501234567"
    assert Customer.objects.get(pk="966501234567").customer_name == "Sara"
    assert (reservation.source, reservation.type, reservation.is_active) == ("staff", 1, True)
    [event] = events("reservation_created")
    assert event.wa_id == "966501234567"
    assert event.data["reservation_id"] == reservation.pk
    assert event.data["date"] == "2026-11-23"
    assert event.data["time_slot"] == "11:00"
    assert event.data["source"] == "staff"


def test_capacity_holds_for_customers_and_staff_get_the_staff_limit():
    fill(n=2)
    with pytest.raises(services.SlotFullError) as excinfo:
        book()
    assert excinfo.value.code == "slot_full"
    book(source=Source.STAFF)  # 3rd place: staff limit
    with pytest.raises(services.SlotFullError):
        book(wa_id="966502345678", source=Source.STAFF)
    assert Reservation.objects.active().on(MONDAY).count() == 3


def test_type_capacity_refuses_the_type_but_not_the_other():
    set_rules(appointment_capacity=1)
    fill(n=1)
    with pytest.raises(services.TypeFullError) as excinfo:
        book()
    assert excinfo.value.code == "type_full"
    assert book(type=FOLLOW_UP).type == FOLLOW_UP


@pytest.mark.parametrize(
    ("day", "at", "error", "code"),
    [
        (FRIDAY, ELEVEN, services.ClosedError, "closed"),
        (MONDAY, dt.time(8, 0), services.ClosedError, "closed"),
        (MONDAY, dt.time(17, 0), services.ClosedError, "closed"),
        (MONDAY, dt.time(11, 15), services.NotASlotError, "not_a_slot"),
        (SUNDAY - dt.timedelta(days=7), ELEVEN, services.InPastError, "in_past"),
    ],
)
def test_reserve_slot_refuses_times_that_are_not_open_slots(day, at, error, code):
    with pytest.raises(error) as excinfo:
        book(day=day, at=at)
    assert excinfo.value.code == code
    assert not Reservation.objects.exists()
    assert not NotificationEvent.objects.exists()


def test_reserve_slot_refuses_vacation_days():
    VacationPeriodFactory(start_date=MONDAY, end_date=MONDAY)
    with pytest.raises(services.VacationError) as excinfo:
        book()
    assert excinfo.value.code == "vacation"


def test_a_slot_under_way_is_bookable_until_it_ends_by_setting(frozen):
    frozen.move_to(dt.datetime(2026, 11, 22, 8, 10, tzinfo=dt.UTC))  # 11:10 in Riyadh
    assert book(day=SUNDAY).time_slot == ELEVEN
    set_rules(bookable_until=BookingRules.BookableUntil.START)
    with pytest.raises(services.InPastError):
        book(wa_id="966502345678", day=SUNDAY)


def test_minimum_notice_and_horizon_apply_to_customers_only():
    set_rules(min_notice_minutes=180, max_horizon_days=10)
    with pytest.raises(services.TooSoonError) as soon:
        book(day=SUNDAY, at=dt.time(11, 30))
    with pytest.raises(services.TooFarError) as far:
        book(day=SUNDAY + dt.timedelta(days=11))
    assert (soon.value.code, far.value.code) == ("too_soon", "too_far")
    assert "180" in soon.value.message_for("en")
    assert "10" in far.value.message_for("en")
    book(day=SUNDAY, at=dt.time(11, 30), source=Source.STAFF)
    book(wa_id="966502345678", day=SUNDAY + dt.timedelta(days=11), source=Source.STAFF)


def test_customer_limit_reports_the_existing_reservation_and_moves_nothing():
    first = book()
    with pytest.raises(services.CustomerLimitError) as excinfo:
        book(day=MONDAY + dt.timedelta(days=1))
    assert excinfo.value.code == "customer_limit"
    assert excinfo.value.reservations == [first]
    first.refresh_from_db()
    assert (first.date, first.time_slot, first.is_active) == (MONDAY, ELEVEN, True)
    assert Reservation.objects.count() == 1


def test_staff_may_book_a_customer_beyond_the_customer_limit():
    book()
    second = book(day=MONDAY + dt.timedelta(days=1), source=Source.STAFF)
    assert second.is_active
    with pytest.raises(services.CustomerLimitError) as excinfo:
        book(day=MONDAY + dt.timedelta(days=2))
    assert len(excinfo.value.reservations) == 1  # the limit, not everything held


def test_customer_limit_is_a_setting_and_past_reservations_do_not_count():
    ReservationFactory(
        customer=CustomerFactory(wa_id="966501234567"), date=SUNDAY - dt.timedelta(1)
    )
    book()
    set_rules(max_upcoming_per_customer=2)
    book(day=MONDAY + dt.timedelta(days=1))
    with pytest.raises(services.CustomerLimitError) as excinfo:
        book(day=MONDAY + dt.timedelta(days=2))
    assert len(excinfo.value.reservations) == 2


def test_booking_the_same_slot_twice_says_already_booked():
    book()
    with pytest.raises(services.AlreadyBookedError):
        book()


def test_booking_a_slot_cancelled_before_reinstates_the_same_row():
    first = book(type=APPOINTMENT)
    services.cancel_reservation(reservation=first, source=Source.CUSTOMER)
    again = book(type=FOLLOW_UP)
    assert again.pk == first.pk
    assert (again.is_active, again.cancelled_at, again.cancelled_source) == (True, None, None)
    assert again.type == FOLLOW_UP
    assert Reservation.objects.count() == 1
    [event] = events("reservation_reinstated")
    assert event.data["reservation_id"] == first.pk
    assert event.data["previously_cancelled_at"]


def test_a_reinstated_booking_still_obeys_capacity():
    first = book()
    services.cancel_reservation(reservation=first, source=Source.CUSTOMER)
    fill(n=2)
    with pytest.raises(services.SlotFullError):
        book()


def test_bad_input_gets_a_clear_error():
    with pytest.raises(services.InvalidNumberError):
        book(wa_id="not a number")
    with pytest.raises(services.InvalidTypeError):
        book(type=7)
    with pytest.raises(ValueError, match="unknown source"):
        book(source="robot")
    assert not Customer.objects.exists()


def test_blocked_customers_cannot_book_themselves_but_staff_can_book_them():
    CustomerFactory(wa_id="966501234567", is_blocked=True)
    with pytest.raises(services.CustomerBlockedError):
        book()
    assert book(source=Source.STAFF).is_active


# ---------------------------------------------------------------------------- modify_reservation


def test_modify_moves_the_reservation_and_records_where_it_was():
    reservation = book()
    moved = services.modify_reservation(
        reservation=reservation, date=MONDAY, time_slot=dt.time(12), type=FOLLOW_UP,
        source=Source.CUSTOMER,
    )  # fmt: skip
    assert moved.pk == reservation.pk
    assert (reservation.time_slot, reservation.type) == (dt.time(12), FOLLOW_UP)  # caller synced
    [event] = events("reservation_updated")
    assert event.data["previous"] == {"date": "2026-11-23", "time_slot": "11:00", "type": 0}
    assert event.data["time_slot"] == "12:00"


def test_modify_into_a_full_slot_is_refused_but_its_own_place_does_not_count():
    reservation = book()
    fill(n=1)  # the 11:00 slot is now full, with our customer in it
    fill(at=dt.time(12), n=2)
    with pytest.raises(services.SlotFullError):
        services.modify_reservation(
            reservation=reservation, date=MONDAY, time_slot=dt.time(12), source=Source.CUSTOMER
        )
    changed = services.modify_reservation(
        reservation=reservation, date=MONDAY, time_slot=ELEVEN, type=FOLLOW_UP,
        source=Source.CUSTOMER,
    )  # fmt: skip
    assert changed.type == FOLLOW_UP


def test_modify_applies_the_same_rules_as_booking():
    reservation = book()
    with pytest.raises(services.ClosedError):
        services.modify_reservation(
            reservation=reservation, date=FRIDAY, time_slot=ELEVEN, source=Source.CUSTOMER
        )
    services.cancel_reservation(reservation=reservation, source=Source.CUSTOMER)
    with pytest.raises(services.NotActiveError):
        services.modify_reservation(
            reservation=reservation, date=MONDAY, time_slot=dt.time(12), source=Source.CUSTOMER
        )


def test_customers_cannot_move_a_reservation_that_has_started(frozen):
    reservation = book(day=SUNDAY)
    frozen.move_to(dt.datetime(2026, 11, 22, 8, 5, tzinfo=dt.UTC))  # 11:05 in Riyadh
    with pytest.raises(services.PastReservationError):
        services.modify_reservation(
            reservation=reservation, date=MONDAY, time_slot=ELEVEN, source=Source.CUSTOMER
        )
    services.modify_reservation(
        reservation=reservation, date=MONDAY, time_slot=ELEVEN, source=Source.STAFF
    )


# ---------------------------------------------------------------------------- cancel_reservation


def test_cancel_marks_the_reservation_cancelled_by_whom_and_records_it():
    reservation = book()
    services.cancel_reservation(reservation=reservation, source=Source.CUSTOMER)
    reservation.refresh_from_db()
    assert reservation.status == "cancelled"
    assert reservation.cancelled_source == "customer"
    assert reservation.cancelled_at is not None
    assert len(events("reservation_cancelled")) == 1
    services.cancel_reservation(reservation=reservation, source=Source.CUSTOMER)  # no-op
    assert len(events("reservation_cancelled")) == 1


def test_cancel_touches_past_reservations_only_when_staff_ask_explicitly():
    past = ReservationFactory(date=SUNDAY - dt.timedelta(days=1))
    with pytest.raises(services.PastReservationError) as excinfo:
        services.cancel_reservation(reservation=past, source=Source.STAFF)
    assert excinfo.value.code == "past_reservation"
    with pytest.raises(services.PastReservationError):
        services.cancel_reservation(reservation=past, source=Source.CUSTOMER, allow_past=True)
    services.cancel_reservation(reservation=past, source=Source.STAFF, allow_past=True)
    past.refresh_from_db()
    assert past.status == "cancelled"


# ---------------------------------------------------------------------------- messages


def test_refusals_speak_english_and_arabic():
    error = services.SlotFullError()
    english = error.message_for("en")
    arabic = error.message_for("ar")
    assert english == str(error)
    assert english != arabic
    assert any("\u0600" <= ch <= "\u06ff" for ch in arabic)
    limit = services.TooFarError(days=30)
    assert "30" in limit.message_for("ar")
    assert limit.message_for("ar") != limit.message_for("en")


def test_every_refusal_code_has_an_arabic_message():
    from reservations import errors

    classes = [
        value
        for value in vars(errors).values()
        if isinstance(value, type) and issubclass(value, errors.BookingError)
    ]
    for cls in classes:
        error = cls(reservations=[]) if cls is errors.CustomerLimitError else cls(days=1, minutes=1)
        assert error.message_for("ar") != error.message_for("en"), cls.__name__


# ---------------------------------------------------------------------------- reinstating
def test_reinstating_undoes_a_cancellation_as_it_was():
    reservation = ReservationFactory(date=SUNDAY + dt.timedelta(days=1), source=Source.CUSTOMER)
    services.cancel_reservation(reservation=reservation, source=Source.STAFF)
    services.reinstate_reservation(reservation=reservation, source=Source.STAFF)
    reservation.refresh_from_db()
    assert (reservation.status, reservation.source, reservation.cancelled_source) == (
        "active",
        Source.CUSTOMER,
        None,
    )
    # Reinstating an active one changes nothing.
    services.reinstate_reservation(reservation=reservation, source=Source.STAFF)
    assert NotificationEvent.objects.filter(event_type="reservation_reinstated").count() == 1


def test_reinstating_is_refused_when_the_customer_booked_that_slot_again():
    reservation = ReservationFactory(date=SUNDAY + dt.timedelta(days=1))
    services.cancel_reservation(reservation=reservation, source=Source.STAFF)
    ReservationFactory(customer=reservation.customer, date=reservation.date)
    with pytest.raises(services.AlreadyBookedError):
        services.reinstate_reservation(reservation=reservation, source=Source.STAFF)


def test_a_customer_reinstating_is_held_to_the_customer_rules():
    reservation = ReservationFactory(date=SUNDAY + dt.timedelta(days=1))
    services.cancel_reservation(reservation=reservation, source=Source.CUSTOMER)
    ReservationFactory(customer=reservation.customer, date=SUNDAY + dt.timedelta(days=2))
    with pytest.raises(services.CustomerLimitError):
        services.reinstate_reservation(reservation=reservation, source=Source.CUSTOMER)
    for _ in range(2):  # the customer capacity; staff may still go to 3
        ReservationFactory(date=reservation.date)
    services.reinstate_reservation(reservation=reservation, source=Source.STAFF)
