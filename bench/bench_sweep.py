"""The sweep beside a growing pile of statuses for unknown messages (issue 14, part 5).

Seen before the fix: 96,000 statuses of messages the app never sent (the number's other apps,
erased customers) made every sweep take 2.1 s, growing linearly, because each sweep read the
whole day of them again. Now a status still unknown 10 minutes after it arrived is set aside
(`unmatched_at`) by the sweep that finds it so, and leaves the partial index later sweeps read.

For 10,000 and 100,000 unknown statuses spread over the last 23 hours, plus the 10 minutes'
worth still young (670, i.e. 96,000 a day), on a throwaway database (clinic_bench_sweep):
the first sweep (it reads them all once, as every sweep did before, and sets them aside), the
next ones before a vacuum, and the median of the sweeps after it.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/bench_sweep.py
"""

import datetime as dt
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common

DB = "clinic_bench_sweep"
SECTION = "sweep and unknown statuses"
YOUNG = 670  # ten minutes at 96,000 a day


def fill(count: int, young: int) -> None:
    from django.utils import timezone

    from messaging.models import StatusUpdate

    now = timezone.now()
    rows = []
    for n in range(count + young):
        if n < count:  # older than the set-aside delay, over the day the sweep looks back
            age = dt.timedelta(minutes=11) + dt.timedelta(hours=22) * (n / max(count, 1))
        else:
            age = dt.timedelta(minutes=9) * ((n - count) / max(young, 1))
        rows.append(
            StatusUpdate(
                wa_message_id=f"wamid.UNKNOWN{n:09d}",
                status="delivered",
                recipient_id="966500000000",
                payload="{}",
                created_at=now - age,
            )
        )
    StatusUpdate.objects.bulk_create(rows, batch_size=5000)


def timed_sweep() -> float:
    from messaging import services

    started = time.perf_counter()
    services.sweep_queues()
    return time.perf_counter() - started


def main() -> None:
    server = common.server_url()
    url = common.recreate_database(server, DB)
    os.environ.update(
        {
            "DATABASE_URL": url,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DEBUG": "false",
            "SECRET_KEY": "bench-secret-key-" + "x" * 40,
            "WHATSAPP_SANDBOX": "false",
        }
    )
    sys.path.insert(0, str(common.ROOT))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, connections

    load = common.load()
    results = {}
    try:
        call_command("migrate", verbosity=0)
        for count in (10_000, 100_000):
            with connection.cursor() as cursor:
                cursor.execute("TRUNCATE whatsapp_status_updates")
            fill(count, YOUNG)
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE whatsapp_status_updates")
            first = timed_sweep()
            # Until a vacuum, the index still holds the entries of the rows set aside.
            before_vacuum = [timed_sweep() for _ in range(5)]
            with connection.cursor() as cursor:  # what autovacuum does within a minute or so
                cursor.execute("VACUUM ANALYZE whatsapp_status_updates")
            later = [timed_sweep() for _ in range(7)]
            results[f"{count:,} unknown statuses"] = {
                "first sweep (reads them all, as every sweep did before), ms": round(first * 1000),
                "next sweeps before a vacuum, median ms": round(
                    statistics.median(before_vacuum) * 1000, 1
                ),
                "later sweeps, median ms": round(statistics.median(later) * 1000, 1),
                "later sweeps, slowest ms": round(max(later) * 1000, 1),
            }
    finally:
        connections.close_all()
        common.recreate_database(server, DB, drop_only=True)
    print(json.dumps(results, indent=2))
    os.environ["DATABASE_URL"] = server  # for common.machine(): the run's database is gone
    fence = "```"
    common.write_section(
        SECTION,
        "\n".join(
            [
                f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {common.machine()} "
                f"(load before: {load}; shared machine). Command: `DATABASE_URL=postgres://"
                "postgres@127.0.0.1:5432/postgres .venv/bin/python bench/bench_sweep.py` (part "
                "of `make bench`).",
                "",
                "Statuses of messages the app never sent, spread over the 22 hours the sweep "
                f"looks back, plus {YOUNG} arrived in the last 10 minutes (96,000 a day). "
                "Baseline (before the fix, reported): 96,000 made every sweep take 2.1 s, "
                "growing linearly; the first sweep below still reads them all once, as every "
                "sweep did then, and sets them aside; the next sweeps still step over their "
                "dead index entries until a vacuum (autovacuum's, within a minute or two of "
                "such an update; here run by hand), after which the sweep's time is the same "
                "at 10,000 and 100,000.",
                "",
                fence + "json",
                json.dumps(results, indent=2),
                fence,
            ]
        ),
    )


if __name__ == "__main__":
    main()
