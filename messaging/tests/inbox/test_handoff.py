import datetime as dt

import pytest
import time_machine

from customers.models import Customer
from customers.tests.factories import CustomerFactory
from messaging.inbox import staff
from messaging.models import NotificationEvent

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)


@time_machine.travel(NOW, tick=False)
def test_hand_off_pauses_the_bot_and_flags_the_conversation(settings):
    settings.BOT_HANDOFF_PAUSE_HOURS = 6
    customer = staff.hand_off_to_staff(customer=CustomerFactory(), reason="asked for staff")
    customer.refresh_from_db()
    assert customer.needs_staff_since == NOW
    assert customer.bot_paused_until == NOW + dt.timedelta(hours=6)
    assert customer.is_bot_paused
    assert list(Customer.objects.needing_staff()) == [customer]
    event = NotificationEvent.objects.get(event_type="handoff_requested")
    assert event.wa_id == customer.wa_id
    assert event.data == {"reason": "asked for staff"}


def test_a_second_hand_off_keeps_the_first_waiting_time():
    with time_machine.travel(NOW, tick=False):
        customer = staff.hand_off_to_staff(customer=CustomerFactory(), reason="a")
    with time_machine.travel(NOW + dt.timedelta(hours=1), tick=False):
        staff.hand_off_to_staff(customer=customer, reason="b")
    customer.refresh_from_db()
    assert customer.needs_staff_since == NOW


def test_the_pause_ends_by_itself(settings):
    settings.BOT_HANDOFF_PAUSE_HOURS = 2
    with time_machine.travel(NOW, tick=False):
        customer = staff.hand_off_to_staff(customer=CustomerFactory(), reason="x")
    with time_machine.travel(NOW + dt.timedelta(hours=2, seconds=1), tick=False):
        assert not customer.is_bot_paused


def test_resume_ends_the_hand_off():
    customer = staff.hand_off_to_staff(customer=CustomerFactory(), reason="x")
    staff.resume_bot(customer=customer)
    customer.refresh_from_db()
    assert not customer.is_bot_paused
    assert customer.needs_staff_since is None
    assert NotificationEvent.objects.filter(event_type="bot_resumed").count() == 1


def test_staff_pause_for_a_number_of_hours():
    with time_machine.travel(NOW, tick=False):
        customer = staff.pause_bot(customer=CustomerFactory(), hours=1.5)
    assert customer.bot_paused_until == NOW + dt.timedelta(hours=1, minutes=30)


def test_block_and_unblock_record_one_event_each():
    customer = CustomerFactory()
    staff.set_customer_blocked(customer=customer, blocked=True)
    staff.set_customer_blocked(customer=customer, blocked=True)  # no change, no event
    staff.set_customer_blocked(customer=customer, blocked=False)
    customer.refresh_from_db()
    assert not customer.is_blocked
    types = list(NotificationEvent.objects.order_by("id").values_list("event_type", flat=True))
    assert types == ["customer_blocked", "customer_unblocked"]


def test_unread_follows_what_staff_have_read():
    customer = CustomerFactory(last_inbound_at=NOW)
    assert customer.has_unread
    with time_machine.travel(NOW + dt.timedelta(minutes=1), tick=False):
        staff.mark_conversation_read(customer=customer)
    assert not customer.has_unread
    customer.last_inbound_at = NOW + dt.timedelta(minutes=2)
    assert customer.has_unread
