"""Every fault injection run, with the outcome written to the "faults" section of RESULTS.md.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
        .venv/bin/python bench/faults/run_faults.py

1. pytest, on PostgreSQL, with the trial counts raised: every payload delivered 3 times at once
   out of order (test_faults), 50 concurrent bookings of one place x FAULT_TRIALS=100
   (test_faults), the hypothesis fuzzer with FUZZ_EXAMPLES=2000 (test_fuzz), a worker killed
   after recording (test_worker_crash), capacity races (test_concurrency);
2. pipeline_faults.py: kill -9 of the worker 20 times mid-stream; a flaky, rate-limiting and
   hanging Graph API;
3. pg_restart.py: PostgreSQL restarted twice under webhook load (its own cluster on port 5440).
"""

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import common

FAULTS = common.ROOT / "bench" / "faults"
TESTS = [
    "messaging/tests/test_faults.py",
    "messaging/tests/test_fuzz.py",
    "messaging/tests/test_worker_crash.py",
    "reservations/tests/test_concurrency.py",
]


def run_json(script: str, env: dict[str, str], limit: int) -> dict | str:
    try:
        result = subprocess.run([sys.executable, str(FAULTS / script)], cwd=common.ROOT, env=env,
                                capture_output=True, text=True, timeout=limit)  # fmt: skip
    except subprocess.TimeoutExpired:
        return f"did not finish in {limit} s"
    match = re.search(r"^\{.*\}", result.stdout, re.S | re.M)
    if result.returncode != 0 or match is None:
        return f"failed ({result.returncode}): {result.stderr.strip()[-800:]}"
    return json.loads(match.group(0))


def main() -> None:
    server = common.server_url()
    env = {**os.environ, "DATABASE_URL": server}
    started = time.time()
    load = common.load()
    pytest_env = {**env, "DATABASE_URL": common.database_url(server, "clinic_bench_faults_t"),
                  "FAULT_TRIALS": "100", "FUZZ_EXAMPLES": "2000"}  # fmt: skip
    tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *TESTS],
        cwd=common.ROOT, env=pytest_env, capture_output=True, text=True,
    )  # fmt: skip
    summary = (tests.stdout.strip().splitlines() or ["no output"])[-1]
    pipeline = run_json("pipeline_faults.py", env, 900)
    restart = run_json("pg_restart.py", env, 300)
    fence = "```"
    body = "\n".join(
        [
            f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {common.machine()} "
            f"(load before: {load}); {time.time() - started:.0f} s in all. Command: "
            "`DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python "
            "bench/faults/run_faults.py` (part of `make bench`).",
            "",
            "**Tests with raised trial counts** (FAULT_TRIALS=100, FUZZ_EXAMPLES=2000, "
            f"PostgreSQL): `{' '.join(TESTS)}` -> **{summary}**. They assert: every payload "
            "delivered 3 times concurrently and shuffled (statuses before their messages) gives "
            "queue rows == unique message ids, one user row per message, each reply sent once, "
            "no 500; 50 customers booking the last place of a slot at once, 100 trials, exactly "
            "one booking each time and 49 `slot_full`; hypothesis-generated signed bodies (real "
            "payloads with values injected anywhere, random JSON, bad UTF-8, 200,000-deep "
            "nesting, multi-MB strings) are stored or get a 4xx with an error message, and the "
            "drain handles whatever was stored without crashing.",
            "",
            "**Worker killed (kill -9) mid-stream, then a flaky Graph API** "
            "(`bench/faults/pipeline_faults.py`):",
            "",
            fence + "json",
            json.dumps(pipeline, indent=2, ensure_ascii=False),
            fence,
            "",
            "**PostgreSQL restarted under load** (`bench/faults/pg_restart.py`, own cluster on "
            "port 5440):",
            "",
            fence + "json",
            json.dumps(restart, indent=2, ensure_ascii=False),
            fence,
        ]
    )
    common.write_section("faults", body)
    print(body)
    if tests.returncode != 0:
        print(tests.stdout[-3000:])
        raise SystemExit(1)


if __name__ == "__main__":
    main()
