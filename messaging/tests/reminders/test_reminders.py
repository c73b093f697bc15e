import datetime as dt
import threading

import pytest
from django.core.management import call_command
from django.db import connection

from customers.tests.factories import CustomerFactory
from messaging import tasks
from messaging.inbox import staff
from messaging.models import Conversation, NotificationEvent, Reminder
from messaging.reminders import planning, sending
from messaging.reminders.planning import plan_reminders
from messaging.reminders.sending import send_due_reminders
from reservations import services as booking
from reservations.models import OpeningInterval, Reservation, Source
from reservations.tests.factories import ReservationFactory, VacationPeriodFactory

pytestmark = [pytest.mark.django_db, pytest.mark.broker]

SUNDAY = dt.date(2026, 11, 22)
MONDAY = SUNDAY + dt.timedelta(days=1)
TUESDAY = SUNDAY + dt.timedelta(days=2)


def riyadh(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    """A clinic-local (UTC+3) moment as UTC."""
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=dt.UTC) - dt.timedelta(hours=3)


@pytest.fixture
def reminder_settings(settings):
    settings.REMINDER_DAY_BEFORE_AT = "19:00"
    settings.REMINDER_HOURS_BEFORE = None
    settings.REMINDER_QUIET_HOURS = "22:00-08:00"
    settings.REMINDER_MIN_NOTICE_MINUTES = 60
    settings.REMINDER_TEMPLATES = {"en": "appointment_reminder:en", "ar": "tadhkir_mawid:ar"}
    settings.SHOW_HIJRI_DATES = False
    return settings


@pytest.fixture
def monday(clinic, reminder_settings):
    """Sara's appointment on Monday 11:00; time frozen on Sunday 09:00 (clinic-local)."""
    customer = CustomerFactory(wa_id="966501234567", language="en")
    return ReservationFactory(customer=customer, date=MONDAY, time_slot=dt.time(11, 0))


def run(clinic, moment: dt.datetime) -> list[sending.Outcome]:
    clinic.move_to(moment)
    plan_reminders()
    return send_due_reminders()


def test_planning_creates_one_reminder_per_reservation_and_kind(monday, settings):
    settings.REMINDER_HOURS_BEFORE = 3
    assert str(plan_reminders()) == "2 planned, 0 re-planned, 0 cancelled"
    assert str(plan_reminders()) == "0 planned, 0 re-planned, 0 cancelled"
    due = dict(Reminder.objects.values_list("kind", "due_at"))
    assert due == {"day_before": riyadh(SUNDAY, 19), "hours_before": riyadh(MONDAY, 8)}
    assert NotificationEvent.objects.filter(event_type="reminder_planned").count() == 2


def test_a_burst_outlasting_the_time_budget_goes_on_in_a_fresh_task(
    clinic, reminder_settings, graph, monkeypatch
):
    """Each send waits for Meta: a burst of hundreds would outlast the task's timeout and be
    killed mid-send (sending one reminder twice). Past its budget a run hands the claimed rest
    back and queues another."""
    for n, slot in enumerate([dt.time(10), dt.time(11), dt.time(11, 30)]):
        customer = CustomerFactory(wa_id=f"96650123456{n}", language="en")
        ReservationFactory(customer=customer, date=MONDAY, time_slot=slot)
    clinic.move_to(riyadh(SUNDAY, 19, 1))
    plan_reminders()
    planned = Reminder.objects.count()
    assert planned >= 2
    queued: list[str] = []
    monkeypatch.setattr(tasks, "time_budget", lambda: -1.0)  # always spent
    monkeypatch.setattr(tasks, "async_task", lambda func, *args: queued.append(func))
    assert tasks.send_reminders() == "1 reminders sent of 1 due"  # one at least: progress
    assert queued == ["messaging.tasks.send_reminders"]
    waiting = Reminder.objects.filter(status="planned")
    assert set(waiting.values_list("attempts", "next_attempt_at")) == {(0, None)}  # due again
    assert waiting.count() == planned - 1
    for _ in range(planned - 1):
        tasks.send_reminders()
    assert len(graph.sent) == planned
    assert Reminder.objects.filter(status="sent").count() == planned
    queued.clear()
    tasks.send_reminders()  # nothing left: no fresh task
    assert queued == []


def test_reminder_is_not_sent_before_it_is_due(monday, graph, clinic):
    assert run(clinic, riyadh(SUNDAY, 18, 59)) == []
    assert graph.sent == []


