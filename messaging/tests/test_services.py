import datetime as dt
import json

import pytest
import time_machine
from django.core.management import call_command
from django.db.models import Sum
from django.utils import timezone
from django_q.models import Schedule

from customers.models import Customer
from customers.tests.factories import CustomerFactory
from messaging import services
from messaging.models import Conversation, InboundMessage, NotificationEvent, SendRate
from messaging.tests.conftest import payload
from messaging.whatsapp import cloud_api, intake

pytestmark = [pytest.mark.django_db, pytest.mark.broker]

NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)


def message_body(wamid: str, sender: str, text: str = "hello", *, at: dt.datetime = NOW, **item):
    base = {"from": sender, "id": wamid, "timestamp": str(int(at.timestamp())), "type": "text"}
    base |= item or {"text": {"body": text}}
    return cloud_api.webhook_body(
        phone_number_id="106540352242922",
        contacts=[{"profile": {"name": f"Customer {sender[-2:]}"}, "wa_id": sender}],
        messages=[base],
    )


def store(body: dict) -> None:
    intake.store_webhook(batch=cloud_api.parse_webhook(body))


def store_file(name: str, *, at: dt.datetime = NOW) -> None:
    body = payload(name)
    for change in body["entry"][0]["changes"]:
        for item in change["value"].get("messages", []):
            item["timestamp"] = str(int(at.timestamp()))
    store(body)


# ---------------------------------------------------------------------------- the happy path
@time_machine.travel(NOW, tick=False)
def test_a_text_message_is_recorded_answered_and_sent(graph):
    store_file("message_text_arabic.json")
    result = services.drain_inbound_queue()
    assert str(result) == "1 done, 0 to retry later, 0 failed"

    customer = Customer.objects.get(wa_id="966501234567")
    assert customer.customer_name == "سارة العتيبي"
    assert customer.last_inbound_at == NOW
    # "I want an appointment on Tuesday": the clinic has no hours yet, so it says it is closed
    # (greeting first) and then offers the menu.
    inbound, reply, menu = Conversation.objects.order_by("id")
    assert (inbound.role, inbound.status, inbound.message) == (
        "user",
        "received",
        "مرحبا، أريد حجز موعد يوم الثلاثاء 🦷😊",
    )
    assert (inbound.date, inbound.time) == (dt.date(2026, 11, 23), dt.time(12, 0))
    assert reply.role == "assistant"
    assert reply.status == "sent"
    assert reply.wa_message_id == "wamid.GRAPH1"
    assert reply.idempotency_key == f"reply:{inbound.wa_message_id}:0"
    assert "Test Clinic" in reply.message  # Arabic greeting names the business
    assert "أهلاً" in reply.message
    assert graph.sent == [reply.payload, menu.payload]
    assert graph.read_receipts == [inbound.wa_message_id]
    # The rules answered at once: the replies went first, then the read receipt, no "typing..."
    assert graph.requests[-1]["json"] == {
        "messaging_product": "whatsapp",
        "status": "read",
        "message_id": inbound.wa_message_id,
    }
    # Only the messages took a slot of the number's throughput, not the read receipt.
    assert SendRate.objects.aggregate(total=Sum("sent"))["total"] == len(graph.sent) == 2
    assert graph.sent[0]["to"] == "+966501234567"
    row = InboundMessage.objects.get()
    assert (row.status, row.attempts, row.locked_at) == ("done", 1, None)
    events = set(NotificationEvent.objects.values_list("event_type", flat=True))
    assert events == {"message_received", "message_sent"}


@time_machine.travel(NOW, tick=False)
@pytest.mark.parametrize(
    ("name", "answer"),
    [
        ("message_image.json", "Thank you for the picture"),
        ("message_audio.json", "cannot listen to voice messages"),
        ("message_location.json", "Thank you for sharing your location"),
        ("message_contacts.json", "Thank you for the contact"),
        ("message_sticker.json", "Thank you!"),
        ("message_unsupported.json", "cannot read this kind of message"),
        ("message_unknown_type.json", "cannot read this kind of message"),
        ("message_order.json", "Orders are not taken here"),
        ("message_interactive_button_reply.json", "that choice is no longer available"),
        ("message_button.json", "that choice is no longer available"),
        ("message_reaction.json", None),
        ("message_reaction_removed.json", None),
        ("message_system.json", None),
    ],
)
def test_each_type_gets_a_polite_answer_or_none(graph, name, answer):
    store_file(name)
    assert services.drain_inbound_queue().done == 1
    replies = Conversation.objects.filter(role="assistant")
    if answer is None:
        assert not replies.exists()
        assert graph.sent == []
    else:
        assert "Welcome to Test Clinic" in replies.get().message  # the first answer greets
        assert answer in replies.get().message
        assert len(graph.sent) == 1


