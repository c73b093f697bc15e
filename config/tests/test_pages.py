"""What each role sees: every link, form and polled URL on every staff page is one the role may
use (no "Download CSV" for a receptionist), the error pages wear the site's layout in both
languages, a refusal is logged in one line, and the favicon is served.

The page walk reads the pages, so a control added later is covered without touching this file.
"""

import datetime as dt
import io
import logging
import sys
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission
from django.template import loader
from django.test import Client, RequestFactory
from django.urls import Resolver404, resolve
from django.utils import timezone, translation
from django.views.defaults import server_error

from config.logfilters import ClientErrorsInOneLine
from config.permissions import MANAGER, RECEPTIONIST, setup_roles
from config.tests.test_security import (
    PUBLIC,
    ROLES,
    Route,
    all_routes,
    concrete_urls,
    expected_access,
    is_login_redirect,
    make_staff,
)
from customers.tests.factories import CustomerFactory
from messaging.models import Conversation, InboundMessage
from messaging.tests.factories import ConversationFactory, InboundMessageFactory
from reservations.tests.factories import ReservationFactory, VacationPeriodFactory

# A front desk that may look but not change: the schedule, the inbox and the events only.
VIEWER = "viewer"
VIEWER_PERMISSIONS = ["view_schedule", "use_inbox", "view_events"]


class Controls(HTMLParser):
    """The URLs a page lets its user reach: links, form targets and URLs its scripts poll."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, str]] = []  # (what, url)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "a" and values.get("href"):
            self.found.append(("link", values["href"] or ""))
        if tag == "form" and values.get("action"):
            method = (values.get("method") or "get").lower()
            self.found.append((f"{method} form", values["action"] or ""))
        for name, value in attrs:
            if name.startswith("data-") and value and value.startswith("/"):
                self.found.append((name, value))


def controls(html: str) -> list[tuple[str, str]]:
    parser = Controls()
    parser.feed(html)
    return parser.found


@pytest.fixture
def busy_day(objects):
    """Rows behind every conditional control: failures, hand-offs, a vacation today."""
    customer = CustomerFactory(wa_id="966508888888", needs_staff_since=timezone.now())
    ConversationFactory(
        customer=customer, role=Conversation.Role.ASSISTANT, status=Conversation.Status.FAILED
    )
    InboundMessageFactory(wa_id=customer.wa_id, status=InboundMessage.Status.FAILED)
    today = timezone.localdate()
    ReservationFactory(customer=customer, date=today)
    VacationPeriodFactory(start_date=today, end_date=today + dt.timedelta(days=1))
    return objects


def signed_in(role: str) -> Any:
    setup_roles()
    if role != VIEWER:
        return make_staff(role)
    user = make_staff("no group", username="viewer")
    user.user_permissions.set(Permission.objects.filter(codename__in=VIEWER_PERMISSIONS))
    return type(user).objects.get(pk=user.pk)


def pages_for(user: Any, objects: dict[str, Any]) -> list[str]:
    """Every page the user may open: staff pages, the admin's index, lists and change pages."""
    urls = ["/admin/", "/no-such-page/", "/admin/auth/user/"]  # and a 404, a 403 for most
    for route in all_routes():
        if route.key in PUBLIC or route.callback.__name__ in ("sandbox_graph_messages",):
            continue
        if route.route.startswith("admin/") and not route.name.endswith(("_changelist", "_change")):
            continue
        if expected_access(route, user) is True:
            urls += concrete_urls(route, objects)
    return urls


@pytest.mark.django_db
@pytest.mark.parametrize("role", [*ROLES, VIEWER])
def test_every_control_on_every_page_is_one_the_role_may_use(busy_day, settings, role):
    settings.WHATSAPP_SANDBOX = True
    user = signed_in(role)
    client = Client()
    client.force_login(user)
    followed: dict[str, int] = {}
    pages = 0
    for page_url in pages_for(user, busy_day):
        page = client.get(page_url)
        if not page.get("Content-Type", "").startswith("text/html"):
            continue
        pages += 1
        for what, href in controls(page.content.decode()):
            target = urljoin(page_url, href)
            parts = urlsplit(target)
            if (
                parts.scheme
                or parts.netloc
                or not parts.path
                or parts.path.startswith("/" + settings.STATIC_URL.strip("/") + "/")
            ):
                continue  # another site, the same page (?query, #fragment), a static file
            where = f"{what} {target} on {page_url} as {role}"
            try:
                match = resolve(parts.path)
            except Resolver404:
                pytest.fail(f"dead {where}")
            route = Route(match.route, match.view_name if match.url_name else "", match.func)
            if route.key in PUBLIC:
                continue
            assert expected_access(route, user) is not False, f"forbidden {where}"
            if what == "link" and route.key not in followed:
                response = client.get(target)
                followed[route.key] = response.status_code
                assert response.status_code != 403, f"403 behind {where}"
                assert not is_login_redirect(response), where
    assert pages >= (3 if role == "no group" else 8)