def test_due_reminder_is_sent_as_a_template_with_three_buttons(monday, graph, clinic):
    [outcome] = run(clinic, riyadh(SUNDAY, 19, 1))
    assert outcome.action == "sent"
    [body] = graph.sent
    assert body["to"] == "+966501234567"
    template = body["template"]
    assert template["name"] == "appointment_reminder"
    assert template["language"] == {"code": "en"}
    params = [p["text"] for p in template["components"][0]["parameters"]]
    assert params == ["Test Clinic", "Monday 23 November 2026", "11:00 AM"]
    payloads = [c["parameters"][0]["payload"] for c in template["components"][1:]]
    assert payloads == [f"rm:ok:{monday.pk}", f"rm:no:{monday.pk}", f"rm:mv:{monday.pk}"]
    reminder = Reminder.objects.get()
    assert reminder.status == Reminder.Status.SENT
    assert reminder.conversation is not None
    assert reminder.conversation.status == Conversation.Status.SENT
    assert NotificationEvent.objects.filter(event_type="reminder_sent").count() == 1


def test_reminder_uses_the_customers_language_template(monday, graph, clinic):
    monday.customer.language = "ar"
    monday.customer.save()
    run(clinic, riyadh(SUNDAY, 19, 1))
    [body] = graph.sent
    assert body["template"]["name"] == "tadhkir_mawid"
    assert body["template"]["language"] == {"code": "ar"}


def test_template_goes_outside_the_24_hour_window(monday, graph, clinic):
    assert monday.customer.last_inbound_at is None  # never wrote: the window is closed
    run(clinic, riyadh(SUNDAY, 19, 1))
    assert graph.sent[0]["type"] == "template"


def test_already_sent_reminder_is_not_sent_again(monday, graph, clinic):
    run(clinic, riyadh(SUNDAY, 19, 1))
    assert run(clinic, riyadh(SUNDAY, 19, 3)) == []
    assert run(clinic, riyadh(SUNDAY, 21, 0)) == []
    assert len(graph.sent) == 1


def test_moved_reservation_gets_a_reminder_for_the_new_time(monday, graph, clinic):
    run(clinic, riyadh(SUNDAY, 19, 1))
    moved = booking.modify_reservation(
        reservation=monday, date=TUESDAY, time_slot=dt.time(12, 0), source=Source.CUSTOMER
    )
    assert str(plan_reminders()) == "0 planned, 1 re-planned, 0 cancelled"
    reminder = Reminder.objects.get()
    assert (reminder.status, reminder.due_at) == (Reminder.Status.PLANNED, riyadh(MONDAY, 19))
    assert run(clinic, riyadh(MONDAY, 18, 0)) == []
    [outcome] = run(clinic, riyadh(MONDAY, 19, 1))
    assert outcome.action == "sent"
    assert len(graph.sent) == 2
    params = [p["text"] for p in graph.sent[1]["template"]["components"][0]["parameters"]]
    assert params[1:] == ["Tuesday 24 November 2026", "12:00 PM"]
    assert moved.pk == monday.pk


def test_reminder_planned_for_the_old_time_is_replanned_not_sent(monday, graph, clinic):
    plan_reminders()
    booking.modify_reservation(
        reservation=monday, date=TUESDAY, time_slot=dt.time(12, 0), source=Source.STAFF
    )
    clinic.move_to(riyadh(SUNDAY, 19, 1))
    [outcome] = send_due_reminders()  # before the planner ran again
    assert outcome.action == "replan"
    assert graph.sent == []
    assert Reminder.objects.get().due_at == riyadh(MONDAY, 19)


def test_cancelled_reservation_gets_no_reminder(monday, graph, clinic):
    plan_reminders()
    booking.cancel_reservation(reservation=monday, source=Source.CUSTOMER)
    assert run(clinic, riyadh(SUNDAY, 19, 1)) == []
    reminder = Reminder.objects.get()
    assert reminder.status == Reminder.Status.CANCELLED
    assert reminder.reason == "the reservation was cancelled"
    assert graph.sent == []


def test_reservation_cancelled_after_planning_is_dropped_when_due(monday, graph, clinic):
    plan_reminders()
    booking.cancel_reservation(reservation=monday, source=Source.STAFF)
    clinic.move_to(riyadh(SUNDAY, 19, 1))
    [outcome] = send_due_reminders()
    assert outcome.action == "cancel"
    assert graph.sent == []


