"""Appointment reminders: send what is due, exactly once (planning: messaging.reminders.planning).

A reminder goes as an approved template (it may go outside the 24-hour window) with the quick
replies Confirm / Cancel / Reschedule, whose payloads name the reservation ("rm:ok:42"). Nothing
goes on a vacation day, inside the quiet hours or while staff pause automated messaging: a due
reminder waits, and is dropped with a reason once it could no longer arrive in time.
"""

import logging
import time as clock
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from messaging.bot.formatting import format_day, format_time
from messaging.events import record_event
from messaging.models import Conversation, MessagingSettings, Reminder
from messaging.reminders.planning import (
    ATTENDANCE_REASON,
    CANCELLED_REASON,
    CONFIRMED_REASON,
    OUTSIDE_REASONS,
    due_at_for,
    enabled_kinds,
    next_local_midnight,
    plan_reminders,
    quiet_hours_end,
    replan_reminder,
)
from messaging.whatsapp import cloud_api, outgoing
from messaging.whatsapp.delivery import record_outbound, send_outbound_message
from reservations import closures, services
from reservations.models import Reservation, Source, VacationPeriod

logger = logging.getLogger(__name__)

BATCH = 200  # reminders claimed per transaction
CLAIM_SECONDS = 120  # a claimed reminder is another worker's again after this (a crash)
PAUSE_RECHECK = timedelta(minutes=5)
VERBS = {"ok": "confirm", "no": "cancel", "mv": "reschedule"}


def reminder_choice(verb: str, reservation_id: int) -> str:
    """A quick-reply payload: "rm:ok:42" (confirm), "rm:no:42" (cancel), "rm:mv:42" (move)."""
    return f"rm:{verb}:{reservation_id}"


def parse_reminder_choice(value: str) -> tuple[str, int] | None:
    parts = value.split(":")
    if len(parts) != 3 or parts[0] != "rm" or parts[1] not in VERBS or not parts[2].isdigit():
        return None
    return parts[1], int(parts[2])


def template_setting(setting: dict[str, str], language: str) -> tuple[str, str]:
    """(template name, language code) for `language` from a "name:code" per-language setting."""
    value = setting.get(language) or setting.get("en") or next(iter(setting.values()))
    name, _, code = value.partition(":")
    return name, code or language


# ============================================================================ sending
@dataclass(frozen=True)
class Outcome:
    reminder_id: int
    wa_id: str
    kind: str
    appointment: datetime
    action: str  # send, sent, retry, failed, wait, skip, cancel, replan
    detail: str = ""

    def __str__(self) -> str:
        when = timezone.localtime(self.appointment).strftime("%Y-%m-%d %H:%M")
        text = f"{self.action:<7} reminder {self.reminder_id} ({self.kind}) to {self.wa_id}"
        text += f" for {when}"
        return f"{text}: {self.detail}" if self.detail else text


@dataclass(frozen=True)
class Decision:
    action: str  # send, wait, skip, cancel, replan
    detail: str = ""
    until: datetime | None = None


@dataclass(frozen=True)
class Blocks:
    """What holds automated messages back now, read once per run."""

    paused: bool  # by staff
    closed_until: datetime | None  # a vacation runs today: look again then
    # Reservations (of the reminders at hand) that a vacation or the hours leave outside, and why.
    outside: Mapping[int, str] = field(default_factory=dict)


def _blocks(now: datetime, reminders: list[Reminder]) -> Blocks:
    today = timezone.localdate(now)
    paused = MessagingSettings.objects.filter(automated_paused=True).exists()
    vacations = list(
        VacationPeriod.objects.filter(Q(end_date__isnull=True) | Q(end_date__gte=today))
    )
    closed_until = None
    running = [v for v in vacations if v.covers(today)]
    if running:  # chained vacations are one closure: wait for the end of the last one
        last = closures.vacation_closure(vacation=running[0]).last_vacation_day
        if last is None:  # open-ended: look again tomorrow
            closed_until = next_local_midnight(now)
        else:
            closed_until = timezone.make_aware(datetime.combine(last + timedelta(days=1), time()))
    outside = closures.reservations_outside_hours(
        start=today, ids=[reminder.reservation_id for reminder in reminders]
    )
    return Blocks(paused, closed_until, outside)


