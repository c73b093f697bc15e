"""Benchmark: free start times and booking throughput with practitioners (issue 12), each beside
today's clinic-wide call in the same run.

    .venv/bin/python bench/bench_resources.py [--runs 100] [--bookings 500] [--seconds 10]
    (or: make bench BENCH_ARGS="--only resources"; DATABASE_URL defaults to the local server)

Creates a throwaway database (`clinic_bench_resources`, dropped again unless --keep) on the
server that DATABASE_URL points at, never touching the database it names; fills it with the
demo clinic's rules, ten capacity-1 practitioners delivering one 30-minute service, and 200,000
reservations (the coming 30 days: every other start of each practitioner booked; the rest
history on the practitioners, 1 in 5 cancelled). Then:

1. `resources.free_starts` for the service over 30 days, with one practitioner and with
   "anyone", beside `services.available_slots` over the same 30 days (the clinic as today);
2. sequential `reserve_slot` into a fresh capacity-1 practitioner (the exclusion constraint
   checks each insert), distinct customers and starts, beside `reserve_slot` on the clinic
   resource as today, N bookings or --seconds each, whichever ends first.

Writes the "resources: free starts and booking" section of bench/RESULTS.md.
"""

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common

ROOT = common.ROOT
BENCH_DB = "clinic_bench_resources"
SECTION = "resources: free starts and booking"
TOTAL = 200_000
PRACTITIONERS = 10
CUSTOMERS = 6000

HISTORY_SQL = """
INSERT INTO reservations (
    wa_id, date, time_slot, type, status, cancelled_at, created_at, updated_at, source,
    resource_id, service_id, end_time, blocked_from, blocked_until, exclusive
)
SELECT
    '9665' || lpad(((d.n * 10 * 24 + s.k * 10 + r.i) %% {customers})::text, 8, '0'),
    %(today)s::date - d.n,
    time '08:00' + s.k * interval '30 minutes',
    %(type)s,
    CASE WHEN (d.n * 24 + s.k + r.i) %% 5 = 0 THEN 'cancelled' ELSE 'active' END,
    CASE WHEN (d.n * 24 + s.k + r.i) %% 5 = 0 THEN now() END,
    now(), now(), 'customer', r.id, %(service)s,
    time '08:30' + s.k * interval '30 minutes',
    ((%(today)s::date - d.n) + time '08:00' + s.k * interval '30 minutes') AT TIME ZONE %(tz)s,
    ((%(today)s::date - d.n) + time '08:30' + s.k * interval '30 minutes') AT TIME ZONE %(tz)s,
    true
FROM generate_series(1, %(days)s) AS d(n)
CROSS JOIN generate_series(0, 23) AS s(k)
CROSS JOIN unnest(%(resources)s::int[]) WITH ORDINALITY AS r(id, i)
ORDER BY d.n, s.k, r.i
LIMIT %(limit)s
"""


