"""What the staff dashboard shows: today's work, queue health, trends, and recent events.

Read-only and bounded: every function here runs a fixed number of queries whatever the size of
the tables (lists are sliced, counts are capped or served by partial indexes).
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db.models import Count, Min, Q
from django.utils import timezone

from config import query
from customers.models import Customer
from messaging.models import (
    EVENT_LABELS,
    BotDailyCount,
    Conversation,
    ConversationQuerySet,
    InboundMessage,
    NotificationEvent,
)
from reservations.models import Reservation

LIST_LIMIT = 20
TREND_DAYS_BEFORE = 28
TREND_DAYS_AFTER = 14
UNSEEN_CAP = 100
UNDERSTANDING_DAYS = 7
EVENTS_PAGE_SIZE = 50
# Offered in the events filter (by their labels); any other type in the URL works too.
KNOWN_EVENT_TYPES = list(EVENT_LABELS)


@dataclass(frozen=True)
class QueueHealth:
    pending: int
    failed: int
    oldest_pending_at: datetime | None
    retrying: int = 0  # pending after a failed attempt (their last error is kept on the row)

    @property
    def oldest_pending_age(self) -> timedelta | None:
        return timezone.now() - self.oldest_pending_at if self.oldest_pending_at else None


@dataclass(frozen=True)
class SendHealth:
    """Outbound sends: how many are being retried, and the latest error (retried or final)."""

    retrying: int
    last_error: Conversation | None


@dataclass(frozen=True)
class Today:
    day: date
    reservations: list[Reservation]
    handoffs: list[Customer]
    failed_messages: list[Conversation]
    failed_messages_count: int
    failed_inbound: list[InboundMessage]
    queue: QueueHealth
    sending: SendHealth


def today_overview(*, day: date | None = None) -> Today:
    """The day's reservations in order, open hand-offs, failed messages and queue health."""
    day = day or timezone.localdate()
    failed = Conversation.objects.failed()
    counts = outbound_trouble_counts()
    return Today(
        day=day,
        reservations=list(
            Reservation.objects.on(day).select_related("customer").order_by("time_slot", "id")
        ),
        handoffs=list(Customer.objects.needing_staff().order_by("needs_staff_since")[:LIST_LIMIT]),
        failed_messages=list(
            failed.select_related("customer").order_by("-created_at", "-id")[:LIST_LIMIT]
        ),
        failed_messages_count=counts["failed"],
        failed_inbound=list(
            InboundMessage.objects.failed().order_by("-created_at", "-id")[:LIST_LIMIT]
        ),
        queue=queue_health(),
        sending=send_health(retrying=counts["retrying"]),
    )


def outbound_trouble_counts() -> dict[str, int]:
    """Failed outbound messages and those being retried, in one query over the partial index on
    queued/failed rows."""
    return Conversation.objects.filter(
        status__in=[Conversation.Status.QUEUED, Conversation.Status.FAILED]
    ).aggregate(
        failed=Count("id", filter=Q(status=Conversation.Status.FAILED)),
        retrying=Count("id", filter=ConversationQuerySet.retrying_q()),
    )


def send_health(*, retrying: int | None = None) -> SendHealth:
    """Sends being retried and the latest send error (`retrying` when already counted)."""
    return SendHealth(
        retrying=outbound_trouble_counts()["retrying"] if retrying is None else retrying,
        last_error=Conversation.objects.send_errors().order_by("-updated_at", "-id").first(),
    )


def queue_health() -> QueueHealth:
    """Pending and failed inbound messages, and when the oldest pending one arrived (one query)."""
    pending = Q(status=InboundMessage.Status.PENDING)
    row = InboundMessage.objects.filter(
        status__in=[InboundMessage.Status.PENDING, InboundMessage.Status.FAILED]
    ).aggregate(
        pending=Count("id", filter=pending),
        failed=Count("id", filter=Q(status=InboundMessage.Status.FAILED)),
        oldest=Min("created_at", filter=pending),
        retrying=Count("id", filter=pending & Q(last_error__isnull=False)),
    )
    return QueueHealth(
        pending=row["pending"],
        failed=row["failed"],
        oldest_pending_at=row["oldest"],
        retrying=row["retrying"],
    )


# ---------------------------------------------------------------------------- trends
@dataclass(frozen=True)
class TrendDay:
    day: date
    active: int
    cancelled: int


def reservation_trend(
    *, today: date | None = None, before: int = TREND_DAYS_BEFORE, after: int = TREND_DAYS_AFTER
) -> list[TrendDay]:
    """Active and cancelled reservations per visit day, `before` days back to `after` ahead,
    every day present (zeros included); one grouped query."""
    today = today or timezone.localdate()
    start, end = today - timedelta(days=before), today + timedelta(days=after)
    counts = {
        row["date"]: row
        for row in Reservation.objects.between(start, end)
        .order_by()
        .values("date")
        .annotate(
            active=Count("status", filter=Q(status=Reservation.Status.ACTIVE)),
            cancelled=Count("status", filter=Q(status=Reservation.Status.CANCELLED)),
        )
    }
    days = [start + timedelta(days=n) for n in range((end - start).days + 1)]
    return [
        TrendDay(
            day=day,
            active=counts.get(day, {}).get("active", 0),
            cancelled=counts.get(day, {}).get("cancelled", 0),
        )
        for day in days
    ]


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    height: float
    value: int


