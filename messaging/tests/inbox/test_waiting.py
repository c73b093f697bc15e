"""Who waits for staff, what their inbox row shows, and where the conversation page opens."""

import datetime as dt
import re
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from customers.models import Customer
from customers.tests.factories import CustomerFactory
from messaging.inbox import selectors, staff
from messaging.tests.chat import Chat
from messaging.tests.factories import ConversationFactory
from messaging.tests.inbox.test_selectors import wrote

pytestmark = pytest.mark.django_db

WA_ID = "966501234567"
STATIC = Path(__file__).resolve().parents[2] / "static" / "messaging"


def waiting_counts(client) -> tuple[int, list[str], int]:
    """The dashboard's open hand-offs, the inbox's needs-staff rows, and the nav badge."""
    dashboard = client.get(reverse("messaging:dashboard"))
    inbox = client.get(reverse("messaging:inbox"), {"needs": "1"})
    badge = client.get(reverse("messaging:inbox-updates")).json()["needs_staff"]
    return (
        len(dashboard.context["today"].handoffs),
        [c.wa_id for c in inbox.context["page"].rows],
        badge,
    )


def test_a_follow_up_after_a_staff_reply_waits_for_staff_everywhere(staff_client, settings):
    settings.WHATSAPP_ACCESS_TOKEN = ""  # nothing leaves in this test
    chat = Chat(WA_ID)
    chat.say("hello")
    customer = Customer.objects.get(pk=WA_ID)
    staff.hand_off_to_staff(customer=customer, reason="asked for staff")
    assert waiting_counts(staff_client) == (1, [WA_ID], 1)
    user = get_user_model().objects.get(username="reception")
    staff.send_staff_reply(customer=customer, text="How can I help?", user=user)
    assert waiting_counts(staff_client) == (0, [], 0)  # answered; the bot stays paused
    assert chat.say("Can I come at 5 instead?") == []  # the bot is silent...
    assert waiting_counts(staff_client) == (1, [WA_ID], 1)  # ...so staff see it waiting
    html = staff_client.get(reverse("messaging:dashboard")).content.decode()
    assert re.search(r'class="card alert"><div class="value">1</div>', html)


def test_a_customer_the_bot_answers_does_not_wait(staff_client):
    Chat(WA_ID).say("hello")
    assert waiting_counts(staff_client) == (0, [], 0)


def test_a_blocked_customer_writing_to_a_paused_bot_does_not_wait(staff_client):
    customer = CustomerFactory(wa_id=WA_ID, is_blocked=True)
    staff.pause_bot(customer=customer)
    Chat(WA_ID).say("hello?")
    assert waiting_counts(staff_client) == (0, [], 0)


def test_a_waiting_row_shows_what_the_customer_wrote_not_the_bot(staff_client):
    customer = CustomerFactory(wa_id=WA_ID, needs_staff_since=timezone.now())
    now = timezone.now()
    wrote(customer, "I need to talk to a person about my bill", at=now - dt.timedelta(minutes=2))
    wrote(customer, "A member of staff will answer you shortly.", role="assistant", at=now)
    html = staff_client.get(reverse("messaging:inbox")).content.decode()
    row = html[html.index(f'id="c-{WA_ID}"') :]
    row = row[: row.index("</li>")]
    assert "I need to talk to a person about my bill" in row
    assert "will answer you shortly" not in row
    since = (now - dt.timedelta(hours=1)).isoformat()
    polled = staff_client.get(reverse("messaging:inbox-updates"), {"since": since}).json()
    assert "about my bill" in polled["rows"][0]["html"]


def test_a_row_nobody_waits_on_shows_the_last_message(staff_client):
    customer = CustomerFactory(wa_id=WA_ID)
    now = timezone.now()
    wrote(customer, "thanks", at=now - dt.timedelta(minutes=2))
    Customer.objects.filter(pk=WA_ID).update(staff_read_at=now, last_inbound_at=now)
    wrote(customer, "You are welcome.", role="assistant", at=now)
    html = staff_client.get(reverse("messaging:inbox")).content.decode()
    assert "You are welcome." in html


def test_the_conversation_opens_at_the_newest_message_with_the_reply_box_in_view(staff_client):
    customer = CustomerFactory(wa_id=WA_ID, last_inbound_at=timezone.now())
    start = timezone.now() - dt.timedelta(hours=2)
    for n in range(selectors.TRANSCRIPT_PAGE_SIZE + 10):
        ConversationFactory(customer=customer, message=f"message {n}", created_at=start)
        start += dt.timedelta(minutes=1)
    html = staff_client.get(reverse("messaging:conversation", args=[WA_ID])).content.decode()
    newest = f"message {selectors.TRANSCRIPT_PAGE_SIZE + 9}"
    # Newest last, in a box that scrolls from its end (no script needed), the reply box after it.
    scroller = html.index('class="scroller"')
    assert scroller < html.index(newest) < html.index('id="reply"')
    assert html.index(newest) > html.index("message 10")  # oldest shown first, newest at the end
    assert "message 9<" not in html  # only the latest page
    assert re.search(r'<textarea id="reply-text"[^>]*\bautofocus\b', html)
    css = (STATIC / "conversation.css").read_text()
    assert re.search(r"\.scroller \{[^}]*flex-direction: column-reverse[^}]*overflow-y: auto", css)
    assert re.search(r"\.scroller \{[^}]*max-height: calc\(100vh", css)


def test_an_older_page_does_not_steal_the_focus(staff_client):
    customer = CustomerFactory(wa_id=WA_ID)
    rows = [ConversationFactory(customer=customer, message=f"m{n}") for n in range(3)]
    page = staff_client.get(
        reverse("messaging:conversation", args=[WA_ID]), {"before": rows[-1].id}
    )
    assert "autofocus" not in page.content.decode()
