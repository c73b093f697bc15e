"""Booking and moving: type (or service and who), day, time, confirmation; every tap re-checked
against the engine."""

from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime, time, timedelta

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from messaging.bot import catalog, ids
from messaging.bot.catalog import FreeDay, Target
from messaging.bot.formatting import format_short_day, format_time
from messaging.bot.ids import Step
from messaging.bot.menu import Replies, main_menu
from messaging.bot.parsing import PartOfDay, Reading, TimeCandidates
from messaging.bot.turn import (
    Turn,
    describe,
    names_service,
    offered_types,
    own_reservation,
    service_with,
    slot_title,
    type_label,
    what,
    when,
)
from messaging.whatsapp import outgoing
from reservations import services, slots
from reservations.availability import Start
from reservations.errors import (
    AlreadyBookedError,
    BookingError,
    ClosedError,
    CustomerLimitError,
    InPastError,
    NotASlotError,
    SlotFullError,
    TooFarError,
    TooSoonError,
    TypeFullError,
    UnavailableError,
    VacationError,
)
from reservations.models import BookingRules, Reservation, Resource, Service, Source

ROWS = 10  # WhatsApp's limit per list
TITLE = 24  # characters of a list row's title
# Refusals of a whole day: other days are the next step (else the nearest free times are).
DAY_REFUSALS = (VacationError, TooFarError)
PART_OF_DAY_SEARCH_DAYS = 14  # "any evening?": the first day within two weeks with one


def start(
    turn: Turn,
    *,
    type: int | None = None,
    service: Service | None = None,
    resource: Resource | None = None,
) -> Replies:
    """The first booking question: the service (or the type when the clinic offers both and
    books no services of its own), then who, else the days."""
    turn.session.moving_reservation_id = None
    if catalog.uses_services():
        offered = catalog.offered_services()
        return start_service(turn, offered, type=type, service=service, resource=resource)
    types = offered_types()
    if type not in types:
        type = None
    if type is None and len(types) > 1:
        choices = [(Step("ty", t, 0).id, type_label(t)) for t in types[:3]]
        return [outgoing.buttons(_("What kind of visit would you like to book?"), choices)]
    return days(turn, Step("dp", types[0] if type is None else type, 0, turn.today))


def start_service(
    turn: Turn,
    offered: list[Service],
    *,
    type: int | None = None,
    service: Service | None = None,
    resource: Resource | None = None,
) -> Replies:
    """Which service (with its length), unless only one fits what the customer said."""
    if service is None:
        fitting = offered
        if resource is not None:
            fitting = [s for s in fitting if resource in catalog.who_can(s)] or offered
        if type is not None:
            fitting = [s for s in fitting if s.type == type] or fitting
        if len(fitting) == 1:
            service = fitting[0]
    if service is not None:
        chosen = Step("sv", service.type, 0, service=service.pk)
        if resource is not None and resource in catalog.who_can(service):
            chosen = replace(chosen, resource=resource.pk)
        return on_step(turn, chosen)
    who = resource.pk if resource is not None else 0
    rows = [
        outgoing.Row(
            Step("sv", s.type, 0, service=s.pk, resource=who).id,
            s.display_name(turn.language)[:TITLE],
            catalog.duration_label(s),
        )
        for s in fitting[:ROWS]
    ]
    body = _("What would you like to book?")
    return [outgoing.list_message(body, _("Services"), [(_("Services"), rows)])]


def who(turn: Turn, step: Step, target: Target) -> Replies:
    """Who delivers the service ("Anyone" first), when more than one can; else the days."""
    people = catalog.who_can(target.service)
    if target.resource is not None or len(people) <= 1:
        return days(turn, step.to("dp", day=turn.today))
    rows = [outgoing.Row(replace(step, action="rs", resource=0).id, _("Anyone"), _("Any free"))]
    rows += [
        outgoing.Row(
            replace(step, action="rs", resource=r.pk).id, r.display_name(turn.language)[:TITLE]
        )
        for r in people[: ROWS - 1]
    ]
    body = _("Who would you like for %(service)s?") % {
        "service": target.service.display_name(turn.language)
    }
    return [outgoing.list_message(body, _("Who"), [(_("Who"), rows)])]


def target_of(turn: Turn, step: Step) -> Target | None:
    """The service and resource `step` books (None: the clinic's slot of its type), looked up
    once per turn."""
    if not step.service:
        return None
    key = ("target", step.service, step.resource, step.moving)
    if key not in turn.memo:
        reservation = own_reservation(turn, step.moving) if step.moving else None
        turn.memo[key] = catalog.target_of(step, reservation)
    found: Target | None = turn.memo[key]
    return found


