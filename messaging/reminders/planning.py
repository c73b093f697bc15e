"""When reminders are due, and planning them: one row per reservation and kind, re-planned when
the reservation moves, cancelled with it or while it cannot take place as booked (attendance
marked, a vacation, the hours changed), planned again when it can (sending:
messaging.reminders.sending, which checks the same at send time)."""

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django.conf import settings
from django.utils import timezone

from messaging.events import record_event
from messaging.models import Reminder
from reservations import closures
from reservations.models import Reservation

CANCELLED_REASON = "the reservation was cancelled"
ATTENDANCE_REASON = "attendance is already marked"
CONFIRMED_REASON = "the customer confirmed"
# Why an active reservation's reminders are not sent: the hours or a vacation no longer hold it.
OUTSIDE_REASONS = {
    closures.VACATION: "the appointment falls in a vacation",
    closures.CLOSED: "the clinic is closed that day",
    closures.OUTSIDE_HOURS: "the appointment is outside the opening hours",
}
# Reasons planning may undo: once the reservation is active and inside the hours again.
REVIVABLE_REASONS = frozenset({CANCELLED_REASON, ATTENDANCE_REASON, *OUTSIDE_REASONS.values()})


# ============================================================================ when
def enabled_kinds() -> list[str]:
    kinds: list[str] = []
    if settings.REMINDER_DAY_BEFORE_AT:
        kinds.append(Reminder.Kind.DAY_BEFORE)
    if settings.REMINDER_HOURS_BEFORE:
        kinds.append(Reminder.Kind.HOURS_BEFORE)
    return kinds


def due_at_for(reservation: Reservation, kind: str) -> datetime:
    if kind == Reminder.Kind.HOURS_BEFORE:
        return reservation.starts_at - timedelta(hours=settings.REMINDER_HOURS_BEFORE or 0)
    at = time.fromisoformat(settings.REMINDER_DAY_BEFORE_AT)
    return timezone.make_aware(datetime.combine(reservation.date - timedelta(days=1), at))


def quiet_hours_end(now: datetime) -> datetime | None:
    """When the quiet hours around `now` end (clinic-local), or None outside them."""
    if not settings.REMINDER_QUIET_HOURS:
        return None
    start_text, _, end_text = settings.REMINDER_QUIET_HOURS.partition("-")
    start, end = time.fromisoformat(start_text.strip()), time.fromisoformat(end_text.strip())
    local = timezone.localtime(now)
    moment = local.time()
    if start <= end:
        inside = start <= moment < end
        end_day = local.date()
    else:  # across midnight, e.g. 22:00-08:00
        inside = moment >= start or moment < end
        end_day = local.date() + timedelta(days=1) if moment >= start else local.date()
    return timezone.make_aware(datetime.combine(end_day, end)) if inside else None


def next_local_midnight(now: datetime) -> datetime:
    tomorrow = timezone.localdate(now) + timedelta(days=1)
    return timezone.make_aware(datetime.combine(tomorrow, time()))


# ============================================================================ planning
@dataclass(frozen=True)
class PlanResult:
    planned: int
    replanned: int
    cancelled: int

    def __str__(self) -> str:
        return f"{self.planned} planned, {self.replanned} re-planned, {self.cancelled} cancelled"


