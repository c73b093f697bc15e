import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from customers.tests.factories import CustomerFactory
from messaging import services
from messaging.models import Conversation, StatusUpdate
from messaging.tests.conftest import payload
from messaging.tests.factories import ConversationFactory
from messaging.tests.test_services import NOW, message_body, store
from messaging.whatsapp import cloud_api, delivery, intake, outgoing

pytestmark = pytest.mark.django_db


# ---------------------------------------------------------------------------- the 24-hour window
@time_machine.travel(NOW, tick=False)
def test_outside_the_window_the_reengagement_template_is_sent(graph, settings):
    settings.WHATSAPP_REENGAGEMENT_TEMPLATE = "come_back"
    store(message_body("wamid.OLD", "966500000001", at=NOW - dt.timedelta(hours=30)))
    services.drain_inbound_queue()
    sent = graph.sent[0]
    assert sent["type"] == "template"
    assert sent["template"]["name"] == "come_back"
    assert Conversation.objects.get(role="assistant").message_type == "template"


@time_machine.travel(NOW, tick=False)
def test_a_131047_answer_makes_the_sender_fall_back_to_the_template(graph):
    graph.fail_next(400, 131047)
    store(message_body("wamid.W", "966500000001"))
    services.drain_inbound_queue()
    assert [s["type"] for s in graph.sent] == ["interactive", "template"]  # the menu, refused
    assert Conversation.objects.get(role="assistant").status == "sent"


@time_machine.travel(NOW, tick=False)
def test_a_failed_131047_status_queues_the_template_once_and_closes_the_window(graph):
    customer = CustomerFactory(last_inbound_at=NOW - dt.timedelta(hours=1))
    sent = ConversationFactory(
        customer=customer, role="assistant", status="sent", wa_message_id="wamid.OUTBOUND1"
    )
    body = payload("status_failed_131047.json")
    body["entry"][0]["changes"][0]["value"]["statuses"][0]["timestamp"] = str(int(NOW.timestamp()))
    for _ in range(2):
        intake.store_webhook(batch=cloud_api.parse_webhook(body))
        delivery.apply_status_updates()
    sent.refresh_from_db()
    assert (sent.status, sent.error_code) == ("failed", 131047)
    template = Conversation.objects.get(idempotency_key=f"reengage:{sent.id}")
    assert (template.payload or {})["type"] == "template"
    assert not delivery.window_is_open(customer=customer)


# ---------------------------------------------------------------------------- statuses
def apply(status: str, wamid: str = "wamid.OUTBOUND1") -> None:
    body = payload(f"status_{status}.json")
    body["entry"][0]["changes"][0]["value"]["statuses"][0]["id"] = wamid
    intake.store_webhook(batch=cloud_api.parse_webhook(body))
    delivery.apply_status_updates()


@pytest.mark.parametrize(
    ("arrivals", "final"),
    [
        (["sent", "delivered", "read"], "read"),
        (["read", "delivered", "sent"], "read"),
        (["sent", "read"], "read"),
        (["delivered", "sent"], "delivered"),
        (["delivered", "failed_131047"], "delivered"),
        (["sent", "failed_131047"], "failed"),
    ],
)
def test_statuses_only_move_forward(arrivals, final):
    sent = ConversationFactory(role="assistant", status="queued", wa_message_id="wamid.OUTBOUND1")
    for status in arrivals:
        apply(status)
    sent.refresh_from_db()
    assert sent.status == final


def test_a_status_that_arrives_before_its_message_is_known_waits(graph):
    apply("delivered", wamid="wamid.GRAPH1")
    assert StatusUpdate.objects.unapplied().count() == 1
    customer = CustomerFactory(last_inbound_at=timezone.now())
    reply = ConversationFactory(
        customer=customer,
        role="assistant",
        status="queued",
        payload={
            "messaging_product": "whatsapp",
            "to": "+1",
            "type": "text",
            "text": {"body": "x"},
        },
    )
    delivery.send_outbound_message(conversation=reply)
    reply.refresh_from_db()
    assert (reply.wa_message_id, reply.status) == ("wamid.GRAPH1", "delivered")
    assert not StatusUpdate.objects.unapplied().exists()


