"""Run every benchmark and fault run on PostgreSQL and rewrite their bench/RESULTS.md sections.

    make bench            # DATABASE_URL defaults to postgres://postgres@127.0.0.1:5432/postgres

Each script creates and drops its own throwaway database on that server (never the one the URL
names) and writes its own section with the machine, the date, the load average and every figure
beside its raw baseline. --only picks some (e.g. --only intake,drain); --skip leaves some out.
About 17-20 minutes on 2 shared vCPUs.
"""

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common

BENCH = common.ROOT / "bench"
# name, command, time limit (s)
SUITE: list[tuple[str, list[str], int]] = [
    ("slots", [str(BENCH / "bench_slots.py")], 300),
    ("resources", [str(BENCH / "bench_resources.py")], 420),
    ("intake", [str(BENCH / "bench_intake.py")], 420),
    ("drain", [str(BENCH / "bench_drain.py")], 420),
    ("admin", [str(BENCH / "bench_admin.py")], 420),
    ("inbox", [str(BENCH / "bench_inbox.py"), "--runs", "100"], 300),
    ("sweep", [str(BENCH / "bench_sweep.py")], 300),
    ("faults", [str(BENCH / "faults" / "run_faults.py")], 900),
    ("nodes", [str(BENCH / "faults" / "nodes.py")], 600),
]


# Sections whose scripts predate common.py and do not note the load average themselves.
LOAD_NOTE = {"slots": "available_slots", "inbox": "staff inbox"}


def note_load(section: str, load: str) -> None:
    text = common.RESULTS.read_text(encoding="utf-8")
    marker = f"## {section}\n\n"
    if marker in text:
        note = f"Load average (1/5/15 min) when this run started: {load}.\n\n"
        common.RESULTS.write_text(text.replace(marker, marker + note, 1), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="comma-separated names to run")
    parser.add_argument("--skip", default="", help="comma-separated names to leave out")
    args = parser.parse_args()
    only = {n for n in args.only.split(",") if n}
    skip = {n for n in args.skip.split(",") if n}
    env = {**os.environ, "DATABASE_URL": common.server_url()}
    outcomes = []
    for name, command, limit in SUITE:
        if (only and name not in only) or name in skip:
            continue
        load = common.load()
        print(f"== {name} (load {load})", flush=True)
        started = time.monotonic()
        try:
            code = subprocess.run(
                [sys.executable, *command], cwd=common.ROOT, env=env, timeout=limit
            ).returncode
        except subprocess.TimeoutExpired:
            code = -1
        if code == 0 and name in LOAD_NOTE:
            note_load(LOAD_NOTE[name], load)
        outcomes.append(f"{name}: {'ok' if code == 0 else f'FAILED ({code})'} "
                        f"in {time.monotonic() - started:.0f} s")  # fmt: skip
        print(outcomes[-1], flush=True)
    print("\n".join(outcomes))
    if any("FAILED" in o for o in outcomes):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