def test_nothing_is_sent_on_a_vacation_day_and_due_reminders_go_on_reopening(monday, graph, clinic):
    VacationPeriodFactory(start_date=SUNDAY, end_date=SUNDAY)
    [outcome] = run(clinic, riyadh(SUNDAY, 19, 1))
    assert outcome.action == "wait"
    assert graph.sent == []
    assert Reminder.objects.get().reason.startswith("vacation")
    assert outcome.detail.endswith("(until 2026-11-23 08:00)")  # reopening, then quiet hours
    assert run(clinic, riyadh(MONDAY, 0, 1)) == []
    [outcome] = run(clinic, riyadh(MONDAY, 8, 0))
    assert outcome.action == "sent"
    assert len(graph.sent) == 1


def test_reminder_of_an_appointment_inside_a_vacation_is_not_sent(monday, graph, clinic):
    plan_reminders()
    vacation = VacationPeriodFactory(start_date=MONDAY, end_date=MONDAY + dt.timedelta(days=3))
    [outcome] = send_due_reminders(now=riyadh(SUNDAY, 19, 1))  # checked at send time
    assert (outcome.action, outcome.detail) == ("cancel", "the appointment falls in a vacation")
    reminder = Reminder.objects.get()
    assert (reminder.status, reminder.reason) == (
        Reminder.Status.CANCELLED,
        "the appointment falls in a vacation",
    )
    assert graph.sent == []
    vacation.delete()  # the clinic opens after all: planning sends it again
    [outcome] = run(clinic, riyadh(SUNDAY, 19, 5))
    assert outcome.action == "sent"


def test_planning_cancels_the_reminders_a_vacation_falls_on(monday, graph, clinic):
    plan_reminders()
    VacationPeriodFactory(start_date=MONDAY, end_date=MONDAY)
    assert run(clinic, riyadh(SUNDAY, 19, 1)) == []
    assert graph.sent == []
    reminder = Reminder.objects.get()
    assert (reminder.status, reminder.reason) == (
        Reminder.Status.CANCELLED,
        "the appointment falls in a vacation",
    )


def test_vacation_lasting_past_the_useful_time_drops_the_reminder(graph, clinic, reminder_settings):
    reminder_settings.REMINDER_MIN_NOTICE_MINUTES = 4 * 60  # 11:00 needs it by 07:00
    customer = CustomerFactory(language="en")
    early = ReservationFactory(customer=customer, date=MONDAY, time_slot=dt.time(11, 0))
    VacationPeriodFactory(start_date=SUNDAY, end_date=SUNDAY)
    [outcome] = run(clinic, riyadh(SUNDAY, 19, 1))
    assert outcome.action == "skip"
    assert Reminder.objects.get(reservation=early).reason.startswith("vacation")
    assert graph.sent == []


def test_quiet_hours_hold_a_due_reminder_until_morning(monday, graph, clinic, settings):
    settings.REMINDER_DAY_BEFORE_AT = "23:00"
    [outcome] = run(clinic, riyadh(SUNDAY, 23, 5))
    assert (outcome.action, outcome.detail) == ("wait", "quiet hours (until 2026-11-23 08:00)")
    assert run(clinic, riyadh(MONDAY, 7, 59)) == []
    assert graph.sent == []
    [outcome] = run(clinic, riyadh(MONDAY, 8, 0))
    assert outcome.action == "sent"


def test_quiet_hours_drop_a_reminder_that_would_arrive_too_late(graph, clinic, reminder_settings):
    reminder_settings.REMINDER_DAY_BEFORE_AT = "23:00"
    reminder_settings.REMINDER_MIN_NOTICE_MINUTES = 4 * 60  # 11:00 needs it by 07:00
    ReservationFactory(customer=CustomerFactory(), date=MONDAY, time_slot=dt.time(11, 0))
    [outcome] = run(clinic, riyadh(SUNDAY, 23, 5))
    assert (outcome.action, outcome.detail) == ("skip", "quiet hours")
    assert Reminder.objects.get().status == Reminder.Status.SKIPPED
    assert graph.sent == []


