"""Queue drain with a no-op handler, beside a raw SKIP LOCKED claim-and-mark-done rate (pgbench).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/bench_drain.py

On the throwaway database `clinic_bench_drain` (dropped at the end), in the same run:
- raw: pgbench, 2 clients (= Q_WORKERS), each transaction claims the oldest pending row of a
  plain table with FOR UPDATE SKIP LOCKED and marks it processing, then a second transaction marks
  it done (the same two commits per message as our drain);
- inbound drain: `drain_inbound_queue` in 2 processes with the message handler replaced by a
  no-op: the per-customer-ordered claim, the done update (what every message pays before the bot);
- django-q2: no-op tasks through a real `qcluster` with the project's Q_CLUSTER (ORM broker,
  save_limit -1, bulk 10): the task hop in front of each drain run; and the same on Redis
  (REDIS_URL; --redis-url, default redis://127.0.0.1:6379/14, '' or no answer leaves it out).
Each figure is the median of --repeat runs with the spread; writes the "queue drain" section.
"""

import argparse
import multiprocessing
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common

DB = "clinic_bench_drain"
SECTION = "queue drain"
CLIENTS = 2

PGBENCH_SCRIPT = (
    "UPDATE bench_queue SET status = 'processing', locked_at = now() WHERE id = (SELECT id "
    "FROM bench_queue WHERE status = 'pending' ORDER BY created_at, id LIMIT 1 "
    "FOR UPDATE SKIP LOCKED) RETURNING id AS claimed \\gset\n"
    """\
UPDATE bench_queue SET status = 'done', processed_at = now(), locked_at = NULL WHERE id = :claimed;
"""
)


def django_env(url: str) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if k != "REDIS_URL"},  # the database broker
        "DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "false",
        "SECRET_KEY": "bench-secret-key-" + "x" * 40,
        "WHATSAPP_SANDBOX": "false",
        "LOG_LEVEL": "ERROR",
        "Q_LOG_LEVEL": "ERROR",
    }


