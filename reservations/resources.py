"""Resources and services in the database: loading them for the engine of
`reservations.availability`, the free start times of a service, the checks the booking service
makes under lock, and saving a resource (its bookings follow a change of capacity).

Bookings of a resource on one date are serialised by a transaction-scoped advisory lock on
PostgreSQL (SQLite: BEGIN IMMEDIATE serialises every writer); a one-at-a-time resource is
also guarded by the exclusion constraint of migration 0009.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.db import IntegrityError, connection, transaction
from django.db.models import CharField, Q
from django.db.models.functions import Cast
from django.utils import timezone

from reservations import availability, slots
from reservations.availability import BusyIndex, ResourcePlan, ServiceDay, ServicePlan, Start
from reservations.errors import (
    AlreadyBookedError,
    BookingError,
    ClosedError,
    InPastError,
    NotASlotError,
    SlotFullError,
    TooFarError,
    TooSoonError,
    TypeFullError,
    UnavailableError,
    VacationError,
)
from reservations.models import (
    BookingRules,
    Reservation,
    Resource,
    Service,
    StaffException,
    StaffWorkingHours,
)
from reservations.models.reservation import IMPORTED_MINUTES
from reservations.slots import Calendar

# First key of the two-key advisory locks on (resource, date); the slot locks used 0x5107.
RESOURCE_LOCK_NAMESPACE = 0x5108
EXCLUSION_CONSTRAINT = "ex_reservations_resource_overlap"  # migration 0009
# nearest_free_starts looks this far before the wished day (and up to the horizon after).
NEAREST_LOOKBACK = timedelta(days=14)


# ---------------------------------------------------------------------------- loading


def resources_for(
    *, service: Service, resource: Resource | None = None, for_staff: bool = False
) -> list[Resource]:
    """The active resources that may deliver `service`: just `resource` when one is named;
    none for an inactive service (unless staff book it)."""
    if not service.is_active and not for_staff:
        return []
    if resource is not None:
        delivers = service.pk is None or service.links.filter(resource=resource).exists()
        return [resource] if resource.is_active and delivers else []
    return list(Resource.objects.active().filter(links__service=service).order_by("name", "id"))


def resource_plans(resources: Sequence[Resource], *, start: date, end: date) -> list[ResourcePlan]:
    """The engine's view of `resources` over `start`..`end`, in two queries."""
    ids = [resource.pk for resource in resources]
    hours: dict[int, dict[int | None, dict[int, list[tuple[time, time]]]]] = {}
    seasons: dict[int, tuple[date, date]] = {}
    rows = StaffWorkingHours.objects.filter(resource_id__in=ids).select_related("season")
    for row in rows:
        if row.season is not None:
            if row.season.start_date is None or row.season.end_date is None:
                continue
            seasons[row.season.pk] = (row.season.start_date, row.season.end_date)
        per_day = hours.setdefault(row.resource_id, {}).setdefault(row.season_id, {})
        per_day.setdefault(row.day_of_week, []).append((row.start_time, row.end_time))
    exceptions: dict[int, dict[date, list[tuple[time | None, time | None]]]] = {}
    blocked = StaffException.objects.filter(resource_id__in=ids, date__gte=start, date__lte=end)
    for exception in blocked:
        exceptions.setdefault(exception.resource_id, {}).setdefault(exception.date, []).append(
            (exception.start_time, exception.end_time)
        )
    plans = []
    for resource in resources:
        own = hours.get(resource.pk, {})
        week = own.get(None)
        plans.append(
            ResourcePlan(
                id=resource.pk,
                name=resource.name,
                capacity=resource.capacity,
                is_clinic=resource.is_clinic,
                # Hours for a season only still mean "its own hours": closed outside them.
                week=_freeze(week) if week is not None or own else None,
                seasons=tuple(
                    (*seasons[season_id], _freeze(spans))
                    for season_id, spans in own.items()
                    if season_id is not None
                ),
                exceptions={
                    day: tuple(spans) for day, spans in exceptions.get(resource.pk, {}).items()
                },
            )
        )
    return plans


def _freeze(
    spans: dict[int, list[tuple[time, time]]] | None,
) -> dict[int, tuple[tuple[time, time], ...]]:
    return {day: tuple(sorted(items)) for day, items in (spans or {}).items()}