def on_step(turn: Turn, step: Step) -> Replies:
    """A tapped booking button or row, checked again: the type or service and who, the move
    and the slot."""
    reservation = own_reservation(turn, step.moving) if step.moving else None
    if step.moving and reservation is None:
        return [main_menu(turn, lead=_("That appointment can no longer be changed."))]
    target = target_of(turn, step)
    if step.service:
        if target is None:  # no longer offered (or who no longer delivers it): choose again
            return start(turn)
        step = replace(step, type=target.service.type)
    elif not step.moving and catalog.uses_services():
        return start(turn)  # a type button sent before the clinic booked services
    # A move may keep its own type even if the clinic no longer offers it to new bookings.
    elif step.type not in offered_types() and not (reservation and reservation.type == step.type):
        return start(turn)
    turn.session.booking_type = step.type
    turn.session.booking_service_id = step.service or None
    turn.session.booking_resource_id = step.resource or None
    turn.session.moving_reservation_id = step.moving or None
    if step.action == "sv" and target is not None:
        return who(turn, step, target)
    if step.action == "rs":
        return days(turn, step.to("dp", day=turn.today))
    if step.action == "ty":
        return days(turn, step.to("dp", day=turn.today))
    if step.action == "dp":
        return days(turn, step)
    if step.action in {"d", "tp"}:
        return times(turn, step)
    if step.action == "t":
        return pick(turn, step)
    return book(turn, step)


def days(turn: Turn, step: Step) -> Replies:
    """The next days with free times, from `step.day`, as a list that pages on."""
    target = target_of(turn, step)
    horizon = catalog.horizon_days(target, rules=rules(turn))
    first = max(step.day or turn.today, turn.today)
    last = min(turn.today + timedelta(days=horizon), first + timedelta(days=365))
    found = []
    if first <= last:
        found = [d for d in free_days(turn, step, start=first, end=last) if d.slots]
    if not found:
        lead = _("There are no free times in the next %(days)s days.") % {"days": horizon}
        return [main_menu(turn, lead=lead)]
    shown = found if len(found) <= ROWS else found[: ROWS - 1]
    rows = [
        outgoing.Row(
            step.to("d", day=d.date).id,
            format_short_day(d.date, language=turn.language),
            ngettext("%(n)s time free", "%(n)s times free", len(d.slots)) % {"n": len(d.slots)},
        )
        for d in shown
    ]
    if len(shown) < len(found):
        later = found[len(shown)].date
        rows.append(
            outgoing.Row(
                step.to("dp", day=later).id,
                _("Later dates"),
                _("From %(day)s") % {"day": format_short_day(later, language=turn.language)},
            )
        )
    body = _("Choose a day:")
    if target is not None:
        body = label(turn, target) + "\n" + body
    if step.moving and (reservation := own_reservation(turn, step.moving)):
        body = _("Moving your %(appointment)s.") % {"appointment": describe(turn, reservation)}
        body += "\n" + _("Choose a new day:")
    return [outgoing.list_message(body, _("Days"), [(_("Free days"), rows)])]


def times(turn: Turn, step: Step, *, body: str = "") -> Replies:
    """The free times of `step.day` (after `step.at` when paging) with the places left."""
    on = step.day or turn.today
    day = free_days(turn, step, start=on, end=on)[0]
    offered = [s for s in day.slots if step.at is None or s.time > step.at]
    if not offered:
        reason = refusal_of_day(day.reason) if day.reason else None
        lead = reason.message_for(turn.language) if reason else _("No times are free that day.")
        return [outgoing.text(lead), *days(turn, step.to("dp", day=turn.today))]
    return time_list(turn, step, on, offered, body=body)


def time_list(
    turn: Turn, step: Step, on: date, offered: Sequence[slots.Slot | Start], *, body: str = ""
) -> Replies:
    shown = offered if len(offered) <= ROWS else offered[: ROWS - 1]
    rows = [
        outgoing.Row(
            step.to("t", day=s.date, at=s.time).id,
            format_time(s.time, language=turn.language),
            row_detail(turn, step, s),
        )
        for s in shown
    ]
    if len(shown) < len(offered):
        rows.append(
            outgoing.Row(
                step.to("tp", day=on, at=shown[-1].time).id,
                _("Later times"),
                _("From %(time)s")
                % {"time": format_time(offered[len(shown)].time, language=turn.language)},
            )
        )
    body = body or _("Free times on %(day)s:") % {
        "day": format_short_day(on, language=turn.language)
    }
    return [outgoing.list_message(body, _("Times"), [(_("Free times"), rows)])]