@pytest.mark.django_db
def test_a_receptionist_sees_no_csv_download_and_no_log_links(busy_day, client):
    client.force_login(signed_in(RECEPTIONIST))
    page = client.get("/dashboard/").content.decode()
    assert "Download CSV" not in page
    assert "/schedule/export" not in page
    assert "/admin/messaging/" not in page
    client.force_login(signed_in(MANAGER))
    page = client.get("/dashboard/").content.decode()
    assert "Download CSV" in page
    assert "/admin/messaging/inboundmessage/" in page


@pytest.mark.django_db
def test_the_start_page_is_the_first_page_the_user_may_open(client):
    assert "/admin/login/" in client.get("/", follow=True).redirect_chain[-1][0]
    client.force_login(signed_in("no group"))
    assert client.get("/")["Location"] == "/admin/"
    client.force_login(signed_in(RECEPTIONIST))
    assert client.get("/")["Location"] == "/dashboard/"
    inbox_only = make_staff("no group", username="inbox-only")
    inbox_only.user_permissions.set(Permission.objects.filter(codename="use_inbox"))
    client.force_login(inbox_only)
    assert client.get("/")["Location"] == "/inbox/"


# ---------------------------------------------------------------------------- error pages
def assert_site_page(response: Any, status: int, text: str, *, rtl: bool = False) -> None:
    html = response.content.decode()
    assert response.status_code == status
    assert '<header class="top">' in html, "not in the site's layout"
    assert 'rel="home"' in html, "no way back"
    assert text in html
    assert ('dir="rtl"' in html) == rtl


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "forbidden", "missing", "bad"),
    [
        ("en", "Not allowed", "Page not found", "Bad request"),
        ("ar", "غير مسموح", "الصفحة غير موجودة", "طلب غير صالح"),
    ],
)
def test_error_pages_use_the_site_layout_and_language(client, language, forbidden, missing, bad):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    rtl = language == "ar"
    client.force_login(signed_in(RECEPTIONIST))
    assert_site_page(client.get("/admin/auth/user/"), 403, forbidden, rtl=rtl)
    assert_site_page(client.get("/schedule/export.csv"), 403, forbidden, rtl=rtl)
    assert_site_page(client.get("/no-such-page/"), 404, missing, rtl=rtl)
    assert_site_page(client.get("/", HTTP_HOST="elsewhere.example"), 400, bad, rtl=rtl)
    page = client.get("/admin/auth/user/").content.decode()
    assert "Inbox" in page or "صندوق الوارد" in page  # the menu of what the role may open
    client.logout()  # forgets the cookies too
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    assert_site_page(client.get("/no-such-page/"), 404, missing, rtl=rtl)


@pytest.mark.django_db
def test_an_expired_form_gets_the_site_layout(receptionist):
    client = Client(enforce_csrf_checks=True)
    response = client.post("/admin/login/", {"username": "desk", "password": "x"})
    assert_site_page(response, 403, "The form has expired")
    assert "<form" not in response.content.decode()  # no request: no forms that would fail


@pytest.mark.parametrize("language", ["en", "ar"])
def test_the_500_page_needs_no_database_and_no_request(language):
    """No django_db mark: any query would fail this test."""
    with translation.override(language):
        assert "500" in loader.get_template("500.html").render()
        response = server_error(RequestFactory().get("/"))
    html = response.content.decode()
    assert response.status_code == 500
    assert '<header class="top">' in html
    assert 'rel="home"' in html
    assert "<form" not in html
    assert ('dir="rtl"' in html) == (language == "ar")
    assert ("حدث خطأ" in html) == (language == "ar")


# ---------------------------------------------------------------------------- console and favicon
@pytest.fixture
def console() -> Any:
    handler = next(h for h in logging.getLogger().handlers if h.get_name() == "console")
    buffer = io.StringIO()
    previous = handler.setStream(buffer)  # type: ignore[attr-defined]
    yield buffer
    handler.setStream(previous)  # type: ignore[attr-defined]


@pytest.mark.django_db
def test_refusals_and_missing_pages_log_one_line_without_a_traceback(client, console):
    client.force_login(signed_in(RECEPTIONIST))
    assert client.get("/admin/auth/user/").status_code == 403
    assert client.get("/schedule/export.csv").status_code == 403
    assert client.get("/no-such-page/").status_code == 404
    assert client.get("/", HTTP_HOST="elsewhere.example").status_code == 400
    lines = console.getvalue().splitlines()
    assert "Traceback" not in console.getvalue()
    assert sum("Forbidden" in line for line in lines) == 2
    assert len(lines) <= 4


def test_a_server_error_keeps_its_traceback():
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        record = logging.LogRecord("django.request", 40, "", 0, "x", (), sys.exc_info())
    record.status_code = 500
    assert ClientErrorsInOneLine().filter(record)
    assert record.exc_info
    record.status_code = 403
    assert ClientErrorsInOneLine().filter(record)
    assert record.exc_info is None


@pytest.mark.django_db
def test_the_favicon_is_served_and_linked(client, staff_client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/x-icon"
    assert b"".join(response).startswith(b"\x00\x00\x01\x00")
    for url in ("/dashboard/", "/admin/", "/admin/login/", "/no-such-page/"):
        page = (staff_client if url != "/admin/login/" else Client()).get(url)
        assert '<link rel="icon" href="/favicon.ico"' in page.content.decode(), url