def test_pause_switch_holds_reminders_and_resuming_sends_them(monday, graph, clinic):
    staff.set_automated_messaging_paused(paused=True, by="manager", reason="system change")
    [outcome] = run(clinic, riyadh(SUNDAY, 19, 1))
    assert outcome.action == "wait"
    assert run(clinic, riyadh(SUNDAY, 19, 3)) == []  # waits without re-checking every run
    assert graph.sent == []
    staff.set_automated_messaging_paused(paused=False, by="manager")
    [outcome] = run(clinic, riyadh(SUNDAY, 19, 7))
    assert outcome.action == "sent"
    events = NotificationEvent.objects.values_list("event_type", flat=True)
    assert {"automated_messaging_paused", "automated_messaging_resumed"} <= set(events)


def test_pause_until_too_late_drops_the_reminder_with_a_reason(monday, graph, clinic):
    staff.set_automated_messaging_paused(paused=True, by="manager")
    run(clinic, riyadh(SUNDAY, 19, 1))
    [outcome] = run(clinic, riyadh(MONDAY, 9, 58))
    assert (outcome.action, outcome.detail) == ("skip", "automated messaging is paused")
    assert graph.sent == []


def test_transient_failure_is_retried_with_back_off(monday, graph, clinic):
    graph.fail_next(503)
    [outcome] = run(clinic, riyadh(SUNDAY, 19, 1))
    assert outcome.action == "retry"
    reminder = Reminder.objects.get()
    assert reminder.status == Reminder.Status.PLANNED
    assert reminder.last_error
    assert reminder.next_attempt_at is not None
    assert reminder.next_attempt_at > riyadh(SUNDAY, 19, 1)
    [outcome] = run(clinic, riyadh(SUNDAY, 19, 10))
    assert outcome.action == "sent"
    assert Conversation.objects.filter(message_type="template").count() == 1


def test_permanent_failure_is_recorded_for_staff(monday, graph, clinic):
    graph.fail_next(400, code=132001, details="template does not exist")
    [outcome] = run(clinic, riyadh(SUNDAY, 19, 1))
    assert outcome.action == "failed"
    reminder = Reminder.objects.get()
    assert reminder.status == Reminder.Status.FAILED
    assert "template does not exist" in reminder.last_error
    assert NotificationEvent.objects.filter(event_type="reminder_failed").count() == 1
    assert run(clinic, riyadh(SUNDAY, 19, 30)) == []
    assert len(graph.sent) == 1


def test_dry_run_shows_what_would_be_sent_and_sends_nothing(monday, graph, clinic, capsys):
    clinic.move_to(riyadh(SUNDAY, 19, 1))
    call_command("send_reminders", "--dry-run")
    out = capsys.readouterr().out
    assert "send    reminder" in out
    assert "to 966501234567 for 2026-11-23 11:00: would be sent now" in out
    assert "1 due reminders would be handled." in out
    assert graph.sent == []
    assert not Reminder.objects.exists()  # the planning it did to see was rolled back
    assert not NotificationEvent.objects.exists()


def test_send_reminders_command_plans_and_sends(monday, graph, clinic, capsys):
    clinic.move_to(riyadh(SUNDAY, 19, 1))
    call_command("send_reminders")
    out = capsys.readouterr().out
    assert "Reminders: 1 planned" in out
    assert "sent    reminder" in out
    assert len(graph.sent) == 1


def test_two_planners_at_once_keep_one_row_per_kind(monday):
    plan_reminders()
    reminder = Reminder.objects.get()
    # The other planner read before this one wrote: its insert finds the row.
    assert planning._create(monday, Reminder.Kind.DAY_BEFORE) == 0
    assert Reminder.objects.get() == reminder


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_send_each_reminder_once(graph, clinic, reminder_settings):
    for n in range(12):
        customer = CustomerFactory(wa_id=f"96650100{n:04d}", language="en")
        ReservationFactory(customer=customer, date=MONDAY, time_slot=dt.time(11, 0))
    plan_reminders()
    clinic.move_to(riyadh(SUNDAY, 19, 1))
    start = threading.Barrier(2)
    results: list[list[sending.Outcome]] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            start.wait()
            results.append(send_due_reminders())
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    sent = [o.reminder_id for outcomes in results for o in outcomes if o.action == "sent"]
    assert sorted(sent) == sorted(set(sent))
    assert len(sent) == 12
    assert sorted(body["to"] for body in graph.sent) == sorted(
        f"+96650100{n:04d}" for n in range(12)
    )
    assert Reminder.objects.filter(status=Reminder.Status.SENT).count() == 12


