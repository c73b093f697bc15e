"""Bidirectional controls in names: stripped when stored, isolated wherever staff see them."""

import datetime as dt
import re

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from customers.models import Customer
from customers.names import BIDI_CONTROLS, clean_display_name
from customers.tests.factories import CustomerFactory
from messaging.models import NotificationEvent
from messaging.tests.factories import ConversationFactory
from reservations.tests.conftest import NOW, SUNDAY
from reservations.tests.factories import ReservationFactory, make_schedule

RLO = "\u202e"
NAME = f"{RLO}Evil Name"
TEXT = f"{RLO}Evil text"
# What may come right before a customer-supplied string: an element that isolates it.
ISOLATES = ("<bdi>", 'dir="auto">', "dir='auto'>", "\u2068")


@pytest.mark.parametrize("control", list(BIDI_CONTROLS))
def test_every_bidi_control_is_stripped_from_a_name(control):
    assert clean_display_name(f"  Sa{control}ra {control}") == "Sara"
    assert clean_display_name(control) is None
    assert clean_display_name(None) is None


@pytest.mark.django_db
def test_names_are_cleaned_however_they_are_stored():
    customer = CustomerFactory(customer_name=f"A{RLO}li", profile_name="\u2067Ali\u2069")
    customer.refresh_from_db()
    assert (customer.customer_name, customer.profile_name) == ("Ali", "Ali")
    changed = customer.take_profile_name("\u200fAli\u200e")
    assert changed == []  # the same name once cleaned: nothing to save
    assert customer.take_profile_name(f"{RLO}Omar") == ["profile_name", "customer_name"]
    customer.save()
    customer.refresh_from_db()
    assert customer.customer_name == "Omar"


@pytest.fixture
def clinic(db):
    """The demo clinic's week, on a Sunday morning before it opens."""
    with time_machine.travel(NOW, tick=False):
        make_schedule()
        yield


def test_the_name_staff_enter_when_booking_is_cleaned(staff_client, clinic):
    response = staff_client.post(
        reverse("reservations:book"),
        {
            "wa_id": "966501234567",
            "customer_name": f"{RLO}Noura\u2066",
            "date": SUNDAY.isoformat(),
            "time_slot": "11:00",
            "type": "0",
        },
    )
    assert response.status_code == 302
    assert Customer.objects.get(pk="966501234567").customer_name == "Noura"


def assert_isolated(html: str, text: str, page: str) -> None:
    found = [m.start() for m in re.finditer(re.escape(text), html)]
    assert found, f"{text!r} not on {page}"
    for start in found:
        before = html[max(0, start - 40) : start]
        assert before.endswith(ISOLATES), f"{page}: {text!r} not isolated after {before!r}"


@pytest.fixture
def stored_before_the_fix(clinic):
    """A customer whose name (and message) went in before names were cleaned."""
    customer = CustomerFactory(wa_id="966501234567")
    Customer.objects.filter(pk=customer.pk).update(
        customer_name=NAME,
        needs_staff_since=timezone.now(),
        last_inbound_at=timezone.now(),
        last_message_at=timezone.now(),
    )
    ConversationFactory(customer=customer, role="user", message=TEXT, created_at=timezone.now())
    ReservationFactory(customer=customer, date=SUNDAY, time_slot=dt.time(11))
    NotificationEvent.objects.create(
        event_type="handoff_requested", ts_iso="2026", data={"name": NAME}, wa_id=customer.pk
    )
    return customer


@pytest.mark.parametrize(
    ("page", "texts"),
    [
        ("/schedule/", [NAME]),
        ("/schedule/week/", [NAME]),
        ("/inbox/", [NAME, TEXT]),
        ("/inbox/966501234567/", [NAME, TEXT]),
        ("/dashboard/", [NAME]),
        ("/dashboard/events/", [NAME]),
        ("/admin/customers/customer/", [NAME]),
        ("/admin/reservations/reservation/", [NAME]),
        ("/admin/messaging/conversation/", [NAME, TEXT]),
    ],
)
def test_every_staff_page_isolates_what_customers_wrote(
    staff_client, stored_before_the_fix, page, texts
):
    html = staff_client.get(page).content.decode()
    for text in texts:
        assert_isolated(html, text, page)


def test_the_inbox_poll_isolates_too(staff_client, stored_before_the_fix):
    since = (timezone.now() - dt.timedelta(hours=1)).isoformat()
    rows = staff_client.get(reverse("messaging:inbox-updates"), {"since": since}).json()["rows"]
    assert_isolated(rows[0]["html"], NAME, "inbox poll")
