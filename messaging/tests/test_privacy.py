"""Retention of old messages, and erasing a customer with everything that names them."""

import datetime as dt
import io
import json
from typing import Any

import pytest
import time_machine
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth.models import Group
from django.core.management import call_command

from config.permissions import MANAGER, setup_roles
from customers.models import Customer
from customers.tests.factories import CustomerFactory
from messaging import privacy, services, tasks
from messaging.models import (
    BotSession,
    Conversation,
    InboundMessage,
    NotificationEvent,
    StatusUpdate,
)
from messaging.tests.factories import (
    ConversationFactory,
    InboundMessageFactory,
    NotificationEventFactory,
)
from messaging.whatsapp import cloud_api, delivery
from reservations.models import Reservation
from reservations.tests.factories import ReservationFactory

pytestmark = [pytest.mark.django_db, pytest.mark.broker]

NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
OLD = NOW - dt.timedelta(days=400)
RECENT = NOW - dt.timedelta(days=30)


# ---------------------------------------------------------------------------- retention
def history(customer: Customer) -> dict[str, Any]:
    """Old and recent rows of every kind the retention job looks at."""
    rows: dict[str, Any] = {}
    for label, moment in (("old", OLD), ("recent", RECENT)):
        rows[f"{label}_message"] = ConversationFactory(
            customer=customer,
            message=f"{label} private text",
            payload={"to": customer.wa_id, "text": {"body": f"{label} private text"}},
            created_at=moment,
            status=Conversation.Status.READ,
        )
        rows[f"{label}_inbound"] = InboundMessageFactory(
            wa_id=customer.wa_id, status=InboundMessage.Status.DONE, created_at=moment
        )
        rows[f"{label}_status"] = StatusUpdate.objects.create(
            wa_message_id=f"wamid.{label}",
            status="read",
            recipient_id=customer.wa_id,
            payload=json.dumps({"recipient_id": customer.wa_id}),
            created_at=moment,
            applied_at=moment,
        )
    rows["old_pending"] = InboundMessageFactory(
        wa_id=customer.wa_id, status=InboundMessage.Status.PENDING, created_at=OLD
    )
    return rows


@time_machine.travel(NOW, tick=False)
def test_old_messages_are_anonymised_and_counts_stay(settings):
    settings.CONVERSATION_RETENTION_DAYS = 365
    settings.CONVERSATION_RETENTION_MODE = "anonymise"
    rows = history(CustomerFactory())

    result = privacy.apply_retention()

    assert (result.conversation, result.inbound, result.statuses) == (1, 1, 1)
    assert str(result) == "anonymised 1 messages, 1 inbound payloads, 1 status payloads"
    old = Conversation.objects.get(pk=rows["old_message"].pk)
    assert (old.message, old.payload) == ("", None)
    assert (old.role, old.status, old.date, old.time) == (
        rows["old_message"].role,
        "read",
        rows["old_message"].date,
        rows["old_message"].time,
    )
    assert Conversation.objects.get(pk=rows["recent_message"].pk).message == "recent private text"
    assert Conversation.objects.count() == 2
    assert InboundMessage.objects.get(pk=rows["old_inbound"].pk).payload == ""
    assert InboundMessage.objects.get(pk=rows["recent_inbound"].pk).payload != ""
    assert InboundMessage.objects.get(pk=rows["old_pending"].pk).payload != ""  # not handled yet
    assert StatusUpdate.objects.get(pk=rows["old_status"].pk).payload == ""
    assert StatusUpdate.objects.get(pk=rows["recent_status"].pk).payload != ""
    assert privacy.apply_retention().conversation == 0  # nothing left to do