@time_machine.travel(NOW, tick=False)
def test_reactions_and_system_notices_do_not_open_the_window(graph):
    store_file("message_reaction.json")
    services.drain_inbound_queue()
    assert Customer.objects.get().last_inbound_at is None


@time_machine.travel(NOW, tick=False)
def test_a_customer_without_a_number_is_keyed_by_the_business_scoped_id(graph):
    store_file("message_bsuid_only.json")
    services.drain_inbound_queue()
    customer = Customer.objects.get()
    assert customer.wa_id == customer.user_id == "US.77491208655302741918"
    assert graph.sent[0]["recipient"] == "US.77491208655302741918"


@time_machine.travel(NOW, tick=False)
def test_a_known_customer_gets_the_new_profile_name_and_user_id(graph):
    CustomerFactory(wa_id="16505551234", customer_name="Old name", profile_name="Old name")
    store_file("message_text.json")
    services.drain_inbound_queue()
    customer = Customer.objects.get()
    assert customer.customer_name == "Sheena Nelson"
    assert customer.profile_name == "Sheena Nelson"
    assert customer.user_id == "US.13491208655302741918"


@time_machine.travel(NOW, tick=False)
def test_a_name_corrected_by_staff_survives_new_messages(graph):
    CustomerFactory(wa_id="16505551234", customer_name="Sheena N. (corrected)", profile_name="Sh")
    store_file("message_text.json")
    services.drain_inbound_queue()
    customer = Customer.objects.get()
    assert customer.customer_name == "Sheena N. (corrected)"
    assert customer.profile_name == "Sheena Nelson"


@time_machine.travel(NOW, tick=False)
def test_messages_both_ways_move_the_inbox_order(graph):
    store(message_body("wamid.L1", "966500000001", at=NOW - dt.timedelta(minutes=5)))
    services.drain_inbound_queue()
    customer = Customer.objects.get()
    # the inbound message and the bot's reply, recorded now
    assert customer.last_message_at == NOW
    assert customer.last_inbound_at == NOW - dt.timedelta(minutes=5)


@time_machine.travel(NOW, tick=False)
def test_a_paused_bot_records_but_does_not_answer(graph):
    CustomerFactory(wa_id="966500000001", bot_paused_until=NOW + dt.timedelta(hours=1))
    store(message_body("wamid.P1", "966500000001"))
    services.drain_inbound_queue()
    assert Conversation.objects.get().role == "user"
    assert graph.sent == []


# ---------------------------------------------------------------------------- claims and order
def claim() -> InboundMessage:
    row = services.claim_next_inbound()
    assert row is not None
    return row


@time_machine.travel(NOW, tick=False)
def test_one_customers_messages_are_claimed_one_at_a_time_in_the_order_sent():
    # The later message arrives first.
    store(message_body("wamid.LATER", "966500000001", at=NOW - dt.timedelta(seconds=5)))
    store(message_body("wamid.EARLIER", "966500000001", at=NOW - dt.timedelta(seconds=10)))
    store(message_body("wamid.OTHER", "966500000002", at=NOW - dt.timedelta(seconds=1)))

    first = claim()
    second = claim()
    assert (first.message_id, second.message_id) == ("wamid.EARLIER", "wamid.OTHER")
    assert services.claim_next_inbound() is None  # 966500000001 is busy
    InboundMessage.objects.filter(id=first.id).update(status="done")
    assert claim().message_id == "wamid.LATER"


@time_machine.travel(NOW, tick=False)
def test_a_message_waiting_for_a_retry_holds_back_the_customers_later_ones():
    store(message_body("wamid.A", "966500000001", at=NOW - dt.timedelta(seconds=10)))
    store(message_body("wamid.B", "966500000001", at=NOW - dt.timedelta(seconds=5)))
    InboundMessage.objects.filter(message_id="wamid.A").update(
        next_attempt_at=NOW + dt.timedelta(minutes=1)
    )
    assert services.claim_next_inbound() is None


@time_machine.travel(NOW, tick=False)
def test_a_claim_is_won_once():
    store(message_body("wamid.A", "966500000001"))
    row = claim()
    assert row.status == "processing"
    assert row.locked_at == NOW
    assert row.attempts == 1
    assert services.claim_next_inbound() is None


