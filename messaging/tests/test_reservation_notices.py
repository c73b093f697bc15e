"""Staff book, move or cancel from the schedule pages: the customer is told on WhatsApp (a text
inside the 24-hour window, the approved template outside it) unless staff untick the box."""

import datetime as dt

import pytest
from django.conf import settings as django_settings
from django.urls import reverse
from django.utils import timezone

from customers.tests.factories import CustomerFactory
from messaging import tasks
from messaging.models import Conversation, NotificationEvent
from messaging.reservation_notices import notify_reservation_change
from messaging.whatsapp import sandbox
from reservations.models import Reservation, Source
from reservations.services import reserve_slot
from reservations.tests.factories import make_resource, make_service

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clinic")]

MONDAY = dt.date(2026, 11, 23)  # the clinic fixture's tomorrow
BOOK_URL = reverse("reservations:book")


@pytest.fixture
def sara():
    return make_resource("Dr Sara")


@pytest.fixture
def cleaning(sara):
    return make_service("Cleaning", minutes=45, resources=[sara], name_ar="تنظيف")


def book(client, service, resource, *, notify=True, wa_id="966501234567", at="11:00"):
    data = {
        "wa_id": wa_id,
        "date": MONDAY.isoformat(),
        "time_slot": at,
        "service": service.pk,
        "resource": resource.pk,
    }
    if notify:
        data["notify"] = "1"
    return client.post(BOOK_URL, data, follow=True)


def body_params(body):
    return [p["text"] for p in body["template"]["components"][0]["parameters"]]


def test_staff_booking_outside_the_window_sends_the_approved_template(
    staff_client, graph, cleaning, sara
):
    response = book(staff_client, cleaning, sara)
    assert "The customer is told on WhatsApp." in response.content.decode()
    reservation = Reservation.objects.get()
    conversation = Conversation.objects.get(idempotency_key__startswith="staff-change:booked:")
    tasks.send_outbound(conversation.id)
    [body] = graph.sent
    assert body["template"]["name"] == "appointment_booked"
    assert body_params(body) == [
        "Test Clinic", "Cleaning", "Dr Sara", "Monday 23 November 2026", "11:00 AM"
    ]  # fmt: skip
    assert sandbox.check_template(body["template"]) is None  # Meta (the sandbox) accepts it
    event = NotificationEvent.objects.get(event_type="reservation_change_notified")
    assert event.data["reservation_id"] == reservation.pk


def test_inside_the_window_the_customer_gets_a_text_in_their_language(
    staff_client, graph, cleaning, sara
):
    CustomerFactory(wa_id="966501234567", language="ar", last_inbound_at=timezone.now())
    book(staff_client, cleaning, sara)
    conversation = Conversation.objects.get(idempotency_key__startswith="staff-change:")
    assert conversation.message_type == "text"
    assert "تنظيف" in conversation.message
    assert "Dr Sara" in conversation.message


def test_unticking_tell_the_customer_sends_nothing(staff_client, cleaning, sara):
    response = book(staff_client, cleaning, sara, notify=False)
    assert Reservation.objects.count() == 1
    assert "The customer is told" not in response.content.decode()
    assert not Conversation.objects.exists()


def test_a_refused_booking_tells_no_one(staff_client, cleaning, sara):
    book(staff_client, cleaning, sara, at="09:00")  # before the clinic opens
    assert not Reservation.objects.exists()
    assert not Conversation.objects.exists()


