"""Benchmark: the bot's reply time for one booking, the plain clinic beside a clinic of three
services and three practitioners (issue 12), in the same run.

    .venv/bin/python bench/bench_bot_services.py [--rounds 50]

Uses a throwaway SQLite file (or DATABASE_URL if set: point it at an empty database). First the
demo clinic as it upgrades (one resource, the visit types), its next 30 days booked to half
capacity; then the same clinic with Check-up (30 min), Cleaning (45) and Whitening (60) by
Dr Sara, Dr Ali and Huda, every third half hour of each practitioner booked for 30 days. Each
round is one customer's whole booking by tapping, and a typed booking; it times
`record_inbound_message` (the bot inside the pipeline's transaction), median and p95 per step.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
Steps = list[tuple[str, Callable[..., Any], tuple[Any, ...]]]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=50)
    args = parser.parse_args()
    tmp = tempfile.mkdtemp()
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{tmp}/bench_bot_services.sqlite3")
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    import logging

    logging.disable(logging.INFO)
    from django.utils import timezone

    from customers.models import Customer
    from messaging.tests.chat import Chat
    from reservations import resources, services
    from reservations.demo import seed_schedule
    from reservations.models import Reservation, Resource, Service, ServiceResource, Source

    seed_schedule()
    today = timezone.localdate()
    first, last = today + timedelta(1), today + timedelta(30)
    other = Customer.objects.create(wa_id="966500000000")
    for day in services.available_slots(start=first, end=last):
        Reservation.objects.bulk_create(
            Reservation(customer=other, date=s.date, time_slot=s.time, type=0, source="staff")
            for s in day.slots[::2]
        )

    def plain(n: int) -> Steps:
        chat = Chat(wa_id=f"9665{n:08d}", name="Bench")
        typist = Chat(wa_id=f"9667{n:08d}", name="Bench")
        return [
            ("greeting", chat.say, ("hello",)),
            ("Book", chat.tap, ("Book",)),
            ("type -> days (30)", chat.tap, ("Appointment",)),
            ("day -> times", first_row, (chat, 1)),
            ("time -> confirmation", first_row, (chat, 0)),
            ("confirm -> booked", chat.tap, ("Confirm",)),
            ("typed booking", typist.say, ("book tomorrow 4pm",)),
        ]

    plain_timings = run(plain, args.rounds)

    Service.objects.update(is_active=False)
    people = [
        Resource.objects.create(name=name, resource_type="practitioner")
        for name in ("Dr Sara", "Dr Ali", "Huda")
    ]
    sara, ali, huda = people
    catalog = {
        ("Check-up", 30): [sara, ali, huda],
        ("Cleaning", 45): [sara, huda],
        ("Whitening", 60): [ali],
    }
    for (name, minutes), who in catalog.items():
        service = Service.objects.create(name=name, duration_minutes=minutes)
        ServiceResource.objects.bulk_create(
            ServiceResource(service=service, resource=r) for r in who
        )
    checkup = Service.objects.get(name="Check-up")
    booked = 0
    for person in people:
        free = resources.free_starts(service=checkup, resource=person, start=first, end=last)
        for service_day in free:
            for start in service_day.starts[::3]:
                services.reserve_slot(
                    wa_id=f"96655{booked:07d}", date=start.date, time_slot=start.time,
                    service=checkup, resource=person, source=Source.STAFF,
                )  # fmt: skip
                booked += 1

    def with_services(n: int) -> Steps:
        chat = Chat(wa_id=f"9668{n:08d}", name="Bench")
        typist = Chat(wa_id=f"9669{n:08d}", name="Bench")
        return [
            ("greeting", chat.say, ("hello",)),
            ("Book", chat.tap, ("Book",)),
            ("service -> who", chat.tap, ("Cleaning",)),
            ("who -> days (30)", chat.tap, ("Anyone",)),
            ("day -> times", first_row, (chat, 1)),
            ("time -> confirmation", first_row, (chat, 0)),
            ("confirm -> booked", chat.tap, ("Confirm",)),
            ("typed booking", typist.say, ("cleaning with Dr Sara tomorrow 4pm",)),
        ]

    service_timings = run(with_services, args.rounds)
    vendor = django.db.connection.vendor
    print(f"{args.rounds} rounds, {vendor}; {booked} practitioner bookings in 30 days")
    report("plain clinic (one resource, visit types)", plain_timings)
    report("3 services x 3 practitioners", service_timings)


def run(steps: Callable[[int], Steps], rounds: int) -> dict[str, list[float]]:
    timings: dict[str, list[float]] = {}
    for n in range(rounds):
        for name, action, arguments in steps(n):
            started = time.perf_counter()
            action(*arguments)
            timings.setdefault(name, []).append(time.perf_counter() - started)
    return timings


def report(title: str, timings: dict[str, list[float]]) -> None:
    print(title)
    total = 0.0
    for name, values in timings.items():
        values.sort()
        median = statistics.median(values) * 1000
        total += median
        p95 = values[max(int(len(values) * 0.95) - 1, 0)] * 1000
        print(f"  {name:24} median {median:6.1f} ms  p95 {p95:6.1f} ms")
    print(f"  {'whole booking':24} median {total:6.1f} ms (sum of the steps' medians)")


def first_row(chat: Any, index: int) -> None:
    """Tap the `index`-th row of the last list (a day, then a time)."""
    if len(chat.last.choices) <= index:
        raise RuntimeError(f"no row {index} in {chat.last.body}")
    choice = chat.last.choices[index]
    chat.tap_id(choice["id"], choice["title"], kind="list")


if __name__ == "__main__":
    main()
