"""Webhook intake: rows stored once, and one queued run per task however many webhooks come."""

import datetime as dt
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import time_machine
from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection, transaction
from django.utils import timezone

from messaging import services
from messaging.models import InboundMessage, StatusUpdate, TaskWakeup
from messaging.tests.conftest import payload, payload_bytes
from messaging.tests.test_services import message_body as services_message_body
from messaging.whatsapp import cloud_api, delivery, intake


def message_body(wamid: str) -> dict:
    return services_message_body(wamid, "966500000001")


pytestmark = pytest.mark.broker


@pytest.mark.django_db
def test_one_drain_is_queued_however_many_messages_arrive_before_it_starts(
    post_webhook, task_queue
):
    for n in range(5):
        assert post_webhook(message_body(f"wamid.MANY{n}")).status_code == 200
    post_webhook(payload_bytes("status_sent.json"))
    post_webhook(payload_bytes("status_delivered.json"))
    assert InboundMessage.objects.count() == 5
    assert task_queue.funcs() == sorted([services.DRAIN_TASK, delivery.STATUS_TASK])
    assert set(TaskWakeup.objects.values_list("task", flat=True)) == {
        services.DRAIN_TASK,
        delivery.STATUS_TASK,
    }


@pytest.mark.django_db
def test_a_started_run_clears_its_wake_up_so_the_next_webhook_queues_another(
    post_webhook, task_queue
):
    post_webhook(message_body("wamid.FIRST"))
    task_queue.clear()  # a worker took the task
    services.drain_inbound_queue()  # ... and it starts by clearing the wake-up
    assert not TaskWakeup.objects.filter(task=services.DRAIN_TASK).exists()
    post_webhook(message_body("wamid.SECOND"))
    assert task_queue.funcs() == [services.DRAIN_TASK]


@pytest.mark.django_db
def test_the_status_task_clears_its_wake_up_and_applies(post_webhook):
    post_webhook(payload_bytes("status_sent.json"))
    assert delivery.apply_new_statuses() == 0  # its message is not known here
    assert not TaskWakeup.objects.exists()
    assert StatusUpdate.objects.unapplied().count() == 1


@pytest.mark.django_db
def test_a_redelivery_wakes_the_worker_again_after_its_task_was_lost(post_webhook, task_queue):
    body = message_body("wamid.LOST")
    post_webhook(body)
    task_queue.clear()  # the broker lost the task; the stale wake-up is swept
    with time_machine.travel(
        timezone.now() + delivery.WAKEUP_STALE_AFTER + dt.timedelta(seconds=1)
    ):
        services.sweep_queues()
    assert not TaskWakeup.objects.exists()
    task_queue.clear()  # (the sweep queued a drain itself: the message is due)
    post_webhook(body)
    assert InboundMessage.objects.count() == 1
    assert task_queue.funcs() == [services.DRAIN_TASK]


@pytest.mark.django_db
def test_the_sweep_keeps_a_fresh_wake_up(post_webhook):
    post_webhook(message_body("wamid.FRESH"))
    services.sweep_queues()
    assert TaskWakeup.objects.filter(task=services.DRAIN_TASK).exists()


@contextmanager
def broker_refusing() -> Iterator[None]:
    """The broker refuses tasks: the database's task insert fails, or Redis cannot be reached."""
    if "orm" in settings.Q_CLUSTER:

        def fail_task_inserts(execute, sql, params, many, context):
            if "INSERT INTO django_q_ormq" in sql.replace('"', ""):
                raise DatabaseError("disk full")
            return execute(sql, params, many, context)

        with connection.execute_wrapper(fail_task_inserts):
            yield
        return
    from django_q.conf import Conf

    url, Conf.REDIS = Conf.REDIS, "redis://127.0.0.1:1/0"  # nothing listens on port 1
    try:
        yield
    finally:
        Conf.REDIS = url