def test_the_send_rate_is_capped_per_second(settings):
    settings.WHATSAPP_MAX_MESSAGES_PER_SECOND = 3
    moment = dt.datetime(2026, 11, 23, 9, 0, 0, 250000, tzinfo=dt.UTC)
    waits = [delivery.reserve_send_slot(now=moment) for _ in range(4)]
    assert waits[:3] == [0.0, 0.0, 0.0]
    assert waits[3] == pytest.approx(0.75)
    assert delivery.reserve_send_slot(now=moment + dt.timedelta(seconds=1)) == 0.0


@time_machine.travel(NOW, tick=False)
def test_when_the_fallback_template_is_refused_too_the_reply_fails_but_the_message_is_done(graph):
    graph.fail_next(400, 131047)
    graph.fail_next(400, 132001, "template does not exist")
    store(message_body("wamid.T", "966500000001"))
    assert services.drain_inbound_queue().done == 1
    reply = Conversation.objects.get(role="assistant")
    assert (reply.status, reply.error_code) == ("failed", 132001)


def test_the_sweep_leaves_statuses_of_unknown_messages_after_a_day():
    apply("delivered", wamid="wamid.NEVER")
    with time_machine.travel(timezone.now() + dt.timedelta(days=2)):
        assert delivery.apply_status_updates(since=timezone.now() - dt.timedelta(days=1)) == 0
    assert StatusUpdate.objects.unapplied().count() == 1


def test_the_sweep_sets_aside_statuses_still_unknown_after_a_while_and_reads_them_no_more():
    apply("delivered", wamid="wamid.NEVER")
    apply("read", wamid="wamid.YOUNG")
    StatusUpdate.objects.filter(wa_message_id="wamid.NEVER").update(
        created_at=timezone.now() - delivery.STATUS_UNMATCHED_AFTER - dt.timedelta(seconds=1)
    )
    services.sweep_queues()
    never, young = StatusUpdate.objects.order_by("wa_message_id")
    assert never.unmatched_at is not None
    assert young.unmatched_at is None  # its send may not have recorded the id yet
    assert list(StatusUpdate.objects.to_sweep()) == [young]


def test_a_set_aside_status_is_still_applied_when_its_send_records_the_id(graph):
    apply("delivered", wamid="wamid.GRAPH1")
    StatusUpdate.objects.update(unmatched_at=timezone.now())
    customer = CustomerFactory(last_inbound_at=timezone.now())
    reply = ConversationFactory(
        customer=customer,
        role="assistant",
        status="queued",
        payload={
            "messaging_product": "whatsapp",
            "to": "+1",
            "type": "text",
            "text": {"body": "x"},
        },
    )
    delivery.send_outbound_message(conversation=reply)
    reply.refresh_from_db()
    assert (reply.wa_message_id, reply.status) == ("wamid.GRAPH1", "delivered")


@pytest.mark.postgres
def test_the_sweep_reads_statuses_through_its_partial_index(django_db_setup):
    """Unknown statuses set aside leave the index the sweep reads: its cost stays with the
    statuses of the last minutes, however many unknown ones pile up (bench/bench_sweep.py)."""
    from django.db import connection

    query = StatusUpdate.objects.to_sweep().filter(created_at__gte=timezone.now()).order_by("id")
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        sql, params = query.query.sql_with_params()
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "idx_whatsapp_status_updates_sweep" in plan, plan


