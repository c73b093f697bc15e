"""Webhook intake (signed POSTs/s into the queue through gunicorn on PostgreSQL), beside pgbench's
single-row INSERT rate in the same run, and webhook-to-reply latency at a steady 10 messages/s.

    .venv/bin/python bench/bench_intake.py [--seconds 10] [--workers 4] [--clients 16]

Needs PostgreSQL on 127.0.0.1:5432 (trust auth) and pgbench. Uses the database named by
--database (created if missing, migrated) and ports 8015 (gunicorn) and 8016 (a fake Graph API).
Prints the figures; paste them into bench/RESULTS.md.
"""

import argparse
import hashlib
import hmac
import http.client
import json
import multiprocessing
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[1]
PY = sys.executable
SECRET = "bench-app-secret"  # noqa: S105 (signs the benchmark's own webhooks)
WEB_PORT = 8015
GRAPH_PORT = 8016
PHONE_NUMBER_ID = "100000000000001"


def env_for(database_url: str, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "DEBUG": "false",
        "SECRET_KEY": "bench-secret-key-" + "x" * 40,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        "WHATSAPP_SANDBOX": "false",
        "WHATSAPP_APP_SECRET": SECRET,
        "WHATSAPP_VERIFY_TOKEN": "bench",
        "WHATSAPP_ACCESS_TOKEN": "bench-token",
        "WHATSAPP_PHONE_NUMBER_ID": PHONE_NUMBER_ID,
        "WHATSAPP_API_BASE_URL": f"http://127.0.0.1:{GRAPH_PORT}/v23.0",
        "LOG_LEVEL": "WARNING",
        **extra,
    }


def signed_message(sender: str, text: str) -> tuple[bytes, str]:
    body = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "102290129340398",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": "15550783881",
                                "phone_number_id": PHONE_NUMBER_ID,
                            },
                            "contacts": [{"profile": {"name": "Bench سارة"}, "wa_id": sender}],
                            "messages": [
                                {
                                    "from": sender,
                                    "id": "wamid.BENCH" + uuid.uuid4().hex,
                                    "timestamp": str(int(time.time())),
                                    "type": "text",
                                    "text": {"body": text},
                                }
                            ],
                        },
                    }
                ],
            }
        ],
    }
    raw = json.dumps(body, ensure_ascii=False).encode()
    return raw, "sha256=" + hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()


def post(raw: bytes, signature: str) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", WEB_PORT, timeout=30)
    try:
        conn.request(
            "POST",
            "/webhooks/whatsapp/",
            body=raw,
            headers={"Content-Type": "application/json", "X-Hub-Signature-256": signature},
        )
        return conn.getresponse().status
    finally:
        conn.close()


def load_process(args: tuple[int, float, int]) -> tuple[int, int]:
    """One client process: `threads` threads posting unique signed messages until `deadline`."""
    threads, deadline, index = args
    counts = [0, 0]
    lock = threading.Lock()

    def worker(n: int) -> None:
        sender = f"9665{index:02d}{n:02d}0000"
        while time.time() < deadline:
            raw, signature = signed_message(sender, "bench: أريد موعداً 🦷")
            status = post(raw, signature)
            with lock:
                counts[0 if status == 200 else 1] += 1

    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return counts[0], counts[1]


def psql(url: str, sql: str) -> str:
    return subprocess.run(
        ["psql", url, "-tAc", sql], capture_output=True, text=True, check=True
    ).stdout.strip()


def prepare_database(url: str) -> None:
    server, name = url.rsplit("/", 1)
    exists = f"SELECT 1 FROM pg_database WHERE datname = '{name}'"
    if psql(f"{server}/postgres", exists) != "1":
        psql(f"{server}/postgres", f'CREATE DATABASE "{name}"')
    subprocess.run([PY, "manage.py", "migrate", "-v0"], cwd=BASE_DIR, env=env_for(url), check=True)
    psql(url, "TRUNCATE inbound_message_queue, django_q_ormq, conversation, customers CASCADE")
    psql(url, "CREATE TABLE IF NOT EXISTS bench_raw (id bigserial PRIMARY KEY, payload text)")
    psql(url, "TRUNCATE bench_raw")


