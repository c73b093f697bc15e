"""The staff inbox pages: permissions, the list, a conversation, the reply box and the controls."""

import datetime as dt
import re

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from config.permissions import RECEPTIONIST, setup_roles
from customers.models import Customer
from customers.tests.factories import CustomerFactory
from messaging import services, tasks
from messaging.inbox import selectors, staff
from messaging.models import Conversation, NotificationEvent, SandboxMessage
from messaging.tests.factories import ConversationFactory
from messaging.tests.inbox.test_selectors import customers_by_recency, wrote
from messaging.tests.inbox.test_staff import queued_sends
from messaging.whatsapp import sandbox
from reservations.models import Reservation

WA_ID = "966501234567"


def url(name: str, wa_id: str | None = None) -> str:
    return reverse(f"messaging:{name}", args=[wa_id] if wa_id else [])


def recent_customer(**fields) -> Customer:
    """A customer who wrote five minutes ago (the 24-hour window is open)."""
    customer = CustomerFactory(wa_id=WA_ID, last_inbound_at=timezone.now(), **fields)
    wrote(customer, "I need a person", at=timezone.now() - dt.timedelta(minutes=5))
    return customer


# ---------------------------------------------------------------------------- permissions
@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "method"),
    [
        ("inbox", "get"),
        ("inbox-updates", "get"),
        ("conversation", "get"),
        ("conversation-updates", "get"),
        ("conversation-reply", "post"),
        ("conversation-read", "post"),
        ("conversation-pause", "post"),
        ("conversation-resume", "post"),
        ("conversation-block", "post"),
        ("conversation-unblock", "post"),
    ],
)
def test_every_inbox_url_needs_a_staff_login(client, name, method):
    customer = recent_customer()
    target = url(name, customer.wa_id) if name.startswith("conversation") else url(name)
    response = getattr(client, method)(target, {"text": "hi"})
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
    assert not Conversation.objects.filter(role="secretary").exists()
    customer.refresh_from_db()
    assert not customer.is_blocked
    assert not customer.is_bot_paused


@pytest.mark.django_db
def test_controls_only_take_posts(staff_client):
    customer = recent_customer()
    assert staff_client.get(url("conversation-block", customer.wa_id)).status_code == 405
    customer.refresh_from_db()
    assert not customer.is_blocked


@pytest.mark.django_db
def test_controls_need_the_csrf_token(staff_user):
    customer = recent_customer()
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(staff_user)
    assert browser.post(url("conversation-block", customer.wa_id)).status_code == 403


# ---------------------------------------------------------------------------- the list
@pytest.mark.django_db
def test_the_inbox_lists_conversations_newest_first(staff_client):
    people = customers_by_recency(3)
    html = staff_client.get(url("inbox")).content.decode()
    positions = [html.index(f'id="c-{p.wa_id}"') for p in reversed(people)]
    assert positions == sorted(positions)


@pytest.mark.django_db
def test_the_inbox_shows_unread_and_needs_staff_badges(staff_client):
    waiting = CustomerFactory(
        customer_name="Waiting", last_inbound_at=timezone.now(), needs_staff_since=timezone.now()
    )
    read = CustomerFactory(customer_name="Read", last_inbound_at=timezone.now())
    staff.mark_conversation_read(customer=read)
    wrote(waiting, "help")
    wrote(read, "thanks")
    html = staff_client.get(url("inbox")).content.decode()
    rows = dict(re.findall(r'<li id="c-(\d+)" class="([^"]*)"', html))
    assert rows == {waiting.wa_id: "conv unread needs", read.wa_id: "conv"}
    assert re.search(r'id="needs-staff-badge"[^>]*>1</span>', html)  # the nav badge


@pytest.mark.django_db
def test_the_nav_badge_hides_when_nobody_waits(staff_client):
    html = staff_client.get(url("inbox")).content.decode()
    assert re.search(r'id="needs-staff-badge"[^>]* hidden>0</span>', html)