def load_busy(
    *,
    resources: Sequence[Resource],
    calendar: Calendar,
    start: date,
    end: date,
    exclude_id: int | None = None,
) -> BusyIndex:
    """Active bookings of the resources touching `start`..`end` (a day either side for buffers
    that cross midnight). Rows imported without a resource or range are the clinic's, one
    clinic slot long."""
    clinic = next((r.pk for r in resources if r.is_clinic), None)
    mine = Q(resource_id__in=[r.pk for r in resources])
    if clinic is not None:
        mine |= Q(resource__isnull=True)
    rows = Reservation.objects.active().filter(
        mine, date__gte=start - timedelta(days=1), date__lte=end + timedelta(days=1)
    )
    if exclude_id is not None:
        rows = rows.exclude(pk=exclude_id)
    # The stored UTC instants as text, parsed by `datetime.fromisoformat` (C): the database
    # adapter's per-row datetime conversion was most of the time of a month of "anyone".
    rows = rows.annotate(
        from_text=Cast("blocked_from", CharField()), until_text=Cast("blocked_until", CharField())
    )
    busy = []
    fields = ("resource_id", "from_text", "until_text", "type", "date", "time_slot")
    for resource_id, from_text, until_text, type_, day, at in rows.values_list(*fields):
        if from_text is None or until_text is None:
            blocked_from = timezone.make_aware(datetime.combine(day, at)).astimezone(UTC)
            length = calendar.slot_length(day) or timedelta(minutes=IMPORTED_MINUTES)
            blocked_until = blocked_from + length
        else:
            blocked_from, blocked_until = _utc(from_text), _utc(until_text)
        busy.append(
            availability.Busy(resource_id or clinic or 0, blocked_from, blocked_until, type_, day)
        )
    return BusyIndex(busy)


def _utc(text: str) -> datetime:
    """A stored instant's text (PostgreSQL: with its offset; SQLite: naive UTC) in UTC, so the
    engine compares datetimes of one time zone (no offset lookups)."""
    moment = datetime.fromisoformat(text)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def load_calendar(*, start: date, end: date) -> Calendar:
    from reservations.services import load_calendar as load

    return load(start=start, end=end)


# ---------------------------------------------------------------------------- reading


def free_starts(
    *,
    service: Service,
    start: date,
    end: date,
    resource: Resource | None = None,
    for_staff: bool = False,
    wa_id: str | None = None,
    bookable_only: bool = True,
    exclude_id: int | None = None,
) -> list[ServiceDay]:
    """Per day from `start` to `end`, the start times of `service` with `resource`, or with
    anyone who can (each start names who); with `wa_id`, the customer's own bookings and
    their limit of upcoming bookings are honoured as the booking service would. A booking
    being moved (`exclude_id`) does not count against its new start."""
    calendar = load_calendar(start=start, end=end)
    resources = resources_for(service=service, resource=resource, for_staff=for_staff)
    busy = load_busy(
        resources=resources, calendar=calendar, start=start, end=end, exclude_id=exclude_id
    )
    refuse_all, ranges = None, []
    if wa_id is not None:
        mine = Reservation.objects.active().for_customer(wa_id)
        limit = calendar.rules.max_upcoming_per_customer
        if not for_staff and mine.upcoming().count() >= limit:
            refuse_all = availability.CUSTOMER_LIMIT
        near = mine.between(start - timedelta(days=1), end + timedelta(days=1))
        ranges = [(r.starts_at, r.ends_at) for r in near if r.pk != exclude_id]
    return availability.build_service_days(
        calendar,
        ServicePlan.from_service(service),
        resource_plans(resources, start=start, end=end),
        start=start,
        end=end,
        busy=busy,
        now=timezone.now(),
        for_staff=for_staff,
        bookable_only=bookable_only,
        refuse_all=refuse_all,
        refuse_ranges=ranges,
    )