@time_machine.travel(NOW, tick=False)
def test_delete_mode_removes_old_rows(settings):
    settings.CONVERSATION_RETENTION_DAYS = 365
    settings.CONVERSATION_RETENTION_MODE = "delete"
    rows = history(CustomerFactory())

    assert str(privacy.apply_retention()).startswith("deleted 1 messages, 1 inbound")

    assert list(Conversation.objects.values_list("pk", flat=True)) == [rows["recent_message"].pk]
    assert set(InboundMessage.objects.values_list("pk", flat=True)) == {
        rows["recent_inbound"].pk,
        rows["old_pending"].pk,
    }
    assert list(StatusUpdate.objects.values_list("pk", flat=True)) == [rows["recent_status"].pk]


@time_machine.travel(NOW, tick=False)
def test_old_statuses_set_aside_as_unmatched_are_deleted_too(settings):
    settings.CONVERSATION_RETENTION_DAYS = 365
    settings.CONVERSATION_RETENTION_MODE = "delete"
    for wamid, unmatched_at in (("wamid.ELSEWHERE", OLD), ("wamid.WAITING", None)):
        StatusUpdate.objects.create(
            wa_message_id=wamid,
            status="delivered",
            recipient_id="966500000001",
            payload="{}",
            created_at=OLD,
            unmatched_at=unmatched_at,
        )
    assert privacy.apply_retention().statuses == 1
    assert list(StatusUpdate.objects.values_list("wa_message_id", flat=True)) == ["wamid.WAITING"]


@time_machine.travel(NOW, tick=False)
def test_zero_days_keeps_everything(settings):
    settings.CONVERSATION_RETENTION_DAYS = 0
    history(CustomerFactory())
    assert str(privacy.apply_retention()) == "anonymised 0 messages, 0 inbound payloads, " + (
        "0 status payloads"
    )
    assert not Conversation.objects.filter(message="").exists()


@time_machine.travel(NOW, tick=False)
def test_retention_works_in_small_batches_until_done(settings):
    settings.CONVERSATION_RETENTION_DAYS = 365
    ConversationFactory.create_batch(7, created_at=OLD, payload={"x": 1})
    assert privacy.apply_retention(batch_size=2).conversation == 7
    assert Conversation.objects.filter(message="", payload__isnull=True).count() == 7


@time_machine.travel(NOW, tick=False)
def test_the_task_queues_itself_again_when_its_time_is_up(settings, monkeypatch, task_queue):
    settings.CONVERSATION_RETENTION_DAYS = 365
    ConversationFactory.create_batch(3, created_at=OLD)
    real = privacy.apply_retention
    monkeypatch.setattr(privacy, "apply_retention", lambda **_: real(batch_size=1, max_seconds=-1))
    assert tasks.apply_retention().endswith("(more to do)")
    assert task_queue.funcs() == ["messaging.tasks.apply_retention"]  # the next round
    monkeypatch.setattr(privacy, "apply_retention", real)
    assert tasks.apply_retention() == (
        "anonymised 3 messages, 0 inbound payloads, 0 status payloads"
    )


# ---------------------------------------------------------------------------- erasure
WA_ID = "966501234567"
NAME = "Sara Al-Qahtani"


def named_customer(staff_user) -> Any:
    customer = CustomerFactory(
        wa_id=WA_ID,
        customer_name=NAME,
        profile_name="Sara Q",
        age=34,
        age_recorded_at=dt.date(2025, 1, 15),
        document={"allergies": "penicillin"},
        user_id="SA.123456789",
        language="ar",
    )
    ReservationFactory(customer=customer, date=dt.date(2026, 12, 1))
    ReservationFactory(
        customer=customer, date=dt.date(2026, 12, 8), status="cancelled", cancelled_at=NOW
    )
    ConversationFactory(customer=customer, message="my tooth hurts", payload={"to": WA_ID})
    ConversationFactory(customer=customer, role="assistant", message="Sorry to hear, Sara")
    InboundMessageFactory(wa_id=WA_ID, status=InboundMessage.Status.DONE)
    StatusUpdate.objects.create(
        wa_message_id="wamid.X", status="read", recipient_id=WA_ID, payload=f'{{"r": "{WA_ID}"}}'
    )
    NotificationEventFactory(wa_id=WA_ID, data={"wa_id": WA_ID, "name": NAME})
    BotSession.objects.create(customer=customer, expires_at=NOW + dt.timedelta(minutes=30))
    for obj in (
        Customer.objects.get(),
        Reservation.objects.filter(customer=customer).get(date=dt.date(2026, 12, 1)),
    ):
        LogEntry.objects.log_actions(
            user_id=staff_user.pk, queryset=[obj], action_flag=CHANGE, change_message="edited"
        )
    return customer


