"""The inbox's reads: keyset pages of conversations and of one transcript."""

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from customers.models import Customer
from customers.tests.factories import CustomerFactory
from messaging.inbox import selectors
from messaging.models import Conversation
from messaging.tests.factories import ConversationFactory
from reservations.models import Reservation

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 11, 23, 6, 0, tzinfo=dt.UTC)


def wrote(customer: Customer, *texts: str, at: dt.datetime = T0, role: str = "user") -> None:
    """Messages from (or to) `customer`, a minute apart from `at`, kept in the inbox order."""
    moment = at
    for index, text in enumerate(texts):
        moment = at + dt.timedelta(minutes=index)
        ConversationFactory(customer=customer, message=text, role=role, created_at=moment)
    Customer.objects.filter(pk=customer.pk).touch_last_message(moment)


def customers_by_recency(count: int):
    """`count` customers with one message each, the last one written the most recently."""
    people = [CustomerFactory() for _ in range(count)]
    for index, person in enumerate(people):
        wrote(person, f"message {index}", at=T0 + dt.timedelta(hours=index))
    return people


def test_the_list_is_newest_first_and_leaves_out_customers_without_messages():
    people = customers_by_recency(3)
    CustomerFactory()  # never wrote
    page = selectors.inbox_page()
    assert [c.wa_id for c in page.rows] == [p.wa_id for p in reversed(people)]
    assert (page.older, page.newer) == (None, None)


def test_each_row_carries_its_latest_message():
    customer = CustomerFactory()
    wrote(customer, "first", "second")
    wrote(customer, "our answer", at=T0 + dt.timedelta(hours=1), role="assistant")
    rows: list[Any] = selectors.inbox_page().rows  # annotated with the latest message
    [row] = rows
    assert (row.last_text, row.last_role) == ("our answer", "assistant")


def test_pages_follow_each_other_by_keyset_both_ways():
    people = list(reversed(customers_by_recency(5)))  # newest first
    first = selectors.inbox_page(size=2)
    assert first.rows == people[:2]
    assert first.newer is None
    second = selectors.inbox_page(size=2, before=first.older)
    assert second.rows == people[2:4]
    last = selectors.inbox_page(size=2, before=second.older)
    assert last.rows == people[4:]
    assert last.older is None
    back = selectors.inbox_page(size=2, after=last.newer)
    assert back.rows == people[2:4]
    assert selectors.inbox_page(size=2, after=back.newer).rows == people[:2]


def test_customers_with_the_same_last_moment_are_neither_lost_nor_repeated():
    people = [CustomerFactory() for _ in range(5)]
    for person in people:
        wrote(person, "same minute")
    seen: list[str] = []
    page = selectors.inbox_page(size=2)
    while True:
        seen += [c.wa_id for c in page.rows]
        if page.older is None:
            break
        page = selectors.inbox_page(size=2, before=page.older)
    assert sorted(seen) == sorted(p.wa_id for p in people)
    assert len(seen) == 5


def test_the_cursor_survives_a_round_trip_and_rejects_junk():
    cursor = selectors.Cursor(T0, "966501234567")
    assert selectors.Cursor.parse(str(cursor)) == cursor
    for junk in ("", "yesterday~1", "2026-11-23T06:00:00~1", "2026-11-23T06:00:00+00:00"):
        with pytest.raises(ValueError, match="cursor"):
            selectors.Cursor.parse(junk)


def test_search_and_the_needs_staff_filter():
    sara = CustomerFactory(customer_name="Sara Ali", wa_id="966501111111")
    omar = CustomerFactory(customer_name="Omar", wa_id="966502222222", needs_staff_since=T0)
    wrote(sara, "hi")
    wrote(omar, "hi")
    assert selectors.inbox_page(term="sara").rows == [sara]
    assert selectors.inbox_page(term="+966 50 222").rows == [omar]
    assert selectors.inbox_page(needs_staff=True).rows == [omar]
    assert selectors.inbox_page(term="sara", needs_staff=True).rows == []


def test_changed_conversations_are_those_with_a_newer_message():
    people = customers_by_recency(3)
    changed = selectors.changed_conversations(since=T0 + dt.timedelta(minutes=30))
    assert changed == [people[2], people[1]]


def test_the_transcript_shows_the_latest_messages_oldest_first_with_a_way_back():
    customer = CustomerFactory()
    wrote(customer, *[f"m{i}" for i in range(5)])
    latest = selectors.transcript(customer=customer, size=3)
    assert [m.message for m in latest.messages] == ["m2", "m3", "m4"]
    older = selectors.transcript(customer=customer, size=3, before=latest.older)
    assert [m.message for m in older.messages] == ["m0", "m1"]
    assert older.older is None


def test_the_transcript_lists_only_upcoming_active_reservations():
    customer = CustomerFactory()
    today = timezone.localdate()
    soon = Reservation.objects.create(
        customer=customer, date=today + dt.timedelta(days=2), time_slot=dt.time(10)
    )
    Reservation.objects.create(
        customer=customer, date=today - dt.timedelta(days=2), time_slot=dt.time(10)
    )
    Reservation.objects.create(
        customer=customer,
        date=today + dt.timedelta(days=3),
        time_slot=dt.time(10),
        status=Reservation.Status.CANCELLED,
        cancelled_at=timezone.now(),
    )
    assert selectors.transcript(customer=customer).reservations == [soon]


def test_updates_are_new_messages_and_watched_ones():
    customer = CustomerFactory()
    wrote(customer, "a", "b", "c")
    a, b, c = Conversation.objects.order_by("id")
    Conversation.objects.filter(id=a.id).update(status="read")
    assert selectors.transcript_updates(customer=customer, after=b.id, watching={}) == [c]
    assert selectors.transcript_updates(customer=customer, after=c.id, watching={a.id: "sent"}) == [
        a
    ]
    assert (
        selectors.transcript_updates(customer=customer, after=c.id, watching={a.id: "read"}) == []
    )
    other = CustomerFactory()
    assert selectors.transcript_updates(customer=other, after=0, watching={a.id: "sent"}) == []