def decide(reminder: Reminder, *, now: datetime, blocks: Blocks) -> Decision:
    """What to do with a due reminder now: send it, wait (for the reopening after a vacation, the
    end of a pause or of the quiet hours), or drop it once it could no longer arrive in time."""
    reservation = reminder.reservation
    if not reservation.is_active:
        return Decision("cancel", CANCELLED_REASON)
    if reservation.attendance:
        return Decision("cancel", ATTENDANCE_REASON)
    if not reminder.matches_slot(reservation.date, reservation.time_slot):
        return Decision("replan", "the reservation moved")
    if reminder.kind == Reminder.Kind.HOURS_BEFORE and reservation.confirmed_at is not None:
        return Decision("skip", CONFIRMED_REASON)
    latest = reservation.starts_at - timedelta(minutes=settings.REMINDER_MIN_NOTICE_MINUTES)
    if now >= latest:
        return Decision("skip", "too late: the appointment is too close")
    if reservation.customer.is_blocked:
        return Decision("skip", "the customer is blocked")
    if reservation.pk in blocks.outside:  # planning sends it after all if that changes
        return Decision("cancel", OUTSIDE_REASONS[blocks.outside[reservation.pk]])
    if (
        reminder.kind == Reminder.Kind.DAY_BEFORE
        and Reminder.Kind.HOURS_BEFORE in enabled_kinds()
        and now >= due_at_for(reservation, Reminder.Kind.HOURS_BEFORE)
    ):
        return Decision("skip", "the reminder hours before goes instead")
    reasons = []
    until = now
    if blocks.closed_until is not None:
        reasons.append("vacation: nothing automated is sent until the reopening")
        until = blocks.closed_until
    if blocks.paused:
        reasons.append("automated messaging is paused")
        until = max(until, now + PAUSE_RECHECK)
    if end := quiet_hours_end(until):
        reasons.append("quiet hours")
        until = end
    if not reasons:
        return Decision("send")
    if until >= latest:
        return Decision("skip", reasons[0])
    return Decision("wait", reasons[0], until)


class _DryRun(Exception):  # noqa: N818 - a control-flow signal, not an error
    """Raised to roll back the planning a dry run did to see what is due."""


def send_due_reminders(*, now: datetime | None = None, dry_run: bool = False) -> list[Outcome]:
    """Send the due reminders; with `dry_run`, plan and decide in a transaction that is rolled
    back, and only say what would happen to each."""
    now = now or timezone.now()
    if dry_run:
        return _preview(now)
    outcomes, _ = _send(now, max_seconds=None)
    return outcomes


def send_reminders_within(*, max_seconds: float) -> tuple[list[Outcome], bool]:
    """Send the due reminders until `max_seconds` have passed, handing the claimed ones not yet
    sent back at once; True as well when some were (the caller runs again). Each send waits for
    Meta's answer, so a burst of hundreds outlasts any task timeout, and a task killed mid-send
    sends that reminder twice."""
    return _send(timezone.now(), max_seconds=max_seconds)


def _send(now: datetime, *, max_seconds: float | None) -> tuple[list[Outcome], bool]:
    started = clock.monotonic()
    outcomes, claimed = _claim(now)
    for index, reminder in enumerate(claimed):  # at least one is sent: each run progresses
        if index and max_seconds is not None and clock.monotonic() - started > max_seconds:
            _release(claimed[index:])
            return outcomes, True
        outcomes.append(deliver_reminder(reminder=reminder))
    return outcomes, False


def _release(reminders: list[Reminder]) -> None:
    """Claimed reminders not attempted: due again now, their attempt not counted."""
    Reminder.objects.filter(id__in=[r.id for r in reminders]).update(
        next_attempt_at=None, attempts=F("attempts") - 1, updated_at=timezone.now()
    )


def _preview(now: datetime) -> list[Outcome]:
    outcomes: list[Outcome] = []
    try:
        with transaction.atomic():
            plan_reminders(now=now)
            due = _due(now)
            blocks = _blocks(now, due)
            for reminder in due:
                decision = decide(reminder, now=now, blocks=blocks)
                outcomes.append(_outcome(reminder, decision, dry_run=True))
            raise _DryRun
    except _DryRun:
        return outcomes


def _due(now: datetime) -> list[Reminder]:
    return list(
        Reminder.objects.due(now)
        .select_related("reservation__customer")
        .order_by("due_at", "id")[:BATCH]
    )


def _claim(now: datetime) -> tuple[list[Outcome], list[Reminder]]:
    """Decide every due reminder under a row lock; return the outcomes and the ones to send.

    `FOR UPDATE SKIP LOCKED` keeps PostgreSQL workers apart, and a claimed reminder is held (its
    next attempt moved past the claim time) before the lock goes, so a second run finds nothing.
    SQLite takes the write lock at BEGIN, which serialises the runs.
    """
    outcomes: list[Outcome] = []
    claimed: list[Reminder] = []
    with transaction.atomic():
        rows = list(
            Reminder.objects.due(now)
            .select_related("reservation__customer")
            .select_for_update(skip_locked=True, of=("self",))
            .order_by("due_at", "id")[:BATCH]
        )
        blocks = _blocks(now, rows)
        for reminder in rows:
            decision = decide(reminder, now=now, blocks=blocks)
            if decision.action == "send":
                Reminder.objects.filter(id=reminder.id).update(
                    next_attempt_at=now + timedelta(seconds=CLAIM_SECONDS),
                    attempts=F("attempts") + 1,
                    reason="",
                    updated_at=now,
                )
                reminder.attempts += 1
                claimed.append(reminder)
                continue
            _apply(reminder, decision, now)
            outcomes.append(_outcome(reminder, decision))
    return outcomes, claimed


