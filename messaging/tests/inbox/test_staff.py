"""send_staff_reply: staff answer through the one sender, inside or outside the window."""

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone

from customers.tests.factories import CustomerFactory
from messaging import services
from messaging.inbox import staff
from messaging.models import Conversation, NotificationEvent

pytestmark = [pytest.mark.django_db, pytest.mark.broker]

NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)


def queued_sends(task_queue) -> list[int]:
    return [t["args"][0] for t in task_queue.tasks() if t["func"].endswith("send_outbound")]


def waiting_customer(*, window_open: bool = True):
    """A customer handed off to staff, whose last message is 10 minutes or 2 days old."""
    age = dt.timedelta(minutes=10) if window_open else dt.timedelta(days=2)
    customer = CustomerFactory(last_inbound_at=timezone.now() - age)
    return staff.hand_off_to_staff(customer=customer, reason="asked for staff")


def test_a_reply_inside_the_window_is_sent_as_text_by_the_sender(graph, staff_user, task_queue):
    customer = waiting_customer()
    reply = staff.send_staff_reply(customer=customer, text=" See you at 5 ", user=staff_user)
    row = reply.sent
    assert not reply.as_template
    assert (row.role, row.status, row.message) == ("secretary", "queued", "See you at 5")
    assert str(row.idempotency_key).startswith("staff:")
    assert queued_sends(task_queue) == [row.id]  # handed to the sender, not posted here

    assert task_queue.run() == 1
    assert graph.sent == [row.payload]
    assert graph.sent[0]["text"]["body"] == "See you at 5"
    row.refresh_from_db()
    assert (row.status, row.wa_message_id) == ("sent", "wamid.GRAPH1")


def test_a_reply_answers_the_hand_off_but_leaves_the_bot_paused(graph, staff_user):
    customer = waiting_customer()
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=1), tick=False):
        staff.send_staff_reply(customer=customer, text="Hello", user=staff_user)
        moment = timezone.now()
    customer.refresh_from_db()
    assert customer.needs_staff_since is None
    assert customer.is_bot_paused
    assert customer.last_message_at == moment


def test_a_reply_is_recorded_as_sent_by_staff(graph, staff_user, task_queue):
    customer = waiting_customer()
    reply = staff.send_staff_reply(customer=customer, text="Hello", user=staff_user)
    task_queue.run()
    replied = NotificationEvent.objects.get(event_type="staff_replied")
    assert replied.wa_id == customer.wa_id
    assert replied.data == {"conversation_id": reply.sent.id, "by": "reception", "as": "text"}
    sent = NotificationEvent.objects.get(event_type="message_sent")
    assert sent.data["role"] == "secretary"


def test_outside_the_window_the_template_goes_and_the_text_is_kept_undelivered(
    graph, staff_user, task_queue
):
    customer = waiting_customer(window_open=False)
    reply = staff.send_staff_reply(customer=customer, text="Your results", user=staff_user)
    assert reply.as_template
    assert reply.sent.message_type == "template"
    held = reply.held_back
    assert held is not None
    assert (held.role, held.status, held.message, held.payload) == (
        "secretary",
        "failed",
        "Your results",
        None,
    )
    assert "24-hour window" in str(held.error_message)

    task_queue.run()
    assert [body["type"] for body in graph.sent] == ["template"]
    assert graph.sent[0]["template"]["name"] == "reengagement"
    assert NotificationEvent.objects.get(event_type="staff_replied").data["as"] == "template"


def test_a_customer_who_never_wrote_gets_the_template(graph, staff_user):
    customer = CustomerFactory(last_inbound_at=None)
    assert staff.send_staff_reply(customer=customer, text="Hi", user=staff_user).as_template


@pytest.mark.parametrize("text", ["", "   \n "])
def test_an_empty_reply_is_refused_and_records_nothing(staff_user, text):
    customer = waiting_customer()
    with pytest.raises(ValidationError, match="Write a message first"):
        staff.send_staff_reply(customer=customer, text=text, user=staff_user)
    assert not Conversation.objects.exists()
    customer.refresh_from_db()
    assert customer.needs_staff_since is not None


def test_a_reply_longer_than_whatsapp_allows_is_refused(staff_user):
    customer = waiting_customer()
    with pytest.raises(ValidationError, match="at most 4096 characters; this one has 4097"):
        staff.send_staff_reply(customer=customer, text="x" * 4097, user=staff_user)
    assert not Conversation.objects.exists()
    staff.send_staff_reply(customer=customer, text="x" * 4096, user=staff_user)
    assert Conversation.objects.count() == 1


def test_a_blocked_customer_cannot_be_answered(staff_user):
    customer = CustomerFactory(is_blocked=True, last_inbound_at=timezone.now())
    with pytest.raises(ValidationError, match="blocked"):
        staff.send_staff_reply(customer=customer, text="Hi", user=staff_user)
    assert not Conversation.objects.exists()


def test_the_same_form_posted_twice_sends_once(staff_user, task_queue):
    customer = waiting_customer()
    first = staff.send_staff_reply(customer=customer, text="Hi", user=staff_user, key="k1")
    again = staff.send_staff_reply(customer=customer, text="Hi", user=staff_user, key="k1")
    assert again.sent.id == first.sent.id
    assert Conversation.objects.count() == 1
    assert len(queued_sends(task_queue)) == 1
    other = staff.send_staff_reply(customer=customer, text="Hi", user=staff_user, key="k10")
    assert other.sent.id != first.sent.id


def test_the_same_template_form_posted_twice_keeps_one_note(staff_user):
    customer = waiting_customer(window_open=False)
    staff.send_staff_reply(customer=customer, text="Hi", user=staff_user, key="k1")
    again = staff.send_staff_reply(customer=customer, text="Hi", user=staff_user, key="k1")
    assert again.as_template
    assert Conversation.objects.count() == 2


def test_the_sweep_sends_a_staff_reply_whose_task_was_lost(graph, staff_user, task_queue):
    with time_machine.travel(NOW, tick=False):
        customer = CustomerFactory(last_inbound_at=NOW - dt.timedelta(minutes=5))
        reply = staff.send_staff_reply(customer=customer, text="Hi", user=staff_user)
    task_queue.clear()  # the task is lost; the queued row is the truth
    with time_machine.travel(NOW + dt.timedelta(minutes=2), tick=False):
        services.sweep_queues()
        assert queued_sends(task_queue) == [reply.sent.id]
        task_queue.run()
    reply.sent.refresh_from_db()
    assert reply.sent.status == "sent"
    assert len(graph.sent) == 1


def test_meta_refusing_the_reply_marks_it_failed_with_the_reason(graph, staff_user, task_queue):
    customer = waiting_customer()
    reply = staff.send_staff_reply(customer=customer, text="Hi", user=staff_user)
    graph.fail_next(400, 131026, details="Message undeliverable")
    task_queue.run()
    reply.sent.refresh_from_db()
    assert reply.sent.status == "failed"
    assert reply.sent.error_code == 131026
    assert "undeliverable" in str(reply.sent.error_message)
