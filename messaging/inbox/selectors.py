"""The staff inbox's reads: the conversation list and one transcript, a page at a time.

Both page by keyset (the last row seen), never by OFFSET or COUNT(*), so a page costs the same on
the first day and after a million messages, and a fixed number of queries whatever its size.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import OuterRef, Q, QuerySet, Subquery

from config import query
from customers.models import Customer
from messaging.models import Conversation
from reservations.models import Reservation

INBOX_PAGE_SIZE = 30
TRANSCRIPT_PAGE_SIZE = 50
# Outbound statuses that can still move on (the poll keeps asking about them).
OPEN_STATUSES = [
    Conversation.Status.QUEUED,
    Conversation.Status.SENT,
    Conversation.Status.DELIVERED,
]


@dataclass(frozen=True)
class Cursor:
    """A position in the inbox: the (last_message_at, wa_id) of a row, in a URL-safe string."""

    at: datetime
    wa_id: str

    def __str__(self) -> str:
        return f"{self.at.isoformat()}~{self.wa_id}"

    @classmethod
    def parse(cls, raw: str, *, name: str = "cursor") -> "Cursor":
        """The cursor in `raw`; raises BadQueryError (a ValueError) when it is not one of ours."""
        at, sep, wa_id = raw.partition("~")
        if not sep or not wa_id:
            raise query.BadQueryError(f"{name}: not an inbox position")
        return cls(query.parse_datetime(at, name=name), wa_id)


@dataclass
class InboxPage:
    rows: list[Customer]
    older: Cursor | None = None  # where the next (older) page starts
    newer: Cursor | None = None  # where the previous (newer) page starts
    latest: datetime | None = None  # the newest row's last message: the poll asks for newer


def conversations(*, term: str = "", needs_staff: bool = False) -> QuerySet[Customer]:
    """Customers who have messages (filtered), each with their latest message's summary and the
    latest thing they wrote themselves (what a row waiting for staff shows)."""
    latest = Conversation.objects.filter(customer=OuterRef("pk")).order_by("-created_at", "-id")
    theirs = latest.filter(role=Conversation.Role.USER)
    customers = Customer.objects.filter(last_message_at__isnull=False)
    if term.strip():
        customers = customers.search(term)
    if needs_staff:
        customers = customers.needing_staff()
    return customers.annotate(
        last_text=Subquery(latest.values("message")[:1]),
        last_role=Subquery(latest.values("role")[:1]),
        last_status=Subquery(latest.values("status")[:1]),
        last_inbound_text=Subquery(theirs.values("message")[:1]),
        last_inbound_type=Subquery(theirs.values("message_type")[:1]),
    )


def inbox_page(
    *,
    term: str = "",
    needs_staff: bool = False,
    before: Cursor | None = None,
    after: Cursor | None = None,
    size: int = INBOX_PAGE_SIZE,
) -> InboxPage:
    """One page of conversations, newest first: the first page, the one `before`, or `after`."""
    rows = conversations(term=term, needs_staff=needs_staff)
    if after is not None:
        newer = Q(last_message_at__gt=after.at) | Q(last_message_at=after.at, wa_id__gt=after.wa_id)
        found = list(rows.filter(newer).order_by("last_message_at", "wa_id")[: size + 1])
        more_newer = len(found) > size
        page = list(reversed(found[:size]))
        more_older = True
    else:
        if before is not None:
            rows = rows.filter(
                Q(last_message_at__lt=before.at)
                | Q(last_message_at=before.at, wa_id__lt=before.wa_id)
            )
        found = list(rows.order_by("-last_message_at", "-wa_id")[: size + 1])
        page = found[:size]
        more_older = len(found) > size
        more_newer = before is not None
    return InboxPage(
        rows=page,
        older=_cursor(page[-1]) if page and more_older else None,
        newer=_cursor(page[0]) if page and more_newer else None,
        latest=page[0].last_message_at if page else None,
    )


def changed_conversations(
    *, since: datetime, term: str = "", needs_staff: bool = False, size: int = INBOX_PAGE_SIZE
) -> list[Customer]:
    """Conversations whose last message is newer than `since`, newest first (for the poll)."""
    rows = conversations(term=term, needs_staff=needs_staff).filter(last_message_at__gt=since)
    return list(rows.order_by("-last_message_at", "-wa_id")[:size])


def _cursor(customer: Customer) -> Cursor:
    assert customer.last_message_at is not None  # noqa: S101 (conversations() filters on it)
    return Cursor(customer.last_message_at, customer.wa_id)


@dataclass
class Transcript:
    messages: list[Conversation]
    older: int | None = None  # id of the oldest message shown, when there are older ones
    reservations: Sequence[Reservation] = field(default_factory=list)

    @property
    def latest_id(self) -> int | None:
        """The newest message shown: what staff have seen once the page is on screen."""
        return self.messages[-1].id if self.messages else None


def transcript(
    *, customer: Customer, before: int | None = None, size: int = TRANSCRIPT_PAGE_SIZE
) -> Transcript:
    """The latest `size` messages (or those before message `before`), oldest first."""
    rows = Conversation.objects.for_customer(customer.wa_id)
    if before is not None:
        anchor = rows.filter(id=before).values("created_at").first()
        if anchor is not None:
            rows = rows.filter(
                Q(created_at__lt=anchor["created_at"])
                | Q(created_at=anchor["created_at"], id__lt=before)
            )
    found = list(rows.order_by("-created_at", "-id")[: size + 1])
    page = list(reversed(found[:size]))
    return Transcript(
        messages=page,
        older=page[0].id if len(found) > size else None,
        reservations=list(
            Reservation.objects.for_customer(customer.wa_id)
            .active()
            .upcoming()
            .order_by("date", "time_slot")
        ),
    )


def transcript_updates(
    *, customer: Customer, after: int, watching: Mapping[int, str]
) -> list[Conversation]:
    """Messages newer than id `after`, and watched ones whose status has moved on.

    `watching` maps the ids the page shows as queued, sent or delivered to that status. Ids only
    grow, so "newer than X" finds every new row; a tick is found by comparing statuses.
    """
    watched = list(watching)[: TRANSCRIPT_PAGE_SIZE * 2]
    rows = Conversation.objects.for_customer(customer.wa_id).filter(
        Q(id__gt=after) | Q(id__in=watched)
    )
    return [
        row
        for row in rows.order_by("created_at", "id")
        if row.id > after or watching.get(row.id) != row.status
    ]
