"""What the bot offers when the clinic books services with someone: the services, who delivers
each, their free start times from the resource engine, and how a booking is named.

A clinic whose only services are the upgrade's one-slot services of the clinic itself is
"plain": the bot asks the visit type and counts the clinic's slots exactly as before services.
As soon as one offered service is more than that (its own length, or delivered by a
practitioner or a room), the bot books services: service, then who, then day and time.
"""

from dataclasses import dataclass
from datetime import date, datetime, time

from django.db.models import Prefetch, Q
from django.utils.translation import ngettext

from messaging.bot.ids import Step
from messaging.bot.turn import offered_types
from messaging.bot.understanding.names import find_named
from reservations import availability, slots
from reservations import resources as engine
from reservations.availability import ServicePlan, Start
from reservations.errors import (
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
from reservations.models import BookingRules, Reservation, Resource, Service


def offered_services() -> list[Service]:
    """Active services of an offered visit type that an active resource delivers, each with
    its active resources (two queries)."""
    people = Prefetch("resources", queryset=Resource.objects.active().order_by("name", "id"))
    return list(
        Service.objects.active()
        .filter(type__in=offered_types(), links__resource__is_active=True)
        .distinct()
        .order_by("name", "id")
        .prefetch_related(people)
    )


def is_plain(service: Service) -> bool:
    """One clinic slot with the clinic itself: the booking as it was before services."""
    return service.lasts_one_slot and all(r.is_clinic for r in who_can(service))


def uses_services(services: list[Service] | None = None) -> bool:
    """Whether the bot books services (else the visit types, as before): an offered service
    lasts its own time or is delivered by someone other than the clinic."""
    if services is not None:
        return any(not is_plain(service) for service in services)
    offered = Service.objects.active().filter(
        type__in=offered_types(), links__resource__is_active=True
    )
    return offered.filter(
        Q(lasts_one_slot=False)
        | Q(links__resource__is_active=True, links__resource__is_clinic=False)
    ).exists()


def who_can(service: Service) -> list[Resource]:
    """The active resources that deliver `service`, in the engine's order."""
    if "resources" in getattr(service, "_prefetched_objects_cache", {}):
        return list(service.resources.all())  # by offered_services
    return engine.resources_for(service=service)


def service_title(service: Service, *, language: str) -> str:
    return service.display_name(language)


def duration_label(service: Service) -> str:
    minutes = service.duration_minutes
    return ngettext("%(n)s minute", "%(n)s minutes", minutes) % {"n": minutes}


# ---------------------------------------------------------------------------- a step's target


@dataclass(frozen=True)
class Target:
    """The service and the resource a step books (resource None: anyone who can)."""

    service: Service
    resource: Resource | None


def target_of(step: Step, reservation: Reservation | None = None) -> Target | None:
    """What `step` books, or None when its service or resource can no longer be booked. A
    move keeps its own service (even one no longer offered) and its resource while that
    still delivers it (else anyone who can, as the booking service does)."""
    service = Service.objects.filter(pk=step.service).first()
    if service is None:
        return None
    moving = reservation is not None and reservation.service_id == service.pk
    offered = Service.objects.active().filter(
        pk=service.pk, type__in=offered_types(), links__resource__is_active=True
    )
    if not moving and not offered.exists():
        return None
    if not step.resource:
        return Target(service, None)
    resource = Resource.objects.filter(pk=step.resource).first()
    if resource is None or not engine.resources_for(service=service, resource=resource):
        return Target(service, None) if moving else None
    return Target(service, resource)


# ---------------------------------------------------------------------------- free times


@dataclass(frozen=True)
class FreeDay:
    """A day as the booking flow lists it (the shape of `slots.Day`)."""

    date: date
    reason: str | None
    slots: list[Start]


def free_days(target: Target, *, start: date, end: date, moving: int = 0) -> list[FreeDay]:
    days = engine.free_starts(
        service=target.service,
        resource=target.resource,
        start=start,
        end=end,
        exclude_id=moving or None,
    )
    return [FreeDay(d.date, d.reason, list(d.starts)) for d in days]


def nearest(target: Target, *, near: datetime, limit: int, moving: int = 0) -> list[Start]:
    return engine.nearest_free_starts(
        service=target.service,
        resource=target.resource,
        near=near,
        limit=limit,
        exclude_id=moving or None,
    )


def horizon_days(target: Target | None, *, rules: BookingRules) -> int:
    """How many days ahead the service (else any clinic slot) may be booked."""
    if target is None:
        return rules.max_horizon_days
    return ServicePlan.from_service(target.service).horizon(rules)


def check_start(
    target: Target, day: date, at: time, *, moving: int = 0
) -> tuple[Start | None, BookingError | None]:
    """The engine's start at `at` on `day` (naming who), or why it cannot be booked now."""
    [found] = engine.free_starts(
        service=target.service,
        resource=target.resource,
        start=day,
        end=day,
        bookable_only=False,
        exclude_id=moving or None,
    )
    match = next((s for s in found.starts if s.time == at), None)
    if match is not None and match.bookable:
        return match, None
    if match is not None:
        return None, refusal(match.refusal, target.service)
    if found.reason in {slots.VACATION, slots.CLOSED}:
        return None, refusal(found.reason, target.service)
    grid = engine.load_calendar(start=day, end=day).slot_times(day)
    if not grid or not grid[0] <= at <= grid[-1]:
        return None, ClosedError()
    # A time of the clinic's grid the service or its resource cannot take, or no time at all.
    return None, UnavailableError() if at in grid else NotASlotError()


def refusal(code: str | None, service: Service) -> BookingError:
    rules = BookingRules.objects.get_solo()
    plan = ServicePlan.from_service(service)
    errors: dict[str, BookingError] = {
        slots.VACATION: VacationError(),
        slots.CLOSED: ClosedError(),
        slots.IN_PAST: InPastError(),
        slots.TOO_SOON: TooSoonError(minutes=plan.notice(rules)),
        slots.TOO_FAR: TooFarError(days=plan.horizon(rules)),
        slots.SLOT_FULL: SlotFullError(),
        slots.TYPE_FULL: TypeFullError(),
        availability.NOT_A_SLOT: NotASlotError(),
        availability.UNAVAILABLE: UnavailableError(),
    }
    return errors.get(code or "", SlotFullError())


def resource_name(resource_id: int, *, language: str) -> str:
    resource = Resource.objects.filter(pk=resource_id).first()
    return resource.display_name(language) if resource else ""


# ---------------------------------------------------------------------------- names


def named_service(text: str, services: list[Service]) -> Service | None:
    """The offered service the customer's text names (English or Arabic), if exactly one."""
    return find_named(text, [(s, (s.name, s.name_ar)) for s in services])


def named_resource(text: str, resources: list[Resource]) -> Resource | None:
    """The resource the text names ("with Dr Sara", "مع د. سارة"), if exactly one."""
    people = [r for r in resources if not r.is_clinic]
    return find_named(text, [(r, (r.name, r.name_ar)) for r in people])


def names() -> list[str]:
    """The names the customer may write of the services and who delivers them (none for a
    plain clinic: its "Appointment" is a word of the booking intent, not a name)."""
    if not uses_services():
        return []
    found: list[str] = []
    for service in offered_services():
        if not is_plain(service):
            found += [service.name, service.name_ar]
        found += [n for r in who_can(service) if not r.is_clinic for n in (r.name, r.name_ar)]
    return [name for name in dict.fromkeys(found) if name]
