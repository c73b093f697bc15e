import datetime as dt
import re

import pytest
import time_machine
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from customers.tests.factories import CustomerFactory
from messaging import dashboard
from messaging.models import Conversation, InboundMessage, NotificationEvent
from messaging.tests.factories import (
    ConversationFactory,
    InboundMessageFactory,
    NotificationEventFactory,
)
from messaging.whatsapp import cloud_api
from reservations.models import Reservation
from reservations.tests.factories import ReservationFactory

# Monday 2026-11-23, 10:00 in Riyadh (07:00 UTC).
NOW = dt.datetime(2026, 11, 23, 7, 0, tzinfo=dt.UTC)
TODAY = dt.date(2026, 11, 23)
DASHBOARD_URL = reverse("messaging:dashboard")
EVENTS_URL = reverse("messaging:events")
UNSEEN_URL = reverse("messaging:events-unseen")
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def cancelled(**kwargs):
    return ReservationFactory(status=Reservation.Status.CANCELLED, cancelled_at=NOW, **kwargs)


def busy_day(n):
    """n reservations today, a hand-off, failed messages both ways and a pending message."""
    for i in range(n):
        ReservationFactory(date=TODAY, time_slot=dt.time(11 + i % 6, 30 * (i % 2)))
        ConversationFactory(role=Conversation.Role.ASSISTANT, status=Conversation.Status.FAILED)
        InboundMessageFactory(status=InboundMessage.Status.FAILED, wa_id=f"9665000000{i:02d}")
        CustomerFactory(needs_staff_since=NOW)
    InboundMessageFactory(status=InboundMessage.Status.PENDING)


# ---------------------------------------------------------------------------- the page
def test_root_and_login_land_on_the_dashboard(client, settings, staff_user):
    assert client.get("/")["Location"] == DASHBOARD_URL
    assert settings.LOGIN_REDIRECT_URL == "home"  # "/": the first page the user may open
    response = client.get(DASHBOARD_URL)
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
    client.force_login(staff_user)
    assert client.get("/")["Location"] == DASHBOARD_URL


def test_dashboard_shows_todays_reservations_in_order_with_attendance_buttons(staff_client):
    late = ReservationFactory(
        date=TODAY, time_slot=dt.time(15), customer=CustomerFactory(customer_name="Late Lina")
    )
    early = ReservationFactory(
        date=TODAY, time_slot=dt.time(9), customer=CustomerFactory(customer_name="Early Omar")
    )
    started = ReservationFactory(date=TODAY, time_slot=dt.time(10))  # it is 10:00
    ReservationFactory(date=TODAY + dt.timedelta(days=1), customer__customer_name="Tomorrow Tim")
    content = staff_client.get(DASHBOARD_URL).content.decode()
    assert content.index("Early Omar") < content.index("Late Lina")
    assert "Tomorrow Tim" not in content
    # Attendance only for the visits that have started.
    for reservation in (early, started):
        assert reverse("reservations:attendance", args=[reservation.pk]) in content
    assert reverse("reservations:attendance", args=[late.pk]) not in content
    assert content.count('value="arrived"') == 2
    assert content.count('value="no_show"') == 2
    assert "not started yet" in content
    assert "csrfmiddlewaretoken" in content


def test_dashboard_and_day_page_show_the_customers_confirmation(staff_client):
    confirmed = ReservationFactory(
        date=TODAY, time_slot=dt.time(15), customer=CustomerFactory(customer_name="Sure Sara")
    )
    ReservationFactory(date=TODAY, time_slot=dt.time(16), customer__customer_name="Maybe Mo")
    Reservation.objects.filter(pk=confirmed.pk).update(confirmed_at=NOW)
    for url in (DASHBOARD_URL, reverse("reservations:day")):
        content = staff_client.get(url).content.decode()
        badges = re.findall(r'class="badge on confirmed"', content)
        assert len(badges) == 1, url
        assert content.index("Sure Sara") < content.index("confirmed") < content.index("Maybe Mo")