@pytest.mark.django_db
def test_the_inbox_searches_by_name_or_number_and_filters_needs_staff(staff_client):
    sara = CustomerFactory(customer_name="Sara", wa_id="966501111111")
    omar = CustomerFactory(
        customer_name="Omar", wa_id="966502222222", needs_staff_since=timezone.now()
    )
    wrote(sara, "hi")
    wrote(omar, "hi")

    def listed(**params) -> set[str]:
        html = staff_client.get(url("inbox"), params).content.decode()
        return set(re.findall(r'<li id="c-(\d+)"', html))

    assert listed(q="sar") == {sara.wa_id}
    assert listed(q="+966 50 222") == {omar.wa_id}
    assert listed(needs="1") == {omar.wa_id}
    assert listed(q="nobody") == set()


@pytest.mark.django_db
def test_the_inbox_pages_with_links_that_keep_the_search(staff_client):
    people = customers_by_recency(selectors.INBOX_PAGE_SIZE + 2)
    html = staff_client.get(url("inbox"), {"q": "+9665"}).content.decode()
    assert len(re.findall(r'<li id="c-', html)) == selectors.INBOX_PAGE_SIZE
    older = re.search(r'rel="next" href="\?([^"]+)"', html)
    assert older
    assert "q=%2B9665" in older.group(1)
    html = staff_client.get(f"{url('inbox')}?{older.group(1).replace('&amp;', '&')}").content
    assert set(re.findall(rb'<li id="c-(\d+)"', html)) == {p.wa_id.encode() for p in people[:2]}
    assert b'rel="prev"' in html


@pytest.mark.django_db
def test_the_inbox_costs_the_same_queries_whatever_the_page_holds(
    staff_client, django_assert_max_num_queries
):
    customers_by_recency(selectors.INBOX_PAGE_SIZE + 5)
    # session, user, nav badge, the page (latest message by subquery, not one query per row)
    with django_assert_max_num_queries(4):
        response = staff_client.get(url("inbox"))
    assert response.content.count(b'<li id="c-') == selectors.INBOX_PAGE_SIZE


@pytest.mark.django_db
def test_the_inbox_poll_returns_changed_rows_and_the_badge(staff_client):
    old, new = customers_by_recency(2)
    Customer.objects.filter(pk=new.pk).update(needs_staff_since=timezone.now())
    old.refresh_from_db()
    new.refresh_from_db()
    assert old.last_message_at
    assert new.last_message_at
    since = old.last_message_at.isoformat()
    data = staff_client.get(url("inbox-updates"), {"since": since}).json()
    assert [row["wa_id"] for row in data["rows"]] == [new.wa_id]
    assert f'id="c-{new.wa_id}"' in data["rows"][0]["html"]
    assert data["needs_staff"] == 1
    assert data["latest"] == new.last_message_at.isoformat()
    assert staff_client.get(url("inbox-updates"), {"since": "junk"}).status_code == 400


# ---------------------------------------------------------------------------- a conversation
@pytest.mark.django_db
def test_the_conversation_shows_every_role_ticks_and_failures(staff_client):
    customer = recent_customer()
    for role, status, text in [
        ("assistant", "read", "Bot answer"),
        ("secretary", "delivered", "Staff answer"),
        ("system", "sent", "System note"),
        ("secretary", "queued", "On its way"),
    ]:
        ConversationFactory(customer=customer, role=role, status=status, message=text)
    ConversationFactory(
        customer=customer,
        role="assistant",
        status="failed",
        message="Lost",
        error_code=131026,
        error_message="Message undeliverable",
    )
    html = staff_client.get(url("conversation", customer.wa_id)).content.decode()
    for text in ("I need a person", "Bot answer", "Staff answer", "System note", "On its way"):
        assert text in html
    for tick in ("tick-read", "tick-delivered", "tick-sent", "tick-queued", "tick-failed"):
        assert tick in html
    assert "131026: Message undeliverable" in html


@pytest.mark.django_db
def test_the_conversation_loads_older_messages_on_request(staff_client):
    customer = recent_customer()
    wrote(customer, *[f"msg {i:03d}" for i in range(selectors.TRANSCRIPT_PAGE_SIZE + 5)])
    html = staff_client.get(url("conversation", customer.wa_id)).content.decode()
    assert "msg 004" not in html
    assert "msg 054" in html
    older = re.search(r'class="older" href="\?before=(\d+)"', html)
    assert older
    html = staff_client.get(url("conversation", customer.wa_id), {"before": older.group(1)})
    assert b"msg 004" in html.content
    assert b"msg 054" not in html.content
    assert b"data-updates" not in html.content  # an older page does not poll


