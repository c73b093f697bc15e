"""Webhook intake (signed POSTs/s into the queue through gunicorn on PostgreSQL), beside pgbench's
single-row INSERT rate in the same run; acknowledgement latency at half the target rate (open
loop); webhook-to-reply latency at a steady 10 messages/s with the real bot; the footprint (RSS
of gunicorn, qcluster and the PostgreSQL backends) at the intake target; idle queries per second.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/bench_intake.py

Needs PostgreSQL (trust auth), pgbench and wrk (`apt-get install wrk`: a C load generator, like
pgbench, so that the client's own cost stays small on a 2-core machine). Uses the throwaway
database `clinic_bench_intake` (dropped at the end) and ports 8066 (gunicorn) and 8067 (a fake
Graph API). Each throughput run is repeated (--repeat) and reported as median (min-max); writes
the "webhook intake" section.
"""

import argparse
import http.client
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common

sys.path.insert(0, str(common.ROOT))
from messaging.whatsapp import cloud_api

BASE_DIR = Path(__file__).resolve().parents[1]
PY = sys.executable
SECRET = "bench-app-secret"  # noqa: S105 (signs the benchmark's own webhooks)
WEB_PORT = 8066
GRAPH_PORT = 8067
WRK_THREADS = 2
TARGET_RATE = 320  # webhooks/s: 80 messages/s x (3 statuses per outbound + 1 inbound)
SECTION = "webhook intake"
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
        "Q_LOG_LEVEL": "WARNING",
        **extra,
    }


def signed_message(sender: str, text: str) -> tuple[bytes, str]:
    body = cloud_api.webhook_body(
        phone_number_id=PHONE_NUMBER_ID,
        contacts=[{"profile": {"name": "Bench سارة"}, "wa_id": sender}],
        messages=[
            {
                "from": sender,
                "id": "wamid.BENCH" + uuid.uuid4().hex,
                "timestamp": str(int(time.time())),
                "type": "text",
                "text": {"body": text},
            }
        ],
    )
    return _signed(body)


def signed_status(recipient: str) -> tuple[bytes, str]:
    """A delivery status for one of our (unknown) outbound messages: the bulk of real webhooks."""
    status = {
        "id": "wamid.OUT" + uuid.uuid4().hex,
        "status": "delivered",
        "timestamp": str(int(time.time())),
        "recipient_id": recipient,
        "conversation": {"id": uuid.uuid4().hex, "origin": {"type": "service"}},
        "pricing": {"billable": True, "pricing_model": "PMP", "category": "service"},
    }
    return _signed(cloud_api.webhook_body(phone_number_id=PHONE_NUMBER_ID, statuses=[status]))


def _signed(body: dict) -> tuple[bytes, str]:
    raw = json.dumps(body, ensure_ascii=False).encode()
    return raw, cloud_api.sign(raw, SECRET)


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


def psql(url: str, sql: str) -> str:
    return subprocess.run(
        ["psql", url, "-tAc", sql], capture_output=True, text=True, check=True
    ).stdout.strip()


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
            # Headers and body go out in two writes: without TCP_NODELAY, Nagle holds the body
            # until the client's delayed ACK, 40 ms on every answer of a kept-alive connection.
            disable_nagle_algorithm = True
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


def reply_latency(graph: FakeGraph, rate: float, seconds: int) -> list[float]:
    graph.replies.clear()
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
    return sorted(graph.replies[s] - t for s, t in sent.items() if s in graph.replies)


def open_loop(rate: float, seconds: int, prefix: str) -> tuple[list[float], int]:
    """POSTs sent on a fixed schedule whatever the answers (no coordinated omission): 1 message
    for 3 statuses. Latency counts from each request's scheduled time; returns (ms, errors)."""
    bodies = [
        signed_message(f"{prefix}{i:07d}", "hello") if i % 4 == 0 else signed_status("966")
        for i in range(int(rate * seconds))
    ]
    start = time.time() + 0.5

    def one(i: int) -> tuple[float, int]:
        target = start + i / rate
        time.sleep(max(0.0, target - time.time()))
        status = post(*bodies[i])
        return (time.time() - target) * 1000, status

    with ThreadPoolExecutor(max_workers=64) as pool:
        results = list(pool.map(one, range(len(bodies))))
    return [r[0] for r in results], sum(1 for r in results if r[1] != 200)


