import datetime as dt

import pytest

from customers.tests.factories import CustomerFactory
from messaging.models import BotSession
from messaging.tests.chat import Chat
from reservations.models import BookingRules, Reservation
from reservations.tests.factories import ReservationFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clinic")]

SUNDAY = dt.date(2026, 11, 22)
MONDAY = SUNDAY + dt.timedelta(days=1)
TUESDAY = SUNDAY + dt.timedelta(days=2)


@pytest.fixture
def held():
    customer = CustomerFactory(wa_id="966501234567", language="en")
    return ReservationFactory(customer=customer, date=MONDAY, time_slot=dt.time(11, 0))


def test_no_appointments_offers_to_book():
    chat = Chat()
    chat.say("hi")
    [answer] = chat.tap("My appointments")
    assert answer.text == "You have no upcoming appointments."
    assert answer.titles == ["Book", "Menu"]


def test_one_appointment_is_shown_with_move_and_cancel(held):
    chat = Chat()
    chat.say("hi")
    [answer] = chat.tap("My appointments")
    assert "Appointment: Monday 23 November 2026 at 11:00 AM" in answer.text
    assert answer.titles == ["Move it", "Cancel it", "Menu"]


def test_several_appointments_are_listed(held):
    rules = BookingRules.objects.get_solo()
    rules.max_upcoming_per_customer = 3
    rules.save()
    ReservationFactory(customer=held.customer, date=TUESDAY, time_slot=dt.time(12, 0), type=1)
    ReservationFactory(customer=held.customer, date=SUNDAY - dt.timedelta(days=1))  # past
    chat = Chat()
    chat.say("hi")
    [listing] = chat.tap("My appointments")
    assert listing.titles == ["Mon 23 Nov 11:00 AM", "Tue 24 Nov 12:00 PM", "Menu"]
    assert listing.choices[1]["description"] == "Follow-up"
    [one] = chat.tap("Tue 24 Nov 12:00 PM")
    assert "Follow-up: Tuesday 24 November 2026 at 12:00 PM" in one.text


def test_cancelling_asks_first_then_cancels(held):
    chat = Chat()
    chat.say("hi")
    chat.tap("My appointments")
    [question] = chat.tap("Cancel it")
    assert "Cancel this appointment?" in question.text
    held.refresh_from_db()
    assert held.is_active
    [done] = chat.tap("Yes, cancel it")
    assert "is cancelled" in done.text
    held.refresh_from_db()
    assert (held.status, held.cancelled_source) == ("cancelled", "customer")
    [again] = chat.tap_id(f"ap:cxok:{held.pk}")  # the old button, tapped again
    assert "already cancelled" in again.text


def test_a_typed_cancel_goes_to_the_question(held):
    chat = Chat()
    chat.say("hi")
    [question] = chat.say("I want to cancel")
    assert question.titles == ["Yes, cancel it", "Keep it"]
    [menu] = chat.tap("Keep it")
    assert "nothing was changed" in menu.text
    held.refresh_from_db()
    assert held.is_active


def test_moving_goes_through_the_same_flow_and_keeps_the_type(held):
    chat = Chat()
    chat.say("hi")
    chat.tap("My appointments")
    [days] = chat.tap("Move it")
    assert "Moving your Appointment: Monday 23 November 2026 at 11:00 AM" in days.text
    assert BotSession.objects.get().moving_reservation_id == held.pk
    chat.tap("Tue 24 Nov")
    [confirm] = chat.tap("2:00 PM")
    assert "Move your appointment from Monday 23 November 2026 at 11:00 AM" in confirm.text
    [done] = chat.tap("Confirm")
    assert "moved to Tuesday 24 November 2026 at 2:00 PM" in done.text
    held.refresh_from_db()
    assert (held.date, held.time_slot, held.type) == (TUESDAY, dt.time(14, 0), 0)
    assert Reservation.objects.count() == 1


def test_a_typed_time_during_a_move_moves(held):
    chat = Chat()
    chat.say("hi")
    chat.say("change my appointment")
    [confirm] = chat.say("tuesday 3pm")
    assert "Move your appointment" in confirm.text
    chat.tap("Confirm")
    held.refresh_from_db()
    assert (held.date, held.time_slot) == (TUESDAY, dt.time(15, 0))


def test_someone_elses_reservation_cannot_be_touched():
    other = ReservationFactory(date=MONDAY, time_slot=dt.time(11, 0))
    chat = Chat()
    chat.say("hi")
    [menu] = chat.tap_id(f"ap:cx:{other.pk}")
    assert "can no longer be changed" in menu.text
    [menu] = chat.tap_id(f"ap:cxok:{other.pk}")
    assert "can no longer be changed" in menu.text
    [menu] = chat.tap_id(f"bk:ok:2026-11-24T14:00:0:{other.pk}")
    assert "can no longer be changed" in menu.text
    other.refresh_from_db()
    assert (other.is_active, other.date) == (True, MONDAY)


def test_the_arabic_appointments_flow(held):
    held.customer.language = "ar"
    held.customer.save()
    chat = Chat()
    chat.say("مرحبا")
    [answer] = chat.tap("مواعيدي")
    assert "الاثنين 23 نوفمبر 2026 الساعة 11:00 ص" in answer.text
    assert answer.titles == ["تغيير الموعد", "إلغاء الموعد", "القائمة"]
    chat.tap("إلغاء الموعد")
    [done] = chat.tap("نعم، ألغِه")
    assert "تم إلغاء موعدك" in done.text


def test_a_move_cannot_switch_to_a_type_that_is_not_offered(held, settings):
    settings.BOOKING_TYPES_OFFERED = [0]
    chat = Chat()
    chat.say("hi")
    [question] = chat.tap_id(f"bk:ok:2026-11-24T14:00:1:{held.pk}")  # forged: follow-up
    assert question.kind == "list"  # back to the days of a fresh booking
    held.refresh_from_db()
    assert (held.date, held.type) == (MONDAY, 0)
    [done] = chat.tap_id(f"bk:ok:2026-11-24T14:00:0:{held.pk}")
    assert "moved to" in done.text
    held.refresh_from_db()
    assert (held.date, held.time_slot) == (TUESDAY, dt.time(14, 0))