def pgbench_insert_rate(url: str, seconds: int, clients: int) -> float:
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as script:
        script.write("INSERT INTO bench_raw (payload) VALUES (repeat('x', 700));\n")
    result = subprocess.run(
        [
            "pgbench",
            "-n",
            "-c",
            str(clients),
            "-j",
            "2",
            "-T",
            str(seconds),
            "-f",
            script.name,
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    os.unlink(script.name)
    match = re.search(r"tps = ([\d.]+)", result.stdout)
    if match is None:
        raise SystemExit(result.stdout + result.stderr)
    return float(match.group(1))


def cpu_seconds(parent: int) -> float:
    """CPU time (user + system) used so far by the children of `parent` (the gunicorn workers)."""
    children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
    total = 0
    for pid in children:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (clock ticks)
    return total / os.sysconf("SC_CLK_TCK")


def wait_for_port(port: int) -> None:
    for _ in range(100):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/webhooks/whatsapp/")
            conn.getresponse()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"nothing answers on port {port}")


class FakeGraph:
    """Answers /messages at once and notes when each reply (by recipient) arrived."""

    def __init__(self) -> None:
        self.replies: dict[str, float] = {}
        graph = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if "to" in body:
                    graph.replies.setdefault(body["to"].lstrip("+"), time.time())
                raw = json.dumps(
                    {
                        "messaging_product": "whatsapp",
                        "messages": [{"id": "wamid.G" + uuid.uuid4().hex}],
                    }
                    if "to" in body
                    else {"success": True}
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", GRAPH_PORT), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def reply_latency(rate: float, seconds: int) -> list[float]:
    graph = FakeGraph()
    sent: dict[str, float] = {}
    start = time.time()
    for i in range(int(rate * seconds)):
        target = start + i / rate
        time.sleep(max(0.0, target - time.time()))
        sender = f"96655{i:07d}"
        raw, signature = signed_message(sender, "hello")
        sent[sender] = time.time()
        if post(raw, signature) != 200:
            raise SystemExit("webhook refused a message")
    deadline = time.time() + 30
    while len(graph.replies) < len(sent) and time.time() < deadline:
        time.sleep(0.2)
    graph.server.shutdown()
    return sorted(graph.replies[s] - t for s, t in sent.items() if s in graph.replies)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="postgres://postgres@127.0.0.1:5432/clinic_pipe")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--clients", type=int, default=16, help="concurrent client threads")
    args = parser.parse_args()
    url = args.database
    prepare_database(url)

    insert_tps = pgbench_insert_rate(url, args.seconds, args.clients)
    insert_tps_one = pgbench_insert_rate(url, args.seconds, 1)

    gunicorn = subprocess.Popen(
        [
            PY,
            "-m",
            "gunicorn",
            "config.wsgi",
            "--bind",
            f"127.0.0.1:{WEB_PORT}",
            "--workers",
            str(args.workers),
            "--log-level",
            "warning",
        ],
        cwd=BASE_DIR,
        env=env_for(url),
    )
    try:
        wait_for_port(WEB_PORT)
        before = int(psql(url, "SELECT count(*) FROM inbound_message_queue"))
        cpu_before = cpu_seconds(gunicorn.pid)
        processes = 2
        deadline = time.time() + args.seconds
        started = time.time()
        with multiprocessing.Pool(processes) as pool:
            results = pool.map(
                load_process,
                [(args.clients // processes, deadline, i) for i in range(processes)],
            )
        elapsed = time.time() - started
        cpu_used = cpu_seconds(gunicorn.pid) - cpu_before
        ok = sum(r[0] for r in results)
        refused = sum(r[1] for r in results)
        stored = int(psql(url, "SELECT count(*) FROM inbound_message_queue")) - before
        intake = ok / elapsed

        # Reply latency: a worker (qcluster) drains the queue and replies to the fake Graph API.
        psql(url, "TRUNCATE inbound_message_queue, django_q_ormq, conversation, customers CASCADE")
        qcluster = subprocess.Popen(
            [PY, "manage.py", "qcluster"],
            cwd=BASE_DIR,
            env=env_for(url),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            time.sleep(3)  # let the cluster start its workers
            latencies = reply_latency(10, args.seconds)
        finally:
            qcluster.terminate()
            qcluster.wait(timeout=30)
    finally:
        gunicorn.terminate()
        gunicorn.wait(timeout=30)

    quantiles = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0] * 99
    print(f"machine: {platform.node()} {os.cpu_count()} CPUs, {platform.platform()}")
    print(f"date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(
        f"pgbench single-row INSERT: {insert_tps:.0f} tps ({args.clients} clients), "
        f"{insert_tps_one:.0f} tps (1 client)"
    )
    print(
        f"webhook intake: {intake:.0f} signed POSTs/s ({ok} x 200, {refused} refused, "
        f"{stored} rows stored; gunicorn {args.workers} workers, {args.clients} clients)"
    )
    print(f"gunicorn CPU per webhook: {cpu_used / max(ok, 1) * 1000:.2f} ms")
    print(
        f"intake / raw INSERT: {intake / insert_tps:.3f} ({args.clients} clients), "
        f"{intake / insert_tps_one:.2f} (1 client)"
    )
    print(
        f"reply latency at 10 msg/s: {len(latencies)} replies, p50 {quantiles[49] * 1000:.0f} ms, "
        f"p95 {quantiles[94] * 1000:.0f} ms, max {latencies[-1] * 1000:.0f} ms"
    )


if __name__ == "__main__":
    main()