def nearest_free_starts(
    *,
    service: Service,
    near: datetime,
    limit: int,
    resource: Resource | None = None,
    for_staff: bool = False,
    wa_id: str | None = None,
    exclude_id: int | None = None,
) -> list[Start]:
    """Up to `limit` bookable starts of `service` closest in time to `near` (aware), closest
    first: what to offer when the wished time is taken."""
    today = timezone.localdate()
    wished = timezone.localtime(near).date()
    horizon = ServicePlan.from_service(service).horizon(BookingRules.objects.get_solo())
    last = wished + timedelta(days=31) if for_staff else today + timedelta(days=horizon)
    first = max(today, min(wished, last) - NEAREST_LOOKBACK)
    if first > last:
        return []
    days = free_starts(
        service=service, start=first, end=last, resource=resource, for_staff=for_staff,
        wa_id=wa_id, exclude_id=exclude_id,
    )  # fmt: skip
    offered = [start for day in days for start in day.starts]
    offered.sort(key=lambda start: (abs(start.starts_at - near), start.starts_at))
    return offered[:limit]


# ---------------------------------------------------------------------------- booking


@dataclass(frozen=True)
class Placement:
    """A start the engine accepted, with the resource it books."""

    resource: Resource
    service: Service
    start: Start
    buffer_before: int
    buffer_after: int


def lock_resources(resources: Sequence[Resource], *, dates: Sequence[date]) -> None:
    """Hold every (resource, date) until the transaction ends, in one order (no deadlocks).
    Two keys may share a lock (the key is folded into 31 bits): that only serialises more."""
    if connection.vendor != "postgresql":
        return  # SQLite: BEGIN IMMEDIATE already serialises every writing transaction.
    keys = sorted(
        {(r.pk * 1_000_003 + day.toordinal()) % 2**31 for r in resources for day in dates}
    )
    with connection.cursor() as cursor:
        for key in keys:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [RESOURCE_LOCK_NAMESPACE, key])


def touched_dates(day: date, at: time, service: Service, calendar: Calendar) -> list[date]:
    """The clinic-local dates a booking's blocked range touches (buffers may cross midnight)."""
    plan = calendar.plan_for(day)
    length = ServicePlan.from_service(service).length(plan) if plan else timedelta(0)
    moment = datetime.combine(day, at)
    first = (moment - timedelta(minutes=service.buffer_before_minutes)).date()
    last = (moment + length + timedelta(minutes=service.buffer_after_minutes)).date()
    return slots.dates_between(first, last)


def place_booking(
    *,
    calendar: Calendar,
    service: Service,
    resources: Sequence[Resource],
    day: date,
    at: time,
    for_staff: bool,
    exclude_id: int | None = None,
) -> tuple[Placement | None, str]:
    """Check `at` on `day` for the service with each of `resources` (call with them locked)
    and choose as the engine does; the placement, or None and the refusal code."""
    if not resources:
        return None, availability.UNAVAILABLE
    plan = ServicePlan.from_service(service)
    plans = resource_plans(resources, start=day, end=day)
    busy = load_busy(
        resources=resources, calendar=calendar, start=day, end=day, exclude_id=exclude_id
    )
    now = timezone.now()
    verdicts: list[Start] = []
    refusals: list[str] = []
    for resource_plan in plans:
        reason = availability.why_not(calendar, plan, resource_plan, day, at)
        if reason is not None:
            refusals.append(reason)
            continue
        verdicts.append(
            availability.evaluate_start(
                calendar, plan, resource_plan, day, at, busy=busy, now=now, for_staff=for_staff
            )
        )
    if not verdicts:
        return None, _first_of(refusals)
    chosen = availability.choose(verdicts, busy)
    if chosen.refusal is not None:
        return None, chosen.refusal
    resource = next(r for r in resources if r.pk == chosen.resource_id)
    return Placement(
        resource=resource,
        service=service,
        start=chosen,
        buffer_before=service.buffer_before_minutes,
        buffer_after=service.buffer_after_minutes,
    ), ""


def _first_of(refusals: list[str]) -> str:
    """The refusal to report when no resource has the start: the clinic's reasons first."""
    order = [slots.VACATION, availability.NOT_A_SLOT, availability.UNAVAILABLE, slots.CLOSED]
    return min(refusals, key=lambda code: order.index(code) if code in order else len(order))


PLACED_FIELDS = [
    "type",
    "service",
    "resource",
    "end_time",
    "blocked_from",
    "blocked_until",
    "exclusive",
    "updated_at",
]


