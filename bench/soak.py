"""Soak: a busy clinic group's load for 10 minutes (issue 14, part 5).

One node (gunicorn, 3 workers; a `qcluster`, --workers workers) on a throwaway PostgreSQL
database (clinic_bench_soak). First a baseline: --baseline-seconds at --baseline-rate, with no
kill and no burst. Then signed inbound messages at --rate a second (each from a new customer,
so each reply is a distinct send), the delivered and read statuses of every send (plus one
status of a message the app never sent per 20 sends, as other apps on the number cause), a
burst of --reminders reminders due at --burst-at, and the whole qcluster killed (-9) and
restarted every --kill-every seconds. The fake Graph API answers after --graph-ms (0: at once).
Per minute: the memory of every process (gunicorn master and workers, the qcluster's processes,
the database's backends), the webhook's answer time (ack) and the reply time (from posting a
message to its reply reaching the fake Graph API), p50 and p99. At the end: every message
handled once, every reminder sent once, no duplicate send beyond one per killed worker.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/soak.py

Loopback only (8074, and the fake Graph API on 8075); about 14 minutes with its baseline and
settling.
Writes the "soak" section of bench/RESULTS.md and prints the JSON.
"""

import argparse
import json
import os
import signal
import statistics
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent / "faults"))
import common
import nodes

DB = "clinic_bench_soak"
GRAPH_PORT = 8075
SECTION = "soak"


def backends(server: str) -> list[int]:
    import psycopg

    with psycopg.connect(common.database_url(server, "postgres"), autocommit=True) as db:
        rows = db.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", [DB]).fetchall()
    return [row[0] for row in rows]


def rss_mib(pid: int) -> float:
    return common.memory_mib([pid])[0]