def pick(turn: Turn, step: Step) -> Replies:
    """A chosen time: if it is still free, the confirmation; else why not, and the nearest."""
    day, at = step.slot
    found, refusal = check(turn, step, day, at)
    if refusal is not None:
        return refused(turn, step, refusal)
    target = target_of(turn, step)
    if step.moving and (reservation := own_reservation(turn, step.moving)):
        body = _("Move your appointment from %(old)s to %(new)s?") % {
            "old": when(turn, reservation.date, reservation.time_slot),
            "new": when(turn, day, at),
        }
        if names_service(reservation):
            body += "\n" + what(reservation, language=turn.language)
    elif target is not None and found is not None:
        who = target.resource or Resource.objects.filter(pk=found.resource_id).first()
        body = _("Please confirm your booking:") + "\n"
        body += service_with(
            target.service.display_name(turn.language), who, language=turn.language
        )
        body += f" ({catalog.duration_label(target.service)}): " + when(turn, day, at)
    else:
        body = _("Please confirm your booking:") + "\n" + f"{type_label(step.type)}: "
        body += when(turn, day, at)
    choices = [
        (step.to("ok", day=day, at=at).id, _("Confirm")),
        (step.to("dp", day=turn.today).id, _("Change")),
        (ids.STOP, _("Cancel")),
    ]
    return [outgoing.buttons(body, choices)]


def by_reading(turn: Turn, step: Step, reading: Reading) -> Replies:
    """A typed day and/or time. Only what was read is proposed: a day or time that was written
    but not understood gets the day (or time) list, never a guess."""
    if reading.unclear_time and reading.day is not None and not reading.unclear_day:
        lead = _("Sorry, I could not read the time. Please choose one:")
        return [outgoing.text(lead), *times(turn, step.to("d", day=reading.day))]
    if reading.unclear:
        lead = _("Sorry, I could not tell which day you mean. Please choose one:")
        first = reading.from_day if not reading.unclear_day and reading.from_day else turn.today
        return [outgoing.text(lead), *days(turn, step.to("dp", day=first))]
    if reading.from_day is not None and reading.day is None:
        return days(turn, step.to("dp", day=reading.from_day))
    if reading.part is not None and reading.times is None:
        return part_of_day(turn, step, day=reading.day, part=reading.part)
    return by_text(turn, step, day=reading.day, wished=reading.times)


def part_of_day(turn: Turn, step: Step, *, day: date | None, part: PartOfDay) -> Replies:
    """The free times in a part of the day ("tomorrow evening"), or why there are none."""
    start, end = part.hours
    first = day or turn.today
    last = day or turn.today + timedelta(days=PART_OF_DAY_SEARCH_DAYS)
    for found in free_days(turn, step, start=first, end=last):
        inside = [s for s in found.slots if start <= s.time < end]
        if inside:
            body = _("Free times on %(day)s, %(part)s:") % {
                "day": format_short_day(found.date, language=turn.language),
                "part": part_label(part),
            }
            return time_list(turn, step.to("d", day=found.date), found.date, inside, body=body)
    if day is None:
        lead = _("There are no free times %(part)s soon.") % {"part": part_label(part)}
        return [outgoing.text(lead), *days(turn, step.to("dp", day=turn.today))]
    calendar = services.load_calendar(start=day, end=day)
    opening = [t for t in calendar.slot_times(day) if start <= t < end]
    context = {"part": part_label(part), "day": format_short_day(day, language=turn.language)}
    if opening:
        lead = _("No times are free %(part)s on %(day)s.") % context
    else:
        lead = _("We are closed %(part)s on %(day)s.") % context
    return [outgoing.text(lead), *times(turn, step.to("d", day=day))]


def part_label(part: PartOfDay) -> str:
    return {
        PartOfDay.MORNING: _("in the morning"),
        PartOfDay.AFTERNOON: _("in the afternoon"),
        PartOfDay.EVENING: _("in the evening"),
        PartOfDay.NIGHT: _("at night"),
    }[part]