# ---------------------------------------------------------------------------- failures
@time_machine.travel(NOW, tick=False)
def test_a_retry_sends_only_what_was_not_sent_and_never_extends_the_window(graph):
    graph.fail_next(503, 131000)  # the reply's first send fails
    store(message_body("wamid.R", "966500000001"))
    result = services.drain_inbound_queue()
    assert result.retrying == 1
    row = InboundMessage.objects.get()
    assert row.status == "pending"
    assert row.next_attempt_at is not None
    assert row.next_attempt_at > NOW
    assert "131000" in str(row.last_error)
    assert services.claim_next_inbound() is None  # backing off

    with time_machine.travel(NOW + dt.timedelta(minutes=10), tick=False):
        assert services.drain_inbound_queue().done == 1
    assert Conversation.objects.filter(role="assistant").count() == 1
    assert len(graph.sent) == 2  # the failed try and the good one, for the same row
    assert Conversation.objects.get(role="assistant").attempts == 2
    assert Customer.objects.get().last_inbound_at == NOW


@time_machine.travel(NOW, tick=False)
def test_a_message_that_keeps_failing_ends_failed_with_its_last_error(graph, settings):
    settings.WHATSAPP_INBOUND_MAX_ATTEMPTS = 2
    for _ in range(2):
        graph.fail_next(429, 130429)
    store(message_body("wamid.F", "966500000001"))
    services.drain_inbound_queue()
    with time_machine.travel(NOW + dt.timedelta(hours=1), tick=False):
        assert services.drain_inbound_queue().failed == 1
    row = InboundMessage.objects.get()
    assert (row.status, row.attempts) == ("failed", 2)
    assert "130429" in str(row.last_error)
    assert NotificationEvent.objects.filter(event_type="message_failed").exists()


@time_machine.travel(NOW, tick=False)
def test_a_permanent_send_error_fails_the_reply_not_the_message(graph):
    graph.fail_next(400, 131026, "not a WhatsApp user")
    store(message_body("wamid.X", "966500000001"))
    assert services.drain_inbound_queue().done == 1
    reply = Conversation.objects.get(role="assistant")
    assert (reply.status, reply.error_code) == ("failed", 131026)
    assert NotificationEvent.objects.filter(event_type="message_failed").exists()


def post_raw(post_webhook, raw: str) -> None:
    """POST a body written as JSON text (escapes such as \\u0000 kept as Meta sends them)."""
    assert post_webhook(raw.encode()).status_code == 200


def raw_body(wamid: str, *, text: str = "hello", name: str = "Sara", kind: str = "text") -> str:
    at = int(NOW.timestamp())
    return (
        '{"object": "whatsapp_business_account", "entry": [{"id": "0", "changes": [{"field": '
        '"messages", "value": {"messaging_product": "whatsapp", "metadata": {}, "contacts": '
        f'[{{"wa_id": "966500000001", "profile": {{"name": "{name}"}}}}], "messages": '
        f'[{{"from": "966500000001", "id": "{wamid}", "timestamp": "{at}", "type": "{kind}", '
        f'"text": {{"body": "{text}"}}}}]}}}}]}}]}}'
    )


@time_machine.travel(NOW, tick=False)
def test_messages_with_what_no_column_can_hold_are_handled_like_any_other(graph, post_webhook):
    """A NUL in the text or the profile name, a lone surrogate, a `type` longer than its column:
    each is cleaned, so the message is answered, and so are the customer's later ones."""
    post_raw(post_webhook, raw_body("wamid.NUL1", text="hi\\u0000 there", name="Sa\\u0000ra"))
    post_raw(post_webhook, raw_body("wamid.SURROGATE", text="broken \\ud83d emoji"))
    post_raw(post_webhook, raw_body("wamid.LONGTYPE", kind="x" * 40))
    post_raw(post_webhook, raw_body("wamid.LATER", text="book"))
    assert services.drain_inbound_queue().done == 4
    customer = Customer.objects.get()
    assert customer.customer_name == "Sara"
    messages = dict(Conversation.objects.inbound().values_list("wa_message_id", "message"))
    assert messages["wamid.NUL1"] == "hi there"
    assert messages["wamid.SURROGATE"] == "broken \ufffd emoji"
    assert Conversation.objects.get(wa_message_id="wamid.LONGTYPE").message_type == "unknown"
    assert Conversation.objects.filter(role="assistant").count() >= 4  # every one answered


@time_machine.travel(NOW, tick=False)
def test_a_row_stored_before_the_cleaning_is_cleaned_when_processed(graph):
    InboundMessage.objects.create(
        message_id="wamid.OLD",
        wa_id="966500000001",
        payload=json.dumps(
            {
                "message": {"from": "966500000001", "id": "wamid.OLD", "type": "text",
                            "text": {"body": "a\x00b"}},
                "contact": {"wa_id": "966500000001", "profile": {"name": "N\x00our"}},
                "metadata": {},
            }
        ),
    )  # fmt: skip
    assert services.drain_inbound_queue().done == 1
    assert Customer.objects.get().customer_name == "Nour"
    assert Conversation.objects.inbound().get().message == "ab"