def _apply(reminder: Reminder, decision: Decision, now: datetime) -> None:
    rows = Reminder.objects.filter(id=reminder.id)
    if decision.action == "replan":
        replan_reminder(reminder=reminder, reservation=reminder.reservation)
    elif decision.action == "wait":
        rows.update(next_attempt_at=decision.until, reason=decision.detail, updated_at=now)
    elif decision.action == "cancel":
        rows.update(status=Reminder.Status.CANCELLED, reason=decision.detail, updated_at=now)
    else:
        rows.update(status=Reminder.Status.SKIPPED, reason=decision.detail, updated_at=now)
        record_event(
            event_type="reminder_skipped",
            data={"reminder_id": reminder.id, "kind": reminder.kind, "reason": decision.detail},
            wa_id=reminder.reservation.customer_id,
        )


def _outcome(reminder: Reminder, decision: Decision, *, dry_run: bool = False) -> Outcome:
    detail = decision.detail
    if decision.until is not None:
        until = timezone.localtime(decision.until).strftime("%Y-%m-%d %H:%M")
        detail = f"{detail} (until {until})"
    action = decision.action
    if dry_run and action == "send":
        detail = "would be sent now"
    return Outcome(
        reminder.id,
        reminder.reservation.customer_id,
        reminder.kind,
        reminder.reservation.starts_at,
        action,
        detail,
    )


def reminder_message(*, reservation: Reservation) -> outgoing.Outgoing:
    language = reservation.customer.message_language
    name, code = template_setting(settings.REMINDER_TEMPLATES, language)
    return outgoing.template(
        name,
        code,
        params=[
            settings.BUSINESS_NAME,
            format_day(reservation.date, language=language),
            format_time(reservation.time_slot, language=language),
        ],
        quick_replies=[reminder_choice(verb, reservation.pk) for verb in VERBS],
    )


def deliver_reminder(*, reminder: Reminder) -> Outcome:
    """Send one claimed reminder through the outbox (its idempotency key makes a retry safe)."""
    reservation = reminder.reservation
    key = f"reminder:{reminder.id}:{reminder.slot_date.isoformat()}T{reminder.slot_time:%H:%M}"
    message = reminder_message(reservation=reservation)
    conversation, _ = record_outbound(customer=reservation.customer, message=message, key=key)
    rows = Reminder.objects.filter(id=reminder.id)
    rows.update(conversation=conversation)
    now = timezone.now()
    try:
        send_outbound_message(conversation=conversation)
    except cloud_api.WhatsAppError as exc:  # retryable: back off, or give up after the attempts
        if reminder.attempts < settings.WHATSAPP_INBOUND_MAX_ATTEMPTS:
            delay = cloud_api.backoff_seconds(reminder.attempts)
            rows.update(
                next_attempt_at=now + timedelta(seconds=delay), last_error=str(exc), updated_at=now
            )
            return _result(reminder, "retry", f"{exc} (again in {delay:.0f} s)")
        Conversation.objects.filter(id=conversation.id, status=Conversation.Status.QUEUED).update(
            status=Conversation.Status.FAILED,
            status_at=now,
            error_code=exc.code,
            error_message=str(exc),
            updated_at=now,
        )
        return _fail(reminder, str(exc))
    conversation.refresh_from_db()
    if conversation.status == Conversation.Status.FAILED:
        return _fail(reminder, conversation.error_message or "failed")
    rows.update(status=Reminder.Status.SENT, sent_at=now, next_attempt_at=None, updated_at=now)
    record_event(
        event_type="reminder_sent",
        data={"reminder_id": reminder.id, "kind": reminder.kind, "reservation_id": reservation.pk},
        wa_id=reservation.customer_id,
    )
    return _result(reminder, "sent")


def _fail(reminder: Reminder, error: str) -> Outcome:
    logger.error("reminder %s cannot be sent: %s", reminder.id, error)
    Reminder.objects.filter(id=reminder.id).update(
        status=Reminder.Status.FAILED, last_error=error, updated_at=timezone.now()
    )
    record_event(
        event_type="reminder_failed",
        data={"reminder_id": reminder.id, "kind": reminder.kind, "error": error},
        wa_id=reminder.reservation.customer_id,
    )
    return _result(reminder, "failed", error)


def _result(reminder: Reminder, action: str, detail: str = "") -> Outcome:
    return _outcome(reminder, Decision(action, detail))


# ============================================================================ the customer's answer
@transaction.atomic
def confirm_reservation(*, reservation: Reservation) -> None:
    """The customer confirmed they will come: on the reservation (staff see it; the reminder
    hours before is then not sent) and on the reminders they answered."""
    services.confirm_reservation(reservation=reservation, source=Source.CUSTOMER)
    Reminder.objects.filter(reservation=reservation, confirmed_at__isnull=True).update(
        confirmed_at=reservation.confirmed_at, updated_at=timezone.now()
    )
