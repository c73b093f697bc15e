"""Benchmark: how well and how fast the bot reads customers' messages, on the labelled corpus
(messaging/tests/bot/corpus/), and beside it dateparser, when installed, on the same days.

    .venv/bin/python bench/bench_understanding.py [--repeat 20] [--pipeline]

Prints the per-kind report of the rules, their cost per message (µs, p50/p95), the day
readings of the rules and of dateparser's search_dates (right, wrong, false positives: a day
found where the customer named none or one that cannot be pinned down), and with --pipeline the
bot's whole reply time per corpus message through record_inbound_message (a throwaway SQLite
file, or DATABASE_URL, on the demo clinic).
"""

import argparse
import importlib
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--pipeline", action="store_true")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    tmp = tempfile.mkdtemp()
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{tmp}/bench_understanding.sqlite3")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from messaging.bot.parsing import read_message
    from messaging.tests.bot.corpus import NOW, load, score

    examples = load()
    print(score(lambda text: read_message(text, now=NOW), examples).table())
    costs = per_message(lambda text: read_message(text, now=NOW), examples, args.repeat)
    print(f"rules: {len(examples)} messages, {summary(costs)} per message")
    compare_days("rules", lambda text: rules_day(read_message(text, now=NOW)), examples)
    try:
        importlib.import_module("dateparser")  # measured only: not a dependency
    except ImportError:
        print("dateparser: not installed")
    else:
        reader = dateparser_day(NOW)
        costs = per_message(reader, examples, max(1, args.repeat // 10))
        print(f"dateparser: {summary(costs)} per message")
        compare_days("dateparser", reader, examples)
    if args.pipeline:
        pipeline(examples)


def rules_day(reading: Any) -> date | None:
    """The day the rules settle on; a day they flag to ask about is not one."""
    return None if reading.unclear_day else reading.day or reading.from_day


def dateparser_day(now: Any) -> Callable[[str], date | None]:
    search_dates = importlib.import_module("dateparser.search").search_dates

    settings = {
        "RELATIVE_BASE": now.replace(tzinfo=None),
        "PREFER_DATES_FROM": "future",
        "PREFER_DAY_OF_MONTH": "first",
        "DATE_ORDER": "DMY",
    }

    def read(text: str) -> date | None:
        found = search_dates(text, languages=["ar", "en"], settings=settings)
        return found[0][1].date() if found else None

    return read


def compare_days(name: str, read: Callable[[str], date | None], examples: list[Any]) -> None:
    """Days only, on every message with a day, a run of days, none, or one to ask about."""
    right = wrong = missed = false_positive = named = unnamed = 0
    for example in examples:
        kind, expected = example.expected_day()
        got = read(example.text)
        if kind in {"day", "from"}:
            named += 1
            if got == expected:
                right += 1
            elif got is None:
                missed += 1
            else:
                wrong += 1
        else:
            unnamed += 1
            false_positive += got is not None
    print(
        f"{name} days: {right}/{named} right ({right / named:.1%}), {wrong} wrong, {missed} "
        f"missed; {false_positive}/{unnamed} false positives (a day found where none was named "
        "or it must be asked)"
    )


def per_message(read: Callable[[str], Any], examples: list[Any], repeat: int) -> list[float]:
    costs = []
    for example in examples:
        started = time.perf_counter()
        for _ in range(repeat):
            read(example.text)
        costs.append((time.perf_counter() - started) / repeat * 1e6)
    return costs


def summary(values: list[float]) -> str:
    values = sorted(values)
    p95 = values[int(len(values) * 0.95) - 1]
    median, mean = statistics.median(values), statistics.mean(values)
    return f"p50 {median:,.0f} µs, p95 {p95:,.0f} µs, mean {mean:,.0f} µs"


def pipeline(examples: list[Any]) -> None:
    """Each corpus message from a new customer through the whole pipeline, bot included."""
    import time_machine
    from django.core.management import call_command

    from messaging.tests.bot.corpus import NOW
    from messaging.tests.chat import Chat
    from reservations.demo import seed_schedule

    call_command("migrate", verbosity=0)
    with time_machine.travel(NOW, tick=False):
        seed_schedule()
        timings = []
        for n, example in enumerate(examples):
            chat = Chat(wa_id=f"9668{n:08d}", name="Bench")
            chat.say("hello")  # the first answer greets; time the second, an ordinary turn
            started = time.perf_counter()
            chat.say(example.text)
            timings.append((time.perf_counter() - started) * 1e3)
    timings.sort()
    p95 = timings[int(len(timings) * 0.95) - 1]
    print(
        f"reply time per corpus message ({len(timings)}): p50 {statistics.median(timings):.1f} ms, "
        f"p95 {p95:.1f} ms, max {timings[-1]:.1f} ms"
    )


if __name__ == "__main__":
    main()
