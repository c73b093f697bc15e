"""Benchmark: the retention job (`messaging.privacy.apply_retention`) on old conversation rows.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/<scratch db> .venv/bin/python \
        bench/bench_retention.py --rows 200000

Migrates the database DATABASE_URL names, adds --rows conversation rows 400 days old (plus the
same number of recent ones, which must stay), then times: anonymising them, the next day's run
with nothing left to do (it still reads the anonymised rows' index range), and deleting them.
The rows it made are removed at the end. Prints a Markdown table for bench/RESULTS.md.
"""

import argparse
import os
import platform
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=200_000)
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    from customers.models import Customer
    from messaging import privacy
    from messaging.models import Conversation

    call_command("migrate", verbosity=0)
    settings.CONVERSATION_RETENTION_DAYS = 365
    customer, _ = Customer.objects.get_or_create(wa_id="966500000999")
    now = datetime.now(UTC)
    batch = 10_000

    def fill(moment: datetime) -> None:
        for start in range(0, args.rows, batch):
            Conversation.objects.bulk_create(
                Conversation(
                    customer=customer,
                    role="user",
                    message=f"private text {i}",
                    payload={"text": {"body": f"private text {i}"}},
                    status="read",
                    created_at=moment,
                    date=moment.date(),
                    time=moment.time(),
                )
                for i in range(start, min(start + batch, args.rows))
            )

    fill(now - timedelta(days=400))
    fill(now - timedelta(days=30))
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE conversation")

    def timed(mode: str) -> tuple[float, int]:
        settings.CONVERSATION_RETENTION_MODE = mode
        started = time.perf_counter()
        result = privacy.apply_retention(max_seconds=3600)
        return time.perf_counter() - started, result.conversation

    rows = []
    for label, mode in (
        ("anonymise", "anonymise"),
        ("next day, nothing to do", "anonymise"),
        ("delete", "delete"),
    ):
        seconds, count = timed(mode)
        rate = f"{count / seconds:,.0f}" if count else "n/a"
        rows.append(f"| {label} | {count:,} | {seconds:.2f} | {rate} |")
    kept = Conversation.objects.filter(customer=customer).count()
    assert kept == args.rows, kept  # the recent rows stay
    Conversation.objects.filter(customer=customer).delete()
    customer.delete()

    print(f"{connection.vendor}, {args.rows:,} old + {args.rows:,} recent rows, batches of 1,000")
    print("| run | rows | seconds | rows/s |\n|---|---|---|---|")
    print("\n".join(rows))
    print(f"{platform.machine()}, {os.cpu_count()} CPUs, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")


if __name__ == "__main__":
    main()
