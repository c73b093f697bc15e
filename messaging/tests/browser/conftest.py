"""A real browser (Debian's chromium driven by Playwright) on a live server, with a worker.

The server is pytest-django's `live_server` (threads in this process, on the test database);
the worker is a thread here that takes django-q2's tasks from the broker the way a `qcluster`
worker does (dequeue, run, acknowledge), so the sandbox's messages go the whole way: page ->
signed webhook -> queue -> worker -> bot -> the sandbox's fake Graph API -> page.

Every page opened through `browser_page` fails its test if the browser reports a Content
Security Policy violation (the staff pages allow no inline script or style).
"""

import datetime as dt
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import time_machine
from django.db import connections
from django.utils.module_loading import import_string
from django_q.brokers import get_broker
from django_q.signing import SignedPackage

from reservations.demo import seed_schedule

# Sunday 22 November 2026, 12:10 in Riyadh: the clinic opened at 11:00, so the day's first
# visits have started (arrived / no-show) and later ones have not.
NOW = dt.datetime(2026, 11, 22, 9, 10, tzinfo=dt.UTC)
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}

# Reported by the page itself, so a violation is seen even when the console says nothing.
CSP_LISTENER = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(e.violatedDirective + " " + (e.blockedURI || "inline"));
});
"""


class Worker(threading.Thread):
    """A django-q2 worker in a thread: dequeue, run, acknowledge, until stopped."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.stopping = threading.Event()
        self.errors: list[str] = []
        self.ran = 0
        # SQLite's in-memory test database exists only on the test's own connection, which
        # the live server's threads share too (Django's LiveServerThread does the same).
        main = connections["default"]
        in_memory = main.vendor == "sqlite" and main.is_in_memory_db()  # type: ignore[attr-defined]
        self.shared = main if in_memory else None
        if self.shared is not None:
            self.shared.inc_thread_sharing()

    def run(self) -> None:
        if self.shared is not None:
            connections["default"] = self.shared
        broker = get_broker()
        try:
            while not self.stopping.is_set():
                for ack_id, payload in broker.dequeue() or []:
                    task = SignedPackage.loads(payload)
                    func = task["func"]
                    try:
                        (import_string(func) if isinstance(func, str) else func)(
                            *task["args"], **task["kwargs"]
                        )
                    except Exception as exc:  # a worker logs and goes on; the test fails
                        self.errors.append(f"{func}: {exc!r}")
                    broker.acknowledge(ack_id)
                    self.ran += 1
        finally:
            if self.shared is None:
                connections.close_all()
            else:
                self.shared.dec_thread_sharing()

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=10)


@pytest.fixture
def clinic_now(settings) -> Iterator[Any]:
    """The demo clinic on a Sunday just after noon, the clock running."""
    settings.BOOKING_TYPES_OFFERED = [0, 1]
    settings.SHOW_HIJRI_DATES = False
    settings.STAFF_SESSION_IDLE_MINUTES = 0
    with time_machine.travel(NOW, tick=True) as traveller:
        seed_schedule()
        yield traveller


@pytest.fixture
def sandbox_on(live_server, settings):
    settings.WHATSAPP_SANDBOX = True
    settings.WHATSAPP_API_BASE_URL = f"{live_server.url}/sandbox/graph/v23.0"
    return live_server


@pytest.fixture
def worker(transactional_db) -> Iterator[Worker]:
    thread = Worker()
    thread.start()
    yield thread
    thread.stop()
    assert thread.errors == [], thread.errors


@pytest.fixture
def chromium(live_server, monkeypatch) -> Iterator[Any]:
    """A browser per test: Playwright's sync API keeps an event loop running in this thread
    while it is open, which Django would take for an async context (so only here, and with the
    ORM calls the test makes between page steps allowed)."""
    from playwright.sync_api import sync_playwright

    from conftest import chromium_path

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path())
        yield browser
        browser.close()


@pytest.fixture
def browser_page(chromium, live_server):
    """Open pages: `open_page(viewport=PHONE)`; each fails the test on a CSP violation or a
    script error."""
    contexts: list[Any] = []
    pages: list[tuple[Any, list[str]]] = []

    def open_page(viewport: dict[str, int] = DESKTOP) -> Any:
        context = chromium.new_context(viewport=viewport, base_url=live_server.url)
        context.set_default_timeout(15_000)
        context.add_init_script(CSP_LISTENER)
        contexts.append(context)
        page = context.new_page()
        problems: list[str] = []
        page.on(
            "console",
            lambda m: (
                problems.append(m.text)
                if m.type == "error" and "Content Security Policy" in m.text
                else None
            ),
        )
        page.on("pageerror", lambda exc: problems.append(f"script error: {exc}"))
        pages.append((page, problems))
        return page

    yield open_page
    found: list[str] = []
    for page, problems in pages:
        found += problems
        if not page.is_closed():
            found += page.evaluate("window.__cspViolations || []")
    for context in contexts:
        context.close()
    assert found == [], f"the browser reported: {found}"


def sign_in(page: Any) -> None:
    """Sign in as the `staff_user` fixture, through the login form."""
    page.goto("/admin/login/?next=/dashboard/")
    page.fill("#id_username", "reception")
    page.fill("#id_password", "pw-reception-1")
    page.click("input[type=submit]")
    page.wait_for_url("**/dashboard/")


def has_no_horizontal_overflow(page: Any) -> bool:
    return bool(
        page.evaluate(
            "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
        )
    )
