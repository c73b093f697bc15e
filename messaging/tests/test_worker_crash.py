"""A worker killed in the middle of a message: nothing lost, nothing doubled (PostgreSQL)."""

import datetime as dt
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django.utils import timezone

from messaging import services
from messaging.models import Conversation, InboundMessage
from messaging.tests.conftest import ACCESS_TOKEN, APP_SECRET
from messaging.whatsapp import cloud_api, intake

pytestmark = pytest.mark.broker

BASE_DIR = Path(__file__).resolve().parents[2]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_after_recording_its_reply_loses_and_doubles_nothing(graph):
    body = cloud_api.webhook_body(
        phone_number_id="106540352242922",
        contacts=[{"profile": {"name": "Sara"}, "wa_id": "966501234567"}],
        messages=[
            {
                "from": "966501234567",
                "id": "wamid.CRASH1",
                "timestamp": str(int(timezone.now().timestamp())),
                "type": "text",
                "text": {"body": "hello"},
            }
        ],
    )
    intake.store_webhook(batch=cloud_api.parse_webhook(body))

    db = settings.DATABASES["default"]
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "DEBUG": "true",
        "WHATSAPP_SANDBOX": "false",
        "WHATSAPP_API_BASE_URL": graph.url,
        "WHATSAPP_ACCESS_TOKEN": ACCESS_TOKEN,
        "WHATSAPP_APP_SECRET": APP_SECRET,
        "WHATSAPP_PHONE_NUMBER_ID": "106540352242922",
        services.HANG_AFTER_RECORD_ENV: "1",
    }
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "process_inbound"],
        cwd=BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = worker.stdout.readline()  # type: ignore[union-attr]
        assert line.startswith("hanging after recording wamid.CRASH1"), line
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)

    row = InboundMessage.objects.get()
    assert row.status == InboundMessage.Status.PROCESSING
    assert Conversation.objects.get(role="assistant").status == Conversation.Status.QUEUED
    assert graph.sent == []

    later = timezone.now() + dt.timedelta(seconds=settings.WHATSAPP_CLAIM_TIMEOUT_SECONDS + 1)
    with time_machine.travel(later, tick=False):
        assert services.sweep_queues().reclaimed == 1
        assert str(services.drain_inbound_queue()) == "1 done, 0 to retry later, 0 failed"

    row.refresh_from_db()
    assert (row.status, row.attempts) == (InboundMessage.Status.DONE, 2)
    assert Conversation.objects.filter(role="user").count() == 1
    reply = Conversation.objects.get(role="assistant")
    assert reply.status == Conversation.Status.SENT
    assert len(graph.sent) == 1
    assert graph.sent[0] == reply.payload
