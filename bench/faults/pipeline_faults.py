"""Fault runs on the WhatsApp pipeline, on a throwaway PostgreSQL database (clinic_bench_faults):

1. kill -9: CUSTOMERS customers each tap "Confirm" on a booking; a `process_inbound` worker is
   killed (SIGKILL) at a random moment, KILLS times, each time restarted; then a last worker
   (after the claim timeout) finishes. Every message must end done, every customer booked once,
   and the Graph API may see at most one duplicate send per kill.
2. a flaky Graph API: a fraction of calls answer 500, 130429 (rate limit) or 131056 (pair rate
   limit), a few hang past the read timeout; workers drain until all is done within the retry
   budget (WHATSAPP_INBOUND_MAX_ATTEMPTS). Every reply must be sent exactly once and no second
   may carry more sends than WHATSAPP_MAX_MESSAGES_PER_SECOND.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
        .venv/bin/python bench/faults/pipeline_faults.py

Prints a JSON summary (run_faults.py puts it in bench/RESULTS.md).
"""

import argparse
import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import common

DB = "clinic_bench_faults"
GRAPH_PORT = 8068
RATE = 20  # WHATSAPP_MAX_MESSAGES_PER_SECOND for the run (low, so the limiter is exercised)
CLAIM_TIMEOUT = 3
WEEKDAYS = ("Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat")


