"""Every URL built from a stored customer id works whatever the id holds.

Ids are Meta's, but an older intake (or a hand in the database) may have stored anything; one
`a/b` once made `/inbox/` and its poll answer 500 (NoReverseMatch) to every staff member.
"""

import datetime as dt
import posixpath

import pytest
from django.urls import resolve, reverse
from django.utils import timezone

from customers.converters import customer_id_from_url, customer_id_to_url
from customers.models import Customer
from customers.templatetags.customers import customer_admin_url
from customers.tests.factories import CustomerFactory
from messaging.tests.inbox.test_selectors import wrote
from reservations.tests.factories import ReservationFactory

HOSTILE_IDS = [
    "a/b",
    "..",
    ".",
    "with space",
    "<script>alert(1)</script>",
    "9665\u202e0000",
    "مرحبا",
    "updates",
    "~abc",
    "123/updates",
    "line\nbreak",
    "tab\there",
    "%2F%00",
    "?x=1#frag",
    "US.13491208655302741918",
    "x" * 1000,
]
PAGES = ["/inbox/", "/inbox/?needs=1", "/dashboard/", "/schedule/", "/schedule/week/"]
ADMIN_LISTS = [
    "/admin/customers/customer/",
    "/admin/reservations/reservation/",
    "/admin/messaging/conversation/",
]


@pytest.mark.parametrize("wa_id", ["", "966501234567", *HOSTILE_IDS, "0" * 5000])
def test_the_converter_makes_one_safe_segment_that_round_trips(wa_id):
    segment = customer_id_to_url(wa_id)
    assert "/" not in segment
    assert segment not in (".", "..")
    assert customer_id_from_url(segment) == wa_id


@pytest.mark.parametrize("segment", ["~!!", "~AA~", "~_w", "~7aCA", "~AA", "~A"])
def test_a_segment_that_is_not_ours_is_not_a_customer(segment):
    with pytest.raises(ValueError, match="not a customer id"):
        customer_id_from_url(segment)


@pytest.fixture
def hostile(db):
    today = timezone.localdate()
    customers = []
    for wa_id in HOSTILE_IDS:
        customer = CustomerFactory(
            wa_id=wa_id, customer_name=f"Name of {wa_id[:20]}", needs_staff_since=timezone.now()
        )
        Customer.objects.filter(pk=wa_id).update(last_inbound_at=timezone.now())
        wrote(customer, "hello", at=timezone.now())
        ReservationFactory(customer=customer, date=today, time_slot=dt.time(11))
        customers.append(customer)
    return customers


def test_every_staff_page_lists_hostile_ids(staff_client, hostile):
    for page in [
        *PAGES,
        *ADMIN_LISTS,
        f"/inbox/updates/?since={timezone.now().date()}T00:00:00%2B00:00",
    ]:
        response = staff_client.get(page)
        assert response.status_code == 200, page
    inbox = staff_client.get("/inbox/").content.decode()
    for customer in hostile:
        assert reverse("messaging:conversation", args=[customer.wa_id]) in inbox


@pytest.mark.parametrize("wa_id", HOSTILE_IDS)
def test_the_conversation_its_poll_and_its_controls_reach_the_right_customer(
    staff_client, hostile, wa_id
):
    page = reverse("messaging:conversation", args=[wa_id])
    assert resolve(page).kwargs == {"wa_id": wa_id}
    response = staff_client.get(page)
    assert response.status_code == 200
    assert response.context["customer"].pk == wa_id
    updates = reverse("messaging:conversation-updates", args=[wa_id])
    assert staff_client.get(updates, {"after": "0"}).status_code == 200
    for control in ("pause", "resume", "read"):
        response = staff_client.post(reverse(f"messaging:conversation-{control}", args=[wa_id]))
        assert response.status_code == 302
        assert response["Location"].startswith(page)
    conversation = staff_client.get(page).content.decode()
    admin_page = customer_admin_url(wa_id)
    assert f'href="{admin_page}"' in conversation
    assert posixpath.normpath(admin_page) + "/" == admin_page  # nothing a browser folds away
    response = staff_client.get(admin_page)
    assert response.status_code == 200
    assert response.context["original"].pk == wa_id
    listed = staff_client.get("/admin/customers/customer/", {"q": wa_id[:50]}).content.decode()
    assert f'href="{admin_page}' in listed  # (with the search kept after it)


def test_an_id_shaped_like_a_fixed_route_does_not_take_it_over(staff_client, hostile):
    assert resolve("/inbox/updates/").url_name == "inbox-updates"
    assert reverse("messaging:conversation", args=["updates"]) != "/inbox/updates/"