@dataclass(frozen=True)
class ChartColumn:
    day: date
    is_today: bool
    label: str  # a short date under every seventh column, else empty
    active: Bar
    cancelled: Bar


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    plot_height: int
    column_width: float
    bar_width: float
    max_value: int
    columns: list[ChartColumn]


def trend_chart(
    trend: list[TrendDay], *, today: date, width: int = 640, height: int = 200
) -> Chart:
    """Geometry for an SVG bar chart: per day, an active and a cancelled bar side by side."""
    plot_height = height - 24  # room for the date labels
    max_value = max([1, *(max(d.active, d.cancelled) for d in trend)])
    column_width = width / max(len(trend), 1)
    bar_width = max(column_width * 0.4, 1.0)
    columns = []
    for index, item in enumerate(trend):
        x = index * column_width
        bars = []
        for offset, value in ((0.1, item.active), (0.5, item.cancelled)):
            bar_height = plot_height * value / max_value
            bars.append(
                Bar(
                    x=round(x + column_width * offset, 2),
                    y=round(plot_height - bar_height, 2),
                    height=round(bar_height, 2),
                    value=value,
                )
            )
        columns.append(
            ChartColumn(
                day=item.day,
                is_today=item.day == today,
                label=item.day.strftime("%d/%m")
                if (item.day - today).days % 7 == 0 and x + 40 <= width
                else "",
                active=bars[0],
                cancelled=bars[1],
            )
        )
    return Chart(
        width=width,
        height=height,
        plot_height=plot_height,
        column_width=round(column_width, 2),
        bar_width=round(bar_width, 2),
        max_value=max_value,
        columns=columns,
    )


# ---------------------------------------------------------------------------- understanding
@dataclass(frozen=True)
class UnderstandingDay:
    """How the bot placed the texts customers typed on one day (taps are not counted)."""

    day: date
    rules: int = 0
    model: int = 0
    faq: int = 0
    staff: int = 0
    not_understood: int = 0
    model_failed: int = 0  # the model was asked but gave nothing usable (or was too slow)

    @property
    def texts(self) -> int:
        return self.rules + self.model + self.faq + self.staff + self.not_understood

    @property
    def placed_percent(self) -> int | None:
        """Texts the bot answered itself (rules, model, FAQ), as a percentage."""
        if not self.texts:
            return None
        return round(100 * (self.rules + self.model + self.faq) / self.texts)


def understanding_by_day(
    *, today: date | None = None, days: int = UNDERSTANDING_DAYS
) -> list[UnderstandingDay]:
    """The last `days` days, newest first, every day present; one query over at most
    `days` x kinds counter rows."""
    today = today or timezone.localdate()
    start = today - timedelta(days=days - 1)
    fields = {f.name for f in UnderstandingDay.__dataclass_fields__.values()} - {"day"}
    counts: dict[date, dict[str, int]] = {}
    for row in BotDailyCount.objects.filter(
        day__gte=start, day__lte=today, kind__in=fields
    ).totals():
        counts.setdefault(row["day"], {})[row["kind"]] = row["total"]
    return [
        UnderstandingDay(day=day, **counts.get(day, {}))
        for day in (today - timedelta(days=n) for n in range(days))
    ]


# ---------------------------------------------------------------------------- events
@dataclass(frozen=True)
class EventPage:
    events: list[NotificationEvent]
    next_cursor: str | None  # pass back as `before` for the next (older) page


def recent_events(
    *,
    event_type: str = "",
    wa_id: str = "",
    before: str | None = None,
    page_size: int = EVENTS_PAGE_SIZE,
) -> EventPage:
    """Newest events first, optionally of one type or about one number.

    Keyset pagination on (ts_iso, id), both indexed: no COUNT(*) and no OFFSET, so the thousandth
    page costs what the first does. `before` is the previous page's `next_cursor` (None: the first).
    """
    events = NotificationEvent.objects.order_by("-ts_iso", "-id")
    if event_type:
        events = events.filter(event_type=event_type)
    if wa_id:
        events = events.filter(wa_id=wa_id)
    cursor = _parse_cursor(before or "")
    if cursor:
        ts_iso, pk = cursor
        events = events.filter(Q(ts_iso__lt=ts_iso) | Q(ts_iso=ts_iso, id__lt=pk))
    rows = list(events[: page_size + 1])
    page = rows[:page_size]
    more = len(rows) > page_size
    return EventPage(events=page, next_cursor=f"{page[-1].ts_iso}~{page[-1].pk}" if more else None)


def _parse_cursor(raw: str) -> tuple[str, int] | None:
    """The (ts_iso, id) in a `next_cursor`; raises BadQueryError (a ValueError) otherwise."""
    if not raw:
        return None
    ts_iso, _, pk = raw.rpartition("~")
    query.parse_datetime(ts_iso, name="before")
    return ts_iso, query.parse_int(pk, name="before")


def latest_event_id() -> int:
    return NotificationEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


def unseen_event_count(*, seen_id: int) -> int:
    """Events newer than `seen_id`, counted up to UNSEEN_CAP (the bell shows "99+")."""
    return NotificationEvent.objects.filter(id__gt=seen_id).order_by()[:UNSEEN_CAP].count()
