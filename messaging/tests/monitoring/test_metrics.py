"""/metrics: what each figure says, read with Prometheus' own parser, in a bounded number of
queries whatever the size of the tables."""

import datetime as dt

import pytest
import time_machine
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from messaging import tasks
from messaging.models import Conversation, InboundMessage, Reminder
from messaging.monitoring import metrics
from messaging.tests.factories import ConversationFactory, InboundMessageFactory
from reservations.tests.factories import ReservationFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)


def scrape() -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = Client().get("/metrics")  # from 127.0.0.1
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def inbound(*, age: dt.timedelta, status: str = "pending", handled_in: float | None = None):
    stored = NOW - age
    processed = stored + dt.timedelta(seconds=handled_in) if handled_in is not None else None
    return InboundMessageFactory(created_at=stored, status=status, processed_at=processed)


def outbound(status: str, code: int | None = None, *, age: dt.timedelta = dt.timedelta(0)):
    return ConversationFactory(
        role=Conversation.Role.ASSISTANT, status=status, error_code=code, created_at=NOW - age
    )


def reminder(*, due_in: dt.timedelta, status: str = Reminder.Status.PLANNED) -> Reminder:
    reservation = ReservationFactory()
    return Reminder.objects.create(
        reservation=reservation,
        kind=Reminder.Kind.DAY_BEFORE,
        slot_date=reservation.date,
        slot_time=reservation.time_slot,
        due_at=NOW + due_in,
        status=status,
    )


@time_machine.travel(NOW, tick=False)
def test_an_idle_clinic_reports_zeros_and_no_latency():
    got = scrape()
    for status in ("pending", "processing", "failed"):
        assert got[("clinic_inbound_queue_messages", (("status", status),))] == 0
    assert got[("clinic_inbound_queue_oldest_due_seconds", ())] == 0
    assert got[("clinic_reminders_due", ())] == 0
    assert got[("clinic_task_queue_tasks", ())] == 0
    assert not [key for key in got if key[0] == "clinic_reply_latency_seconds"]
    assert not [key for key in got if key[0] == "clinic_worker_heartbeat_age_seconds"]


@time_machine.travel(NOW, tick=False)
def test_the_queue_the_sends_the_latency_the_reminders_and_the_worker():
    minute = dt.timedelta(minutes=1)
    inbound(age=3 * minute)  # the oldest due: 180 s
    inbound(age=minute)
    InboundMessageFactory(created_at=NOW - 9 * minute, next_attempt_at=NOW + minute)  # backs off
    inbound(age=minute, status="processing")
    inbound(age=60 * minute, status="failed")
    for seconds in (0.2, 0.4, 0.6, 0.8, 5.0):
        inbound(age=2 * minute, status="done", handled_in=seconds)
    inbound(age=30 * minute, status="done", handled_in=99)  # before the window
    outbound("sent")
    outbound("delivered")
    outbound("failed", 131026)
    outbound("failed", 131026)
    outbound("failed", 131047)
    outbound("queued")
    outbound("failed", 131026, age=20 * minute)  # before the window
    ConversationFactory(role=Conversation.Role.USER, created_at=NOW)  # inbound: not a send
    reminder(due_in=-10 * minute)
    reminder(due_in=-minute)
    reminder(due_in=minute)  # not due yet
    reminder(due_in=-minute, status=Reminder.Status.SENT)
    with time_machine.travel(NOW - dt.timedelta(seconds=42), tick=False):
        tasks.heartbeat()

    got = scrape()
    queue = "clinic_inbound_queue_messages"
    assert got[(queue, (("status", "pending"),))] == 3
    assert got[(queue, (("status", "processing"),))] == 1
    assert got[(queue, (("status", "failed"),))] == 1
    assert got[("clinic_inbound_queue_oldest_due_seconds", ())] == 180
    recent = "clinic_outbound_messages_recent"
    assert got[(recent, (("error_code", "none"), ("status", "sent")))] == 1
    assert got[(recent, (("error_code", "none"), ("status", "delivered")))] == 1
    assert got[(recent, (("error_code", "131026"), ("status", "failed")))] == 2
    assert got[(recent, (("error_code", "131047"), ("status", "failed")))] == 1
    assert got[("clinic_outbound_queued_messages", ())] == 1
    latency = "clinic_reply_latency_seconds"
    assert got[(latency, (("quantile", "0.5"),))] == pytest.approx(0.6)
    assert got[(latency, (("quantile", "0.99"),))] == pytest.approx(5.0)
    assert got[("clinic_inbound_handled_recent", ())] == 5
    assert got[("clinic_reminders_due", ())] == 2
    assert got[("clinic_reminders_oldest_due_seconds", ())] == 600
    assert got[("clinic_worker_heartbeat_age_seconds", ())] == 42


@time_machine.travel(NOW, tick=False)
def test_a_scrape_costs_the_same_few_queries_however_much_there_is(
    django_assert_max_num_queries,
):
    def queries() -> int:
        with django_assert_max_num_queries(12) as captured:
            metrics.render()
        return len(captured.captured_queries)

    few = queries()
    for n in range(30):
        inbound(age=dt.timedelta(seconds=n), status="done", handled_in=0.5)
        inbound(age=dt.timedelta(seconds=n))
        outbound("failed", 131000 + n)
        reminder(due_in=-dt.timedelta(minutes=n + 1))
    assert queries() == few
    assert InboundMessage.objects.count() == 60


def test_latency_samples_are_capped(monkeypatch):
    monkeypatch.setattr(metrics, "LATENCY_SAMPLE", 3)
    with time_machine.travel(NOW, tick=False):
        for n in range(5):
            inbound(age=dt.timedelta(seconds=n), status="done", handled_in=1)
        assert scrape()[("clinic_inbound_handled_recent", ())] == 3
