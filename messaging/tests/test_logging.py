"""No secrets or message bodies in logs, over a whole webhook -> bot -> send cycle."""

import datetime as dt
import logging

import pytest
import time_machine

from messaging import services
from messaging.models import Conversation
from messaging.tests.conftest import ACCESS_TOKEN, APP_SECRET, BOT_NOW
from messaging.whatsapp import cloud_api

pytestmark = pytest.mark.django_db

WA_ID = "966501234567"
BODY = "Please book me, my private complaint is XYZZY-42"
NAME = "Sara Confidential"


def logged_text(caplog: pytest.LogCaptureFixture) -> str:
    formatter = logging.Formatter()
    parts = []
    for record in caplog.records:
        parts.append(record.getMessage())
        if record.exc_info:
            parts.append(formatter.formatException(record.exc_info))
    return "\n".join(parts)


def test_a_full_cycle_logs_no_body_token_secret_or_number(
    caplog, post_webhook, graph, clinic, client, settings
):
    caplog.set_level(logging.DEBUG)
    body = cloud_api.webhook_body(
        phone_number_id=settings.WHATSAPP_PHONE_NUMBER_ID,
        contacts=[{"profile": {"name": NAME}, "wa_id": WA_ID}],
        messages=[
            {
                "from": WA_ID,
                "id": "wamid.LOG1",
                "timestamp": str(int(BOT_NOW.timestamp())),
                "type": "text",
                "text": {"body": BODY},
            }
        ],
    )
    assert post_webhook(body, signature="sha256=forged").status_code == 403
    verify = {"hub.mode": "subscribe", "hub.verify_token": "test-verify-token"}
    assert client.get("/webhooks/whatsapp/", {**verify, "hub.challenge": "1"}).status_code == 200
    assert client.get("/webhooks/whatsapp/", {**verify, "hub.verify_token": "x"}).status_code == 403
    assert post_webhook(body).status_code == 200
    graph.fail_next(500)  # the first send fails and is retried: the error path logs too
    graph.fail_next(400, 131026, "Message undeliverable")
    services.drain_inbound_queue()
    clinic.shift(dt.timedelta(minutes=10))  # past the retry's back-off
    services.drain_inbound_queue()
    services.sweep_queues()

    replies = list(Conversation.objects.exclude(role="user").values_list("message", flat=True))
    assert replies  # the bot answered
    assert graph.requests  # and something went over HTTP
    text = logged_text(caplog)
    assert caplog.records  # the cycle does log
    for secret in (BODY, "XYZZY", NAME, WA_ID, ACCESS_TOKEN, APP_SECRET, "test-verify-token"):
        assert secret not in text, secret
    for reply in replies:
        for line in filter(None, (line.strip() for line in reply.splitlines())):
            if len(line) >= 12:
                assert line not in text, line


@time_machine.travel(BOT_NOW, tick=False)
def test_reservation_events_are_logged_without_the_number(caplog, clinic):
    from reservations import services as booking
    from reservations.models import Source

    caplog.set_level(logging.INFO, logger="reservations")
    slot = booking.nearest_available_slots(near=BOT_NOW, type=0, limit=1)[0]
    reservation = booking.reserve_slot(
        wa_id=WA_ID, date=slot.date, time_slot=slot.time, type=0, source=Source.STAFF
    )
    assert f"reservation {reservation.pk}" in caplog.text
    assert WA_ID not in caplog.text