class FlakyGraph:
    """Records every send with its time; fails a fraction of them in the ways Meta does."""

    def __init__(self) -> None:
        self.sends: list[tuple[float, str]] = []
        self.failures: Counter[str] = Counter()
        self.fail_fraction = 0.0
        self.hangs_left = 0
        self.lock = threading.Lock()
        graph = self

        class Handler(BaseHTTPRequestHandler):
            # Headers and body go out in two writes: without TCP_NODELAY, Nagle holds the body
            # until the client's delayed ACK, 40 ms on every answer of a kept-alive connection.
            disable_nagle_algorithm = True
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                body = json.loads(raw)
                if body.get("status") == "read":
                    return self._answer(200, {"success": True})
                with graph.lock:
                    roll = random.random()
                    hang = graph.hangs_left > 0 and roll < graph.fail_fraction / 3
                    if hang:
                        graph.hangs_left -= 1
                if hang:
                    graph.failures["timeout"] += 1
                    time.sleep(11)  # past cloud_api.TIMEOUT's 10 s read timeout
                    with graph.lock:  # Meta may well deliver what it answered too late
                        graph.sends.append((time.time(), raw.decode()))
                    return self._answer(200, {"messages": [{"id": "wamid.LATE"}]})
                if roll < graph.fail_fraction:
                    kind = random.choice(["500", "130429", "131056"])
                    graph.failures[kind] += 1
                    if kind == "500":
                        return self._answer(500, {"error": {"message": "boom", "code": 1}})
                    error = {"message": f"(#{kind}) rate", "code": int(kind), "type": "x"}
                    return self._answer(400 if kind == "131056" else 429, {"error": error})
                with graph.lock:
                    graph.sends.append((time.time(), raw.decode()))
                sent = {"messages": [{"id": "wamid.G" + uuid.uuid4().hex}]}
                return self._answer(200, {"messaging_product": "whatsapp", **sent})

            def _answer(self, status: int, data: dict) -> None:
                out = json.dumps(data).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *args: object) -> None:
                pass

        class Server(ThreadingHTTPServer):
            def handle_error(self, request: object, client_address: object) -> None:
                pass  # the client gave up on a hung call (the timeout case): expected

        self.server = Server(("127.0.0.1", GRAPH_PORT), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def env_for(url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "false",
        "SECRET_KEY": "bench-secret-key-" + "x" * 40,
        "ALLOWED_HOSTS": "127.0.0.1",
        "WHATSAPP_SANDBOX": "false",
        "WHATSAPP_APP_SECRET": "faults",
        "WHATSAPP_ACCESS_TOKEN": "faults-token",
        "WHATSAPP_PHONE_NUMBER_ID": "100000000000001",
        "WHATSAPP_API_BASE_URL": f"http://127.0.0.1:{GRAPH_PORT}/v23.0",
        "WHATSAPP_MAX_MESSAGES_PER_SECOND": str(RATE),
        "WHATSAPP_CLAIM_TIMEOUT_SECONDS": str(CLAIM_TIMEOUT),
        "LOG_LEVEL": "CRITICAL",
        "Q_LOG_LEVEL": "CRITICAL",
    }


def worker(url: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "manage.py", "process_inbound"], cwd=common.ROOT, env=env_for(url),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


def finish(url: str, deadline_s: float) -> None:
    """Sweep (reclaims dead workers' rows, requeues unsent replies) and drain until all is done."""
    from messaging import services
    from messaging.models import Conversation, InboundMessage
    from messaging.whatsapp import cloud_api
    from messaging.whatsapp.delivery import send_outbound_message

    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        services.sweep_queues()
        for process in [worker(url) for _ in range(2)]:
            process.wait(timeout=120)
        # What the send task (queued by the sweep; no qcluster here) does for unsent replies.
        for row in Conversation.objects.filter(role="assistant", status="queued"):
            with contextlib.suppress(cloud_api.WhatsAppError):  # flaky: the next round retries
                send_outbound_message(conversation=row)
        open_rows = InboundMessage.objects.exclude(status__in=["done", "failed"]).count()
        unsent = Conversation.objects.filter(role="assistant", status="queued").count()
        if not open_rows and not unsent:
            return
        time.sleep(1)


def prepare(url: str, customers: int) -> list[str]:
    """Drive `customers` customers to the booking confirmation; return the Confirm webhooks."""
    from django.utils import timezone

    from messaging.models import Conversation
    from messaging.tests.chat import Chat
    from messaging.whatsapp import cloud_api
    from reservations.demo import seed_schedule

    seed_schedule()
    bodies = []
    for n in range(customers):
        chat = Chat(wa_id=f"96659{n:07d}", name="Fault")
        chat.say("hello")
        chat.tap("Book")
        chat.tap("Appointment")
        days = [c for c in chat.last.choices if c["title"][:3] in WEEKDAYS]
        chat.tap_id(days[n % len(days)]["id"], kind="list")
        times = [c for c in chat.last.choices if c["title"][-2:] in ("AM", "PM")]
        chat.tap_id(times[n // len(days) % len(times)]["id"], kind="list")  # spread the slots
        confirm = next((c for c in chat.last.choices if c["title"] == "Confirm"), None)
        if confirm is None:
            raise SystemExit(f"no Confirm button: {chat.last.titles} ({days}, {times})")
        item = {
            "from": chat.wa_id,
            "id": f"wamid.FAULT{n:06d}",
            "timestamp": str(int(timezone.now().timestamp())),
            "type": "interactive",
            "interactive": {"type": "button_reply",
                            "button_reply": {"id": confirm["id"], "title": "Confirm"}},
        }  # fmt: skip
        bodies.append(json.dumps(cloud_api.webhook_body(
            phone_number_id="100000000000001",
            contacts=[{"wa_id": chat.wa_id, "profile": {"name": "Fault"}}],
            messages=[item],
        )))  # fmt: skip
    Conversation.objects.filter(status="queued").update(status="sent")  # the set-up's replies
    return bodies


def store(bodies: list[str]) -> None:
    from messaging.whatsapp import cloud_api, intake

    for body in bodies:
        intake.store_webhook(batch=cloud_api.parse_webhook(json.loads(body)))


def outcome(graph: FlakyGraph, customers: int) -> dict[str, object]:
    from messaging.models import Conversation, InboundMessage
    from reservations.models import Reservation

    booked = Counter(
        Reservation.objects.active()
        .filter(customer__wa_id__startswith="96659")
        .values_list("customer_id", flat=True)
    )
    bodies = Counter(body for _, body in graph.sends)
    per_second = Counter(int(t) for t, _ in graph.sends)
    return {
        "messages": customers,
        "inbound": dict(Counter(InboundMessage.objects.values_list("status", flat=True))),
        "customers booked once": sum(1 for c in booked.values() if c == 1),
        "customers booked twice or more": sum(1 for c in booked.values() if c > 1),
        "replies": Conversation.objects.filter(
            role="assistant", idempotency_key__contains="wamid.FAULT"
        ).count(),
        "replies unsent": Conversation.objects.filter(role="assistant", status="queued").count(),
        "replies failed for good": Conversation.objects.filter(
            role="assistant", status="failed"
        ).count(),
        "sends": len(graph.sends),
        "duplicate sends": sum(n - 1 for n in bodies.values() if n > 1),
        "max sends in one second": max(per_second.values(), default=0),
        "graph failures": dict(graph.failures),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=150)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--fail-fraction", type=float, default=0.2)
    args = parser.parse_args()
    server = common.server_url()
    url = common.recreate_database(server, DB)
    os.environ.update(env_for(url))
    sys.path.insert(0, str(common.ROOT))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections

    results: dict[str, object] = {}
    graph = FlakyGraph()
    try:
        call_command("migrate", verbosity=0)
        # ---------------------------------------------------------------- kill -9
        store(prepare(url, args.customers))
        graph.sends.clear()
        started = time.monotonic()
        for _ in range(args.kills):
            process = worker(url)
            time.sleep(random.uniform(1.2, 2.5))  # Django starts in ~1 s
            process.send_signal(signal.SIGKILL)
            process.wait()
        time.sleep(CLAIM_TIMEOUT + 1)
        finish(url, 120)
        results["kill -9"] = {"kills": args.kills, **outcome(graph, args.customers),
                              "seconds": round(time.monotonic() - started)}  # fmt: skip
        # ---------------------------------------------------------------- flaky Graph API
        call_command("flush", interactive=False, verbosity=0)
        store(prepare(url, args.customers))
        graph.sends.clear()
        graph.fail_fraction, graph.hangs_left = args.fail_fraction, 3
        started = time.monotonic()
        processes = [worker(url) for _ in range(2)]
        for process in processes:
            process.wait(timeout=300)
        time.sleep(CLAIM_TIMEOUT + 1)
        finish(url, 400)
        results["flaky Graph API"] = {
            "fail fraction": args.fail_fraction, "rate limit": RATE,
            **outcome(graph, args.customers), "seconds": round(time.monotonic() - started),
        }  # fmt: skip
    finally:
        graph.server.shutdown()
        connections.close_all()
        common.recreate_database(server, DB, drop_only=True)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
