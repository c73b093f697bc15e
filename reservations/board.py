"""The staff day board: one column per resource, times down the side, each booking a block as
long as its service, and the free gaps in between (each a link to book there).

The page lays it out as a CSS grid of ROW_MINUTES rows (the static board.css has a class per
row, span and column: the pages' Content-Security-Policy allows no inline style). `layout` is
pure; `day_board` loads its inputs in a few queries.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.utils import timezone

from reservations import availability
from reservations import resources as engine
from reservations.availability import ResourcePlan
from reservations.models import Reservation, Resource, ServiceResource
from reservations.slots import Calendar

ROW_MINUTES = 5
LABEL_MINUTES = 30
HEADER_ROWS = 1  # grid row 1 holds the resources' names
MAX_ROWS = 24 * 60 // ROW_MINUTES + 1  # board.css has classes up to these
MAX_COLUMNS = 40


@dataclass(frozen=True)
class Block:
    reservation: Reservation
    row: int
    span: int
    column: int


@dataclass(frozen=True)
class Gap:
    """A free stretch of a resource (staff may book there)."""

    starts: time
    ends: time
    row: int
    span: int
    column: int
    width: int
    service_id: int | None  # the resource's first service that fits, to prefill the form


@dataclass(frozen=True)
class Column:
    resource: Resource
    column: int  # its first grid column
    lanes: int  # grid columns it spans (bookings that overlap sit side by side)
    blocks: tuple[Block, ...] = ()
    gaps: tuple[Gap, ...] = ()
    # Where it works that day (grid rows), drawn behind the blocks.
    open_rows: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class Label:
    at: time
    row: int
    span: int


@dataclass(frozen=True)
class Board:
    day: date
    columns: tuple[Column, ...] = ()
    labels: tuple[Label, ...] = ()
    rows: int = 0
    off_board: tuple[Reservation, ...] = field(default=())  # too many columns to show
    reservations: tuple[Reservation, ...] = field(default=())  # every active one of the day

    @property
    def empty(self) -> bool:
        return not self.labels


def _minutes(moment: datetime, origin: datetime) -> int:
    return int((moment - origin).total_seconds() // 60)


def _lanes(items: Sequence[tuple[datetime, datetime]]) -> tuple[list[int], int]:
    """Greedy lanes: each item gets the first lane free at its start; the lane count."""
    ends: list[datetime] = []
    found = []
    for start, end in items:
        for index, lane_end in enumerate(ends):
            if lane_end <= start:
                ends[index] = end
                found.append(index)
                break
        else:
            ends.append(end)
            found.append(len(ends) - 1)
    return found, max(len(ends), 1)


def _subtract(
    spans: list[tuple[datetime, datetime]], taken: Sequence[tuple[datetime, datetime]]
) -> list[tuple[datetime, datetime]]:
    for low, high in taken:
        kept = []
        for start, end in spans:
            if high <= start or end <= low:
                kept.append((start, end))
                continue
            if start < low:
                kept.append((start, low))
            if high < end:
                kept.append((high, end))
        spans = kept
    return spans


def _full(
    ranges: Sequence[tuple[datetime, datetime]], limit: int
) -> list[tuple[datetime, datetime]]:
    """Where at least `limit` of `ranges` overlap."""
    events = sorted([(start, 1) for start, _ in ranges] + [(end, -1) for _, end in ranges])
    found, current, since = [], 0, None
    for moment, change in events:
        before = current
        current += change
        if before < limit <= current:
            since = moment
        elif current < limit <= before and since is not None:
            if since < moment:
                found.append((since, moment))
            since = None
    return found


def layout(
    *,
    day: date,
    calendar: Calendar,
    resources: Sequence[Resource],
    plans: Sequence[ResourcePlan],
    reservations: Sequence[Reservation],
    services_of: dict[int, list[tuple[int, int]]],
    now: datetime,
) -> Board:
    """The board of `day`. `services_of`: resource id -> [(service id, minutes)], shortest
    first; reservations without a resource belong to the clinic's column."""
    clinic = next((r for r in resources if r.is_clinic), None)
    by_resource: dict[int, list[Reservation]] = {}
    for reservation in reservations:
        key = reservation.resource_id or (clinic.pk if clinic else 0)
        by_resource.setdefault(key, []).append(reservation)
    plan_of = {plan.id: plan for plan in plans}
    windows = {
        r.pk: [
            (
                timezone.make_aware(datetime.combine(day, a)),
                timezone.make_aware(datetime.combine(day, b)),
            )
            for a, b in availability.windows(calendar, plan_of[r.pk], day)
        ]
        for r in resources
    }
    moments = [m for spans in windows.values() for span in spans for m in span]
    moments += [m for rs in by_resource.values() for r in rs for m in (r.starts_at, r.ends_at)]
    if not moments:
        return Board(day=day, reservations=tuple(reservations))
    midnight = timezone.make_aware(datetime.combine(day, time(0)))
    first = max(min(moments), midnight)
    last = min(max(moments), midnight + timedelta(days=1))
    origin = midnight + timedelta(
        minutes=_minutes(first, midnight) // LABEL_MINUTES * LABEL_MINUTES
    )
    total = math.ceil(_minutes(last, origin) / LABEL_MINUTES) * LABEL_MINUTES
    rows = max(total // ROW_MINUTES, 1)

    def row_of(moment: datetime) -> int:
        minutes = min(max(_minutes(moment, origin), 0), rows * ROW_MINUTES)
        return HEADER_ROWS + 1 + minutes // ROW_MINUTES

    def span_of(start: datetime, end: datetime) -> int:
        return max(row_of(end) - row_of(start), 1)

    columns: list[Column] = []
    off_board: list[Reservation] = []
    next_column = 2  # column 1 is the time axis
    for resource in resources:
        held = sorted(by_resource.get(resource.pk, []), key=lambda r: (r.starts_at, r.pk))
        lanes, count = _lanes([(r.starts_at, r.ends_at) for r in held])
        plan = plan_of[resource.pk]
        limit = plan.limit(calendar.rules, for_staff=True)
        width = count + (1 if limit > 1 and held else 0)  # a lane for the free places
        if next_column + width - 1 > MAX_COLUMNS:
            off_board.extend(held)
            continue
        blocks = tuple(
            Block(
                reservation=r,
                row=row_of(r.starts_at),
                span=span_of(r.starts_at, r.ends_at),
                column=next_column + lane,
            )
            for r, lane in zip(held, lanes, strict=True)
        )
        busy = [(r.blocked_from or r.starts_at, r.blocked_until or r.ends_at) for r in held]
        blocked = [
            (
                timezone.make_aware(datetime.combine(day, a or time(0))),
                timezone.make_aware(datetime.combine(day, b))
                if b
                else midnight + timedelta(days=1),
            )
            for a, b in plan.exceptions.get(day, ())
        ]
        free = _subtract(list(windows[resource.pk]), [*_full(busy, limit), *blocked])
        gaps = []
        for start, end in free:
            start = max(start, now)
            if end - start < timedelta(minutes=ROW_MINUTES):
                continue
            fitting = [
                sid
                for sid, minutes in services_of.get(resource.pk, [])
                if timedelta(minutes=minutes) <= end - start
            ]
            gap_column = next_column + (count if limit > 1 and held else 0)
            gaps.append(
                Gap(
                    starts=timezone.localtime(start).time(),
                    ends=timezone.localtime(end).time(),
                    row=row_of(start),
                    span=span_of(start, end),
                    column=gap_column,
                    width=1 if limit > 1 and held else width,
                    service_id=fitting[0] if fitting else None,
                )
            )
        columns.append(
            Column(
                resource=resource,
                column=next_column,
                lanes=width,
                blocks=blocks,
                gaps=tuple(gaps),
                open_rows=tuple((row_of(a), span_of(a, b)) for a, b in windows[resource.pk]),
            )
        )
        next_column += width
    labels = tuple(
        Label(
            at=timezone.localtime(origin + timedelta(minutes=m)).time(),
            row=HEADER_ROWS + 1 + m // ROW_MINUTES,
            span=LABEL_MINUTES // ROW_MINUTES,
        )
        for m in range(0, rows * ROW_MINUTES, LABEL_MINUTES)
    )
    return Board(
        day=day,
        columns=tuple(columns),
        labels=labels,
        rows=rows,
        off_board=tuple(off_board),
        reservations=tuple(reservations),
    )


def day_board(*, day: date, calendar: Calendar) -> Board:
    """The board of `day`: active resources, and inactive ones that still hold bookings then."""
    reservations = list(
        Reservation.objects.active()
        .on(day)
        .select_related("customer", "service", "resource")
        .order_by("time_slot", "id")
    )
    held = {r.resource_id for r in reservations}
    clinic_needed = None in held
    shown = [
        r
        for r in Resource.objects.all().order_by("-is_clinic", "resource_type", "name", "id")
        if r.is_active or r.pk in held or (r.is_clinic and clinic_needed)
    ]
    if clinic_needed and not any(r.is_clinic for r in shown):
        shown.insert(0, Resource.objects.get_clinic())
    plans = engine.resource_plans(shown, start=day, end=day)
    services_of: dict[int, list[tuple[int, int]]] = {}
    links = (
        ServiceResource.objects.filter(resource__in=shown, service__is_active=True)
        .select_related("service")
        .order_by("service__duration_minutes", "service__name", "service_id")
    )
    plan = calendar.plan_for(day)
    for link in links:
        minutes = (
            plan.slot_minutes
            if plan and link.service.lasts_one_slot
            else link.service.duration_minutes
        )
        services_of.setdefault(link.resource_id, []).append((link.service_id, minutes))
    return layout(
        day=day,
        calendar=calendar,
        resources=shown,
        plans=plans,
        reservations=reservations,
        services_of=services_of,
        now=timezone.now(),
    )
