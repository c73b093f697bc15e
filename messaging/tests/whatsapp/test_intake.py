"""Webhook intake: rows stored once, and one queued run per task however many webhooks come."""

import datetime as dt
import json
import random
import re
import string
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest
import time_machine
from django.conf import settings
from django.db import (
    DatabaseError,
    DataError,
    OperationalError,
    close_old_connections,
    connection,
    transaction,
)
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from config.db import is_transient_error
from customers.models import Customer
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
    assert post_webhook(body).json() == {"messages": 1, "statuses": 0, "errors": 1, "refused": 0}
    assert InboundMessage.objects.filter(message_id="wamid.WITHERROR").exists()
    assert task_queue.funcs() == [services.DRAIN_TASK]


def test_request_wakeup_refuses_to_run_outside_the_transaction_of_the_work():
    with pytest.raises(RuntimeError):
        delivery.request_wakeup(func=services.DRAIN_TASK, now=timezone.now())


@pytest.mark.postgres
@pytest.mark.django_db
def test_on_postgresql_a_webhook_is_one_statement(post_webhook):
    post_webhook(message_body("wamid.ONE"))  # the first one also queues the drain
    batch = cloud_api.parse_webhook(message_body("wamid.TWO"))
    with CaptureQueriesContext(connection) as captured:
        intake.store_webhook(batch=batch)
    # (The test's transaction adds a savepoint around it; a request in autocommit has none.)
    sqls = [q["sql"] for q in captured.captured_queries if "SAVEPOINT" not in q["sql"]]
    assert len(sqls) == 1
    assert sqls[0].startswith("WITH")
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


# ---------------------------------------------------------------------------- poison batches
def transient_error() -> OperationalError:
    """What a full disk raises (SQLSTATE 53100): an error that may pass, unlike bad data."""
    error = OperationalError("could not extend file: No space left on device")
    error.__cause__ = psycopg.errors.DiskFull("could not extend file")
    return error


def item(wamid: str, sender: str = "966500000001", **fields) -> dict:
    at = str(int(timezone.now().timestamp()))
    return {"from": sender, "id": wamid, "timestamp": at, "type": "text"} | (
        fields or {"text": {"body": "hello"}}
    )


def body_of(messages=(), statuses=(), contacts=()) -> dict:
    return cloud_api.webhook_body(
        phone_number_id="106540352242922",
        messages=messages,
        statuses=statuses,
        contacts=contacts,
    )


def status(wamid: str, value: str = "read", **fields) -> dict:
    at = str(int(timezone.now().timestamp()))
    return {"id": wamid, "status": value, "timestamp": at, "recipient_id": "966500000001"} | fields


def refused_rows() -> list[InboundMessage]:
    return list(InboundMessage.objects.failed().order_by("id"))


@pytest.mark.django_db
@pytest.mark.parametrize(
    "sender",
    ["a/b", "966500000105<script>alert(1)</script>", "+966500000105", "0966500000105",
     "9665 0000 0105", "٩٦٦٥٠٠٠٠٠١٠٥", "1" * 3000, "x"],
)  # fmt: skip
def test_a_sender_id_in_no_form_of_metas_is_kept_failed_and_makes_no_customer(
    post_webhook, graph, sender
):
    body = body_of(
        messages=[item("wamid.BAD", sender), item("wamid.GOOD")],
        contacts=[{"wa_id": sender, "profile": {"name": "Mallory"}}],
    )
    response = post_webhook(body)
    assert response.status_code == 200
    assert response.json()["refused"] == 1
    (bad,) = refused_rows()
    assert (bad.message_id, bad.wa_id) == ("wamid.BAD", None)
    assert "not a WhatsApp number" in str(bad.last_error)
    assert json.loads(bad.payload)["message"]["from"] == sender  # nothing lost
    assert InboundMessage.objects.pending().get().message_id == "wamid.GOOD"
    services.drain_inbound_queue()
    assert list(Customer.objects.values_list("wa_id", flat=True)) == ["966500000001"]
    # Retried by staff, it is refused again (for the same reason), still without a customer.
    services.retry_inbound_messages(ids=[bad.id])
    assert services.drain_inbound_queue().failed == 1
    assert "not a WhatsApp number" in str(InboundMessage.objects.get(id=bad.id).last_error)
    assert Customer.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("user_id", ["US/13491208655302741918", "13491208655302741918", "u" * 300])
def test_a_business_scoped_id_in_no_form_of_metas_is_refused(post_webhook, graph, user_id):
    message = item("wamid.BSUID") | {"from_user_id": user_id}
    del message["from"]
    assert post_webhook(body_of(messages=[message])).json()["refused"] == 1
    assert "business-scoped user id" in str(refused_rows()[0].last_error)
    services.drain_inbound_queue()
    assert not Customer.objects.exists()


@pytest.mark.django_db
def test_metas_business_scoped_ids_are_accepted(post_webhook, graph):
    message = item("wamid.BSUID") | {"from_user_id": "US.13491208655302741918"}
    del message["from"]
    contact = {"user_id": "US.13491208655302741918", "profile": {"name": "Nour"}}
    assert post_webhook(body_of(messages=[message], contacts=[contact])).json()["refused"] == 0
    assert services.drain_inbound_queue().done == 1
    assert Customer.objects.get().user_id == "US.13491208655302741918"


