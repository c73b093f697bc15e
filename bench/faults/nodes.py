"""Two nodes on one PostgreSQL, one killed (-9) mid-run and restarted (issue 14, part 2).

Each node is a gunicorn (webhook + pages) and a `qcluster` (the worker, the scheduler) with its
own environment (own port, own process group); both share the throwaway database
`clinic_bench_nodes` and django-q2's queue in it. While signed inbound messages (each from a new
customer, so each reply is a distinct body) and the status webhooks for every reply go to both
nodes, and a burst of reminders is due, node A is killed with SIGKILL (gunicorn master, its
workers and the whole qcluster at once) and restarted. A webhook a dead node refuses goes to
the other, as a load balancer would send it. Checked at the end:

- every message handled once (one queue row each, all done, one reply each);
- every reminder sent once;
- no reply or reminder sent twice beyond one per kill (a worker killed between Meta's answer and
  its commit sends that one again);
- no second carries more sends than WHATSAPP_MAX_MESSAGES_PER_SECOND, across both nodes.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
        .venv/bin/python bench/faults/nodes.py [--rate 8 --seconds 90 --reminders 120]

Loopback only (ports 8071, 8072 and a fake Graph API on 8073); bounded (about 3-4 minutes).
Writes the "several nodes" section of bench/RESULTS.md and prints the JSON.
"""

import argparse
import contextlib
import datetime as dt
import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import common

DB = "clinic_bench_nodes"
PORTS = {"A": 8071, "B": 8072, "soak": 8074}
GRAPH_PORT = 8073
SECRET = "nodes-app-secret"  # noqa: S105 (signs the run's own webhooks)
PHONE_NUMBER_ID = "100000000000001"
SEND_RATE = 10  # WHATSAPP_MAX_MESSAGES_PER_SECOND: below the demand, so the limiter is held
CLAIM_TIMEOUT = 10
SECTION = "several nodes"