def test_late_day_before_reminder_gives_way_to_the_one_hours_before(
    monday, graph, clinic, settings
):
    settings.REMINDER_HOURS_BEFORE = 3
    staff.set_automated_messaging_paused(paused=True, by="manager")
    run(clinic, riyadh(SUNDAY, 19, 1))  # both held by the pause ...
    staff.set_automated_messaging_paused(paused=False, by="manager")
    outcomes = {o.kind: o for o in run(clinic, riyadh(MONDAY, 8, 5))}  # ... until both are due
    assert (outcomes["day_before"].action, outcomes["day_before"].detail) == (
        "skip",
        "the reminder hours before goes instead",
    )
    assert outcomes["hours_before"].action == "sent"
    assert len(graph.sent) == 1


# ---------------------------------------------------------------- attendance, confirmation
def test_no_reminder_goes_for_a_reservation_whose_attendance_is_marked(monday, graph, clinic):
    plan_reminders()
    now = riyadh(SUNDAY, 19, 1)
    Reservation.objects.filter(pk=monday.pk).update(attendance="no_show", attendance_at=now)
    [outcome] = send_due_reminders(now=now)  # checked at send time
    assert (outcome.action, outcome.detail) == ("cancel", "attendance is already marked")
    assert graph.sent == []
    Reminder.objects.update(status="planned", reason="")
    assert run(clinic, riyadh(SUNDAY, 19, 5)) == []  # and by planning
    assert Reminder.objects.get().reason == "attendance is already marked"


def test_the_reminder_hours_before_is_not_sent_once_the_customer_confirmed(
    monday, graph, clinic, settings
):
    settings.REMINDER_HOURS_BEFORE = 3
    [day_before] = run(clinic, riyadh(SUNDAY, 19, 1))
    assert day_before.action == "sent"
    sending.confirm_reservation(reservation=monday)
    monday.refresh_from_db()
    assert monday.confirmed_at == riyadh(SUNDAY, 19, 1)
    [hours_before] = run(clinic, riyadh(MONDAY, 8, 0))
    assert (hours_before.kind, hours_before.action) == ("hours_before", "skip")
    assert hours_before.detail == "the customer confirmed"
    assert len(graph.sent) == 1


def test_a_move_forgets_the_confirmation_and_the_reminder_goes_again(
    monday, graph, clinic, settings
):
    settings.REMINDER_HOURS_BEFORE = 3
    run(clinic, riyadh(SUNDAY, 19, 1))
    sending.confirm_reservation(reservation=monday)
    booking.modify_reservation(
        reservation=monday, date=MONDAY, time_slot=dt.time(14, 0), source=Source.STAFF
    )
    assert Reservation.objects.get(pk=monday.pk).confirmed_at is None
    outcomes = run(clinic, riyadh(MONDAY, 11, 0))  # 3 hours before 14:00
    assert ("hours_before", "sent") in [(o.kind, o.action) for o in outcomes]


def test_a_reinstated_reservation_gets_its_reminder_again(monday, graph, clinic):
    plan_reminders()
    booking.cancel_reservation(reservation=monday, source=Source.STAFF)
    assert run(clinic, riyadh(SUNDAY, 18, 0)) == []
    assert Reminder.objects.get().status == Reminder.Status.CANCELLED
    booking.reinstate_reservation(reservation=monday, source=Source.STAFF)
    [outcome] = run(clinic, riyadh(SUNDAY, 19, 1))
    assert outcome.action == "sent"


def test_no_reminder_for_an_appointment_the_new_hours_leave_outside(monday, graph, clinic):
    """Issue 11 #17: Monday opens at 12:00 now; Sara's 11:00 keeps its place, not its reminder,
    until the hours take it back."""
    plan_reminders()
    monday_hours = OpeningInterval.objects.filter(weekday=0, schedule__start_date__isnull=True)
    monday_hours.update(opens=dt.time(12))
    assert run(clinic, riyadh(SUNDAY, 19, 1)) == []
    reminder = Reminder.objects.get()
    assert (reminder.status, reminder.reason) == (
        "cancelled",
        "the appointment is outside the opening hours",
    )
    assert graph.sent == []
    monday_hours.update(opens=dt.time(11))
    [outcome] = run(clinic, riyadh(SUNDAY, 19, 5))
    assert outcome.action == "sent"
