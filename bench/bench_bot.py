"""Benchmark: the bot's work per message (reading the message to having its replies recorded).

    .venv/bin/python bench/bench_bot.py [--rounds 200]

Uses a throwaway SQLite file (or DATABASE_URL if set, which it then fills: point it at an empty
database), the demo clinic's rules and hours, and the next 30 days booked to half capacity
(other customers). Each round is one customer's whole booking by tapping (greeting, Book, type,
day, time, confirm) plus a typed "book tomorrow 4pm"; it times `record_inbound_message`, which
runs the bot inside the pipeline's transaction. Prints the median and the 95th percentile per step.
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    tmp = tempfile.mkdtemp()
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{tmp}/bench_bot.sqlite3")
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from django.utils import timezone

    from customers.models import Customer
    from messaging.tests.chat import Chat
    from reservations.demo import seed_schedule
    from reservations.models import Reservation
    from reservations.services import available_slots

    seed_schedule()
    today = timezone.localdate()
    other = Customer.objects.create(wa_id="966500000000")
    for day in available_slots(start=today + timedelta(1), end=today + timedelta(30)):
        Reservation.objects.bulk_create(
            Reservation(customer=other, date=s.date, time_slot=s.time, type=0, source="staff")
            for s in day.slots[::2]
        )
    timings: dict[str, list[float]] = {}
    for n in range(args.rounds):
        chat = Chat(wa_id=f"9665{n:08d}", name="Bench")
        typist = Chat(wa_id=f"9667{n:08d}", name="Bench")
        steps: list[tuple[str, Callable[..., Any], tuple[Any, ...]]] = [
            ("greeting", chat.say, ("hello",)),
            ("Book (type question)", chat.tap, ("Book",)),
            ("type -> day list (30 days)", chat.tap, ("Appointment",)),
            ("day -> time list", first_row, (chat, 1)),
            ("time -> confirmation", first_row, (chat, 0)),
            ("confirm -> booked", chat.tap, ("Confirm",)),
            ("typed 'book tomorrow 4pm'", typist.say, ("book tomorrow 4pm",)),
        ]
        for name, action, arguments in steps:
            started = time.perf_counter()
            action(*arguments)
            timings.setdefault(name, []).append(time.perf_counter() - started)
    print(f"{args.rounds} rounds, {django.db.connection.vendor}")
    for name, values in timings.items():
        values.sort()
        median = statistics.median(values) * 1000
        p95 = values[int(len(values) * 0.95) - 1] * 1000
        print(f"{name:30} median {median:6.1f} ms  p95 {p95:6.1f} ms")


def first_row(chat: Any, index: int) -> Any:
    return chat.tap_id(chat.last.choices[index]["id"], kind="list")


if __name__ == "__main__":
    main()