def test_staff_moving_tells_the_customer_the_new_time(staff_client, graph, cleaning, sara):
    reservation = reserve_slot(
        wa_id="966501234567", date=MONDAY, time_slot=dt.time(11), source=Source.CUSTOMER,
        service=cleaning, resource=sara,
    )  # fmt: skip
    url = reverse("reservations:move", args=[reservation.pk])
    staff_client.post(url, {"date": MONDAY.isoformat(), "time_slot": "12:00", "notify": "1"})
    conversation = Conversation.objects.get(idempotency_key__startswith="staff-change:moved:")
    tasks.send_outbound(conversation.id)
    [body] = graph.sent
    assert body["template"]["name"] == "appointment_moved"
    assert body_params(body)[-1] == "12:00 PM"
    # Moving to where it already is changes nothing and tells no one.
    staff_client.post(url, {"date": MONDAY.isoformat(), "time_slot": "12:00", "notify": "1"})
    assert Conversation.objects.count() == 1


def test_staff_cancelling_tells_the_customer_unless_unticked(staff_client, graph, cleaning, sara):
    first = reserve_slot(
        wa_id="966501234567", date=MONDAY, time_slot=dt.time(11), source=Source.CUSTOMER,
        service=cleaning, resource=sara,
    )  # fmt: skip
    second = reserve_slot(
        wa_id="966507654321", date=MONDAY, time_slot=dt.time(13), source=Source.STAFF,
        service=cleaning, resource=sara,
    )  # fmt: skip
    staff_client.post(reverse("reservations:cancel", args=[first.pk]), {"notify": "1"})
    staff_client.post(reverse("reservations:cancel", args=[second.pk]), {})
    [conversation] = Conversation.objects.all()
    assert conversation.customer_id == "966501234567"
    tasks.send_outbound(conversation.id)
    [body] = graph.sent
    assert body["template"]["name"] == "appointment_cancelled"
    assert body_params(body) == ["Test Clinic", "Cleaning", "Monday 23 November 2026", "11:00 AM"]


def test_undoing_a_told_cancellation_tells_the_customer_it_is_booked_again(
    staff_client, cleaning, sara
):
    reservation = reserve_slot(
        wa_id="966501234567", date=MONDAY, time_slot=dt.time(11), source=Source.CUSTOMER,
        service=cleaning, resource=sara,
    )  # fmt: skip
    response = staff_client.post(
        reverse("reservations:cancel", args=[reservation.pk]), {"notify": "1"}, follow=True
    )
    assert 'name="notify" value="1"' in response.content.decode()  # the undo carries it
    staff_client.post(reverse("reservations:reinstate", args=[reservation.pk]), {"notify": "1"})
    keys = sorted(
        str(key) for key in Conversation.objects.values_list("idempotency_key", flat=True)
    )
    assert [key.split(":")[1] for key in keys] == ["booked", "cancelled"]


def test_a_blocked_customer_is_not_messaged(cleaning, sara):
    customer = CustomerFactory(wa_id="966501234567", is_blocked=True)
    reservation = reserve_slot(
        wa_id=customer.wa_id, date=MONDAY, time_slot=dt.time(11), source=Source.STAFF,
        service=cleaning, resource=sara,
    )  # fmt: skip
    assert notify_reservation_change(reservation=reservation, change="booked") is None
    assert not Conversation.objects.exists()


def test_one_notice_per_change(cleaning, sara):
    reservation = reserve_slot(
        wa_id="966501234567", date=MONDAY, time_slot=dt.time(11), source=Source.STAFF,
        service=cleaning, resource=sara,
    )  # fmt: skip
    notify_reservation_change(reservation=reservation, change="booked")
    notify_reservation_change(reservation=reservation, change="booked")  # a retried request
    assert Conversation.objects.count() == 1
    with pytest.raises(ValueError, match="unknown change"):
        notify_reservation_change(reservation=reservation, change="lost")


@pytest.mark.parametrize(
    "setting", ["BOOKED_NOTICE_TEMPLATES", "MOVED_NOTICE_TEMPLATES", "CANCELLED_NOTICE_TEMPLATES"]
)
def test_the_default_change_templates_are_approved_in_the_sandbox(setting):
    for value in getattr(django_settings, setting).values():
        name, _, code = value.partition(":")
        assert (name, code) in sandbox.APPROVED_TEMPLATES