def test_dashboard_shows_handoffs_failures_and_queue_health(staff_client):
    CustomerFactory(customer_name="Needs Help", needs_staff_since=NOW - dt.timedelta(hours=1))
    ConversationFactory(
        role=Conversation.Role.ASSISTANT,
        status=Conversation.Status.FAILED,
        error_code=131047,
        error_message="Re-engagement message",
    )
    InboundMessageFactory(status=InboundMessage.Status.FAILED, last_error="ValueError: broken")
    with time_machine.travel(NOW - dt.timedelta(minutes=7), tick=False):
        InboundMessageFactory(status=InboundMessage.Status.PENDING)
    InboundMessageFactory(status=InboundMessage.Status.PENDING)
    response = staff_client.get(DASHBOARD_URL)
    content = response.content.decode()
    assert "Needs Help" in content
    assert "131047: Re-engagement message" in content
    assert "ValueError: broken" in content
    queue = response.context["today"].queue
    assert (queue.pending, queue.failed) == (2, 1)
    assert queue.oldest_pending_age == dt.timedelta(minutes=7)
    assert "oldest 7\xa0minutes" in content


def test_dashboard_renders_in_a_bounded_number_of_queries(staff_client):
    busy_day(2)
    with CaptureQueriesContext(connection) as small:
        assert staff_client.get(DASHBOARD_URL).status_code == 200
    busy_day(12)
    with CaptureQueriesContext(connection) as big:
        response = staff_client.get(DASHBOARD_URL)
    assert len(response.context["today"].reservations) == 14
    assert len(big) == len(small) <= 12


def test_dashboard_shows_the_feed_address_only_when_the_feed_is_on(staff_client, settings):
    settings.ICAL_FEED_TOKEN = ""
    assert "ICAL_FEED_TOKEN" in staff_client.get(DASHBOARD_URL).content.decode()
    settings.ICAL_FEED_TOKEN = "feed-token-42"
    content = staff_client.get(DASHBOARD_URL).content.decode()
    assert "http://testserver/schedule/calendar/feed-token-42/schedule.ics" in content


def test_dashboard_page_works_in_arabic(staff_client):
    ReservationFactory(date=TODAY)
    response = staff_client.get(DASHBOARD_URL, headers={"accept-language": "ar"})
    content = response.content.decode()
    assert 'dir="rtl"' in content
    assert "حضر" in content
    # Chart coordinates stay machine numbers (not localized decimals) in any language.
    chart = content[content.index('<svg class="chart"') :]
    coordinates = re.findall(r' (?:x|y|width|height)="([^"]*)"', chart[: chart.index("</svg>")])
    assert len(coordinates) > 100
    assert all(float(value) >= 0 for value in coordinates)


# ---------------------------------------------------------------------------- trends
def test_trend_counts_active_and_cancelled_per_visit_day_with_empty_days():
    ReservationFactory.create_batch(2, date=TODAY)
    cancelled(date=TODAY)
    cancelled(date=TODAY - dt.timedelta(days=3))
    ReservationFactory(date=TODAY + dt.timedelta(days=2))
    ReservationFactory(date=TODAY - dt.timedelta(days=29))  # before the window
    with CaptureQueriesContext(connection) as queries:
        trend = dashboard.reservation_trend(today=TODAY, before=28, after=14)
    assert len(queries) == 1
    assert len(trend) == 43
    assert trend[0].day == TODAY - dt.timedelta(days=28)
    assert trend[-1].day == TODAY + dt.timedelta(days=14)
    by_day = {d.day: (d.active, d.cancelled) for d in trend}
    assert by_day[TODAY] == (2, 1)
    assert by_day[TODAY - dt.timedelta(days=3)] == (0, 1)
    assert by_day[TODAY + dt.timedelta(days=2)] == (1, 0)
    assert sum(a + c for a, c in by_day.values()) == 5


def test_trend_chart_scales_bars_to_the_busiest_day():
    trend = [
        dashboard.TrendDay(day=TODAY - dt.timedelta(days=1), active=4, cancelled=1),
        dashboard.TrendDay(day=TODAY, active=2, cancelled=0),
    ]
    chart = dashboard.trend_chart(trend, today=TODAY, width=200, height=124)
    assert chart.max_value == 4
    first, second = chart.columns
    assert first.active.height == chart.plot_height == 100
    assert first.cancelled.height == 25
    assert second.active.height == 50
    assert second.active.y == 50
    assert second.is_today
    assert not first.is_today
    assert second.label == "23/11"


def test_dashboard_chart_has_a_bar_pair_per_day(staff_client):
    content = staff_client.get(DASHBOARD_URL).content.decode()
    days = dashboard.TREND_DAYS_BEFORE + dashboard.TREND_DAYS_AFTER + 1
    assert content.count('class="bar-active"') == days
    assert content.count('class="bar-cancelled"') == days