def fill(today: date) -> dict[str, Any]:
    """The practitioners, the service and 200,000 reservations; returns what the runs use."""
    from django.conf import settings
    from django.db import connection

    from customers.models import Customer
    from reservations import services
    from reservations.demo import seed_schedule
    from reservations.models import Reservation, Resource, Service, ServiceResource, Source

    seed_schedule()
    Customer.objects.bulk_create(
        [Customer(wa_id=f"9665{n:08d}", customer_name=f"Patient {n}") for n in range(CUSTOMERS)],
        batch_size=2000,
    )
    service = Service.objects.create(
        name="Check-up", name_ar="فحص", duration_minutes=30, type=Reservation.Type.APPOINTMENT
    )
    team = [
        Resource.objects.create(
            name=f"Dr {n}", name_ar=f"د {n}", resource_type=Resource.Type.PRACTITIONER
        )
        for n in range(PRACTITIONERS + 1)
    ]
    fresh, team = team[-1], team[:-1]  # the last takes the booking run, on an empty diary
    ServiceResource.objects.bulk_create(ServiceResource(service=service, resource=r) for r in team)
    ServiceResource.objects.create(service=service, resource=fresh)
    # The coming 30 days: every other clinic start of each practitioner booked.
    calendar = services.load_calendar(start=today, end=today + timedelta(days=29))
    rows, person = [], 0
    length = timedelta(minutes=service.duration_minutes)
    for offset in range(30):
        day = today + timedelta(days=offset)
        for index, at in enumerate(calendar.slot_times(day)):
            for number, resource in enumerate(team):
                if (index + number) % 2:
                    continue
                row = Reservation(
                    customer_id=f"9665{person % CUSTOMERS:08d}",
                    date=day,
                    time_slot=at,
                    type=service.type,
                    source=Source.CUSTOMER,
                    resource=resource,
                    service=service,
                    exclusive=True,
                )
                row.place(length=length, buffer_before=0, buffer_after=0)
                rows.append(row)
                person += 1
    Reservation.objects.bulk_create(rows, batch_size=5000)
    history = TOTAL - len(rows)
    with connection.cursor() as cursor:
        cursor.execute(
            HISTORY_SQL.format(customers=CUSTOMERS),
            {
                "today": today,
                "type": service.type,
                "service": service.pk,
                "tz": settings.TIME_ZONE,
                "days": history // (PRACTITIONERS * 24) + 1,
                "resources": [r.pk for r in team],
                "limit": history,
            },
        )
        cursor.execute("ANALYZE")
    return {
        "service": service,
        "one": team[0],
        "fresh": fresh,
        "clinic": Resource.objects.get_clinic(),
        "total": Reservation.objects.count(),
        "upcoming": len(rows),
    }


def measure(label: str, call: Callable[[], object], runs: int) -> dict[str, Any]:
    for _ in range(10):
        call()  # warm: connection, caches, query plans
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        timings.append((time.perf_counter() - started) * 1000)
    return {
        "label": label,
        "p50": statistics.median(timings),
        "p95": common.quantile(timings, 0.95),
        "max": max(timings),
    }


def book(label: str, starts: list[Any], book_one: Callable[[int, Any], object], limit: int,
         seconds: float) -> dict[str, Any]:  # fmt: skip
    """Book `starts` one after another, distinct customers, until `limit` or `seconds`."""
    from reservations.errors import BookingError

    timings, refused = [], 0
    began = time.perf_counter()
    for number, start in enumerate(starts[:limit]):
        started = time.perf_counter()
        try:
            book_one(number, start)
        except BookingError:
            refused += 1
        timings.append((time.perf_counter() - started) * 1000)
        if time.perf_counter() - began > seconds:
            break
    elapsed = time.perf_counter() - began
    return {
        "label": label,
        "count": len(timings),
        "refused": refused,
        "rate": len(timings) / elapsed,
        "p50": statistics.median(timings),
        "p95": common.quantile(timings, 0.95),
    }