@pytest.mark.django_db
def test_the_conversation_lists_upcoming_reservations_with_links(staff_client):
    customer = recent_customer()
    day = timezone.localdate() + dt.timedelta(days=3)
    reservation = Reservation.objects.create(customer=customer, date=day, time_slot=dt.time(16))
    html = staff_client.get(url("conversation", customer.wa_id)).content.decode()
    assert f"{reverse('reservations:day')}?date={day:%Y-%m-%d}" in html
    assert reverse("admin:reservations_reservation_change", args=[reservation.pk]) in html


@pytest.mark.django_db
def test_opening_a_conversation_changes_nothing_the_page_posts_what_was_seen(staff_client):
    customer = recent_customer()
    assert customer.has_unread
    page = staff_client.get(url("conversation", customer.wa_id))
    customer.refresh_from_db()
    assert customer.has_unread  # a GET (a prefetch, a crawler, a reload) marks nothing
    shown = page.context["transcript"].latest_id
    assert f'name="upto" value="{shown}"' in page.content.decode()
    assert staff_client.get(url("conversation-read", customer.wa_id)).status_code == 405
    response = staff_client.post(url("conversation-read", customer.wa_id), {"upto": shown})
    assert response.status_code == 302
    customer.refresh_from_db()
    assert not customer.has_unread