# ---------------------------------------------------------------------------- events
def event(event_type="reservation_created", wa_id=None, minutes_ago=0):
    moment = NOW - dt.timedelta(minutes=minutes_ago)
    return NotificationEventFactory(event_type=event_type, wa_id=wa_id, created_at=moment)


def test_events_are_listed_newest_first_in_pages_without_counting(staff_client):
    events = [event(minutes_ago=n) for n in range(5)]  # events[0] is the newest
    with CaptureQueriesContext(connection) as queries:
        page = dashboard.recent_events(page_size=2)
    assert not any("COUNT(" in q["sql"].upper() for q in queries.captured_queries)
    assert [e.pk for e in page.events] == [events[0].pk, events[1].pk]
    page = dashboard.recent_events(page_size=2, before=page.next_cursor)
    assert [e.pk for e in page.events] == [events[2].pk, events[3].pk]
    page = dashboard.recent_events(page_size=2, before=page.next_cursor)
    assert [e.pk for e in page.events] == [events[4].pk]
    assert page.next_cursor is None


def test_events_with_the_same_timestamp_are_paged_without_gaps_or_repeats():
    same = [event() for _ in range(5)]
    seen, cursor = [], ""
    while True:
        page = dashboard.recent_events(page_size=2, before=cursor)
        seen += [e.pk for e in page.events]
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    assert seen == sorted((e.pk for e in same), reverse=True)


def test_events_page_filters_by_type_and_number(staff_client):
    event("message_failed", wa_id="966501234567")
    event("message_failed", wa_id="966509999999")
    event("reservation_created", wa_id="966501234567")
    response = staff_client.get(EVENTS_URL, {"type": "message_failed"})
    assert [e.wa_id for e in response.context["page"].events] == ["966509999999", "966501234567"]
    response = staff_client.get(EVENTS_URL, {"number": "+966 50 123 4567"})
    assert {e.event_type for e in response.context["page"].events} == {
        "message_failed",
        "reservation_created",
    }
    response = staff_client.get(EVENTS_URL, {"type": "message_failed", "number": "0501234567"})
    assert len(response.context["page"].events) == 1


def test_events_page_reports_a_bad_number(staff_client):
    event()
    response = staff_client.get(EVENTS_URL, {"number": "abc"})
    assert response.status_code == 200
    assert list(response.context["messages"])


def test_events_page_links_to_the_next_page(staff_client):
    for n in range(dashboard.EVENTS_PAGE_SIZE + 1):
        event(minutes_ago=n)
    content = staff_client.get(EVENTS_URL).content.decode()
    assert 'rel="next"' in content
    assert "before=" in content


def test_bell_counts_events_since_the_list_was_last_opened(staff_client):
    event()
    assert staff_client.get(UNSEEN_URL).json() == {"count": 0, "more": False}  # a new session
    event()
    event()
    assert staff_client.get(UNSEEN_URL).json() == {"count": 2, "more": False}
    staff_client.get(EVENTS_URL)
    assert staff_client.get(UNSEEN_URL).json() == {"count": 0, "more": False}
    event()
    assert staff_client.get(UNSEEN_URL).json()["count"] == 1


def test_bell_count_is_capped(staff_client):
    staff_client.get(EVENTS_URL)
    NotificationEvent.objects.bulk_create(
        NotificationEvent(event_type="x", ts_iso=f"2026-11-23T07:00:00.{n:06d}+00:00", data={})
        for n in range(dashboard.UNSEEN_CAP + 5)
    )
    assert staff_client.get(UNSEEN_URL).json() == {"count": dashboard.UNSEEN_CAP, "more": True}


def test_bell_and_events_need_a_staff_login(client):
    assert client.get(UNSEEN_URL).status_code == 302
    assert client.get(EVENTS_URL).status_code == 302


def test_staff_pages_show_the_bell_and_the_dashboard_link(staff_client):
    content = staff_client.get(reverse("reservations:day")).content.decode()
    assert UNSEEN_URL in content
    assert f'href="{DASHBOARD_URL}"' in content


def test_a_webhook_item_refused_at_intake_is_listed_with_its_reason(staff_client, post_webhook):
    body = cloud_api.webhook_body(
        phone_number_id="106540352242922",
        messages=[{"from": "a/b", "id": "wamid.SLASH", "type": "text", "text": {"body": "x"}}],
    )
    assert post_webhook(body).status_code == 200
    content = staff_client.get(DASHBOARD_URL).content.decode()
    section = content[content.index('id="failed-inbound"') :]
    assert "refused at intake: the sender &#x27;a/b&#x27; is not a WhatsApp number" in section
    admin = staff_client.get(
        reverse("admin:messaging_inboundmessage_changelist") + "?status=failed"
    )
    assert "refused at intake" in admin.content.decode()


