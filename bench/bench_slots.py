"""Benchmark: `available_slots` for 30 days with 50,000 reservations in the table.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/bench_slots.py
    (or: DATABASE_URL=... make bench-slots)

Creates a throwaway database (`clinic_bench_slots`, dropped again unless --keep) on the server
that DATABASE_URL points at, never touching the database it names; fills it with the demo
clinic's rules and 50,000 reservations (two years of history, cancellations, and the coming
30 days booked to capacity); then times warm calls and writes the figures, with the machine and
the date, to the "available_slots" section of bench/RESULTS.md (other sections are kept).
"""

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "RESULTS.md"
BENCH_DB = "clinic_bench_slots"
SECTION = "available_slots"
TOTAL = 50_000


def fill(today: date) -> int:
    """50,000 reservations: the next 30 days at capacity, the rest history (1 in 5 cancelled)."""
    from django.utils import timezone

    from customers.models import Customer
    from reservations import services
    from reservations.demo import seed_schedule
    from reservations.models import Reservation, Source

    seed_schedule()
    calendar = services.load_calendar(start=today - timedelta(days=3000), end=today + timedelta(30))
    capacity = calendar.rules.capacity
    customers = [Customer(wa_id=f"9665{n:08d}", customer_name=f"Patient {n}") for n in range(6000)]
    Customer.objects.bulk_create(customers, batch_size=2000)
    rows: list[Reservation] = []
    now = timezone.now()
    # The coming 30 days, every slot full; then back in time until 50,000 rows.
    days = [today + timedelta(days=n) for n in range(30)]
    days += [today - timedelta(days=n) for n in range(1, 3000)]
    person = 0
    for day in days:
        for slot_time in calendar.slot_times(day):
            for _ in range(capacity + (1 if day < today else 0)):
                cancelled = day < today and person % 5 == 0
                rows.append(
                    Reservation(
                        customer_id=customers[person % len(customers)].wa_id,
                        date=day,
                        time_slot=slot_time,
                        type=person % 2,
                        source=Source.CUSTOMER,
                        status="cancelled" if cancelled else "active",
                        cancelled_at=now if cancelled else None,
                    )
                )
                person += 1
                if len(rows) == TOTAL:
                    break
            if len(rows) == TOTAL:
                break
        if len(rows) == TOTAL:
            break
    Reservation.objects.bulk_create(rows, batch_size=5000)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return Reservation.objects.count()


def measure(label: str, call: Callable[[], object], runs: int) -> dict[str, float | str]:
    for _ in range(20):
        call()  # warm: connection, caches, query plans
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    return {
        "label": label,
        "median": statistics.median(timings),
        "p95": timings[int(len(timings) * 0.95) - 1],
        "max": timings[-1],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    args = parser.parse_args()

    server = common.server_url()
    common.django_on_fresh_database(server, BENCH_DB)
    from django.db import connection
    from django.utils import timezone

    from reservations import services

    try:
        machine = common.machine()  # while the benchmark database exists
        today = timezone.localdate()
        total = fill(today)
        end = today + timedelta(days=29)
        results = [
            measure(
                "available_slots, 30 days (customer)",
                lambda: services.available_slots(start=today, end=end),
                args.runs,
            ),
            measure(
                "available_slots, 30 days (staff)",
                lambda: services.available_slots(start=today, end=end, for_staff=True),
                args.runs,
            ),
            measure(
                "nearest_available_slots, limit 5",
                lambda: services.nearest_available_slots(
                    near=timezone.now() + timedelta(days=10), type=0, limit=5
                ),
                args.runs,
            ),
        ]
        connection.close()
    finally:
        if not args.keep:
            common.recreate_database(server, BENCH_DB, drop_only=True)

    lines = [
        f"Measured {datetime.now().astimezone():%Y-%m-%d %H:%M %Z} on {machine}.",
        f"Table: {total:,} reservations (the next 30 days booked to capacity, the rest history, "
        "1 in 5 of it cancelled); demo clinic rules. Warm calls (20 warm-up), "
        f"{args.runs} runs each, wall time per call including the queries:",
        "",
        "| call | median ms | p95 ms | max ms |",
        "|---|---:|---:|---:|",
        *(
            f"| {r['label']} | {r['median']:.2f} | {r['p95']:.2f} | {r['max']:.2f} |"
            for r in results
        ),
        "",
        "Target: under 20 ms for 30 days with 50,000 reservations. Command: "
        "`DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres make bench-slots`.",
    ]
    common.write_section(SECTION, "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