# ============================================================================ the fake Graph API
class FakeGraph:
    """Meta's /messages: records each send (time, body), answers with a fresh message id, after
    `latency_ms` (0: at once; Meta's own answer takes longer, and a worker waits for it)."""

    def __init__(self, port: int = GRAPH_PORT, latency_ms: float = 0) -> None:
        self.sends: list[tuple[float, dict[str, Any]]] = []
        self.issued: list[tuple[str, str]] = []  # (wamid, recipient) for the status webhooks
        self.lock = threading.Lock()
        graph = self

        class Handler(BaseHTTPRequestHandler):
            # Headers and body go out in two writes: without TCP_NODELAY, Nagle holds the body
            # until the client's delayed ACK, 40 ms on every answer of a kept-alive connection.
            disable_nagle_algorithm = True
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if latency_ms:
                    time.sleep(latency_ms / 1000)
                if body.get("status") == "read":
                    return self._answer({"success": True})
                wamid = "wamid.N" + uuid.uuid4().hex
                with graph.lock:
                    graph.sends.append((time.time(), body))
                    graph.issued.append((wamid, str(body.get("to", "")).lstrip("+")))
                return self._answer({"messaging_product": "whatsapp", "messages": [{"id": wamid}]})

            def _answer(self, data: dict[str, Any]) -> None:
                out = json.dumps(data).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *args: object) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: object, client_address: object) -> None:
                pass  # a killed node's half-sent request: expected

        self.server = Server(("127.0.0.1", port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def take_issued(self) -> list[tuple[str, str]]:
        with self.lock:
            taken, self.issued = self.issued, []
        return taken


# ============================================================================ nodes
def env_for(url: str, port: int, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "false",
        "SECRET_KEY": "bench-secret-key-" + "x" * 40,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        "TRUSTED_PROXY_COUNT": "0",
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "WHATSAPP_SANDBOX": "false",
        "WHATSAPP_APP_SECRET": SECRET,
        "WHATSAPP_VERIFY_TOKEN": "nodes",
        "WHATSAPP_ACCESS_TOKEN": "nodes-token",
        "WHATSAPP_PHONE_NUMBER_ID": PHONE_NUMBER_ID,
        "WHATSAPP_API_BASE_URL": f"http://127.0.0.1:{GRAPH_PORT}/v23.0",
        "WHATSAPP_MAX_MESSAGES_PER_SECOND": str(SEND_RATE),
        "WHATSAPP_CLAIM_TIMEOUT_SECONDS": str(CLAIM_TIMEOUT),
        # Every reservation of the next days is due a reminder now, whatever the hour.
        "REMINDER_DAY_BEFORE_AT": "",
        "REMINDER_HOURS_BEFORE": "120",
        "REMINDER_QUIET_HOURS": "",
        "REMINDER_MIN_NOTICE_MINUTES": "0",
        "Q_WORKERS": "2",
        "Q_TIMEOUT": "20",
        "Q_RETRY": "30",  # a task a killed cluster held is handed out again after this
        "CONN_MAX_AGE": "60",
        "LOG_LEVEL": "WARNING",
        "Q_LOG_LEVEL": "ERROR",
        **extra,
    }


class Node:
    """One machine's share: a gunicorn and a qcluster, each in its own process group."""

    def __init__(self, name: str, url: str, gunicorn_workers: int = 2, **extra: str) -> None:
        self.name = name
        self.port = PORTS[name]
        self.env = env_for(url, self.port, **extra)
        self.gunicorn_workers = gunicorn_workers
        self.processes: list[subprocess.Popen[bytes]] = []
        out = common.ROOT / "bench" / "out"  # git-ignored
        out.mkdir(exist_ok=True)
        self.log = open(out / f"node-{name}.log", "ab")  # noqa: SIM115

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        web = [sys.executable, "-m", "gunicorn", "config.wsgi", "--bind", f"127.0.0.1:{self.port}",
               "--workers", str(self.gunicorn_workers), "--log-level", "warning"]  # fmt: skip
        self.processes = [self._spawn(web), self._spawn(self.WORKER)]
        wait_for_port(self.port)

    WORKER = (sys.executable, "manage.py", "qcluster")

    def _spawn(self, command: list[str] | tuple[str, ...]) -> subprocess.Popen[bytes]:
        return subprocess.Popen(command, cwd=common.ROOT, env=self.env, start_new_session=True,
                                stdout=self.log, stderr=self.log)  # fmt: skip

    def restart_worker(self) -> None:
        """SIGKILL the whole qcluster (sentinel, workers, monitor, pusher) and start another."""
        worker = self.processes[1]
        with contextlib.suppress(ProcessLookupError):
            os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()
        self.processes[1] = self._spawn(self.WORKER)

    def kill(self) -> None:
        """SIGKILL to every process of the node at once (a machine that lost its power)."""
        for process in self.processes:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def stop(self) -> None:
        for process in self.processes:
            try:
                os.killpg(process.pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    def pids(self) -> dict[str, list[int]]:
        """{"gunicorn": [...], "qcluster": [...]}: each process tree, alive ones only."""
        found = {}
        for label, process in zip(("gunicorn", "qcluster"), self.processes, strict=True):
            try:
                found[label] = common.tree(process.pid) if process.poll() is None else []
            except OSError:
                found[label] = []
        return found


def wait_for_port(port: int, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)
            return
        except (urllib.error.URLError, OSError):
            time.sleep(0.3)
    raise SystemExit(f"nothing answered on port {port} within {seconds} s")


# ============================================================================ load
def signed(body: dict[str, Any]) -> tuple[bytes, str]:
    from messaging.whatsapp import cloud_api

    raw = json.dumps(body, ensure_ascii=False).encode()
    return raw, cloud_api.sign(raw, SECRET)


def post(node_url: str, raw: bytes, signature: str) -> int:
    request = urllib.request.Request(  # noqa: S310 (loopback)
        f"{node_url}/webhooks/whatsapp/",
        data=raw,
        headers={"Content-Type": "application/json", "X-Hub-Signature-256": signature},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (urllib.error.URLError, OSError):
        return 0


class Load:
    """Signed webhooks at `rate` per second to the nodes in turn (a dead one's go to the next),
    plus the statuses (delivered, read) of every send the fake Graph API answered."""

    def __init__(self, nodes: list[Node], graph: FakeGraph, *, rate: float, prefix: str) -> None:
        self.nodes, self.graph, self.rate, self.prefix = nodes, graph, rate, prefix
        self.sent = 0
        self.failovers = 0
        self.refused = 0
        self.status_webhooks = 0
        self.ack_ms: list[tuple[float, float]] = []  # (when, milliseconds)
        self.posted: dict[str, float] = {}  # customer -> when the message was first posted
        self.stopping = threading.Event()
        self.lock = threading.Lock()

    def _deliver(self, raw: bytes, signature: str, turn: int) -> None:
        for attempt in range(len(self.nodes) * 3):
            node = self.nodes[(turn + attempt) % len(self.nodes)]
            started = time.monotonic()
            code = post(node.url, raw, signature)
            if code == 200:
                with self.lock:
                    self.ack_ms.append((time.time(), (time.monotonic() - started) * 1000))
                return
            with self.lock:
                self.failovers += 1
            time.sleep(0.2)
        with self.lock:
            self.refused += 1

    def messages(self, seconds: float, rate: float | None = None) -> None:
        """Post for `seconds` at `rate` (the load's own rate without it); customers are numbered
        on from the previous call's."""
        from django.utils import timezone

        interval = 1 / (rate or self.rate)
        started = time.monotonic()
        first = n = self.sent
        threads: list[threading.Thread] = []
        while time.monotonic() - started < seconds and not self.stopping.is_set():
            wa_id = f"{self.prefix}{n:07d}"
            raw, signature = signed(_message_body(wa_id, n, timezone.now()))
            self.posted[wa_id] = time.time()
            thread = threading.Thread(target=self._deliver, args=(raw, signature, n))
            thread.start()
            threads.append(thread)
            n += 1
            self.sent = n
            time.sleep(max(0.0, started + (n - first) * interval - time.monotonic()))
            threads = [t for t in threads if t.is_alive()]
        for thread in threads:
            thread.join()

    def statuses(self, per_webhook: int = 20, unknown_every: int = 0) -> None:
        """Post delivered + read for each send, `per_webhook` sends a webhook; with
        `unknown_every`, also one status of a message the app never sent per that many sends."""
        from django.utils import timezone

        turn = unknown = 0
        while not self.stopping.wait(0.5):
            issued = self.graph.take_issued()
            if unknown_every:
                extra = len(issued) // unknown_every
                issued += [(f"wamid.ELSEWHERE{unknown + i}", "966500000000") for i in range(extra)]
                unknown += extra
            for start in range(0, len(issued), per_webhook):
                chunk = issued[start : start + per_webhook]
                stamp = str(int(timezone.now().timestamp()))
                items = [
                    {"id": wamid, "status": status, "timestamp": stamp, "recipient_id": to}
                    for status in ("delivered", "read")
                    for wamid, to in chunk
                ]
                raw, signature = signed(_status_body(items))
                self._deliver(raw, signature, turn)
                self.status_webhooks += 1
                turn += 1


def _message_body(wa_id: str, n: int, now: dt.datetime) -> dict[str, Any]:
    from messaging.whatsapp import cloud_api

    text = "مرحبا" if n % 3 == 0 else "hello"
    return cloud_api.webhook_body(
        phone_number_id=PHONE_NUMBER_ID,
        contacts=[{"profile": {"name": f"Node {n}"}, "wa_id": wa_id}],
        messages=[{"from": wa_id, "id": f"wamid.NODES{wa_id}", "type": "text",
                   "timestamp": str(int(now.timestamp())), "text": {"body": text}}],
    )  # fmt: skip


def _status_body(items: list[dict[str, Any]]) -> dict[str, Any]:
    from messaging.whatsapp import cloud_api

    return cloud_api.webhook_body(phone_number_id=PHONE_NUMBER_ID, statuses=items)


# ============================================================================ set-up and checks
def prepare(reminders: int) -> None:
    """The demo clinic, its schedules (every minute), and `reminders` visits in the next days."""
    from django.core.management import call_command
    from django.utils import timezone
    from django_q.models import Schedule

    from reservations.demo import seed_schedule

    seed_schedule()
    call_command("setup_schedules", stdout=io.StringIO())
    Schedule.objects.filter(func__startswith="messaging.tasks.").update(minutes=1)
    Schedule.objects.filter(func="messaging.tasks.send_reminders").update(
        next_run=timezone.now() + dt.timedelta(seconds=20)  # after the first planning
    )
    add_visits(reminders)


def add_visits(count: int, prefix: str = "96657") -> None:
    """`count` visits in the next open days (16:00 and 16:30), each of a new customer: each is
    due a reminder at once under env_for's REMINDER_HOURS_BEFORE."""
    from django.utils import timezone

    from customers.models import Customer
    from reservations.models import Reservation

    days: list[dt.date] = []
    day = timezone.localdate()
    while len(days) < 3:
        day += dt.timedelta(days=1)
        if day.weekday() != 4:  # the demo clinic closes on Fridays; 16:00-17:00 open otherwise
            days.append(day)
    slots = [(d, dt.time(16, 0)) for d in days] + [(d, dt.time(16, 30)) for d in days]
    for n in range(count):
        customer = Customer.objects.create(wa_id=f"{prefix}{n:07d}", customer_name=f"Reminded {n}")
        date, slot = slots[n % len(slots)]
        Reservation.objects.create(customer=customer, date=date, time_slot=slot)


def wait_until_done(deadline_s: float, expected_messages: int, reminders: int) -> float:
    from messaging.models import Conversation, InboundMessage, Reminder

    started = time.monotonic()
    while time.monotonic() - started < deadline_s:
        inbound = InboundMessage.objects.filter(message_id__startswith="wamid.NODES")
        if (
            inbound.filter(status="done").count() >= expected_messages
            and not Conversation.objects.filter(role="assistant", status="queued").exists()
            and Reminder.objects.filter(status="sent").count() >= reminders
        ):
            break
        time.sleep(2)
    return time.monotonic() - started


def outcome(
    graph: FakeGraph, load: Load, reminders: int, kills: int, rate: int = SEND_RATE
) -> dict[str, Any]:
    from messaging.models import Conversation, InboundMessage, Reminder

    inbound = InboundMessage.objects.filter(message_id__startswith="wamid.NODES")
    replies = Counter(
        Conversation.objects.filter(
            role="assistant", customer__wa_id__startswith=load.prefix
        ).values_list("customer__wa_id", flat=True)
    )
    text_sends = Counter(
        json.dumps(b, sort_keys=True) for _, b in graph.sends if b.get("type") != "template"
    )
    reminder_sends = Counter(
        b["to"] for _, b in graph.sends if b.get("type") == "template"
    )  # one customer per reminded visit
    # The limiter counts a send in the second it reserves its slot; this fake counts it in the
    # second it arrives, which for a slot taken at the end of a second can be the next one. So
    # the limit is checked over two seconds running, where that skew cannot add a second's worth.
    per_second = Counter(int(t) for t, _ in graph.sends)
    busiest = max(per_second.values(), default=0)
    busiest_two = max((per_second[s] + per_second[s + 1] for s in per_second), default=0)
    ack = sorted(ms for _, ms in load.ack_ms)
    duplicates = sum(n - 1 for n in text_sends.values() if n > 1) + sum(
        n - 1 for n in reminder_sends.values() if n > 1
    )
    result = {
        "messages posted": load.sent,
        "webhooks refused by both nodes": load.refused,
        "webhooks re-sent to the other node": load.failovers,
        "status webhooks": load.status_webhooks,
        "inbound rows": inbound.count(),
        "inbound by status": dict(Counter(inbound.values_list("status", flat=True))),
        "customers with exactly one reply row": sum(1 for n in replies.values() if n == 1),
        "customers with several reply rows": sum(1 for n in replies.values() if n > 1),
        "replies unsent": Conversation.objects.filter(role="assistant", status="queued").count(),
        "replies delivered or read": Conversation.objects.filter(
            role="assistant", status__in=["delivered", "read"]
        ).count(),
        "reminders due": reminders,
        "reminders sent (rows)": Reminder.objects.filter(status="sent").count(),
        "reminder sends at the Graph API": sum(reminder_sends.values()),
        "customers reminded twice": sum(1 for n in reminder_sends.values() if n > 1),
        "sends at the Graph API": len(graph.sends),
        "duplicate sends": duplicates,
        "kills": kills,
        "send rate limit /s": rate,
        "max sends in one second": busiest,
        "max sends in two seconds running": busiest_two,
        "sends/s over the busy seconds": round(len(graph.sends) / max(1, len(per_second)), 1),
        "webhook ack ms p50/p99": [
            round(common.quantile(ack, 0.5)) if ack else None,
            round(common.quantile(ack, 0.99)) if ack else None,
        ],
    }
    result["ok"] = (
        load.refused == 0
        and result["inbound rows"] == load.sent
        and result["inbound by status"] == {"done": load.sent}
        and result["customers with exactly one reply row"] == load.sent
        and result["replies unsent"] == 0
        and result["reminders sent (rows)"] == reminders
        and len(reminder_sends) == reminders
        and duplicates <= kills
        and busiest_two <= 2 * rate
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=8, help="inbound messages per second")
    parser.add_argument("--seconds", type=float, default=90, help="how long the load runs")
    parser.add_argument("--reminders", type=int, default=120, help="reminders due in the burst")
    parser.add_argument("--kill-at", type=float, default=35, help="seconds into the load")
    parser.add_argument("--down", type=float, default=10, help="seconds node A stays dead")
    parser.add_argument("--no-write", action="store_true", help="print only (no RESULTS.md)")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # stop the nodes on the way out
    server = common.server_url()
    url = common.recreate_database(server, DB)
    os.environ.update(env_for(url, PORTS["A"]))
    sys.path.insert(0, str(common.ROOT))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections

    load_before = common.load()
    run_started = time.time()
    graph = FakeGraph()
    nodes = [Node("A", url), Node("B", url)]
    try:
        call_command("migrate", verbosity=0)
        prepare(args.reminders)
        connections.close_all()
        for node in nodes:
            node.start()
        connections_seen: list[int] = []
        sampling = threading.Event()

        def sample_connections() -> None:
            import psycopg

            with psycopg.connect(common.database_url(server, "postgres"), autocommit=True) as db:
                while not sampling.wait(1):
                    row = db.execute(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = %s", [DB]
                    ).fetchone()
                    connections_seen.append(row[0] if row else 0)

        threading.Thread(target=sample_connections, daemon=True).start()
        load = Load(nodes, graph, rate=args.rate, prefix="96658")
        statuses = threading.Thread(target=load.statuses, daemon=True)
        statuses.start()
        messages = threading.Thread(target=load.messages, args=(args.seconds,), daemon=True)
        messages.start()
        time.sleep(args.kill_at)
        nodes[0].kill()
        killed_at = round(time.time() - run_started)
        time.sleep(args.down)
        nodes[0].start()
        messages.join()
        print(f"load done: {load.sent} messages; waiting for the work to settle", file=sys.stderr)
        settle = wait_until_done(240, load.sent, args.reminders)
        time.sleep(3)  # the last statuses
        load.stopping.set()
        sampling.set()
        statuses.join(timeout=30)
        result = {
            "nodes": 2,
            "inbound messages/s": args.rate,
            "load seconds": args.seconds,
            f"node A killed (-9) at s {killed_at}, down s": args.down,
            "seconds to settle after the load": round(settle),
            **outcome(graph, load, args.reminders, kills=1),
            "PostgreSQL connections, most at once (both nodes)": max(connections_seen, default=0),
        }
    finally:
        for node in nodes:
            node.stop()
        graph.server.shutdown()
        connections.close_all()
        common.recreate_database(server, DB, drop_only=True)
    os.environ["DATABASE_URL"] = server  # for common.machine(): the run's database is gone
    print(json.dumps(result, indent=2, ensure_ascii=False))
    if not args.no_write:
        write_results(result, load_before, time.time() - run_started, args)
    if not result["ok"]:
        raise SystemExit(1)


def write_results(result: dict[str, Any], load_before: str, seconds: float, args: Any) -> None:
    fence = "```"
    body = "\n".join(
        [
            f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {common.machine()} "
            f"(load before: {load_before}); "
            f"{seconds:.0f} s in all. Command: `DATABASE_URL=postgres://postgres@127.0.0.1:5432/"
            f"postgres .venv/bin/python bench/faults/nodes.py --rate {args.rate:g} "
            f"--seconds {args.seconds:g} --reminders {args.reminders}` (part of `make bench`).",
            "",
            "Two nodes (each a gunicorn with 2 workers and a `qcluster` with 2 workers, own port "
            "and environment) on one PostgreSQL database; signed inbound messages from new "
            "customers and the delivered/read statuses of every send go to both in turn (a "
            "refused webhook to the other, as a load balancer would); the reminders of "
            f"{args.reminders} visits fall due in the first minute; node A is killed with "
            "SIGKILL (gunicorn master, workers and the whole qcluster) and restarted. The fake "
            "Graph API is local. Baseline: one node, one worker killed 20 times "
            '("faults", kill -9: 3 duplicate sends, max 9 sends in one second at a limit of '
            f"20). Here the limit is {SEND_RATE}/s, below the demand (replies plus the reminder "
            "burst), so both nodes' senders wait on the shared counter.",
            "",
            fence + "json",
            json.dumps(result, indent=2, ensure_ascii=False),
            fence,
        ]
    )
    common.write_section(SECTION, body)


if __name__ == "__main__":
    main()
