"""Fixtures for the WhatsApp pipeline: real-shaped payloads, signed POSTs, a local Graph API."""

import datetime as dt
import json
import threading
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django.db import connection
from django.utils.module_loading import import_string
from django_q.brokers import get_broker
from django_q.models import OrmQ
from django_q.signing import SignedPackage

from messaging.whatsapp import cloud_api
from reservations.demo import seed_schedule

PAYLOADS = Path(__file__).parent / "payloads"
APP_SECRET = "test-app-secret"
ACCESS_TOKEN = "test-access-token"
WEBHOOK = "/webhooks/whatsapp/"


def payload_bytes(name: str) -> bytes:
    return (PAYLOADS / name).read_bytes()


def payload(name: str) -> dict:
    return json.loads(payload_bytes(name))


@pytest.fixture(autouse=True)
def whatsapp_settings(settings):
    settings.WHATSAPP_APP_SECRET = APP_SECRET
    settings.WHATSAPP_VERIFY_TOKEN = "test-verify-token"
    settings.WHATSAPP_ACCESS_TOKEN = ACCESS_TOKEN
    settings.WHATSAPP_PHONE_NUMBER_ID = "106540352242922"
    settings.WHATSAPP_SANDBOX = False
    settings.BUSINESS_NAME = "Test Clinic"
    return settings


def run_commit_hooks() -> None:
    """Do what the code under test left for its commit (telling Redis about its tasks): the
    test's own transaction, which holds the code's, never commits."""
    while connection.run_on_commit:
        connection.run_on_commit.pop(0)[1]()  # (savepoint ids, callback, robust)


@pytest.fixture
def post_webhook(client):
    """POST raw bytes to the webhook the way Meta does (signed unless told otherwise), and do
    what the request leaves for its commit (`run_commit_hooks`)."""

    def post(body: bytes | dict, *, signature: str | None = "sign"):
        raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
        headers = {}
        if signature == "sign":
            headers["HTTP_X_HUB_SIGNATURE_256"] = cloud_api.sign(raw, APP_SECRET)
        elif signature is not None:
            headers["HTTP_X_HUB_SIGNATURE_256"] = signature
        response = client.post(WEBHOOK, data=raw, content_type="application/json", **headers)
        run_commit_hooks()
        return response

    return post


class TaskQueue:
    """The tasks waiting in django-q2's broker: the database's, or Redis in the Redis pass."""

    def __init__(self) -> None:
        self.broker = get_broker()
        self.orm = "orm" in settings.Q_CLUSTER

    def _packages(self) -> list[str | bytes]:
        run_commit_hooks()
        if self.orm:
            rows = OrmQ.objects.filter(key=self.broker.list_key).order_by("id")
            return list(rows.values_list("payload", flat=True))
        return self.broker.connection.lrange(self.broker.list_key, 0, -1)

    def tasks(self) -> list[dict]:
        """The queued tasks (func, args, kwargs ...) in queue order."""
        return [SignedPackage.loads(package) for package in self._packages()]

    def funcs(self) -> list[str]:
        return sorted(task["func"] for task in self.tasks())

    def run(self) -> int:
        """Take every queued task and run it, as a worker would; return how many ran."""
        tasks = self.tasks()
        self.clear()
        for task in tasks:
            import_string(task["func"])(*task["args"], **task["kwargs"])
        return len(tasks)

    def clear(self) -> None:
        """What a worker taking every task, or a broker losing them, leaves."""
        run_commit_hooks()
        if self.orm:
            OrmQ.objects.filter(key=self.broker.list_key).delete()
        else:
            self.broker.delete_queue()


@pytest.fixture
def task_queue():
    """The broker's queue, empty at the start (Redis keeps what earlier tests pushed)."""
    queue = TaskQueue()
    queue.clear()
    return queue


class GraphServer:
    """A real HTTP peer standing in for graph.facebook.com: records requests, plays responses."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.responses: deque[tuple[int, dict | str]] = deque()
        self.counter = 0
        graph = self

        class Handler(BaseHTTPRequestHandler):
            # Headers and body go out in two writes: without TCP_NODELAY, Nagle holds the body
            # until the client's delayed ACK, 40 ms on every answer of a kept-alive connection.
            disable_nagle_algorithm = True

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                status: int
                data: dict | str
                graph.requests.append(
                    {"path": self.path, "auth": self.headers.get("Authorization"), "json": body}
                )
                if body.get("status") == "read":
                    status, data = 200, {"success": True}
                elif graph.responses:
                    status, data = graph.responses.popleft()
                else:
                    graph.counter += 1
                    status, data = (
                        200,
                        {
                            "messaging_product": "whatsapp",
                            "contacts": [
                                {"input": body.get("to"), "wa_id": body.get("to", "")[1:]}
                            ],
                            "messages": [{"id": f"wamid.GRAPH{graph.counter}"}],
                        },
                    )
                raw = data.encode() if isinstance(data, str) else json.dumps(data).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v23.0"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()

    @property
    def read_receipts(self) -> list[str]:
        return [r["json"]["message_id"] for r in self.requests if "status" in r["json"]]

    @property
    def sent(self) -> list[dict]:
        """Message sends (not read receipts)."""
        return [r["json"] for r in self.requests if "status" not in r["json"]]

    def fail_next(self, status: int, code: int | None = None, details: str = "") -> None:
        if code is None:
            self.responses.append((status, "<html>Bad gateway</html>"))
            return
        error = {
            "message": f"(#{code}) error",
            "type": "OAuthException",
            "code": code,
            "error_data": {"messaging_product": "whatsapp", "details": details},
            "fbtrace_id": "X",
        }
        self.responses.append((status, {"error": error}))

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def graph(settings):
    server = GraphServer()
    settings.WHATSAPP_API_BASE_URL = server.url
    yield server
    server.close()


# ---------------------------------------------------------------------------- the bot
# Sunday 2026-11-22, 09:00 in Riyadh (06:00 UTC): the demo clinic opens at 11:00.
BOT_NOW = dt.datetime(2026, 11, 22, 6, 0, tzinfo=dt.UTC)


@pytest.fixture
def clinic(settings):
    """The demo clinic (capacity 2, one upcoming visit each, 30 days ahead), time frozen on a
    Sunday morning, both visit types offered, the map pin set. Needs a django_db mark."""

    settings.BOOKING_TYPES_OFFERED = [0, 1]
    settings.BUSINESS_LOCATION_LATITUDE = 24.7136
    settings.BUSINESS_LOCATION_LONGITUDE = 46.6753
    settings.BUSINESS_LOCATION_NAME = "Test Clinic"
    settings.BUSINESS_LOCATION_ADDRESS = "King Fahd Road"
    settings.SHOW_HIJRI_DATES = False
    with time_machine.travel(BOT_NOW, tick=False) as traveller:
        seed_schedule()
        yield traveller