def test_dashboard_shows_sends_being_retried_and_the_last_send_error(staff_client):
    ConversationFactory(role="assistant", status="failed", error_code=131026, error_message="old")
    retried = ConversationFactory(
        role="assistant",
        status="queued",
        error_message="cannot connect to 127.0.0.1:8000: Connection refused",
    )
    ConversationFactory(role="assistant", status="queued")  # not tried yet: not counted
    html = staff_client.get(DASHBOARD_URL).content.decode()
    card = re.search(r'id="send-health">\s*<div class="value">(\d+)</div>', html)
    assert card
    assert card.group(1) == "1"
    last = html.split('id="last-send-error"')[1].split("</p>")[0]
    assert "cannot connect to 127.0.0.1:8000: Connection refused" in last
    assert f"/admin/messaging/conversation/{retried.pk}/change/" in last
    assert "being retried" in last


def test_dashboard_chart_keeps_its_labels_inside_in_right_to_left(staff_client):
    """In RTL a start-anchored SVG label ends at its x and hangs off the left edge (the top axis
    number and the first date were lost): the chart's text runs left to right, anchored at its
    start, inside the drawing."""
    ReservationFactory(date=TODAY)
    content = staff_client.get(DASHBOARD_URL, headers={"accept-language": "ar"}).content.decode()
    chart = content[content.index('<svg class="chart"') :]
    chart = chart[: chart.index("</svg>")]
    svg_tag = chart[: chart.index(">")]
    assert 'direction="ltr"' in svg_tag
    css = (settings.BASE_DIR / "messaging/static/messaging/dashboard.css").read_text()
    assert "svg.chart { direction: ltr; }" in css  # SVG text takes its direction from CSS
    view_box = re.search(r'viewBox="0 0 (\d+)', svg_tag)
    assert view_box
    width = float(view_box.group(1))
    labels = re.findall(r"<text ([^>]*)>([^<]*)</text>", chart)
    assert len(labels) >= 6  # the top axis number and a date every seven days
    for attributes, text in labels:
        assert 'text-anchor="start"' in attributes
        assert 'direction="ltr"' in attributes
        found = re.search(r' x="([^"]+)"', " " + attributes)
        assert found
        x = float(found.group(1))
        assert 0 <= x <= width - 8 * len(text)  # room for the text to the right of x


def test_queue_card_counts_inbound_messages_being_retried(staff_client):
    InboundMessageFactory(status="pending")
    InboundMessageFactory(status="pending", attempts=1, last_error="WhatsAppError: refused")
    assert dashboard.queue_health().retrying == 1
    card = staff_client.get(DASHBOARD_URL).content.decode().split('id="queue-health"')[1]
    assert "1 being retried" in card.split('id="send-health"')[0]


def test_dashboard_shows_how_texts_were_placed_per_day(staff_client):
    from messaging.bot.assisted import count_text
    from messaging.models import BotDailyCount

    kinds = BotDailyCount.Kind
    for kind, times in [(kinds.RULES, 6), (kinds.MODEL, 2), (kinds.FAQ, 1), (kinds.STAFF, 1)]:
        for _ in range(times):
            count_text(day=TODAY, kind=kind)
    count_text(day=TODAY, kind=kinds.MODEL_FAILED)
    count_text(day=TODAY, kind=kinds.MODEL_REQUEST)  # the budget, not a text
    count_text(day=TODAY - dt.timedelta(days=1), kind=kinds.NOT_UNDERSTOOD)
    count_text(day=TODAY - dt.timedelta(days=7), kind=kinds.RULES)  # a week ago: not shown
    response = staff_client.get(DASHBOARD_URL)
    rows = response.context["understanding"]
    assert [r.day for r in rows][:2] == [TODAY, TODAY - dt.timedelta(days=1)]
    assert len(rows) == 7
    today, yesterday = rows[0], rows[1]
    assert (today.rules, today.model, today.faq, today.staff) == (6, 2, 1, 1)
    assert (today.texts, today.placed_percent, today.model_failed) == (10, 90, 1)
    assert (yesterday.texts, yesterday.placed_percent) == (1, 0)
    assert rows[2].placed_percent is None
    content = response.content.decode()
    assert "How the bot understood texts" in content
    assert "(1 failed)" in content
    assert "The language model is off" in content
    assert sum(r.texts for r in rows) == 11
