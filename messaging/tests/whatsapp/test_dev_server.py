"""`make run` on any port: the real web server and worker, booking through the sandbox over HTTP.

The server and the worker run as child processes with the environment the Makefile gives them
(HOST and PORT, nothing else about the address), on their own SQLite file, so this is what a new
user gets from `make run PORT=...`.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from django.utils import timezone

BASE_DIR = Path(__file__).resolve().parents[3]
CUSTOMER = "966501112233"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class DevServer:
    def __init__(self, tmp_path: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            # Only what `make run` passes, plus a throwaway database; WHATSAPP_API_BASE_URL is
            # left unset (an explicit empty value wins over any .env), as in .env.example.
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
            "DEBUG": "true",
            "SECRET_KEY": "",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "WHATSAPP_SANDBOX": "true",
            "WHATSAPP_API_BASE_URL": "",
            "WHATSAPP_VERIFY_TOKEN": "dev-verify-token",
            "WHATSAPP_APP_SECRET": "dev-app-secret",
            "WHATSAPP_ACCESS_TOKEN": "dev-access-token",
            "WHATSAPP_PHONE_NUMBER_ID": "100000000000001",
            "BOOKING_TYPES_OFFERED": "0",
            "LANGUAGE_CODE": "en",
            "Q_WORKERS": "1",
            "LOG_LEVEL": "WARNING",
        }
        self.env.pop("TEST_DATABASE_NAME", None)
        self.processes: list[subprocess.Popen[str]] = []
        self.logs = tmp_path

    def manage(self, *args: str) -> str:
        result = subprocess.run(  # noqa: S603
            [sys.executable, "manage.py", *args],
            cwd=BASE_DIR,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        return result.stdout

    def start(self, name: str, *args: str) -> None:
        log = (self.logs / f"{name}.log").open("w")
        self.processes.append(
            subprocess.Popen(  # noqa: S603
                [sys.executable, "manage.py", *args],
                cwd=BASE_DIR,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                text=True,
                start_new_session=True,
            )
        )

    def log(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text()[-3000:]

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGINT)
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


@pytest.fixture
def dev_server(tmp_path: Path) -> Iterator[DevServer]:
    server = DevServer(tmp_path)
    try:
        yield server
    finally:
        server.stop()


def wait_for(check: Any, *, timeout: float, what: str, logs: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := check():
            return found
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}\n{logs}")


class Phone:
    """The sandbox chat page, driven the way its script does (JSON over the staff session)."""

    def __init__(self, server: DevServer) -> None:
        self.server = server
        self.http = requests.Session()
        login = f"{server.url}/admin/login/"
        self.http.get(login, timeout=10)
        answer = self.http.post(
            login,
            data={
                "username": "demo",
                "password": "demo-clinic",
                "csrfmiddlewaretoken": self.http.cookies["csrftoken"],
                "next": "/sandbox/",
            },
            headers={"Referer": login},
            timeout=10,
        )
        assert answer.url.endswith("/sandbox/"), answer.text[:500]
        self.seen = 0

    def send(self, **data: Any) -> None:
        answer = self.http.post(
            f"{self.server.url}/sandbox/send/",
            json={"wa_id": CUSTOMER, "name": "Sara", **data},
            headers={"X-CSRFToken": self.http.cookies["csrftoken"]},
            timeout=10,
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["webhook_status"] == 200

    def thread(self) -> list[dict[str, Any]]:
        answer = self.http.get(
            f"{self.server.url}/sandbox/thread/", params={"wa_id": CUSTOMER}, timeout=10
        )
        return answer.json()["messages"]

    def next_reply(self) -> dict[str, Any]:
        """The bot's next message (waits for the worker to answer through the fake Graph API)."""

        def reply() -> dict[str, Any] | None:
            out = [m for m in self.thread() if m["direction"] == "out" and m["id"] > self.seen]
            return out[-1] if out else None

        message = wait_for(
            reply,
            timeout=60,
            what="the bot's reply",
            logs=self.server.log("qcluster") + self.server.log("runserver"),
        )
        time.sleep(0.5)  # a reply may come in several messages: take the last one
        message = reply() or message
        self.seen = message["id"]
        return message

    def tap(self, message: dict[str, Any], choice: dict[str, Any]) -> None:
        self.send(reply={**choice, "context": message["wa_message_id"]})


def choices(message: dict[str, Any]) -> list[dict[str, str]]:
    body = message["body"]
    interactive = body.get("interactive") or {}
    if interactive.get("type") == "button":
        return [
            {"kind": "button_reply", "id": b["reply"]["id"], "title": b["reply"]["title"]}
            for b in interactive["action"]["buttons"]
        ]
    if interactive.get("type") == "list":
        return [
            {"kind": "list_reply", "id": row["id"], "title": row["title"]}
            for section in interactive["action"]["sections"]
            for row in section["rows"]
        ]
    return []


def text_of(message: dict[str, Any]) -> str:
    body = message["body"]
    if body["type"] == "text":
        return body["text"]["body"]
    return body.get("interactive", {}).get("body", {}).get("text", "")


def test_make_run_on_any_port_books_through_the_sandbox(dev_server: DevServer) -> None:
    dev_server.manage("migrate", "--noinput")
    dev_server.manage("setup_roles")
    printed = dev_server.manage("seed_demo")
    assert f"{dev_server.url}/sandbox/" in printed  # the console's links name the real port
    assert ":8000" not in printed
    dev_server.start("runserver", "runserver", f"127.0.0.1:{dev_server.port}", "--noreload")
    dev_server.start("qcluster", "qcluster")

    def up() -> bool:
        try:
            return requests.get(f"{dev_server.url}/admin/login/", timeout=2).status_code == 200
        except requests.ConnectionError:
            return False

    wait_for(up, timeout=60, what="the web server", logs=dev_server.log("runserver"))
    phone = Phone(dev_server)

    phone.send(text="hello")
    menu = phone.next_reply()
    book = next(c for c in choices(menu) if c["title"] == "Book")
    phone.tap(menu, book)
    # The demo offers several services: the service and who come first (the first of each,
    # "Anyone" first), then a day (not today, whose first time may be over by the time it is
    # tapped), then a time, until Confirm.
    today = timezone.localdate().isoformat()
    for _step in range(6):
        reply = phone.next_reply()
        offered = choices(reply)
        confirm = next((c for c in offered if c["title"] == "Confirm"), None)
        if confirm is not None:
            phone.tap(reply, confirm)
            break
        days = [c for c in offered if c["id"].startswith("bk:d:")]
        later = [c for c in days if not c["id"].startswith(f"bk:d:{today}")]
        phone.tap(reply, (later or days or offered)[0])
    booked = phone.next_reply()
    assert "Your appointment is booked" in text_of(booked)
    # The fake Graph API's status webhooks reached this server too: the ticks move on.
    wait_for(
        lambda: any(m["status"] in {"delivered", "read"} for m in phone.thread()[-1:]),
        timeout=30,
        what="a delivered tick",
    )
