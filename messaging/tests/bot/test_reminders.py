import datetime as dt

import pytest

from customers.tests.factories import CustomerFactory
from messaging.models import BotSession, NotificationEvent, Reminder
from messaging.reminders.planning import plan_reminders
from messaging.reminders.sending import send_due_reminders
from messaging.tests.chat import Chat
from reservations.models import Reservation
from reservations.tests.factories import ReservationFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clinic")]

SUNDAY = dt.date(2026, 11, 22)
MONDAY = SUNDAY + dt.timedelta(days=1)
TUESDAY = SUNDAY + dt.timedelta(days=2)
REMINDER_SENT = dt.datetime(2026, 11, 22, 16, 1, tzinfo=dt.UTC)  # Sunday 19:01 in Riyadh


@pytest.fixture
def reminded(clinic, graph, settings):
    """Sara's Monday 11:00 appointment, and the reminder she got for it on Sunday evening."""
    settings.REMINDER_DAY_BEFORE_AT = "19:00"
    settings.REMINDER_QUIET_HOURS = "22:00-08:00"
    customer = CustomerFactory(wa_id="966501234567", language="en")
    reservation = ReservationFactory(customer=customer, date=MONDAY, time_slot=dt.time(11, 0))
    plan_reminders()
    clinic.move_to(REMINDER_SENT)
    [outcome] = send_due_reminders()
    assert outcome.action == "sent"
    return reservation


def test_confirm_marks_the_reservation_confirmed_and_thanks(reminded):
    chat = Chat()
    [answer] = chat.tap_template(f"rm:ok:{reminded.pk}", "Confirm")
    assert "Your appointment of Monday 23 November 2026 at 11:00 AM is confirmed" in answer.text
    assert Reminder.objects.get().confirmed_at is not None
    assert NotificationEvent.objects.filter(event_type="reservation_confirmed").exists()


def test_cancel_asks_first_then_cancels_through_the_engine(reminded):
    chat = Chat()
    [question] = chat.tap_template(f"rm:no:{reminded.pk}", "Cancel")
    assert "Cancel this appointment?" in question.text
    reminded.refresh_from_db()
    assert reminded.is_active
    [done] = chat.tap("Yes, cancel it")
    assert "is cancelled" in done.text
    reminded.refresh_from_db()
    assert (reminded.status, reminded.cancelled_source) == ("cancelled", "customer")


def test_reschedule_starts_the_move_flow_for_that_reservation(reminded):
    chat = Chat()
    [days] = chat.tap_template(f"rm:mv:{reminded.pk}", "Reschedule")
    assert "Moving your Appointment: Monday 23 November 2026 at 11:00 AM" in days.text
    assert BotSession.objects.get().moving_reservation_id == reminded.pk
    chat.tap("Tue 24 Nov")
    chat.tap("2:00 PM")
    chat.tap("Confirm")
    reminded.refresh_from_db()
    assert (reminded.date, reminded.time_slot) == (TUESDAY, dt.time(14, 0))
    assert Reservation.objects.count() == 1


def test_stale_tap_on_a_cancelled_reservation_changes_nothing(reminded):
    reminded.status, reminded.cancelled_at = "cancelled", reminded.created_at
    reminded.save()
    chat = Chat()
    for verb in ("ok", "no", "mv"):
        [answer] = chat.tap_template(f"rm:{verb}:{reminded.pk}")
        assert "That appointment can no longer be changed." in answer.text
    assert Reminder.objects.get().confirmed_at is None


def test_tap_after_the_appointment_began_changes_nothing(reminded, clinic):
    clinic.move_to(dt.datetime(2026, 11, 23, 8, 30, tzinfo=dt.UTC))  # Monday 11:30 in Riyadh
    [answer] = Chat().tap_template(f"rm:no:{reminded.pk}")
    assert "That appointment can no longer be changed." in answer.text


def test_someone_elses_reservation_id_is_refused(reminded):
    intruder = Chat(wa_id="966509999999", name="Omar")
    intruder.say("hi")
    for verb in ("ok", "no", "mv"):
        [answer] = intruder.tap_template(f"rm:{verb}:{reminded.pk}")
        assert "That appointment can no longer be changed." in answer.text
    reminded.refresh_from_db()
    assert reminded.is_active
    assert Reminder.objects.get().confirmed_at is None


@pytest.mark.parametrize("payload", ["rm:ok:", "rm:zz:1", "rm:ok:1:2", "rm:ok:abc", "rm:"])
def test_malformed_reminder_ids_are_refused(reminded, payload):
    [answer] = Chat().tap_template(payload)
    assert "That appointment can no longer be changed." in answer.text