def database_text() -> str:
    """Every row of every table, as JSON: what a careful auditor would search."""
    out = io.StringIO()
    call_command("dumpdata", stdout=out)
    return out.getvalue()


def test_erasing_a_customer_leaves_nothing_that_names_them_and_keeps_counts(staff_user):
    customer = named_customer(staff_user)
    assert WA_ID in database_text()
    assert NAME in database_text()
    counts = (Reservation.objects.count(), Conversation.objects.count())

    result = privacy.erase_customer(customer=customer, by=staff_user)

    dump = database_text()
    for trace in (WA_ID, NAME, "Sara Q", "penicillin", "SA.123456789", "tooth", "Sorry to hear"):
        assert trace not in dump, trace
    assert (Reservation.objects.count(), Conversation.objects.count()) == counts
    tombstone = Customer.objects.get()
    assert tombstone.wa_id == result.tombstone
    assert tombstone.wa_id.startswith("erased-")
    assert tombstone.is_blocked  # nothing can ever be sent to it
    assert tombstone.created_at == customer.created_at
    assert Reservation.objects.filter(customer=tombstone).count() == 2
    assert Reservation.objects.active().count() == 1
    assert not BotSession.objects.exists()
    assert set(Conversation.objects.values_list("role", flat=True)) == {"user", "assistant"}
    event = NotificationEvent.objects.get(event_type="customer_erased")
    assert event.data["by"] == staff_user.pk
    assert event.data["reservations"] == 2
    assert event.data["messages"] == 2


def test_erasure_cannot_be_traced_back(staff_user):
    first = privacy.erase_customer(customer=CustomerFactory(wa_id=WA_ID), by=None)
    again = privacy.erase_customer(customer=CustomerFactory(wa_id=WA_ID), by=None)
    assert first.tombstone != again.tombstone  # random keys, no mapping kept


def test_the_same_number_writing_again_is_a_new_customer(staff_user):
    privacy.erase_customer(customer=named_customer(staff_user), by=staff_user)
    fresh = Customer.objects.create(wa_id=WA_ID)
    assert fresh.reservations.count() == 0
    assert not Conversation.objects.filter(customer=fresh).exists()


def test_a_manager_erases_customers_from_the_admin_after_confirming(django_user_model, client):
    setup_roles()
    manager = django_user_model.objects.create_user("boss", password="pw-Boss-2026", is_staff=True)
    manager.groups.add(Group.objects.get(name=MANAGER))
    client.force_login(manager)
    customer = CustomerFactory(wa_id=WA_ID, customer_name=NAME)
    ReservationFactory(customer=customer)
    action = {"action": "erase_customers", "_selected_action": [WA_ID]}

    page = client.post("/admin/customers/customer/", action)
    assert page.status_code == 200
    assert "cannot be undone" in page.content.decode()
    assert Customer.objects.filter(wa_id=WA_ID).exists()  # nothing happens before "yes"

    done = client.post("/admin/customers/customer/", {**action, "confirm": "yes"}, follow=True)
    assert "Erased 1 customer" in done.content.decode()
    assert not Customer.objects.filter(wa_id=WA_ID).exists()
    assert Reservation.objects.get().customer_id.startswith("erased-")


@time_machine.travel(NOW, tick=False)
def test_switching_to_delete_also_removes_rows_anonymised_before(settings):
    settings.CONVERSATION_RETENTION_DAYS = 365
    history(CustomerFactory())
    privacy.apply_retention()
    settings.CONVERSATION_RETENTION_MODE = "delete"
    result = privacy.apply_retention()
    assert (result.conversation, result.inbound, result.statuses) == (1, 1, 1)
    assert Conversation.objects.count() == 1