def backends(url: str) -> list[int]:
    name = url.rsplit("/", 1)[1]
    pids = psql(url, f"SELECT pid FROM pg_stat_activity WHERE datname = '{name}'")
    return [int(p) for p in pids.split()]


def write_bodies(path: Path, count: int, run: int) -> None:
    """`count` unique signed message webhooks from 1,000 customers, one "signature<TAB>body" line
    each, for bench/intake.lua."""
    with path.open("w", encoding="utf-8") as out:
        for i in range(count):
            raw, signature = signed_message(f"96651{run}{i % 1000:06d}", "bench: أريد موعداً 🦷")
            out.write(f"{signature}\t{raw.decode()}\n")


def saturated_intake(
    url: str, seconds: int, connections: int, gunicorn_pid: int, run: int
) -> dict[str, float]:
    """wrk posts unique signed messages as fast as gunicorn answers, for `seconds`."""
    with tempfile.TemporaryDirectory() as tmp:
        bodies = Path(tmp) / "bodies.txt"
        count = seconds * 8000  # more than the server can take: no body is sent twice
        write_bodies(bodies, count, run)
        before = int(psql(url, "SELECT count(*) FROM inbound_message_queue"))
        workers = common.tree(gunicorn_pid)[1:]
        cpu_before = common.process_cpu(workers), common.process_cpu(common.postgres_pids())
        result = subprocess.run(
            ["wrk", "-t", str(WRK_THREADS), "-c", str(connections), "-d", f"{seconds}s",
             "-s", str(BASE_DIR / "bench" / "intake.lua"), f"http://127.0.0.1:{WEB_PORT}"],
            env={**os.environ, "BODIES": str(bodies), "WRK_THREADS": str(WRK_THREADS)},
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        cpu_after = common.process_cpu(workers), common.process_cpu(common.postgres_pids())
    out = result.stdout
    done = re.search(r"(\d+) requests in ([\d.]+)(m?s)", out)
    if done is None:
        raise SystemExit(out + result.stderr)
    requests = int(done.group(1))
    if requests >= count:
        raise SystemExit("wrk sent more requests than there were bodies: raise the count")
    elapsed = float(done.group(2)) / (1000 if done.group(3) == "ms" else 1)
    refused = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    ok = requests - (int(refused.group(1)) if refused else 0)
    return {
        "rate": ok / elapsed,
        "ok": ok,
        "refused": requests - ok,
        "socket_errors": sum(int(g) for g in errors.groups()) if errors else 0,
        "stored": int(psql(url, "SELECT count(*) FROM inbound_message_queue")) - before,
        "cpu_ms": common.cpu_since(cpu_before[0], cpu_after[0]) / max(ok, 1) * 1000,
        "pg_cpu_ms": common.cpu_since(cpu_before[1], cpu_after[1]) / max(ok, 1) * 1000,
    }


def start_gunicorn(url: str, workers: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [PY, "-m", "gunicorn", "config.wsgi", "--bind", f"127.0.0.1:{WEB_PORT}",
         "--workers", str(workers), "--log-level", "warning"],
        cwd=BASE_DIR,
        env=env_for(url),
    )  # fmt: skip
    wait_for_port(WEB_PORT)
    return process


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def pct(values: list[float], q: float) -> float:
    return common.quantile(values, q) if values else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--workers", type=int, default=3, help="gunicorn sync workers (README's production line)"
    )
    parser.add_argument("--connections", type=int, default=16, help="wrk's open connections")
    parser.add_argument(
        "--pgbench-clients", type=int, default=16, help="pgbench's best case on 2 cores"
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None or shutil.which("pgbench") is None:
        raise SystemExit("needs wrk and pgbench: apt-get install wrk postgresql-contrib")
    server = common.server_url()
    url = common.recreate_database(server, "clinic_bench_intake")
    subprocess.run([PY, "manage.py", "migrate", "-v0"], cwd=BASE_DIR, env=env_for(url), check=True)
    psql(url, "CREATE TABLE bench_raw (id bigserial PRIMARY KEY, payload text)")
    runs: list[dict[str, float]] = []
    acks: list[tuple[float, float, float, int, str]] = []
    try:
        gunicorn = start_gunicorn(url, args.workers)
        try:
            for n in range(args.repeat):
                load_before = common.load()
                insert16 = pgbench_insert_rate(url, args.seconds, args.pgbench_clients)
                insert_same = pgbench_insert_rate(url, args.seconds, args.workers)
                run = saturated_intake(url, args.seconds, args.connections, gunicorn.pid, n)
                run.update(insert16=insert16, insert_same=insert_same)
                runs.append(run)
                latencies, errors = open_loop(TARGET_RATE / 2, args.seconds, f"96657{n}")
                acks.append((
                    pct(latencies, 0.5), pct(latencies, 0.99), max(latencies), errors,
                    load_before,
                ))  # fmt: skip
            psql(
                url,
                "TRUNCATE inbound_message_queue, whatsapp_status_updates, django_q_ormq, "
                "task_wakeups",
            )
            # With the worker: reply latency, the footprint at the target rate, then idle.
            graph = FakeGraph()
            qcluster = subprocess.Popen(
                [PY, "manage.py", "qcluster"], cwd=BASE_DIR, env=env_for(url),
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            try:
                time.sleep(3)  # the cluster starts its workers
                replies = reply_latency(graph, 10, args.seconds * 2)
                peak = (0.0, 0.0)
                sampling = True

                def sample() -> None:
                    nonlocal peak
                    while sampling:
                        pids = common.tree(gunicorn.pid) + common.tree(qcluster.pid) + backends(url)
                        rss, pss = common.memory_mib(pids)
                        peak = max(peak, (rss, pss))
                        time.sleep(1)

                sampler = threading.Thread(target=sample)
                sampler.start()
                target_latencies, target_errors = open_loop(TARGET_RATE, args.seconds, "966580")
                sampling = False
                sampler.join()
                parts = {
                    "gunicorn": common.memory_mib(common.tree(gunicorn.pid)),
                    "qcluster": common.memory_mib(common.tree(qcluster.pid)),
                    "PostgreSQL backends": common.memory_mib(backends(url)),
                }
                deadline = time.time() + 180  # let the worker catch up, then measure idle
                backlog = (
                    "SELECT (SELECT count(*) FROM django_q_ormq) + (SELECT count(*) FROM "
                    "inbound_message_queue WHERE status IN ('pending', 'processing'))"
                )
                while time.time() < deadline and psql(url, backlog) != "0":
                    time.sleep(1)
                caught_up = psql(url, backlog) == "0"
                time.sleep(3)
                name = url.rsplit("/", 1)[1]
                xacts = f"SELECT xact_commit FROM pg_stat_database WHERE datname = '{name}'"
                first = int(psql(url, xacts))
                time.sleep(10)
                idle_qps = (int(psql(url, xacts)) - first - 1) / 10  # minus our own query
            finally:
                stop(qcluster)
                graph.server.shutdown()
        finally:
            stop(gunicorn)
    finally:
        common.recreate_database(server, "clinic_bench_intake", drop_only=True)

    rows = []
    for n, (run, ack) in enumerate(zip(runs, acks, strict=True), 1):
        rows.append(
            f"| {n} | {ack[4]} | {run['insert_same']:,.0f} / {run['insert16']:,.0f} "
            f"| {run['rate']:,.0f} ({run['refused']:.0f} refused, {run['socket_errors']:.0f} "
            f"socket errors; {run['ok']:,.0f} acknowledged, {run['stored']:,.0f} stored) "
            f"| {run['rate'] / run['insert_same']:.3f} / {run['rate'] / run['insert16']:.3f} "
            f"| {run['cpu_ms'] * 1000:.0f} / {run['pg_cpu_ms'] * 1000:.0f} us "
            f"| {ack[0]:.1f} / {ack[1]:.1f} / {ack[2]:.0f} ms, {ack[3]} errors |"
        )
    rates = [r["rate"] for r in runs]
    ratio16 = [r["rate"] / r["insert16"] for r in runs]
    ratio_same = [r["rate"] / r["insert_same"] for r in runs]
    lost = sum(max(0, r["ok"] - r["stored"]) for r in runs)
    q = statistics.quantiles(replies, n=100) if len(replies) > 1 else [0.0] * 99
    body = "\n".join(
        [
            f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {common.machine()}.",
            f"gunicorn with {args.workers} sync workers (as README's production line runs it); "
            f"wrk, a C load generator on the same 2 CPUs, keeps {args.connections} connections "
            "busy with unique signed Meta-shaped messages (Arabic + emoji, 1,000 customers) "
            f"for {args.seconds} s. Beside it, in the same run, pgbench's single-row INSERT "
            f"of 700 bytes, one transaction each: with {args.workers} clients (the database "
            f"sessions the intake holds: one per gunicorn worker) and with "
            f"{args.pgbench_clients} clients (pgbench's best on this machine: group commit). "
            "Stored can exceed acknowledged by the requests still in flight when wrk stops "
            f"(up to {args.connections}). CPU per POST, from /proc: the gunicorn workers, and "
            "every PostgreSQL process (backends, WAL writer...). "
            f"Acknowledgement latency: open loop at {TARGET_RATE // 2}/s (half the target), "
            "1 message per 3 statuses, timed from each request's scheduled send time (Python "
            "client).",
            "",
            f"| run | load before | pgbench INSERT tps ({args.workers} / {args.pgbench_clients} "
            f"clients) | signed POSTs/s | intake / INSERT ({args.workers} / "
            f"{args.pgbench_clients}) | CPU per POST (gunicorn / PostgreSQL) "
            "| ack p50 / p99 / max |",
            "|---|---|---|---|---|---|---|",
            *rows,
            "",
            f"- intake: {common.spread(rates)} POSTs/s (target >= {TARGET_RATE}); ratio "
            f"{common.spread(ratio_same, '{:.3f}')} of pgbench at {args.workers} clients, "
            f"{common.spread(ratio16, '{:.3f}')} at {args.pgbench_clients} (target >= 0.15); "
            f"{lost} acknowledged messages missing from the queue.",
            f"- acknowledgement at {TARGET_RATE // 2}/s: p50 "
            f"{common.spread([a[0] for a in acks], '{:.1f}')} ms, p99 "
            f"{common.spread([a[1] for a in acks], '{:.1f}')} ms (targets 20 / 250 ms), "
            f"{sum(a[3] for a in acks)} errors.",
            f"- reply latency, webhook -> fake Graph API, 10 msg/s for {args.seconds * 2} s with "
            f"the real bot (qcluster, 2 workers): {len(replies)} replies, p50 {q[49] * 1000:.0f} "
            f"ms, p95 {q[94] * 1000:.0f} ms, max {max(replies) * 1000:.0f} ms (targets 300 ms / "
            "1 s).",
            f"- footprint at {TARGET_RATE}/s (open loop, 1 message : 3 statuses, qcluster "
            f"answering with the real bot): peak RSS {peak[0]:.0f} MiB / PSS {peak[1]:.0f} MiB "
            "in all; at the end "
            + ", ".join(f"{k} RSS {v[0]:.0f} / PSS {v[1]:.0f} MiB" for k, v in parts.items())
            + f"; acks p50 {pct(target_latencies, 0.5):.0f} ms, p99 "
            f"{pct(target_latencies, 0.99):.0f} ms, {target_errors} errors.",
            f"- idle{'' if caught_up else ' (the worker had NOT caught up after 180 s)'}: "
            f"{idle_qps:.1f} transactions/s against the database from gunicorn + qcluster "
            "(pg_stat_database xact_commit over 10 s; the worker polls its ORM broker every "
            "Q_POLL = 0.2 s).",
        ]
    )
    common.write_section(SECTION, body)
    print(body)


if __name__ == "__main__":
    main()