def plan_reminders(*, now: datetime | None = None) -> PlanResult:
    """Bring the reminders of the coming days' reservations in line with them: create the missing
    ones, re-plan moved ones, cancel those that must not go (the reservation cancelled, its
    attendance marked, a vacation or the hours leaving it outside) and plan again the ones whose
    reason went away (a reservation reinstated, a vacation removed). Safe to run again, or twice
    at once."""
    now = now or timezone.now()
    kinds = enabled_kinds()
    today = timezone.localdate(now)
    hours = settings.REMINDER_HOURS_BEFORE or 0
    horizon = today + timedelta(days=2 + int(hours // 24))
    reservations = [
        r
        for r in Reservation.objects.active().between(today, horizon).select_related("customer")
        if r.starts_at > now
    ]
    existing = {
        (r.reservation_id, r.kind): r
        for r in Reminder.objects.filter(reservation__in=reservations, kind__in=kinds)
    }
    outside = closures.reservations_outside_hours(
        start=today, ids=[r.pk for r in reservations if not r.attendance]
    )
    planned = replanned = cancelled = 0
    for reservation in reservations:
        held = ATTENDANCE_REASON if reservation.attendance else None
        if reservation.pk in outside:
            held = OUTSIDE_REASONS[outside[reservation.pk]]
        for kind in kinds:
            reminder = existing.get((reservation.pk, kind))
            if held is not None:
                if reminder is None:
                    continue
                cancelled += _hold(reminder, held, now)
            elif reminder is None:
                planned += _create(reservation, kind)
            elif not reminder.matches_slot(reservation.date, reservation.time_slot):
                replan_reminder(reminder=reminder, reservation=reservation)
                replanned += 1
            elif reminder.status == Reminder.Status.CANCELLED and reminder.reason in (
                REVIVABLE_REASONS
            ):
                replan_reminder(reminder=reminder, reservation=reservation, moved=False)
                replanned += 1
            elif reminder.status == Reminder.Status.PLANNED:
                due = due_at_for(reservation, kind)
                if reminder.due_at != due:  # the setting changed
                    Reminder.objects.filter(id=reminder.id).update(due_at=due, updated_at=now)
    cancelled += (
        Reminder.objects.planned()
        .filter(reservation__status=Reservation.Status.CANCELLED)
        .update(status=Reminder.Status.CANCELLED, reason=CANCELLED_REASON, updated_at=now)
    )
    return PlanResult(planned, replanned, cancelled)


def _hold(reminder: Reminder, reason: str, now: datetime) -> int:
    """Cancel a planned reminder (or re-word a cancelled one) with `reason`; planning sends it
    again once the reason is gone."""
    if reminder.status not in (Reminder.Status.PLANNED, Reminder.Status.CANCELLED):
        return 0  # sent, skipped or failed: what happened stays on record
    if (reminder.status, reminder.reason) == (Reminder.Status.CANCELLED, reason):
        return 0
    return Reminder.objects.filter(id=reminder.id, status=reminder.status).update(
        status=Reminder.Status.CANCELLED, reason=reason, next_attempt_at=None, updated_at=now
    )


def _create(reservation: Reservation, kind: str) -> int:
    due = due_at_for(reservation, kind)
    _, created = Reminder.objects.get_or_create(  # two planners at once: the constraint keeps one
        reservation=reservation,
        kind=kind,
        defaults={"slot_date": reservation.date, "slot_time": reservation.time_slot, "due_at": due},
    )
    if created:
        record_event(
            event_type="reminder_planned",
            data={"reservation_id": reservation.pk, "kind": kind, "due_at": due.isoformat()},
            wa_id=reservation.customer_id,
        )
    return int(created)


def replan_reminder(*, reminder: Reminder, reservation: Reservation, moved: bool = True) -> None:
    """Plan a reminder again for the reservation's new slot (what went for the old one is past),
    or, with `moved=False`, for the same slot after the reason it was cancelled went away."""
    due = due_at_for(reservation, reminder.kind)
    Reminder.objects.filter(id=reminder.id).update(
        slot_date=reservation.date,
        slot_time=reservation.time_slot,
        due_at=due,
        status=Reminder.Status.PLANNED,
        reason="",
        attempts=0,
        next_attempt_at=None,
        last_error="",
        conversation=None,
        sent_at=None,
        confirmed_at=None,
        updated_at=timezone.now(),
    )
    record_event(
        event_type="reminder_planned",
        data={
            "reservation_id": reservation.pk,
            "kind": reminder.kind,
            "due_at": due.isoformat(),
            "moved": moved,
        },
        wa_id=reservation.customer_id,
    )