def read_status(wamid: str, recipient: str = WA_ID) -> dict:
    return cloud_api.webhook_body(
        phone_number_id="106540352242922",
        statuses=[
            {
                "id": wamid,
                "status": "read",
                "timestamp": str(int(NOW.timestamp())),
                "recipient_id": recipient,
                "recipient_user_id": "SA.123456789",
            }
        ],
        contacts=[{"wa_id": recipient, "user_id": "SA.123456789", "profile": {"name": NAME}}],
    )


def test_statuses_meta_sends_after_an_erasure_are_not_stored_nor_linked(staff_user, post_webhook):
    """Meta reports `read` on the erased messages whenever the customer opens the chat: such a
    status must not bring the number back, nor join the erased customer through its wamid."""
    customer = named_customer(staff_user)
    # A real wamid carries the number (base64 after "wamid.HBgM"): it goes as well.
    wamid = "wamid.HBgMOTY2NTAxMjM0NTY3FQIAERgSQzVEMEQ0RkJBRTVDMEM1QjdDAA=="
    sent = ConversationFactory(customer=customer, role="assistant", wa_message_id=wamid)
    inbound = ConversationFactory(customer=customer, wa_message_id="wamid.IN1")
    ConversationFactory(customer=customer, role="assistant", idempotency_key="reply:wamid.IN1:0")
    InboundMessageFactory(wa_id=WA_ID, message_id="wamid.IN1", status=InboundMessage.Status.DONE)
    StatusUpdate.objects.create(wa_message_id=wamid, status="delivered", payload="{}")

    privacy.erase_customer(customer=customer, by=staff_user)
    assert not Conversation.objects.filter(wa_message_id__isnull=False).exists()
    assert not StatusUpdate.objects.exists()

    for late in (wamid, "wamid.IN1", "wamid.X"):
        assert post_webhook(read_status(late)).status_code == 200
    assert not StatusUpdate.objects.exists()
    assert delivery.apply_status_updates() == 0
    dump = database_text()
    for trace in (WA_ID, NAME, "SA.123456789", wamid, "wamid.IN1"):
        assert trace not in dump, trace
    sent.refresh_from_db()
    inbound.refresh_from_db()
    assert (sent.wa_message_id, sent.status) == (None, sent.status)
    assert inbound.wa_message_id is None

    # Statuses of anybody else's messages are stored as ever.
    other = ConversationFactory(role="assistant", wa_message_id="wamid.OTHER", status="sent")
    post_webhook(read_status("wamid.OTHER", recipient=other.customer_id))
    assert delivery.apply_status_updates() == 1
    assert Conversation.objects.get(pk=other.pk).status == "read"


def test_the_same_customer_writing_again_after_an_erasure_is_a_new_contact(
    staff_user, post_webhook, graph
):
    """A redelivered old message of theirs is taken as a new contact's, never the tombstone's."""
    customer = named_customer(staff_user)
    ConversationFactory(customer=customer, wa_message_id="wamid.OLD")
    InboundMessageFactory(wa_id=WA_ID, message_id="wamid.OLD", status=InboundMessage.Status.DONE)
    tombstone = privacy.erase_customer(customer=customer, by=staff_user).tombstone
    body = cloud_api.webhook_body(
        phone_number_id="106540352242922",
        messages=[{"from": WA_ID, "id": "wamid.OLD", "type": "text", "text": {"body": "hi"}}],
        contacts=[{"wa_id": WA_ID, "profile": {"name": "Sara"}}],
    )
    post_webhook(body)
    services.drain_inbound_queue()
    fresh = Customer.objects.get(wa_id=WA_ID)
    assert Conversation.objects.get(wa_message_id="wamid.OLD").customer == fresh
    assert not Conversation.objects.filter(customer_id=tombstone, wa_message_id__isnull=False)