@pytest.mark.django_db
def test_a_poison_batch_stores_every_good_item_and_keeps_every_bad_one_with_its_reason(
    post_webhook,
):
    long_id = "wamid." + "".join(random.choices(string.ascii_letters, k=3000))
    failed_error = {"code": 2**40, "title": "Bad\x00 title", "error_data": {"details": "x\x00y"}}
    body = body_of(
        messages=[
            item("wamid.M1"),
            item(long_id),
            item("wamid.M2", "9" * 3000),
            {"from": "966500000001", "type": "text"},  # no id at all
            item("wamid.M3"),
        ],
        statuses=[
            status("wamid.S1"),
            status("wamid.S2", "x" * 17),
            status("wamid.S3", "failed", errors=[failed_error]),
            status(long_id),
            status("wamid.S4", "delivered", errors="not a list"),
        ],
    )
    response = post_webhook(body)
    assert response.status_code == 200
    assert response.json() == {"messages": 2, "statuses": 2, "errors": 0, "refused": 6}
    assert set(InboundMessage.objects.pending().values_list("message_id", flat=True)) == {
        "wamid.M1",
        "wamid.M3",
    }
    s3 = StatusUpdate.objects.get(wa_message_id="wamid.S3")
    assert s3.error_code is None  # above int32: kept in the text instead
    assert s3.error_message == "Bad title (code 1099511627776): xy"
    assert set(StatusUpdate.objects.values_list("wa_message_id", flat=True)) == {
        "wamid.S1",
        "wamid.S3",
    }
    reasons = [str(row.last_error) for row in refused_rows()]
    assert len(reasons) == 6
    assert all(reason.startswith("refused at intake: ") for reason in reasons)
    assert sum("is not a WhatsApp id" in r for r in reasons) == 2  # the long wamids
    assert sum("not one Meta sends" in r for r in reasons) == 1
    assert all(row.wa_id is None for row in refused_rows())
    # A redelivery of the same body stores nothing twice that has a usable id.
    assert post_webhook(body).status_code == 200
    assert InboundMessage.objects.filter(message_id="wamid.M2").count() == 1


@pytest.mark.django_db
def test_a_refused_status_retried_by_staff_is_stored_once_it_passes(post_webhook, monkeypatch):
    post_webhook(body_of(statuses=[status("wamid.LATER", "Read")]))
    (row,) = refused_rows()
    services.retry_inbound_messages(ids=[row.id])
    assert services.drain_inbound_queue().failed == 1  # still not a status Meta sends
    assert "not one Meta sends" in str(InboundMessage.objects.get(id=row.id).last_error)
    monkeypatch.setattr(cloud_api, "_STATUS_RE", re.compile("[A-Za-z]+"))  # as if code took it
    services.retry_inbound_messages(ids=[row.id])
    assert services.drain_inbound_queue().done == 1
    assert StatusUpdate.objects.get().status == "Read"


@pytest.mark.django_db
@pytest.mark.parametrize(("messages", "statuses"), [(11_000, 0), (0, 8_200)])
def test_a_batch_bigger_than_one_statement_can_bind_is_stored_whole(
    post_webhook, messages, statuses
):
    body = body_of(
        messages=[item(f"wamid.BIG{n}", f"9665{n:08d}") for n in range(messages)],
        statuses=[status(f"wamid.BIG{n}") for n in range(statuses)],
    )
    response = post_webhook(body)
    assert response.status_code == 200
    assert response.json()["refused"] == 0
    assert InboundMessage.objects.count() == messages
    assert StatusUpdate.objects.count() == statuses


@pytest.mark.postgres
@pytest.mark.django_db
def test_an_item_the_database_still_refuses_is_kept_aside_and_the_others_stored(
    post_webhook, monkeypatch, task_queue
):
    """What the checks at intake miss (here: a wamid too long for its index, with the length
    check relaxed) is found item by item, each in a savepoint."""
    monkeypatch.setattr(cloud_api, "MAX_ID_LENGTH", 100_000)
    long_id = "wamid." + "".join(random.choices(string.ascii_letters, k=9000))
    body = body_of(
        messages=[item("wamid.OK1"), item(long_id), item("wamid.OK2")],
        statuses=[status("wamid.OK3"), status(long_id)],
    )
    response = post_webhook(body)
    assert response.status_code == 200
    assert response.json()["refused"] == 2
    assert set(InboundMessage.objects.pending().values_list("message_id", flat=True)) == {
        "wamid.OK1",
        "wamid.OK2",
    }
    assert StatusUpdate.objects.get().wa_message_id == "wamid.OK3"
    assert all("the database refused it" in str(row.last_error) for row in refused_rows())
    assert sorted(task_queue.funcs()) == sorted([services.DRAIN_TASK, delivery.STATUS_TASK])


@pytest.mark.django_db
def test_an_error_that_may_pass_still_answers_503(post_webhook):
    def fail_inserts(execute, sql, params, many, context):
        if sql.lstrip().startswith(("INSERT", "WITH")) and "inbound_message_queue" in sql:
            raise transient_error()
        return execute(sql, params, many, context)

    with connection.execute_wrapper(fail_inserts):
        assert post_webhook(message_body("wamid.LATER")).status_code == 503
    assert not InboundMessage.objects.exists()


def test_database_errors_are_told_apart():
    assert is_transient_error(transient_error())
    deadlock = OperationalError("deadlock")
    deadlock.__cause__ = psycopg.errors.DeadlockDetected()
    assert is_transient_error(deadlock)
    too_long = DataError("value too long")
    too_long.__cause__ = psycopg.errors.StringDataRightTruncation()
    assert not is_transient_error(too_long)
    index_row = OperationalError("index row size exceeds maximum")
    index_row.__cause__ = psycopg.errors.ProgramLimitExceeded()
    assert not is_transient_error(index_row)
