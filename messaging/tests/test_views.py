import json
import threading
from pathlib import Path

import pytest
from django.db import DatabaseError, connection

from messaging.models import InboundMessage, NotificationEvent, StatusUpdate
from messaging.tests.conftest import APP_SECRET, PAYLOADS, WEBHOOK, payload, payload_bytes
from messaging.whatsapp import cloud_api

MESSAGE_FILES = sorted(p.name for p in Path(PAYLOADS).glob("message_*.json"))


# ---------------------------------------------------------------------------- handshake
def test_handshake_echoes_the_challenge_as_plain_text(client):
    response = client.get(
        WEBHOOK,
        {"hub.mode": "subscribe", "hub.verify_token": "test-verify-token", "hub.challenge": "0123"},
    )
    assert response.status_code == 200
    assert response.content == b"0123"
    assert response["Content-Type"].startswith("text/plain")


@pytest.mark.parametrize(
    "params",
    [
        {"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1"},
        {"hub.mode": "unsubscribe", "hub.verify_token": "test-verify-token", "hub.challenge": "1"},
        {"hub.challenge": "1"},
    ],
)
def test_handshake_with_a_wrong_token_or_mode_is_refused(client, params):
    assert client.get(WEBHOOK, params).status_code == 403


def test_handshake_is_refused_when_no_token_is_configured(client, settings):
    settings.WHATSAPP_VERIFY_TOKEN = ""
    params = {"hub.mode": "subscribe", "hub.verify_token": "", "hub.challenge": "1"}
    assert client.get(WEBHOOK, params).status_code == 403


# ---------------------------------------------------------------------------- refusals
@pytest.mark.django_db
@pytest.mark.parametrize("signature", [None, "sha256=" + "0" * 64, "garbage"])
def test_unsigned_or_badly_signed_posts_are_refused_and_nothing_is_stored(post_webhook, signature):
    response = post_webhook(payload_bytes("message_text.json"), signature=signature)
    assert response.status_code == 403
    assert not InboundMessage.objects.exists()


@pytest.mark.django_db
def test_a_body_signed_with_another_secret_is_refused(post_webhook, settings):
    settings.WHATSAPP_APP_SECRET = "rotated"
    assert post_webhook(payload_bytes("message_text.json")).status_code == 403


@pytest.mark.django_db
@pytest.mark.parametrize(
    "raw", [b"{not json", b"\xff\xfe", b"[]", b'{"entry": [{"changes": [{"value": 1}]}]}']
)
def test_malformed_signed_bodies_get_a_clear_400_and_nothing_is_stored(post_webhook, raw):
    response = post_webhook(raw)
    assert response.status_code == 400
    assert "malformed webhook body" in response.json()["error"]
    assert not InboundMessage.objects.exists()


@pytest.mark.django_db
def test_oversized_bodies_are_refused(post_webhook):
    response = post_webhook(b" " * (3 * 1024 * 1024 + 1))
    assert response.status_code == 413


def test_only_get_and_post_are_allowed(client):
    assert client.put(WEBHOOK).status_code == 405


@pytest.mark.django_db
def test_a_database_failure_answers_503_so_meta_delivers_again(post_webhook):
    def fail_queue_inserts(execute, sql, params, many, context):
        if sql.lstrip().startswith(("INSERT", "WITH")) and "inbound_message_queue" in sql:
            raise DatabaseError("disk full")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(fail_queue_inserts):
        response = post_webhook(payload_bytes("message_text.json"))
    assert response.status_code == 503
    assert not InboundMessage.objects.exists()


# ---------------------------------------------------------------------------- storing
@pytest.mark.django_db
@pytest.mark.parametrize("name", MESSAGE_FILES)
def test_every_message_type_is_stored_as_one_queue_row(post_webhook, name):
    response = post_webhook(payload_bytes(name))
    assert response.status_code == 200
    row = InboundMessage.objects.get()
    data = json.loads(row.payload)
    original = payload(name)["entry"][0]["changes"][0]["value"]
    assert row.message_id == original["messages"][0]["id"]
    assert row.status == InboundMessage.Status.PENDING
    assert data["message"] == original["messages"][0]
    assert data["metadata"]["phone_number_id"] == "106540352242922"
    assert row.sent_at is not None


@pytest.mark.django_db
def test_the_sender_contact_is_stored_with_the_message(post_webhook):
    post_webhook(payload_bytes("message_text_arabic.json"))
    row = InboundMessage.objects.get()
    assert row.wa_id == "966501234567"
    assert json.loads(row.payload)["contact"]["profile"]["name"] == "سارة العتيبي"


@pytest.mark.django_db
def test_a_batch_from_several_customers_becomes_one_row_per_message(post_webhook):
    response = post_webhook(payload_bytes("batch.json"))
    assert response.json() == {"messages": 4, "statuses": 0, "errors": 0, "refused": 0}
    rows = dict(InboundMessage.objects.values_list("message_id", "wa_id"))
    assert rows == {
        "wamid.BATCH1": "966500000001",
        "wamid.BATCH2": "966500000002",
        "wamid.BATCH3": "966500000001",
        "wamid.BATCH4": "966500000003",
    }