def by_text(turn: Turn, step: Step, *, day: date | None, wished: TimeCandidates | None) -> Replies:
    """A typed day and/or time: the confirmation when free, else the nearest free times."""
    if wished is None:
        return times(turn, step.to("d", day=day or turn.today))
    if day is None:
        now = timezone.localtime(turn.now)
        day = turn.today if any(t > now.time() for t in wished.times) else turn.today + timedelta(1)
    first_refusal: BookingError | None = None
    for at in wished.times:
        _found, refusal = check(turn, step, day, at)
        if refusal is None:
            return pick(turn, step.to("t", day=day, at=at))
        first_refusal = first_refusal or refusal
    return refused(
        turn, step.to("t", day=day, at=wished.times[0]), first_refusal or SlotFullError()
    )


def book(turn: Turn, step: Step) -> Replies:
    """Confirmed: book (or move) through the engine, which checks everything once more."""
    day, at = step.slot
    try:
        if step.moving:
            reservation = own_reservation(turn, step.moving)
            if reservation is None:
                return [main_menu(turn, lead=_("That appointment can no longer be changed."))]
            reservation = services.modify_reservation(
                reservation=reservation,
                date=day,
                time_slot=at,
                type=None if step.service else step.type,  # a move keeps its service
                source=Source.CUSTOMER,
            )
            lead = _("Done! Your appointment is moved to %(when)s.")
        elif step.service:
            target = target_of(turn, step)
            if target is None:
                return start(turn)
            reservation = services.reserve_slot(
                wa_id=turn.customer.wa_id,
                date=day,
                time_slot=at,
                service=target.service,
                resource=target.resource,  # None: anyone who can, the engine says who
                source=Source.CUSTOMER,
            )
            lead = _("Done! Your appointment is booked for %(when)s.")
        else:
            reservation = services.reserve_slot(
                wa_id=turn.customer.wa_id,
                date=day,
                time_slot=at,
                type=step.type,
                source=Source.CUSTOMER,
            )
            lead = _("Done! Your appointment is booked for %(when)s.")
    except CustomerLimitError as error:
        return offer_move(turn, step, error)
    except AlreadyBookedError as error:
        return [main_menu(turn, lead=error.message_for(turn.language))]
    except BookingError as error:
        return refused(turn, step, error)
    turn.session.forget()
    text = lead % {"when": when(turn, reservation.date, reservation.time_slot)}
    if names_service(reservation):
        text += "\n" + what(reservation, language=turn.language)
    text += "\n\n" + _("We look forward to seeing you.")
    return [outgoing.buttons(text, [(ids.MINE, _("My appointments")), (ids.MENU, _("Menu"))])]


def refused(turn: Turn, step: Step, error: BookingError) -> Replies:
    """The engine's reason in the customer's language, and what they can do next."""
    lead = error.message_for(turn.language)
    if isinstance(error, DAY_REFUSALS) or step.day is None or step.at is None:
        return [outgoing.text(lead), *days(turn, step.to("dp", day=turn.today))]
    return nearest(
        turn, step, near=timezone.make_aware(datetime.combine(step.day, step.at)), lead=lead
    )


def nearest(turn: Turn, step: Step, *, near: datetime, lead: str) -> Replies:
    target = target_of(turn, step)
    found: list[slots.Slot] | list[Start]
    if target is not None:
        found = catalog.nearest(target, near=near, limit=ROWS, moving=step.moving)
    elif step.service:
        found = []
    else:
        found = services.nearest_available_slots(near=near, type=step.type, limit=ROWS)
    if not found:
        return [main_menu(turn, lead=lead + "\n" + _("There are no free times soon."))]
    found.sort(key=lambda s: s.starts_at)
    rows = [
        outgoing.Row(
            step.to("t", day=s.date, at=s.time).id,
            slot_title(turn, s.date, s.time),
            row_detail(turn, step, s),
        )
        for s in found
    ]
    body = lead + "\n\n" + _("These are the nearest free times:")
    return [outgoing.list_message(body, _("Times"), [(_("Nearest free times"), rows)])]


def offer_move(turn: Turn, step: Step, error: CustomerLimitError) -> Replies:
    """At the limit: offer to move a held reservation to the chosen time (never silently)."""
    day, at = step.slot
    held = [r for r in error.reservations if own_reservation(turn, r.pk)]
    lead = error.message_for(turn.language)
    if not held:
        return [main_menu(turn, lead=lead)]
    wished = when(turn, day, at)
    if len(held) == 1:
        body = "\n\n".join(
            [lead, describe(turn, held[0]), _("Move it to %(when)s?") % {"when": wished}]
        )
        move = moving_step(held[0], "ok").to("ok", day=day, at=at)
        return [outgoing.buttons(body, [(move.id, _("Move it")), (ids.STOP, _("Keep it"))])]
    rows = [
        outgoing.Row(
            moving_step(r, "ok").to("ok", day=day, at=at).id,
            slot_title(turn, r.date, r.time_slot),
            what(r, language=turn.language),
        )
        for r in held[: ROWS - 1]
    ]
    rows.append(outgoing.Row(ids.STOP, _("Keep them")))
    body = lead + "\n\n" + _("Which one should move to %(when)s?") % {"when": wished}
    return [outgoing.list_message(body, _("Appointments"), [(_("Your appointments"), rows)])]