@time_machine.travel(NOW, tick=False)
def test_a_message_no_retry_can_handle_fails_at_once_and_holds_nothing_back(graph, monkeypatch):
    """A permanent error (bad data the database refuses, a bug) fails the message on its first
    attempt: the customer's later messages are not held for minutes of retries."""
    real_reply_to = services.reply_to

    def reply_to(message, *, customer, **options):
        if message.id == "wamid.POISON":
            Customer.objects.filter(pk=customer.pk).update(age=-5)  # refused by a check
        return real_reply_to(message, customer=customer, **options)

    monkeypatch.setattr(services, "reply_to", reply_to)
    store(message_body("wamid.POISON", "966500000001", at=NOW - dt.timedelta(seconds=5)))
    store(message_body("wamid.NEXT", "966500000001"))
    result = services.drain_inbound_queue()
    assert (result.done, result.failed, result.retrying) == (1, 1, 0)
    poison = InboundMessage.objects.get(message_id="wamid.POISON")
    assert (poison.status, poison.attempts) == ("failed", 1)
    assert "IntegrityError" in str(poison.last_error)
    assert InboundMessage.objects.get(message_id="wamid.NEXT").status == "done"


@time_machine.travel(NOW, tick=False)
def test_a_send_error_with_a_code_or_text_no_column_holds_fails_the_reply_only(graph):
    """Meta's answer to a send is input too: an error code above int32 and a NUL in its text
    must not make the outbound row unstorable (and the customer's message fail)."""
    graph.fail_next(400, 2**40, "bad\x00 details")
    store(message_body("wamid.BIGCODE", "966500000001"))
    assert services.drain_inbound_queue().done == 1
    reply = Conversation.objects.get(role="assistant")
    assert (reply.status, reply.error_code) == ("failed", None)
    assert "bad details" in str(reply.error_message)


def test_an_unreadable_payload_fails_at_once():
    InboundMessage.objects.create(message_id="wamid.BAD", wa_id="1", payload="{nope")
    assert services.drain_inbound_queue().failed == 1
    assert "unreadable payload" in str(InboundMessage.objects.get().last_error)


# ---------------------------------------------------------------------------- sweep, rate, commands
def test_the_sweep_takes_back_stale_claims():
    store(message_body("wamid.S", "966500000001"))
    with time_machine.travel(NOW, tick=False):
        services.claim_next_inbound()
    with time_machine.travel(NOW + dt.timedelta(minutes=5), tick=False):
        result = services.sweep_queues()
    assert result.reclaimed == 1
    assert result.drain_queued
    row = InboundMessage.objects.get()
    assert (row.status, row.locked_at) == ("pending", None)


def test_process_inbound_prints_what_it_did(graph, capsys):
    store(message_body("wamid.C", "966500000001", at=timezone.now()))
    call_command("process_inbound")
    assert "1 done, 0 to retry later, 0 failed" in capsys.readouterr().out


def test_setup_schedules_is_idempotent():
    call_command("setup_schedules")
    call_command("setup_schedules")
    schedules = {s.func: s for s in Schedule.objects.all()}
    assert set(schedules) == {
        "messaging.tasks.sweep",
        "messaging.tasks.prune_events",
        "messaging.tasks.plan_reminders",
        "messaging.tasks.send_reminders",
        "messaging.tasks.apply_retention",
        "messaging.tasks.heartbeat",
    }
    assert all(s.schedule_type == Schedule.MINUTES for s in schedules.values())
    assert schedules["messaging.tasks.apply_retention"].minutes == 24 * 60


def test_stored_payloads_round_trip_through_json():
    store(message_body("wamid.J", "966500000001", "مرحبا"))
    assert json.loads(InboundMessage.objects.get().payload)["message"]["text"]["body"] == "مرحبا"


@pytest.mark.postgres
@pytest.mark.django_db
def test_claiming_from_a_long_queue_walks_the_pending_index_instead_of_hashing_every_row():
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO inbound_message_queue (message_id, wa_id, payload, status, attempts, "
            "created_at, updated_at, sent_at) SELECT 'wamid.L' || n, "
            "'9665' || lpad((n % 2000)::text, 8, '0'), '{}', 'pending', 0, now(), now(), "
            "now() - interval '1 hour' + (n || ' ms')::interval FROM generate_series(1, 6000) n"
        )
        cursor.execute("ANALYZE inbound_message_queue")
    with CaptureQueriesContext(connection) as queries:
        assert services.claim_next_inbound() is not None
    [claim] = [q["sql"] for q in queries if "SKIP LOCKED" in q["sql"]]
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + claim)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "idx_inbound_queue_pending_order" in plan, plan