def psql(url: str, sql: str) -> str:
    return subprocess.run(
        ["psql", url, "-v", "ON_ERROR_STOP=1", "-tAc", sql],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def raw_rate(url: str, messages: int) -> float:
    psql(
        url,
        "DROP TABLE IF EXISTS bench_queue; CREATE TABLE bench_queue (id bigserial PRIMARY KEY, "
        "payload text, status varchar(16) NOT NULL, created_at timestamptz NOT NULL, "
        "locked_at timestamptz, processed_at timestamptz); "
        "CREATE INDEX ON bench_queue (created_at, id) WHERE status = 'pending'; "
        f"INSERT INTO bench_queue (payload, status, created_at) SELECT repeat('x', 700), "
        f"'pending', now() + (n || ' ms')::interval FROM generate_series(1, {messages}) n",
    )
    psql(url, "VACUUM ANALYZE bench_queue")
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as script:
        script.write(PGBENCH_SCRIPT)
    try:
        result = subprocess.run(
            [
                "pgbench",
                "-n",
                "-c",
                str(CLIENTS),
                "-j",
                str(CLIENTS),
                "-t",
                str(messages // CLIENTS),
                "-f",
                script.name,
                url,
            ],
            capture_output=True,
            text=True,
            check=True,
        )
    finally:
        os.unlink(script.name)
    match = re.search(r"tps = ([\d.]+)", result.stdout)
    if match is None:
        raise SystemExit(result.stdout + result.stderr)
    done = int(psql(url, "SELECT count(*) FROM bench_queue WHERE status = 'done'"))
    if done != messages:
        raise SystemExit(f"pgbench marked {done} of {messages} done")
    return float(match.group(1))


def _drain_process(url: str) -> tuple[int, float, float]:
    """(done, start, end): the drain alone, timed after Django has started."""
    os.environ.update(django_env(url))
    import django

    django.setup()
    from django.db import connection

    from messaging import services

    services._process = lambda row: None  # the no-op handler
    connection.ensure_connection()
    started = time.time()
    done = services.drain_inbound_queue().done
    return done, started, time.time()


def fill_inbound(url: str, messages: int, customers: int) -> None:
    psql(
        url,
        "TRUNCATE inbound_message_queue; "
        "INSERT INTO inbound_message_queue (message_id, wa_id, payload, status, attempts, "
        "created_at, updated_at, sent_at) "
        f"SELECT 'wamid.D' || n, '9665' || lpad((n % {customers})::text, 8, '0'), "
        "'{\"type\": \"text\"}', 'pending', 0, now(), now(), "
        "now() - interval '1 hour' + (n || ' ms')::interval "
        f"FROM generate_series(1, {messages}) n",
    )
    psql(url, "VACUUM ANALYZE inbound_message_queue")


def inbound_rate(url: str, messages: int) -> float:
    fill_inbound(url, messages, customers=max(messages // 3, 1))
    with multiprocessing.get_context("spawn").Pool(CLIENTS) as pool:
        results = pool.map(_drain_process, [url] * CLIENTS)
    done = sum(r[0] for r in results)
    elapsed = max(r[2] for r in results) - min(r[1] for r in results)
    if done != messages:
        raise SystemExit(f"the drain did {done} of {messages}")
    return messages / elapsed


def django_q_rate(url: str, tasks: int, redis_url: str = "") -> float:
    """No-op tasks per second through a real qcluster: the database broker, or Redis."""
    env = django_env(url)
    psql(url, "TRUNCATE django_q_ormq, django_q_task")
    if redis_url:
        import redis

        name = f"bench-drain-{os.getpid()}"  # a queue of its own on a shared Redis
        env |= {"REDIS_URL": redis_url, "Q_CLUSTER_NAME": name}
        client = redis.Redis.from_url(redis_url)
        key = f"django_q:{name}:q"
        client.delete(key)

        def left() -> int:
            return int(client.llen(key))
    else:

        def left() -> int:
            return int(psql(url, "SELECT count(*) FROM django_q_ormq"))

    subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django_q.tasks import async_task\n"
            f"for i in range({tasks}): async_task('math.floor', i)",
        ],
        cwd=common.ROOT,
        env=env,
        check=True,
    )
    cluster = subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"],
        cwd=common.ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        first = last = None
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            remaining = left()
            now = time.monotonic()
            if first is None and remaining < tasks:
                first = (now, remaining)
            if remaining == 0:
                last = now
                break
            time.sleep(0.05)
        if first is None or last is None:
            raise SystemExit("qcluster did not drain its queue in 120 s")
        return (first[1]) / max(last - first[0], 1e-3)
    finally:
        cluster.terminate()
        cluster.wait(timeout=60)


def redis_answers(redis_url: str) -> bool:
    if not redis_url:
        return False
    try:
        import redis

        return bool(redis.Redis.from_url(redis_url, socket_connect_timeout=2).ping())
    except Exception as exc:  # not installed, refused, timed out: the Redis row is left out
        print(f"no Redis at {redis_url} ({exc}): the Redis broker row is left out")
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=6000)
    parser.add_argument("--tasks", type=int, default=3000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"),
        help="Redis for the django-q2 row on Redis ('' to leave it out)",
    )
    args = parser.parse_args()
    on_redis = redis_answers(args.redis_url)
    server = common.server_url()
    url = common.recreate_database(server, DB)
    try:
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "-v0"],
            cwd=common.ROOT,
            env=django_env(url),
            check=True,
        )
        raw, ours, q2, q2_redis, loads = [], [], [], [], []
        for _ in range(args.repeat):
            loads.append(common.load())
            raw.append(raw_rate(url, args.messages))
            ours.append(inbound_rate(url, args.messages))
            q2.append(django_q_rate(url, args.tasks))
            if on_redis:
                q2_redis.append(django_q_rate(url, args.tasks, args.redis_url))
        ratios = [o / r for o, r in zip(ours, raw, strict=True)]
        per_message_ms = 1000 * CLIENTS / statistics.median(ours)
        body = "\n".join(
            [
                f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on "
                f"{common.machine()}. Load average before each run: {'; '.join(loads)}.",
                f"{args.repeat} runs, median (min-max); {args.messages:,} messages per run "
                f"({args.messages // 3:,} customers, 3 each), {CLIENTS} workers/clients.",
                "",
                "| drain | messages/s | raw SKIP LOCKED claim + done (pgbench) | ratio | target |",
                "|---|---|---|---|---|",
                f"| inbound queue, no-op handler | {common.spread(ours)} | {common.spread(raw)} "
                f"| {common.spread(ratios, '{:.2f}')} | >= 0.25 and >= 300/s |",
                f"| django-q2 no-op tasks (qcluster, save_limit -1, bulk 10) | {common.spread(q2)} "
                f"| | {statistics.median(q2) / statistics.median(raw):.2f} | |",
                *(
                    [
                        f"| django-q2 no-op tasks on Redis (qcluster, REDIS_URL) "
                        f"| {common.spread(q2_redis)} | "
                        f"| {statistics.median(q2_redis) / statistics.median(raw):.2f} | |"
                    ]
                    if q2_redis
                    else []
                ),
                "",
                f"Per-message cost of the drain: {per_message_ms:.1f} ms of wall time per worker "
                "(two statements: the claim, one UPDATE ... WHERE id = (SELECT ... ORDER BY ... "
                "FOR UPDATE SKIP LOCKED) RETURNING with its two NOT EXISTS probes, then the "
                "done UPDATE). "
                "Webhooks queue at most one django-q2 drain task between two runs (a "
                "`task_wakeups` row, not a task per POST), and the drain task empties the whole "
                "queue, so the task hop is paid per burst, not per message. Command: `DATABASE_URL=postgres://postgres@127.0.0.1:5432/"
                "postgres .venv/bin/python bench/bench_drain.py` (part of `make bench`).",
            ]
        )
        common.write_section(SECTION, body)
        print(body)
    finally:
        common.recreate_database(server, DB, drop_only=True)


if __name__ == "__main__":
    main()