def why_not(day: date, at: time, *, type: int, moving: int = 0) -> BookingError | None:
    """The engine's refusal of this slot for a customer right now, or None when it is free."""
    calendar = services.load_calendar(start=day, end=day)
    if calendar.on_vacation(day):
        return VacationError()
    times_of_day = calendar.slot_times(day)
    if at not in times_of_day:
        inside = bool(times_of_day) and times_of_day[0] < at < times_of_day[-1]
        return NotASlotError() if inside else ClosedError()
    counts = services.count_active(start=day, end=day, exclude_id=moving or None)
    slot = slots.evaluate_slot(
        calendar, day, at, counts=counts.get((day, at), {}), now=timezone.now(), type=type
    )
    return refusal_of_day(slot.refusal, calendar.rules) if slot.refusal else None


def refusal_of_day(code: str | None, rules: BookingRules | None = None) -> BookingError | None:
    rules = rules or BookingRules.objects.get_solo()
    errors: dict[str, BookingError] = {
        slots.VACATION: VacationError(),
        slots.CLOSED: ClosedError(),
        slots.IN_PAST: InPastError(),
        slots.TOO_SOON: TooSoonError(minutes=rules.min_notice_minutes),
        slots.TOO_FAR: TooFarError(days=rules.max_horizon_days),
        slots.SLOT_FULL: SlotFullError(),
        slots.TYPE_FULL: TypeFullError(),
    }
    return errors.get(code or "")


def moving_step(reservation: Reservation, action: str = "dp") -> Step:
    """The step of moving `reservation`: of its own service and resource when it names them."""
    if names_service(reservation) and reservation.service_id:
        return Step(
            action,
            reservation.type,
            reservation.pk,
            service=reservation.service_id,
            resource=reservation.resource_id or 0,
        )
    return Step(action, reservation.type, reservation.pk)


# ---------------------------------------------------------------------------- the engine


def free_days(turn: Turn, step: Step, *, start: date, end: date) -> list[slots.Day] | list[FreeDay]:
    """The days from `start` to `end` with the times `step` may book: the service's starts
    with its resource (or anyone) from the resource engine, else the clinic's slots."""
    target = target_of(turn, step)
    if target is not None:
        return catalog.free_days(target, start=start, end=end, moving=step.moving)
    if step.service:
        return [FreeDay(d, slots.CLOSED, []) for d in slots.dates_between(start, end)]
    return services.available_slots(start=start, end=end, type=step.type, rules=rules(turn))


def rules(turn: Turn) -> BookingRules:
    """The booking rules, read once per turn."""
    if "rules" not in turn.memo:
        turn.memo["rules"] = BookingRules.objects.get_solo()
    found: BookingRules = turn.memo["rules"]
    return found


def check(turn: Turn, step: Step, day: date, at: time) -> tuple[Start | None, BookingError | None]:
    """Whether the customer may take `at` on `day` now: (the engine's start, None) or
    (None, the refusal)."""
    if not step.service:
        return None, why_not(day, at, type=step.type, moving=step.moving)
    target = target_of(turn, step)
    if target is None:
        return None, UnavailableError()
    return catalog.check_start(target, day, at, moving=step.moving)


def label(turn: Turn, target: Target) -> str:
    """ "Cleaning with Dr Sara (45 minutes)"."""
    name = service_with(
        target.service.display_name(turn.language), target.resource, language=turn.language
    )
    return f"{name} ({catalog.duration_label(target.service)})"


def row_detail(turn: Turn, step: Step, start: slots.Slot | Start) -> str:
    """The places left of a clinic slot; for a service with anyone, who it would be."""
    if not step.service:
        n = start.remaining
        return ngettext("%(n)s place left", "%(n)s places left", n) % {"n": n}
    target = target_of(turn, step)
    if target is None or target.resource is not None or not isinstance(start, Start):
        return ""
    names = turn.memo.setdefault("names", {})
    if start.resource_id not in names:
        names[start.resource_id] = catalog.resource_name(start.resource_id, language=turn.language)
    return str(names[start.resource_id])
