"""The whole pipeline through a real `qcluster` on the configured broker (the database's, or
Redis in the Redis pass): webhooks in, one drain run woken, every reply sent once."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from messaging.models import Conversation, InboundMessage, TaskWakeup
from messaging.tests.conftest import ACCESS_TOKEN, APP_SECRET
from messaging.tests.test_services import message_body

BASE_DIR = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.postgres, pytest.mark.broker]


def worker_env(graph_url: str) -> dict[str, str]:
    db = settings.DATABASES["default"]
    return {
        **os.environ,  # REDIS_URL and this run's Q_CLUSTER_NAME in the Redis pass
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "DEBUG": "true",
        "WHATSAPP_SANDBOX": "false",
        "WHATSAPP_API_BASE_URL": graph_url,
        "WHATSAPP_ACCESS_TOKEN": ACCESS_TOKEN,
        "WHATSAPP_APP_SECRET": APP_SECRET,
        "WHATSAPP_PHONE_NUMBER_ID": "106540352242922",
        "Q_WORKERS": "2",
        "LOG_LEVEL": "WARNING",
    }


def webhook(n: int) -> dict:
    return message_body(f"wamid.BROKER{n}", f"96650000010{n}", at=timezone.now())


def wait_for(condition, seconds: float = 60) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


@pytest.mark.django_db(transaction=True)
def test_webhooks_reach_a_real_worker_through_the_broker_and_each_is_answered_once(
    post_webhook, graph, task_queue
):
    for n in range(3):
        assert post_webhook(webhook(n)).status_code == 200
    assert task_queue.funcs() == ["messaging.tasks.drain_inbound"]  # one run for the burst

    worker = subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"],
        cwd=BASE_DIR,
        env=worker_env(graph.url),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert wait_for(lambda: InboundMessage.objects.exclude(status="done").count() == 0)
        # A message stored once the run has started wakes a run of its own.
        assert post_webhook(webhook(9)).status_code == 200
        assert wait_for(lambda: Conversation.objects.filter(role="assistant").count() == 4)
        assert wait_for(lambda: not Conversation.objects.filter(status="queued").exists())
    finally:
        worker.send_signal(signal.SIGTERM)
        _, errors = worker.communicate(timeout=60)
    assert InboundMessage.objects.filter(status="done").count() == 4, errors
    assert not TaskWakeup.objects.exists()
    assert sorted(body["to"] for body in graph.sent) == sorted(
        [f"+96650000010{n}" for n in (0, 1, 2, 9)]
    )
    assert task_queue.funcs() == []