# Committed for real: Redis is told about a task as the webhook's transaction commits.
@pytest.mark.django_db(transaction=True)
def test_when_the_task_cannot_be_queued_meta_is_asked_to_deliver_again(post_webhook, task_queue):
    body = message_body("wamid.NOTASK")
    with broker_refusing():
        assert post_webhook(body).status_code == 503
    # The message is stored and its wake-up taken back, so that Meta's redelivery queues the task.
    assert InboundMessage.objects.filter(message_id="wamid.NOTASK").exists()
    assert not TaskWakeup.objects.exists()
    assert post_webhook(body).status_code == 200
    assert InboundMessage.objects.count() == 1
    assert task_queue.funcs() == [services.DRAIN_TASK]


@pytest.mark.django_db
def test_errors_in_a_batch_are_stored_with_its_messages_in_one_transaction(
    post_webhook, task_queue
):
    body = message_body("wamid.WITHERROR")
    errors = payload("errors_only.json")["entry"][0]["changes"][0]["value"]["errors"]
    body["entry"][0]["changes"][0]["value"]["errors"] = errors
    assert post_webhook(body).json() == {"messages": 1, "statuses": 0, "errors": 1}
    assert InboundMessage.objects.filter(message_id="wamid.WITHERROR").exists()
    assert task_queue.funcs() == [services.DRAIN_TASK]


def test_request_wakeup_refuses_to_run_outside_the_transaction_of_the_work():
    with pytest.raises(RuntimeError):
        delivery.request_wakeup(func=services.DRAIN_TASK, now=timezone.now())


@pytest.mark.postgres
@pytest.mark.django_db
def test_on_postgresql_a_webhook_is_one_statement(post_webhook, django_assert_num_queries):
    post_webhook(message_body("wamid.ONE"))  # the first one also queues the drain
    batch = cloud_api.parse_webhook(message_body("wamid.TWO"))
    with django_assert_num_queries(1) as captured:
        intake.store_webhook(batch=batch)
    assert captured.captured_queries[0]["sql"].startswith("WITH")
    assert InboundMessage.objects.filter(message_id="wamid.TWO").exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_drain_starting_while_a_webhook_commits_waits_for_it_and_sees_its_message(task_queue):
    """The race the wake-up lock closes: the webhook finds the wake-up row (so it queues
    nothing) while the run that will delete it is starting; the run must see the message."""
    TaskWakeup.objects.create(task=services.DRAIN_TASK, requested_at=timezone.now())
    stored, release, cleared = threading.Event(), threading.Event(), threading.Event()
    queued: list[str] = []

    def webhook() -> None:
        try:
            with transaction.atomic():  # the webhook's statement done, its commit still to come
                batch = cloud_api.parse_webhook(message_body("wamid.RACE"))
                intake.store_webhook(batch=batch)
                queued.extend(task_queue.funcs())
                stored.set()
                release.wait(10)
        finally:
            close_old_connections()
            connection.close()

    def drain_starts() -> None:
        try:
            stored.wait(10)
            delivery.clear_wakeup(services.DRAIN_TASK)
            cleared.set()
        finally:
            connection.close()

    threads = [threading.Thread(target=webhook), threading.Thread(target=drain_starts)]
    for thread in threads:
        thread.start()
    assert stored.wait(10)
    assert queued == []  # it found the wake-up: a run is coming
    assert not cleared.wait(0.5)  # that run waits for the webhook's commit ...
    release.set()
    assert cleared.wait(10)  # ... and then looks for work, which is there
    for thread in threads:
        thread.join()
    assert InboundMessage.objects.due().filter(message_id="wamid.RACE").exists()
    assert not TaskWakeup.objects.exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_connection_lost_since_the_last_webhook_is_replaced_within_the_request():
    """No health-check query per POST: a dead connection (the database restarted) is noticed by
    the statement itself, which reconnects and runs again (it is safe to run twice)."""
    intake.store_webhook(batch=cloud_api.parse_webhook(message_body("wamid.BEFORE")))
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    other = connection.copy()
    with other.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    other.close()
    intake.store_webhook(batch=cloud_api.parse_webhook(message_body("wamid.AFTER")))
    assert InboundMessage.objects.filter(message_id="wamid.AFTER").exists()