def place_or_refuse(
    calendar: Calendar,
    service: Service,
    candidates: list[Resource],
    day: date,
    at: time,
    *,
    for_staff: bool,
    exclude_id: int | None = None,
) -> Placement:
    """The engine's placement of the start, or the BookingError that refuses it; call with
    the candidates locked."""
    placement, refusal = place_booking(
        calendar=calendar,
        service=service,
        resources=candidates,
        day=day,
        at=at,
        for_staff=for_staff,
        exclude_id=exclude_id,
    )
    if placement is not None:
        return placement
    rules = calendar.rules
    notice = ServicePlan.from_service(service).notice(rules)
    horizon = ServicePlan.from_service(service).horizon(rules)
    refusals: dict[str, Callable[[], BookingError]] = {
        slots.VACATION: VacationError,
        slots.CLOSED: ClosedError,
        availability.NOT_A_SLOT: NotASlotError,
        availability.UNAVAILABLE: UnavailableError,
        slots.IN_PAST: InPastError,
        slots.TOO_SOON: lambda: TooSoonError(minutes=notice),
        slots.TOO_FAR: lambda: TooFarError(days=horizon),
        slots.SLOT_FULL: SlotFullError,
        slots.TYPE_FULL: TypeFullError,
    }
    raise refusals[refusal]()


def check_own_overlap(wa_id: str, placement: Placement, *, exclude_id: int | None = None) -> None:
    """A customer cannot be in two places at once (another resource included)."""
    start = placement.start
    around = (
        Reservation.objects.active()
        .for_customer(wa_id)
        .filter(date__gte=start.date - timedelta(days=1), date__lte=start.date + timedelta(days=1))
    )
    if exclude_id is not None:
        around = around.exclude(pk=exclude_id)
    if any(r.starts_at < start.ends_at and start.starts_at < r.ends_at for r in around):
        raise AlreadyBookedError()


def apply_placement(reservation: Reservation, placement: Placement) -> None:
    reservation.service = placement.service
    reservation.resource = placement.resource
    reservation.type = placement.service.type
    reservation.exclusive = placement.resource.exclusive
    reservation.place(
        length=placement.start.ends_at - placement.start.starts_at,
        buffer_before=placement.buffer_before,
        buffer_after=placement.buffer_after,
    )


def save_placed(reservation: Reservation, *, update_fields: list[str] | None = None) -> None:
    """Write the row; the exclusion constraint's refusal (a race the lock did not cover, e.g.
    a row written outside the booking service) is a full slot."""
    try:
        with transaction.atomic():
            reservation.save(update_fields=update_fields)
    except IntegrityError as exc:
        if EXCLUSION_CONSTRAINT in str(exc):
            raise SlotFullError() from exc
        raise


# ---------------------------------------------------------------------------- resources


def overlap_beyond(*, resource: Resource, capacity: int) -> date | None:
    """The first date on which upcoming active bookings of `resource` overlap more than
    `capacity` at once, or None."""
    if resource.is_clinic:
        return None
    now = timezone.now()
    rows = list(
        Reservation.objects.active()
        .filter(resource=resource, blocked_from__isnull=False, blocked_until__gt=now)
        .order_by("blocked_from")
        .values_list("blocked_from", "blocked_until", "date")
    )
    ends: list[datetime] = []
    for blocked_from, blocked_until, day in rows:
        if blocked_from is None or blocked_until is None:
            continue
        ends = [end for end in ends if end > blocked_from]
        ends.append(blocked_until)
        if len(ends) > capacity:
            return day
    return None


@transaction.atomic
def save_resource(*, resource: Resource) -> Resource:
    """Save a resource; its upcoming bookings follow whether it takes one at a time."""
    resource.save()
    Reservation.objects.active().filter(
        Q(resource=resource), Q(blocked_until__gt=timezone.now())
    ).exclude(exclusive=resource.exclusive).update(exclusive=resource.exclusive)
    return resource


def sync_clinic_capacity(rules: BookingRules) -> None:
    """Keep the clinic resource's capacity column equal to the rules' capacity per slot."""
    Resource.objects.filter(is_clinic=True).exclude(capacity=rules.capacity).update(
        capacity=rules.capacity
    )
