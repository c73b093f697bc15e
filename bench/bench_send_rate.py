"""Cost of the shared send-rate limiter: one upsert per message on the per-second counter row.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/clinic_pipe \
        .venv/bin/python bench/bench_send_rate.py

Times `reserve_send_slot` alone (one process) and from 4 processes at once (all hitting the same
row), with the limit lifted so that nothing waits.
"""

import multiprocessing
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ["WHATSAPP_MAX_MESSAGES_PER_SECOND"] = "1000000000"
CALLS = 3000


def run(calls: int) -> float:
    import django

    django.setup()
    from messaging.whatsapp.delivery import reserve_send_slot

    reserve_send_slot()
    started = time.perf_counter()
    for _ in range(calls):
        reserve_send_slot()
    return time.perf_counter() - started


def main() -> None:
    alone = run(CALLS)
    print(f"one process: {alone / CALLS * 1e6:.0f} us per reservation ({CALLS / alone:.0f}/s)")
    started = time.perf_counter()
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        pool.map(run, [CALLS] * 4)
    both = time.perf_counter() - started
    print(f"4 processes, same row: {4 * CALLS / both:.0f} reservations/s in all (incl. start-up)")


if __name__ == "__main__":
    main()