def test_the_status_task_walks_past_statuses_whose_message_is_unknown(monkeypatch):
    """Orphans (statuses of messages sent by another app on the number) must not hide new ones:
    the task used to look at the oldest 1,000 unapplied statuses only, for ever."""
    monkeypatch.setattr(delivery, "STATUS_BATCH", 2)
    for n in range(3):
        apply("delivered", wamid=f"wamid.ORPHAN{n}")
    sent = ConversationFactory(role="assistant", status="sent", wa_message_id="wamid.OURS")
    body = payload("status_read.json")
    body["entry"][0]["changes"][0]["value"]["statuses"][0]["id"] = "wamid.OURS"
    intake.store_webhook(batch=cloud_api.parse_webhook(body))
    assert delivery.apply_new_statuses() == 1
    sent.refresh_from_db()
    assert sent.status == "read"
    assert StatusUpdate.objects.unapplied().count() == 3


def test_the_status_task_leaves_older_unknown_statuses_to_the_sweep():
    apply("delivered", wamid="wamid.LATE")  # its message becomes known only later
    sent = ConversationFactory(role="assistant", status="sent", wa_message_id="wamid.LATE")
    with time_machine.travel(
        timezone.now() + delivery.STATUS_TASK_LOOKBACK + dt.timedelta(seconds=1)
    ):
        assert delivery.apply_new_statuses() == 0
        services.sweep_queues()
    sent.refresh_from_db()
    assert sent.status == "delivered"


# ---------------------------------------------------------------------------- the outbox writer
@time_machine.travel(NOW, tick=False)
def test_an_outbound_row_is_written_once_per_key_and_moves_the_inbox():
    customer = CustomerFactory(last_message_at=NOW - dt.timedelta(days=2))
    first, created = delivery.record_outbound(
        customer=customer, message=outgoing.text("See you tomorrow"), key="reminder:1"
    )
    again, created_again = delivery.record_outbound(
        customer=customer, message=outgoing.text("See you tomorrow"), key="reminder:1"
    )
    assert (created, created_again) == (True, False)
    assert first.pk == again.pk
    assert first.status == Conversation.Status.QUEUED
    assert first.payload is not None
    assert first.payload["to"] == "+" + customer.wa_id
    customer.refresh_from_db()
    assert customer.last_message_at == NOW


@time_machine.travel(NOW, tick=False)
def test_the_reengagement_template_moves_the_inbox_too():
    customer = CustomerFactory(last_message_at=NOW - dt.timedelta(days=2))
    failed = ConversationFactory(
        customer=customer,
        role=Conversation.Role.ASSISTANT,
        status=Conversation.Status.FAILED,
        created_at=NOW - dt.timedelta(days=2),
    )
    delivery.queue_reengagement(conversation=failed)
    template = Conversation.objects.get(idempotency_key=f"reengage:{failed.id}")
    assert template.message_type == "template"
    customer.refresh_from_db()
    assert customer.last_message_at == NOW


# ---------------------------------------------------------------------------- send errors
def _closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # nothing listens once the socket is closed


@time_machine.travel(NOW, tick=False)
def test_a_refused_send_says_where_and_why_on_the_queued_row(settings):
    port = _closed_port()
    settings.WHATSAPP_API_BASE_URL = f"http://127.0.0.1:{port}/v23.0"
    store(message_body("wamid.R", "966500000001"))
    assert services.drain_inbound_queue().retrying == 1
    reply = Conversation.objects.get(role="assistant")
    assert reply.status == "queued"
    assert reply.error_message == f"cannot connect to 127.0.0.1:{port}: Connection refused"
    assert list(Conversation.objects.retrying()) == [reply]


@time_machine.travel(NOW, tick=False)
def test_a_retried_send_that_succeeds_clears_its_error(graph):
    graph.fail_next(503, 131000, "unknown")
    store(message_body("wamid.R2", "966500000001"))
    services.drain_inbound_queue()
    reply = Conversation.objects.get(role="assistant")
    assert (reply.status, reply.error_code) == ("queued", 131000)
    assert "(#131000)" in (reply.error_message or "")
    delivery.send_outbound_message(conversation=reply)
    reply.refresh_from_db()
    assert (reply.status, reply.error_code, reply.error_message) == ("sent", None, None)
    assert not Conversation.objects.retrying().exists()