class Sampler(threading.Thread):
    """Every 10 s: the RSS of each process of the node, and the PSS of the database backends."""

    def __init__(self, node: nodes.Node, server: str, started: float) -> None:
        super().__init__(daemon=True)
        self.node, self.server, self.started = node, server, started
        self.samples: list[dict[str, Any]] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.wait(10):
            pids = self.node.pids()
            web = pids.get("gunicorn", [])
            worker = pids.get("qcluster", [])
            self.samples.append(
                {
                    "minute": int((time.time() - self.started) // 60) + 1,
                    "gunicorn master": rss_mib(web[0]) if web else 0.0,
                    "gunicorn workers": [round(rss_mib(p), 1) for p in web[1:]],
                    "qcluster processes": [round(rss_mib(p), 1) for p in worker],
                    "postgres backends PSS": common.memory_mib(backends(self.server))[1],
                }
            )


def per_minute(samples: list[tuple[float, float]], started: float) -> dict[int, list[float]]:
    buckets: dict[int, list[float]] = defaultdict(list)
    for when, value in samples:
        buckets[int((when - started) // 60) + 1].append(value)
    return buckets


def p(values: list[float], q: float) -> float:
    return round(common.quantile(values, q)) if values else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--rate", type=float, default=40, help="inbound messages per second")
    parser.add_argument("--reminders", type=int, default=300)
    parser.add_argument("--kill-every", type=float, default=120, help="seconds")
    parser.add_argument("--burst-at", type=float, default=180, help="seconds into the run")
    parser.add_argument("--send-rate", type=int, default=80, help="sends/s (Meta's default)")
    parser.add_argument("--workers", type=int, default=3, help="the qcluster's Q_WORKERS")
    parser.add_argument("--graph-ms", type=float, default=0, help="the fake Graph API's delay")
    parser.add_argument("--baseline-seconds", type=float, default=60)
    parser.add_argument("--baseline-rate", type=float, default=5, help="messages/s")
    parser.add_argument("--section", default=SECTION, help="RESULTS.md's heading to replace")
    parser.add_argument("--no-write", action="store_true", help="print only (no RESULTS.md)")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # stop the node on the way out
    server = common.server_url()
    url = common.recreate_database(server, DB)
    extra = {
        "WHATSAPP_API_BASE_URL": f"http://127.0.0.1:{GRAPH_PORT}/v23.0",
        "WHATSAPP_MAX_MESSAGES_PER_SECOND": str(args.send_rate),
        "Q_WORKERS": str(args.workers),
    }
    os.environ.update(nodes.env_for(url, nodes.PORTS["soak"], **extra))
    sys.path.insert(0, str(common.ROOT))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections

    load_before = common.load()
    graph = nodes.FakeGraph(port=GRAPH_PORT, latency_ms=args.graph_ms)
    node = nodes.Node("soak", url, gunicorn_workers=3, **extra)
    seconds = args.minutes * 60
    try:
        call_command("migrate", verbosity=0)
        nodes.prepare(0)
        connections.close_all()
        node.start()
        load = nodes.Load([node], graph, rate=args.rate, prefix="96656")
        statuses = threading.Thread(
            target=load.statuses, kwargs={"per_webhook": 5, "unknown_every": 20}, daemon=True
        )
        statuses.start()
        baseline_started = time.time()
        load.messages(args.baseline_seconds, rate=args.baseline_rate)
        time.sleep(5)  # its last replies
        started = time.time()
        sampler = Sampler(node, server, started)
        sampler.start()
        messages = threading.Thread(target=load.messages, args=(seconds,), daemon=True)
        messages.start()
        kills, burst_done = 0, False
        next_kill = started + args.kill_every
        while messages.is_alive():
            time.sleep(1)
            if not burst_done and time.time() - started >= args.burst_at:
                nodes.add_visits(args.reminders)
                connections.close_all()
                burst_done = True
            if time.time() >= next_kill and time.time() - started < seconds - 10:
                node.restart_worker()
                kills += 1
                next_kill += args.kill_every
        print(f"load done: {load.sent} messages; settling", file=sys.stderr)
        settle = nodes.wait_until_done(300, load.sent, args.reminders if burst_done else 0)
        time.sleep(5)
        load.stopping.set()
        sampler.stopping.set()
        statuses.join(timeout=30)
        # Each kill takes all the qcluster's workers down at once: up to one resend per worker
        # (the check's "kills" is that count of killed workers).
        check = nodes.outcome(
            graph,
            load,
            args.reminders if burst_done else 0,
            kills * args.workers,
            rate=args.send_rate,
        )
        result = summarise(
            args, load, graph, sampler, (baseline_started, started), kills, settle, check
        )
    finally:
        node.stop()
        graph.server.shutdown()
        connections.close_all()
        common.recreate_database(server, DB, drop_only=True)
    os.environ["DATABASE_URL"] = server  # for common.machine(): the run's database is gone
    print(json.dumps(result, indent=2))
    if not args.no_write:
        write_results(result, load_before, args)
    if not check["ok"]:
        raise SystemExit(1)


def summarise(
    args: Any,
    load: nodes.Load,
    graph: nodes.FakeGraph,
    sampler: Sampler,
    phases: tuple[float, float],
    kills: int,
    settle: float,
    check: dict[str, Any],
) -> dict[str, Any]:
    first_reply: dict[str, float] = {}
    for when, body in graph.sends:
        to = str(body.get("to", "")).lstrip("+")
        if body.get("type") != "template" and to in load.posted and to not in first_reply:
            first_reply[to] = when
    baseline_started, started = phases
    replies = [(load.posted[to], (at - load.posted[to]) * 1000) for to, at in first_reply.items()]
    acks = per_minute(load.ack_ms, started)  # the baseline's fall in minute 0 or before
    reply_ms = per_minute(replies, started)
    posted = per_minute([(at, 1.0) for at in load.posted.values()], started)
    baseline_posted = [at for at in load.posted.values() if at < started]
    baseline_replies = [ms for at, ms in replies if at < started]
    baseline_acks = [ms for at, ms in load.ack_ms if baseline_started <= at < started]
    memory: dict[int, dict[str, Any]] = {}
    for sample in sampler.samples:  # the minute's last sample
        memory[sample["minute"]] = sample
    minutes = []
    for minute in sorted(memory):  # the load's minutes, then the settling ones
        sample = memory[minute]
        minutes.append(
            {
                "minute": minute,
                "messages posted": len(posted.get(minute, [])),
                "of them answered": len(reply_ms.get(minute, [])),
                "ack ms p50/p99": [p(acks.get(minute, []), 0.5), p(acks.get(minute, []), 0.99)],
                "reply ms p50/p99": [
                    p(reply_ms.get(minute, []), 0.5),
                    p(reply_ms.get(minute, []), 0.99),
                ],
                "RSS MiB gunicorn master / workers": [
                    round(sample.get("gunicorn master", 0), 1),
                    sample.get("gunicorn workers", []),
                ],
                "RSS MiB qcluster processes": sample.get("qcluster processes", []),
                "PSS MiB postgres backends": round(sample.get("postgres backends PSS", 0), 1),
            }
        )
    achieved = (load.sent - len(baseline_posted)) / (args.minutes * 60)
    return {
        "minutes": args.minutes,
        "inbound messages/s asked / achieved": [args.rate, round(achieved, 1)],
        "qcluster workers": args.workers,
        "fake Graph API delay ms": args.graph_ms,
        "baseline": {
            "seconds": args.baseline_seconds,
            "messages/s": args.baseline_rate,
            "messages posted (answered)": [len(baseline_posted), len(baseline_replies)],
            "webhook ack ms p50/p99": [p(baseline_acks, 0.5), p(baseline_acks, 0.99)],
            "reply ms p50/p99": [p(baseline_replies, 0.5), p(baseline_replies, 0.99)],
        },
        "qcluster killed (-9) and restarted": kills,
        "seconds to settle after the load": round(settle),
        "per minute": minutes,
        "median reply ms over the run": round(statistics.median([ms for _, ms in replies]))
        if replies
        else None,
        "check": check,
    }


def write_results(result: dict[str, Any], load_before: str, args: Any) -> None:
    rows = [
        "| minute | messages posted (answered) | webhook ack p50 / p99 ms | reply p50 / p99 ms "
        "| gunicorn RSS MiB (master; workers) | qcluster RSS MiB (each process) "
        "| postgres backends PSS MiB |",
        "|---|---|---|---|---|---|---|",
    ]
    for m in result["per minute"]:
        master, workers = m["RSS MiB gunicorn master / workers"]
        rows.append(
            f"| {m['minute']} | {m['messages posted']} ({m['of them answered']}) | "
            f"{m['ack ms p50/p99'][0]} / "
            f"{m['ack ms p50/p99'][1]} | {m['reply ms p50/p99'][0]} / {m['reply ms p50/p99'][1]}"
            f" | {master}; {', '.join(map(str, workers))} | "
            f"{', '.join(map(str, m['RSS MiB qcluster processes']))} | "
            f"{m['PSS MiB postgres backends']} |"
        )
    fence = "```"
    base = result["baseline"]
    command = " ".join(
        f"--{name.replace('_', '-')} {getattr(args, name):g}"
        for name in ("minutes", "rate", "reminders", "workers", "graph_ms")
    )
    body = "\n".join(
        [
            f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {common.machine()} "
            f"(load before: {load_before}; nothing else ran on the machine). Command: "
            "`DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python "
            f"bench/soak.py {command}` (not part of `make bench`: "
            f"{args.minutes:g} minutes).",
            "",
            f"One node: gunicorn (3 workers) and a qcluster ({args.workers} workers), one "
            "PostgreSQL; the fake Graph API answers "
            + (f"after {args.graph_ms:g} ms" if args.graph_ms else "at once")
            + ". Each message from a new customer (the bot's welcome menu answers it); the "
            "delivered and read statuses of every send, 5 to a webhook, plus one status of an "
            "unknown message per 20 sends; a burst of "
            f"{args.reminders} reminders due at second {args.burst_at:g}; the whole qcluster "
            f"killed with SIGKILL and restarted every {args.kill_every:g} s. The minute's "
            "latencies are those of the messages posted in it (ack: every webhook, statuses "
            "too); memory is the minute's last sample (every 10 s); after the load, the "
            "minutes of settling. "
            f"Baseline, the same run's first {base['seconds']:g} s at {base['messages/s']:g} "
            "messages/s (no kill, no burst): webhook ack p50 / p99 "
            f"{base['webhook ack ms p50/p99'][0]} / {base['webhook ack ms p50/p99'][1]} ms, reply "
            f"p50 / p99 {base['reply ms p50/p99'][0]} / {base['reply ms p50/p99'][1]} ms.",
            "",
            *rows,
            "",
            fence + "json",
            json.dumps(
                {k: v for k, v in result.items() if k != "per minute"}, indent=2, ensure_ascii=False
            ),
            fence,
        ]
    )
    common.write_section(args.section, body)


if __name__ == "__main__":
    main()
