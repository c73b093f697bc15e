"""Benchmark: the bot's reply time on the language-model path, against the local fake
OpenAI-compatible server (messaging/tests/bot/model_server.py) answering after a set delay.

    .venv/bin/python bench/bench_llm.py [--delay-ms 300] [--messages 40]

Each message goes the worker's way (`assisted.ask_model`, then `record_inbound_message`) from a
new customer after its greeting, on the demo clinic (a throwaway SQLite file, or DATABASE_URL).
Prints p50/p95/max of: texts the rules cannot place with the model off (today's path), the same
with the model on, texts the rules place with the model on (it is never asked), and the model
slower than LLM_TIMEOUT_SECONDS (the bot answers as without it once the timeout passes).
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
UNPLACED = [
    "my tooth is killing me, squeeze me in", "my teeth need cleaning", "the kid has a fever",
    "something for my back pain", "need a spot for my car", "gotta bail on the dentist thing",
    "i need a checkup with dr huda", "my wife needs the cleaning too", "سني يوجعني مرة",
    "ولدي حرارته مرتفعة", "ابغى تنظيف اسنان", "ظهري يوجعني",
]  # fmt: skip
PLACED = ["book tomorrow 4pm", "cancel my appointment", "احجز بكرة الساعة ٤", "hi"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--delay-ms", type=int, default=300)
    parser.add_argument("--messages", type=int, default=40)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    tmp = tempfile.mkdtemp()
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{tmp}/bench_llm.sqlite3")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    import time_machine
    from django.conf import settings
    from django.core.management import call_command

    from messaging.tests.bot.corpus import NOW
    from messaging.tests.bot.model_server import ModelServer
    from reservations.demo import seed_schedule
    from reservations.models import Service

    call_command("migrate", verbosity=0)
    server = ModelServer()
    server.delay = args.delay_ms / 1000
    settings.LLM_DAILY_BUDGET = 100_000
    settings.LLM_TIMEOUT_SECONDS = 5.0
    texts = [UNPLACED[n % len(UNPLACED)] for n in range(args.messages)]
    with time_machine.travel(NOW, tick=False):
        seed_schedule()
        Service.objects.get_or_create(name="Teeth cleaning", defaults={"name_ar": "تنظيف اسنان"})
        settings.LLM_BASE_URL = ""
        report("unplaced texts, model off", texts, prefix="9661")
        configure(settings, server.url)
        report(f"unplaced texts, model on ({args.delay_ms} ms)", texts, prefix="9662")
        print(f"  model requests: {len(server.requests)}")
        before = len(server.requests)
        placed = [PLACED[n % len(PLACED)] for n in range(args.messages)]
        report("texts the rules place, model on", placed, prefix="9663")
        print(f"  model requests: {len(server.requests) - before}")
        settings.LLM_TIMEOUT_SECONDS = 1.0
        server.delay = 2.0
        report("model slower than LLM_TIMEOUT_SECONDS=1 (2 s)", texts[:6], prefix="9664")
    server.close()


def configure(settings: object, url: str) -> None:
    settings.LLM_BASE_URL = url  # type: ignore[attr-defined]
    settings.LLM_API_KEY = settings.LLM_MODEL = "bench"  # type: ignore[attr-defined]


def report(name: str, texts: list[str], *, prefix: str) -> None:
    from messaging.tests.chat import Chat

    timings = []
    for n, text in enumerate(texts):
        chat = Chat(wa_id=f"{prefix}{n:08d}", name="Bench")
        chat.say("hello")  # the first answer greets; time the second, an ordinary turn
        started = time.perf_counter()
        chat.say(text)
        timings.append((time.perf_counter() - started) * 1e3)
    timings.sort()
    p95 = timings[max(int(len(timings) * 0.95) - 1, 0)]
    print(
        f"{name} ({len(timings)}): p50 {statistics.median(timings):.1f} ms, "
        f"p95 {p95:.1f} ms, max {timings[-1]:.1f} ms"
    )


if __name__ == "__main__":
    main()