@pytest.mark.django_db
def test_a_redelivered_body_is_a_no_op(post_webhook):
    for _ in range(3):
        assert post_webhook(payload_bytes("batch.json")).status_code == 200
    assert InboundMessage.objects.count() == 4


@pytest.mark.django_db
def test_statuses_are_stored_once_before_they_are_applied(post_webhook):
    for name in ["status_sent.json", "status_sent.json", "status_read.json"]:
        assert post_webhook(payload_bytes(name)).status_code == 200
    stored = list(StatusUpdate.objects.order_by("id").values_list("status", "applied_at"))
    assert stored == [("sent", None), ("read", None)]


@pytest.mark.django_db
def test_a_failed_status_keeps_its_error(post_webhook):
    post_webhook(payload_bytes("status_failed_131047.json"))
    status = StatusUpdate.objects.get()
    assert status.error_code == 131047
    assert "24 hours" in str(status.error_message)


@pytest.mark.django_db
def test_webhook_errors_are_recorded_as_events(post_webhook):
    post_webhook(payload_bytes("errors_only.json"))
    event = NotificationEvent.objects.get(event_type="whatsapp_error")
    assert event.data["code"] == 131000


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_three_concurrent_redeliveries_store_the_message_once(live_server):
    raw = payload_bytes("batch.json")
    url = f"{live_server.url}/webhooks/whatsapp/"
    start = threading.Barrier(3)
    codes: list[int] = []

    def deliver():
        start.wait()
        codes.append(cloud_api.post_webhook(url, raw, secret=APP_SECRET))

    threads = [threading.Thread(target=deliver) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert codes == [200, 200, 200]
    assert InboundMessage.objects.count() == 4


@pytest.mark.django_db
def test_a_body_nested_deeper_than_the_stack_is_a_400_not_a_500(post_webhook):
    response = post_webhook(b"[" * 100_000 + b"]" * 100_000)
    assert response.status_code == 400
    assert "nested too deeply" in response.json()["error"]
    assert not InboundMessage.objects.exists()


# ---------------------------------------------------------------------------- the fake model
FAKE_MODEL = "/sandbox/llm/v1/chat/completions"
KEY = {"authorization": "Bearer sandbox"}
FAKE_MODEL_REQUEST = {
    "model": "sandbox",
    "messages": [
        {
            "role": "system",
            "content": "Today is 2026-11-22 (Sunday).\nServices (id: name): 4: X-ray",
        },
        {"role": "user", "content": "an xray at 16:30"},
    ],
}


def test_the_sandbox_fake_model_answers_with_json_schema_content(client, settings):
    settings.WHATSAPP_SANDBOX = True
    body = {**FAKE_MODEL_REQUEST, "response_format": {"type": "json_schema"}}
    response = client.post(
        FAKE_MODEL, json.dumps(body), content_type="application/json", headers=KEY
    )
    assert response.status_code == 200
    reading = json.loads(response.json()["choices"][0]["message"]["content"])
    assert reading["intent"] == "book"
    assert reading["time"] == "16:30"


def test_the_sandbox_fake_model_answers_a_tool_call(client, settings):
    settings.WHATSAPP_SANDBOX = True
    body = {**FAKE_MODEL_REQUEST, "tools": [{"type": "function"}]}
    response = client.post(
        FAKE_MODEL, json.dumps(body), content_type="application/json", headers=KEY
    )
    [call] = response.json()["choices"][0]["message"]["tool_calls"]
    assert json.loads(call["function"]["arguments"])["intent"] == "book"


@pytest.mark.parametrize("body", ["not json", "[]", "{}"])
def test_the_sandbox_fake_model_refuses_a_malformed_request(client, settings, body):
    settings.WHATSAPP_SANDBOX = True
    response = client.post(FAKE_MODEL, body, content_type="application/json", headers=KEY)
    assert response.status_code == 400


def test_the_sandbox_fake_model_wants_the_key(client, settings):
    settings.WHATSAPP_SANDBOX = True
    settings.LLM_API_KEY = "sandbox"
    body = json.dumps(FAKE_MODEL_REQUEST)
    for headers in [{}, {"authorization": "Bearer wrong"}, {"authorization": "Basic sandbox"}]:
        response = client.post(FAKE_MODEL, body, content_type="application/json", headers=headers)
        assert response.status_code == 401
    assert (
        client.post(FAKE_MODEL, body, content_type="application/json", headers=KEY).status_code
        == 200
    )


def test_the_sandbox_fake_model_is_only_there_with_the_sandbox(client, settings):
    settings.WHATSAPP_SANDBOX = False
    body = json.dumps(FAKE_MODEL_REQUEST)
    assert (
        client.post(FAKE_MODEL, body, content_type="application/json", headers=KEY).status_code
        == 404
    )
    settings.WHATSAPP_SANDBOX = True
    assert client.get(FAKE_MODEL).status_code == 405