@pytest.mark.django_db
def test_what_arrived_after_the_page_was_drawn_stays_unread(staff_client):
    customer = recent_customer()
    shown = staff_client.get(url("conversation", customer.wa_id)).context["transcript"].latest_id
    later = timezone.now() + dt.timedelta(seconds=5)
    wrote(customer, "are you there?", at=later)
    Customer.objects.filter(pk=customer.pk).update(last_inbound_at=later)
    response = staff_client.post(
        url("conversation-read", customer.wa_id),
        {"upto": shown},
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 204  # the page's script posts this way
    customer.refresh_from_db()
    assert customer.has_unread


@pytest.mark.django_db
def test_replying_marks_the_conversation_read(staff_client):
    customer = recent_customer()
    shown = staff_client.get(url("conversation", customer.wa_id)).context["transcript"].latest_id
    staff_client.post(url("conversation-reply", customer.wa_id), {"text": "Hello", "upto": shown})
    customer.refresh_from_db()
    assert not customer.has_unread


@pytest.mark.django_db
def test_an_unknown_customer_is_a_404(staff_client):
    assert staff_client.get(url("conversation", "966509999999")).status_code == 404


@pytest.mark.django_db
def test_the_conversation_costs_the_same_queries_whatever_it_holds(
    staff_client, django_assert_max_num_queries
):
    customer = recent_customer()
    wrote(customer, *[f"m{i}" for i in range(80)])
    day = timezone.localdate() + dt.timedelta(days=1)
    for hour in (10, 11, 12):
        Reservation.objects.create(customer=customer, date=day, time_slot=dt.time(hour))
    # session, user, customer, messages, reservations, mark read, window, nav badge
    with django_assert_max_num_queries(9):
        staff_client.get(url("conversation", customer.wa_id))


@pytest.mark.broker
# ---------------------------------------------------------------------------- replying
@pytest.mark.django_db
def test_staff_reply_from_the_page_goes_out_through_the_sender(staff_client, graph, task_queue):
    customer = recent_customer(needs_staff_since=timezone.now())
    response = staff_client.post(
        url("conversation-reply", customer.wa_id), {"text": "Hello from reception"}
    )
    assert response.status_code == 302
    assert response["Location"].endswith("#latest")
    task_queue.run()
    assert [body["text"]["body"] for body in graph.sent] == ["Hello from reception"]
    row = Conversation.objects.get(role="secretary")
    assert row.status == "sent"
    customer.refresh_from_db()
    assert customer.needs_staff_since is None
    page = staff_client.get(response["Location"]).content.decode()
    assert "Reply queued for sending." in page


@pytest.mark.broker
@pytest.mark.django_db
def test_outside_the_window_the_page_says_the_template_went(staff_client, graph, task_queue):
    customer = recent_customer()
    Customer.objects.filter(pk=customer.pk).update(
        last_inbound_at=timezone.now() - dt.timedelta(days=2)
    )
    page = staff_client.get(url("conversation", customer.wa_id)).content.decode()
    assert "Send the template" in page
    response = staff_client.post(
        url("conversation-reply", customer.wa_id), {"text": "Your results"}, follow=True
    )
    html = response.content.decode()
    assert "the re-engagement template was sent" in html
    assert "Not sent: the 24-hour window was closed" in html
    task_queue.run()
    assert [body["type"] for body in graph.sent] == ["template"]


@pytest.mark.django_db
def test_an_oversized_reply_is_refused_and_the_text_kept(staff_client):
    customer = recent_customer()
    text = "é" * 4097
    response = staff_client.post(url("conversation-reply", customer.wa_id), {"text": text})
    assert response.status_code == 400
    html = response.content.decode()
    assert "at most 4096 characters" in html
    assert text in html  # nothing the staff member typed is lost
    assert not Conversation.objects.filter(role="secretary").exists()


@pytest.mark.django_db
def test_an_empty_reply_is_refused(staff_client):
    customer = recent_customer()
    response = staff_client.post(url("conversation-reply", customer.wa_id), {"text": " "})
    assert response.status_code == 400
    assert b"Write a message first." in response.content


@pytest.mark.broker
@pytest.mark.django_db
def test_a_double_submitted_form_sends_once(staff_client, task_queue):
    customer = recent_customer()
    page = staff_client.get(url("conversation", customer.wa_id)).content.decode()
    key = re.search(r'name="key" value="([0-9a-f]{32})"', page)
    assert key
    for _ in range(2):
        staff_client.post(
            url("conversation-reply", customer.wa_id), {"text": "Hi", "key": key.group(1)}
        )
    assert Conversation.objects.filter(role="secretary").count() == 1
    assert len(queued_sends(task_queue)) == 1


# ---------------------------------------------------------------------------- controls
@pytest.mark.django_db
def test_pause_resume_block_and_unblock_from_the_page(staff_client):
    customer = recent_customer()

    def press(name: str) -> Customer:
        response = staff_client.post(url(name, customer.wa_id))
        assert response.status_code == 302
        customer.refresh_from_db()
        return customer

    assert press("conversation-pause").is_bot_paused
    page = staff_client.get(url("conversation", customer.wa_id)).content.decode()
    assert "Resume the bot" in page
    assert not press("conversation-resume").is_bot_paused
    assert press("conversation-block").is_blocked
    page = staff_client.get(url("conversation", customer.wa_id)).content.decode()
    assert "Unblock" in page
    assert "unblock them to reply" in page
    assert not press("conversation-unblock").is_blocked
    events = NotificationEvent.objects.filter(wa_id=customer.wa_id).order_by("id")
    assert [e.event_type for e in events] == [
        "bot_paused",
        "bot_resumed",
        "customer_blocked",
        "customer_unblocked",
    ]


# ---------------------------------------------------------------------------- the poll
@pytest.mark.django_db
def test_the_conversation_poll_returns_new_messages_ticks_and_state(staff_client):
    customer = recent_customer()
    sent = ConversationFactory(customer=customer, role="assistant", status="sent", message="a")
    same = ConversationFactory(customer=customer, role="assistant", status="sent", message="b")
    reply = ConversationFactory(customer=customer, role="user", message="new one")
    Conversation.objects.filter(id=sent.id).update(status="delivered")
    watching = f"{sent.id}.sent,{same.id}.sent"
    params = {"after": reply.id - 1, "watching": watching}
    data = staff_client.get(url("conversation-updates", customer.wa_id), params).json()
    assert [m["id"] for m in data["messages"]] == [sent.id, reply.id]
    assert [m["inbound"] for m in data["messages"]] == [False, True]
    assert "tick-delivered" in data["messages"][0]["html"]
    assert data["messages"][0]["open"] is True
    assert "new one" in data["messages"][1]["html"]
    assert 'id="state"' in data["state"]
    assert data["needs_staff"] == 0
    params["watching"] += ",junk"
    assert staff_client.get(url("conversation-updates", customer.wa_id), params).status_code == 400


@pytest.mark.django_db
def test_the_poll_is_a_get_and_marks_nothing_read(staff_client):
    customer = recent_customer()
    for params in ({"after": "0"}, {"after": "0", "seen": "1"}):
        staff_client.get(url("conversation-updates", customer.wa_id), params)
        customer.refresh_from_db()
        assert customer.has_unread


# ---------------------------------------------------------------------------- languages
@pytest.mark.django_db
def test_the_inbox_speaks_arabic_right_to_left(staff_client, settings):
    customer = recent_customer(needs_staff_since=timezone.now())
    staff_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "ar"
    html = staff_client.get(url("inbox")).content.decode()
    assert 'dir="rtl"' in html
    assert "صندوق الوارد" in html
    assert "بحاجة إلى الموظفين" in html
    html = staff_client.get(url("conversation", customer.wa_id)).content.decode()
    assert "إيقاف البوت مؤقتًا" in html


@pytest.mark.broker
# ---------------------------------------------------------------------------- end to end
@pytest.mark.django_db(transaction=True)
def test_a_handed_off_customer_gets_the_staff_reply_in_the_sandbox(
    live_server, settings, task_queue
):
    settings.WHATSAPP_SANDBOX = True
    settings.WHATSAPP_API_BASE_URL = f"{live_server.url}/sandbox/graph/v23.0"
    webhook = f"{live_server.url}/webhooks/whatsapp/"

    # The customer writes; a signed webhook reaches the real view; a worker handles it.
    sandbox.send_as_customer(wa_id=WA_ID, name="Sara", text="I need a person", webhook_url=webhook)
    services.drain_inbound_queue()
    customer = Customer.objects.get(wa_id=WA_ID)
    staff.hand_off_to_staff(customer=customer, reason="asked for staff")

    # Staff see it waiting, open it and answer from the inbox.
    desk = get_user_model().objects.create_user("desk", password="pw-desk-1", is_staff=True)
    setup_roles()
    desk.groups.add(Group.objects.get(name=RECEPTIONIST))
    browser = Client()
    browser.force_login(desk)
    assert WA_ID in browser.get(url("inbox"), {"needs": "1"}).content.decode()
    browser.get(url("conversation", WA_ID))
    browser.post(url("conversation-reply", WA_ID), {"text": "Hi Sara, this is reception"})
    task_queue.run()  # the worker's send task posts to the fake Graph API over HTTP

    out = SandboxMessage.objects.filter(direction="out").order_by("-id").first()
    assert out is not None
    assert out.body["text"]["body"] == "Hi Sara, this is reception"
    chat = sandbox.chat_messages(wa_id=WA_ID)
    assert chat[-1]["id"] == out.id  # in the customer's sandbox transcript

    # Meta's status webhooks come back; the ticks arrive on the conversation page's poll.
    reply = Conversation.objects.get(role="secretary")
    sandbox.send_statuses(sandbox_message_id=out.id, statuses=["sent", "delivered", "read"])
    tasks.apply_statuses()
    data = browser.get(
        url("conversation-updates", WA_ID), {"after": str(reply.id), "watching": f"{reply.id}.sent"}
    ).json()
    assert [m["id"] for m in data["messages"]] == [reply.id]
    assert "tick-read" in data["messages"][0]["html"]
    customer.refresh_from_db()
    assert customer.needs_staff_since is None
    assert customer.is_bot_paused


@pytest.mark.django_db
def test_the_demo_conversation_is_in_the_inbox(staff_client):
    from messaging.demo import seed_demo_data

    seed_demo_data()
    assert staff_client.get(url("inbox")).content.count(b'<li id="c-') == 1


@pytest.mark.django_db
def test_the_transcript_says_why_a_queued_reply_is_being_retried(staff_client):
    customer = CustomerFactory(wa_id="966501234567")
    ConversationFactory(
        customer=customer,
        role="assistant",
        status="queued",
        message="Your appointment",
        error_message="cannot connect to 127.0.0.1:8000: Connection refused",
    )
    page = staff_client.get(url("conversation", customer.wa_id)).content.decode()
    assert "Being retried after:" in page
    assert "cannot connect to 127.0.0.1:8000: Connection refused" in page