def bookable(days: list[Any]) -> list[Any]:
    return [s for d in days for s in d.starts if s.bookable]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--bookings", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    args = parser.parse_args()

    server = common.server_url()
    load = common.load()
    common.django_on_fresh_database(server, BENCH_DB)
    from django.db import connection
    from django.utils import timezone

    from reservations import resources, services
    from reservations.models import Service, Source

    try:
        machine = common.machine()  # while the benchmark database exists
        today = timezone.localdate()
        filled = time.perf_counter()
        data = fill(today)
        filled = time.perf_counter() - filled
        service, end = data["service"], today + timedelta(days=29)
        anyone = resources.free_starts(service=service, start=today, end=end)
        reads = [
            measure(
                "available_slots, 30 days (today's clinic, baseline)",
                lambda: services.available_slots(start=today, end=end),
                args.runs,
            ),
            measure(
                "free_starts, 30 days, one practitioner",
                lambda: resources.free_starts(
                    service=service, start=today, end=end, resource=data["one"]
                ),
                args.runs,
            ),
            measure(
                f"free_starts, 30 days, anyone ({PRACTITIONERS + 1} practitioners)",
                lambda: resources.free_starts(service=service, start=today, end=end),
                args.runs,
            ),
        ]
        tomorrow = today + timedelta(days=1)
        clinic_service = Service.objects.default_for(0)
        clinic_starts = bookable(
            resources.free_starts(
                service=clinic_service, start=tomorrow, end=end, resource=data["clinic"]
            )
        )
        fresh_starts = bookable(
            resources.free_starts(service=service, start=tomorrow, end=end, resource=data["fresh"])
        )
        writes = [
            book(
                "reserve_slot, clinic resource (today, baseline)",
                clinic_starts,
                lambda n, s: services.reserve_slot(
                    wa_id=f"96655{n:07d}",
                    date=s.date,
                    time_slot=s.time,
                    type=0,
                    source=Source.CUSTOMER,
                ),
                args.bookings,
                args.seconds,
            ),
            book(
                "reserve_slot, capacity-1 practitioner (exclusion constraint)",
                fresh_starts,
                lambda n, s: services.reserve_slot(
                    wa_id=f"96656{n:07d}",
                    date=s.date,
                    time_slot=s.time,
                    source=Source.CUSTOMER,
                    service=service,
                    resource=data["fresh"],
                ),
                args.bookings,
                args.seconds,
            ),
        ]
        connection.close()
    finally:
        if not args.keep:
            common.recreate_database(server, BENCH_DB, drop_only=True)

    base_read, base_write = reads[0]["p50"], writes[0]["rate"]
    lines = [
        f"Measured {datetime.now().astimezone():%Y-%m-%d %H:%M %Z} on {machine} "
        f"(at the start of this run: {load}).",
        f"Table: {data['total']:,} reservations ({data['upcoming']:,} in the coming 30 days, "
        f"every other start of each of {PRACTITIONERS} capacity-1 practitioners; the rest "
        "history, 1 in 5 cancelled), filled in "
        f"{filled:.0f} s; one 30-minute service; demo clinic rules. "
        f'"Anyone" offers {len(bookable(anyone)):,} starts over the 30 days; the booking runs '
        f"take the bookable starts from tomorrow ({len(clinic_starts)} of the clinic, "
        f"{len(fresh_starts)} of an unbooked practitioner).",
        "",
        f"Free start times, warm calls (10 warm-up), {args.runs} runs each:",
        "",
        "| call | p50 ms | p95 ms | max ms | p50 vs baseline |",
        "|---|---:|---:|---:|---:|",
        *(
            f"| {r['label']} | {r['p50']:.2f} | {r['p95']:.2f} | {r['max']:.2f} | "
            f"{r['p50'] / base_read:.2f}x |"
            for r in reads
        ),
        "",
        f"Booking, sequential, distinct customers and starts (up to {args.bookings} or "
        f"{args.seconds:.0f} s each):",
        "",
        "| call | bookings | refused | per second | p50 ms | p95 ms | rate vs baseline |",
        "|---|---:|---:|---:|---:|---:|---:|",
        *(
            f"| {w['label']} | {w['count']} | {w['refused']} | {w['rate']:.1f} | "
            f"{w['p50']:.2f} | {w['p95']:.2f} | {w['rate'] / base_write:.2f} |"
            for w in writes
        ),
        "",
        "Targets (issue 12): free_starts p50 under 20 ms; booking with the exclusion constraint "
        "at least 0.5 of the baseline rate. This run: "
        + "; ".join(
            f"{r['label'].split(',', 2)[-1].strip()} {'met' if r['p50'] < 20 else 'MISSED'}"
            for r in reads[1:]
        )
        + f"; booking {'met' if writes[1]['rate'] >= 0.5 * base_write else 'MISSED'}. Command: "
        '`DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres make bench BENCH_ARGS="--only '
        'resources"`.',
    ]
    common.write_section(SECTION, "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
