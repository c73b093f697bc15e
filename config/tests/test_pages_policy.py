"""Staff pages under a Content-Security-Policy (no inline script or style), and staff sessions
that end on a shared front-desk PC."""

import datetime as dt
import re
from pathlib import Path

import pytest
import time_machine
from django.apps import apps
from django.conf import settings
from django.contrib.staticfiles import finders
from django.test import Client

from customers.tests.factories import CustomerFactory
from messaging.tests.inbox.test_selectors import wrote

pytestmark = pytest.mark.django_db

STAFF_PAGES = [
    "/dashboard/",
    "/dashboard/events/",
    "/schedule/",
    "/schedule/week/",
    "/inbox/",
    "/inbox/966501234567/",
    "/admin/",
    "/admin/customers/customer/",
    "/admin/customers/customer/966501234567/change/",
    "/admin/reservations/reservation/",
]
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
INLINE_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.IGNORECASE)
INLINE_STYLE = re.compile(r"<style\b|\sstyle\s*=", re.IGNORECASE)
BLOCK_STYLE = re.compile(r"\{%\s*block\s+style\s*%\}")


@pytest.fixture
def customer():
    customer = CustomerFactory(wa_id="966501234567", customer_name="Sara")
    wrote(customer, "hello")
    return customer


@pytest.mark.parametrize("url", STAFF_PAGES)
def test_staff_pages_send_the_policy_and_hold_no_inline_script_or_style(
    staff_client, customer, url
):
    response = staff_client.get(url)
    assert response.status_code == 200, url
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "style-src 'self'" in policy
    assert "unsafe-inline" not in policy
    html = response.content.decode()
    assert not INLINE_SCRIPT.search(html), INLINE_SCRIPT.search(html)
    assert not INLINE_HANDLER.search(html), INLINE_HANDLER.search(html)
    assert not INLINE_STYLE.search(html), INLINE_STYLE.search(html)


# The sandbox (DEBUG only) is one file with its script inline and sends a looser policy of its own.
POLICY_EXEMPT_TEMPLATES = {"messaging/sandbox.html"}


def project_templates() -> list[Path]:
    roots = [Path(settings.BASE_DIR) / "templates"]
    roots += [Path(app.path) / "templates" for app in apps.get_app_configs()]
    roots = [
        r for r in roots if r.is_dir() and ".venv" not in r.parts and "site-packages" not in r.parts
    ]
    return [path for root in roots for path in sorted(root.rglob("*.html"))]


def test_no_template_holds_inline_script_style_or_handlers():
    """The policy would block them: a page's script or style goes in a static file, linked from
    `{% block head %}` (a `{% block style %}` would be dropped: base.html has none)."""
    checked = 0
    for path in project_templates():
        name = str(path).split("/templates/", 1)[1]
        if name in POLICY_EXEMPT_TEMPLATES:
            continue
        text = path.read_text()
        for pattern in (INLINE_SCRIPT, INLINE_HANDLER, INLINE_STYLE, BLOCK_STYLE):
            assert not pattern.search(text), f"{name}: {pattern.search(text)}"
        checked += 1
    assert checked > 10


def test_the_polling_scripts_and_styles_are_static_files(staff_client, customer):
    for url, files in [
        ("/inbox/", ["messaging/inbox.js", "messaging/bell.js", "messaging/inbox.css"]),
        ("/inbox/966501234567/", ["messaging/conversation.js", "messaging/conversation.css"]),
        ("/dashboard/", ["site.css", "messaging/dashboard.css"]),
        ("/schedule/", ["reservations/day.css"]),
    ]:
        html = staff_client.get(url).content.decode()
        for name in files:
            assert f'src="/static/{name}"' in html or f'href="/static/{name}"' in html, name
            assert finders.find(name), name


def test_the_login_page_carries_the_policy(client):
    response = client.get("/admin/login/")
    assert response.status_code == 200
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert not INLINE_SCRIPT.search(response.content.decode())


def test_a_400_page_carries_the_policy_too(staff_client):
    response = staff_client.get("/inbox/", {"before": "²"})
    assert response.status_code == 400
    assert "script-src 'self'" in response["Content-Security-Policy"]


# ---------------------------------------------------------------------------- sessions
def test_sessions_end_with_the_browser_and_within_a_working_day():
    assert settings.SESSION_EXPIRE_AT_BROWSER_CLOSE is True
    assert settings.SESSION_COOKIE_AGE <= 12 * 3600
    assert settings.STAFF_SESSION_IDLE_MINUTES == 30


def test_an_idle_staff_session_ends_and_polls_do_not_keep_it_alive(staff_user, customer, settings):
    settings.STAFF_SESSION_IDLE_MINUTES = 30
    client = Client()
    start = dt.datetime(2026, 11, 23, 8, 0, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False) as clock:
        client.force_login(staff_user)
        assert client.get("/inbox/").status_code == 200
        clock.shift(dt.timedelta(minutes=20))
        assert client.get("/inbox/").status_code == 200  # a page view: the clock starts again
        for _ in range(5):  # an open tab's polls for 50 minutes: not activity
            clock.shift(dt.timedelta(minutes=10))
            poll = client.get(
                "/inbox/updates/",
                {"since": "2026-11-23T08:00:00+00:00"},
                headers={"Accept": "application/json"},
            )
        assert poll.status_code == 302  # signed out: the poll is sent to the login
        response = client.get("/inbox/")
        assert response.status_code == 302
        assert response["Location"].startswith("/admin/login/")


def test_signing_in_again_after_an_idle_end_starts_a_new_clock(staff_user, customer, settings):
    settings.STAFF_SESSION_IDLE_MINUTES = 30
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    staff_user.set_password("pw-Desk-2026!")
    staff_user.save()
    client = Client()
    with time_machine.travel(dt.datetime(2026, 11, 23, 8, 0, tzinfo=dt.UTC), tick=False) as clock:
        client.force_login(staff_user)
        client.get("/inbox/")
        clock.shift(dt.timedelta(hours=2))
        assert client.get("/inbox/").status_code == 302  # idle: signed out
        client.post("/admin/login/", {"username": "reception", "password": "pw-Desk-2026!"})
        assert client.get("/inbox/").status_code == 200
        client.logout()
        clock.shift(dt.timedelta(hours=2))
        client.post("/admin/login/", {"username": "reception", "password": "pw-Desk-2026!"})
        assert client.get("/inbox/").status_code == 200  # a clock left from before is gone


def test_activity_keeps_a_session_open(staff_user, customer, settings):
    settings.STAFF_SESSION_IDLE_MINUTES = 30
    client = Client()
    with time_machine.travel(dt.datetime(2026, 11, 23, 8, 0, tzinfo=dt.UTC), tick=False) as clock:
        client.force_login(staff_user)
        for _ in range(6):
            clock.shift(dt.timedelta(minutes=25))
            assert client.get("/schedule/").status_code == 200


def test_no_idle_limit_when_set_to_zero(staff_user, customer, settings):
    settings.STAFF_SESSION_IDLE_MINUTES = 0
    client = Client()
    with time_machine.travel(dt.datetime(2026, 11, 23, 8, 0, tzinfo=dt.UTC), tick=False) as clock:
        client.force_login(staff_user)
        client.get("/inbox/")
        clock.shift(dt.timedelta(hours=3))
        assert client.get("/inbox/").status_code == 200
