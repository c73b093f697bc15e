"""PostgreSQL restarted under webhook load: what Meta was told (200 or 5xx) against what is stored.

    .venv/bin/python bench/faults/pg_restart.py

Creates its own cluster (`pg_createcluster 15 faults --port 5440`; never the shared one on 5432),
runs gunicorn (port 8069) against it, POSTs unique signed messages at a steady rate from 8
threads, restarts the cluster twice (`pg_ctlcluster ... restart`, fast mode) during the run, then
checks every message that got a 200 is in the queue. Drops the cluster at the end. Prints JSON.
"""

import argparse
import hashlib
import hmac
import http.client
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import common

CLUSTER, PORT, WEB_PORT = "faults", 5440, 8069
SECRET = "pg-restart"  # noqa: S105 (signs the run's own webhooks)
URL = f"postgres://postgres@127.0.0.1:{PORT}/clinic_faults"


def ctl(action: str) -> None:
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", "15", CLUSTER, action, "-m", "fast"]
        if action != "start"
        else ["pg_ctlcluster", "--skip-systemctl-redirect", "15", CLUSTER, "start"],
        check=True,
        capture_output=True,
    )


def body(n: int) -> tuple[str, bytes, str]:
    wamid = f"wamid.PGR{n:06d}{uuid.uuid4().hex[:8]}"
    data = {
        "object": "whatsapp_business_account",
        "entry": [{"id": "1", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "1555", "phone_number_id": "100000000000001"},
            "contacts": [{"profile": {"name": "R"}, "wa_id": f"96651{n % 500:07d}"}],
            "messages": [{"from": f"96651{n % 500:07d}", "id": wamid,
                          "timestamp": str(int(time.time())), "type": "text",
                          "text": {"body": "hello"}}],
        }}]}],
    }  # fmt: skip
    raw = json.dumps(data).encode()
    return wamid, raw, "sha256=" + hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()


def post(raw: bytes, signature: str) -> int:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", WEB_PORT, timeout=30)
        conn.request("POST", "/webhooks/whatsapp/", body=raw,
                     headers={"Content-Type": "application/json",
                              "X-Hub-Signature-256": signature})  # fmt: skip
        return conn.getresponse().status
    except OSError:
        return 0  # no answer at all: Meta retries that too
    finally:
        conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--rate", type=int, default=100)
    args = parser.parse_args()
    subprocess.run(
        ["pg_createcluster", "15", CLUSTER, "--port", str(PORT), "--", "--auth=trust"],
        check=True, capture_output=True,
    )  # fmt: skip
    gunicorn = None
    try:
        ctl("start")
        subprocess.run(["psql", f"postgres://postgres@127.0.0.1:{PORT}/postgres", "-qc",
                        "CREATE DATABASE clinic_faults"], check=True)  # fmt: skip
        env = {**os.environ, "DATABASE_URL": URL, "DEBUG": "false",
               "SECRET_KEY": "bench-secret-key-" + "x" * 40, "ALLOWED_HOSTS": "127.0.0.1",
               "SECURE_SSL_REDIRECT": "false",
               "WHATSAPP_SANDBOX": "false", "WHATSAPP_APP_SECRET": SECRET,
               "LOG_LEVEL": "CRITICAL", "Q_LOG_LEVEL": "CRITICAL"}  # fmt: skip
        subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=common.ROOT, env=env,
                       check=True)  # fmt: skip
        gunicorn = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "config.wsgi", "--bind", f"127.0.0.1:{WEB_PORT}",
             "--workers", "3", "--log-level", "critical"],
            cwd=common.ROOT, env=env,
        )  # fmt: skip
        time.sleep(3)
        total = args.seconds * args.rate
        answers: dict[str, int] = {}
        lock = threading.Lock()
        start = time.time()

        def one(n: int) -> None:
            time.sleep(max(0.0, start + n / args.rate - time.time()))
            wamid, raw, signature = body(n)
            status = post(raw, signature)
            with lock:
                answers[wamid] = status

        def restarts() -> None:
            for at in (args.seconds * 0.3, args.seconds * 0.65):
                time.sleep(max(0.0, start + at - time.time()))
                ctl("restart")

        chaos = threading.Thread(target=restarts)
        chaos.start()
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(one, range(total)))
        chaos.join()
        stored = set(
            subprocess.run(["psql", URL, "-tAc", "SELECT message_id FROM inbound_message_queue"],
                           capture_output=True, text=True, check=True).stdout.split()
        )  # fmt: skip
        codes = Counter(answers.values())
        acknowledged_lost = [w for w, s in answers.items() if s == 200 and w not in stored]
        refused_but_stored = [w for w, s in answers.items() if s != 200 and w in stored]
        print(json.dumps({
            "posts": total, "rate": args.rate, "restarts": 2,
            "answers": {str(k): v for k, v in sorted(codes.items())},
            "acknowledged (200) but lost": len(acknowledged_lost),
            "refused (5xx / no answer) yet stored (harmless: the retry is a no-op)":
                len(refused_but_stored),
            "500 answers": codes.get(500, 0),
        }, indent=2))  # fmt: skip
    finally:
        if gunicorn is not None:
            gunicorn.terminate()
            gunicorn.wait(timeout=30)
        subprocess.run(["pg_dropcluster", "--stop", "15", CLUSTER], check=False)


if __name__ == "__main__":
    main()
