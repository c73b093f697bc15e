"""The product in a real browser: sign in, book in the sandbox by tapping, the schedule, the inbox
updating live, attendance on the dashboard, and the same pages in Arabic at phone width."""

import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from customers.tests.factories import CustomerFactory
from messaging.tests.browser.conftest import PHONE, has_no_horizontal_overflow, sign_in
from messaging.whatsapp import sandbox
from reservations.models import Reservation
from reservations.tests.factories import ReservationFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("clinic_now"),
]

SUNDAY = dt.date(2026, 11, 22)
MONDAY = dt.date(2026, 11, 23)


def tap(page, title: str) -> None:
    """Tap the button or list row with this title in the bot's latest message."""
    latest = page.locator("#thread .msg.out").last
    button = latest.locator(".choices button", has_text=re.compile(rf"^{re.escape(title)}"))
    expect(button.first).to_be_visible()
    count = page.locator("#thread .msg").count()
    button.first.click()
    # The tap shows as the customer's message, then the bot's answer after it.
    expect(page.locator("#thread .msg")).not_to_have_count(count)
    expect(page.locator("#thread .msg").last).to_have_class(re.compile(r"\bout\b"))


def test_sign_in_book_in_the_sandbox_by_tapping_and_see_it_on_the_schedule(
    browser_page, sandbox_on, worker, staff_user
):
    page = browser_page()
    page.goto("/dashboard/")
    expect(page).to_have_url(re.compile(r"/admin/login/"))
    sign_in(page)
    expect(page.locator("h1")).to_contain_text("Today")

    page.goto("/sandbox/")
    page.fill("#name", "Sara Browser")
    page.fill("#text", "Hello")
    page.press("#text", "Enter")
    expect(page.locator("#thread .msg.out").last).to_contain_text("Welcome to")
    tap(page, "Book")
    tap(page, "Appointment")
    tap(page, "Mon 23 Nov")
    tap(page, "11:30 AM")
    tap(page, "Confirm")
    expect(page.locator("#thread .msg.out").last).to_contain_text(
        "booked for Monday 23 November 2026 at 11:30 AM"
    )
    expect(page.locator("#error")).to_have_text("")
    reservation = Reservation.objects.get(customer_id="966501234567")
    assert (reservation.date, reservation.time_slot) == (MONDAY, dt.time(11, 30))

    page.goto("/schedule/?date=2026-11-23")
    row = page.locator("main", has_text="Sara Browser")
    expect(row).to_be_visible()
    expect(page.locator("main")).to_contain_text("11:30")


def test_the_inbox_shows_a_customer_message_without_a_reload(
    browser_page, sandbox_on, worker, staff_user
):
    page = browser_page()
    sign_in(page)
    page.goto("/inbox/")
    expect(page.locator("#conversations")).to_contain_text("No conversations yet.")
    loaded_at = page.evaluate("performance.timeOrigin")

    sandbox.send_as_customer(
        wa_id="966505550101",
        name="Huda Live",
        text="Is the doctor in on Thursday?",
        webhook_url=f"{sandbox_on.url}/webhooks/whatsapp/",
    )
    row = page.locator("#c-966505550101")
    expect(row).to_contain_text("Huda Live", timeout=20_000)
    expect(row).to_contain_text("+966505550101")
    expect(page.locator("#conversations li.empty")).to_have_count(0)
    assert page.evaluate("performance.timeOrigin") == loaded_at, "the page was reloaded"

    row.locator("a").click()
    expect(page.locator("#transcript")).to_contain_text("Is the doctor in on Thursday?")


def test_arrived_and_no_show_on_the_dashboard_only_once_a_visit_has_started(
    browser_page, staff_user
):
    early = ReservationFactory(
        date=SUNDAY, time_slot=dt.time(11, 0), customer=CustomerFactory(customer_name="Early Amal")
    )
    later = ReservationFactory(
        date=SUNDAY, time_slot=dt.time(11, 30), customer=CustomerFactory(customer_name="Late Lina")
    )
    upcoming = ReservationFactory(
        date=SUNDAY, time_slot=dt.time(16, 0), customer=CustomerFactory(customer_name="Soon Mona")
    )
    page = browser_page()
    sign_in(page)

    not_started = page.locator(f"#reservation-{upcoming.pk}")
    expect(not_started).to_contain_text("not started yet")
    expect(not_started.locator("button")).to_have_count(0)

    page.locator(f"#reservation-{early.pk}").get_by_role("button", name="Arrived").click()
    expect(page.locator(f"#reservation-{early.pk} .attendance-arrived")).to_be_visible()
    page.locator(f"#reservation-{later.pk}").get_by_role("button", name="No-show").click()
    expect(page.locator(f"#reservation-{later.pk} .attendance-no_show")).to_be_visible()
    early.refresh_from_db()
    later.refresh_from_db()
    upcoming.refresh_from_db()
    assert (early.attendance, later.attendance, upcoming.attendance) == ("arrived", "no_show", None)

    page.locator(f"#reservation-{early.pk}").get_by_role("button", name="Undo").click()
    expect(
        page.locator(f"#reservation-{early.pk}").get_by_role("button", name="Arrived")
    ).to_be_visible()
    early.refresh_from_db()
    assert early.attendance is None


ARABIC_PAGES = [
    ("/dashboard/", "اليوم"),
    ("/schedule/?date=2026-11-22", None),
    ("/schedule/week/", None),
    ("/inbox/", "صندوق"),
    ("/inbox/966505550202/", None),
    ("/dashboard/events/", None),
]


def test_the_staff_pages_in_arabic_right_to_left_at_phone_width(
    browser_page, sandbox_on, worker, staff_user
):
    customer = CustomerFactory(wa_id="966505550202", customer_name="نورة")
    for slot in (dt.time(11, 0), dt.time(16, 0)):
        ReservationFactory(date=SUNDAY, time_slot=slot, customer=CustomerFactory())
    sandbox.send_as_customer(
        wa_id=customer.wa_id,
        name="نورة",
        text="أبغى موعد بكرة الساعة ٤ م لو سمحت، وهل عندكم تحليل دم شامل؟",
        webhook_url=f"{sandbox_on.url}/webhooks/whatsapp/",
    )
    page = browser_page(viewport=PHONE)
    sign_in(page)
    page.locator("form.language button[value=ar]").click()
    expect(page.locator("html")).to_have_attribute("dir", "rtl")

    for path, heading in ARABIC_PAGES:
        page.goto(path)
        expect(page.locator("html")).to_have_attribute("lang", "ar")
        expect(page.locator("html")).to_have_attribute("dir", "rtl")
        if heading:
            expect(page.locator("h1").first).to_contain_text(heading)
        assert has_no_horizontal_overflow(page), f"{path} scrolls sideways at 390 px"

    # The sandbox is a phone's chat, left to right in every language, and fits a phone too.
    page.goto("/sandbox/")
    page.fill("#wa_id", customer.wa_id)
    page.press("#wa_id", "Enter")
    page.dispatch_event("#wa_id", "change")
    expect(page.locator("#thread .msg.in").first).to_contain_text("أبغى موعد")
    expect(page.locator("#thread .msg.out").first).to_be_visible()
    assert has_no_horizontal_overflow(page), "the sandbox scrolls sideways at 390 px"
