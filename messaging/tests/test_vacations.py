import datetime as dt

import pytest
from django.urls import reverse

from customers.tests.factories import CustomerFactory
from messaging import tasks
from messaging.models import Conversation, NotificationEvent, VacationNotice, VacationNotification
from messaging.tests.chat import Chat
from messaging.vacations import notify_vacation_customers
from reservations.tests.factories import ReservationFactory, VacationPeriodFactory
from reservations.vacations import reservations_in_vacation

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clinic")]

SUNDAY = dt.date(2026, 11, 22)  # the clinic fixture's today
NOTICE = (
    "We are closed for a vacation from Saturday 21 November 2026 to Tuesday 24 November 2026. "
    "We reopen on Wednesday 25 November 2026."
)


@pytest.fixture
def vacation():
    return VacationPeriodFactory(
        start_date=SUNDAY - dt.timedelta(days=1), end_date=SUNDAY + dt.timedelta(days=2)
    )


def test_customer_writing_during_a_vacation_gets_the_notice_once(vacation, settings):
    settings.VACATION_ALLOW_BOOKING_AFTER = True
    chat = Chat()
    replies = chat.say("hi")
    assert replies[0].text == NOTICE + "\nYou can still book a visit for after the reopening."
    assert len(replies) > 1  # the bot goes on: the menu follows
    again = chat.say("I want to book")
    assert all("closed for a vacation" not in r.text for r in again)
    assert VacationNotice.objects.count() == 1
    assert NotificationEvent.objects.filter(event_type="vacation_notice_sent").count() == 1


def test_booking_during_a_vacation_offers_only_days_after_the_reopening(vacation, settings):
    settings.VACATION_ALLOW_BOOKING_AFTER = True
    settings.BOOKING_TYPES_OFFERED = [0]
    chat = Chat()
    chat.say("hi")
    [days] = chat.tap("Book")
    first_day = days.choices[0]["title"]
    assert first_day.startswith("Wed 25 Nov"), days.titles


def test_bot_stays_quiet_after_the_notice_when_booking_is_not_allowed(vacation, settings):
    settings.VACATION_ALLOW_BOOKING_AFTER = False
    chat = Chat()
    [notice] = chat.say("hi")
    assert notice.text == NOTICE + "\nWe will answer your messages when we reopen."
    assert chat.say("hello?") == []
    assert chat.tap_id("m:book") == []


def test_notice_once_per_day_with_the_setting(vacation, settings, clinic):
    settings.VACATION_NOTICE_ONCE_PER = "day"
    settings.VACATION_ALLOW_BOOKING_AFTER = False
    chat = Chat()
    assert len(chat.say("hi")) == 1
    assert chat.say("hi again") == []
    clinic.shift(dt.timedelta(days=1))
    [notice] = chat.say("good morning")
    assert "closed for a vacation" in notice.text
    assert VacationNotice.objects.count() == 2


def test_open_ended_vacation_says_until_further_notice_in_arabic_with_hijri(settings):
    settings.VACATION_ALLOW_BOOKING_AFTER = False
    settings.SHOW_HIJRI_DATES = True
    VacationPeriodFactory(start_date=SUNDAY, end_date=None)
    CustomerFactory(wa_id="966501234567", language="ar")
    [notice] = Chat().say("مرحبا")
    assert "حتى إشعار آخر" in notice.text
    assert "الأحد 22 نوفمبر 2026" in notice.text
    assert "هـ" in notice.text  # the Hijri date beside the Gregorian one


def test_no_notice_outside_a_vacation():
    VacationPeriodFactory(start_date=SUNDAY + dt.timedelta(days=10), end_date=None)
    replies = Chat().say("hi")
    assert all("vacation" not in r.text for r in replies)
    assert VacationNotice.objects.count() == 0


def test_affected_reservations_are_the_active_ones_from_today_in_the_vacation(vacation):
    inside = ReservationFactory(date=SUNDAY + dt.timedelta(days=1))
    ReservationFactory(date=SUNDAY - dt.timedelta(days=1))  # in the vacation, but past
    ReservationFactory(date=SUNDAY + dt.timedelta(days=3))  # after it
    cancelled_at = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    ReservationFactory(
        date=SUNDAY + dt.timedelta(days=2), status="cancelled", cancelled_at=cancelled_at
    )
    assert list(reservations_in_vacation(vacation=vacation, today=SUNDAY)) == [inside]


def test_notifying_affected_customers_sends_one_template_each_once(vacation, graph):
    customer = CustomerFactory(wa_id="966501112222", language="en")
    reservation = ReservationFactory(customer=customer, date=SUNDAY + dt.timedelta(days=1))
    assert notify_vacation_customers(vacation=vacation, by="manager") == 1
    assert notify_vacation_customers(vacation=vacation, by="manager") == 0
    conversation = Conversation.objects.get(message_type="template")
    tasks.send_outbound(conversation.id)
    [body] = graph.sent
    assert body["template"]["name"] == "vacation_notice"
    params = [p["text"] for p in body["template"]["components"][0]["parameters"]]
    assert params == ["Test Clinic", "Monday 23 November 2026", "Wednesday 25 November 2026"]
    assert body["template"]["components"][1]["parameters"][0]["payload"] == (
        f"rm:mv:{reservation.pk}"
    )
    assert VacationNotification.objects.get().conversation == conversation
    assert NotificationEvent.objects.filter(event_type="vacation_customers_notified").count() == 2


def test_admin_vacation_page_lists_the_affected_reservations(vacation, staff_client):
    customer = CustomerFactory(customer_name="Sara Ahmed")
    ReservationFactory(customer=customer, date=SUNDAY + dt.timedelta(days=1))
    url = reverse("admin:reservations_vacationperiod_change", args=[vacation.pk])
    content = staff_client.get(url).content.decode()
    assert "Active reservations on these days" in content
    assert "2026-11-23" in content
    assert "Sara Ahmed" in content


def test_admin_notify_action_notifies_each_customer_once(vacation, staff_client):
    ReservationFactory(date=SUNDAY + dt.timedelta(days=1))
    ReservationFactory(date=SUNDAY + dt.timedelta(days=2))
    url = reverse("admin:reservations_vacationperiod_changelist")
    action = {"action": "notify_affected_customers", "_selected_action": [vacation.pk]}
    first = staff_client.post(url, action, follow=True).content.decode()
    assert "2 customers notified." in first
    second = staff_client.post(url, action, follow=True).content.decode()
    assert "0 customers notified." in second
    assert VacationNotification.objects.count() == 2
    assert Conversation.objects.filter(idempotency_key__startswith="vacation:").count() == 2
    change = reverse("admin:reservations_vacationperiod_change", args=[vacation.pk])
    assert "(notified)" in staff_client.get(change).content.decode()


def test_schedule_day_page_shows_the_affected_count_and_a_link(vacation, staff_client):
    ReservationFactory(date=SUNDAY + dt.timedelta(days=1))
    response = staff_client.get(reverse("reservations:day"), {"date": "2026-11-23"})
    content = response.content.decode()
    assert "1 active reservation falls in this vacation." in content
    assert reverse("admin:reservations_vacationperiod_change", args=[vacation.pk]) in content


# ---------------------------------------------------------------------------- the reopening day
def test_back_to_back_vacations_reopen_on_the_first_day_after_both(settings):
    """Issue 11 #13: 22 and 23 November are two vacations; the notice on the 22nd names the
    24th, and booking that day is accepted (it is open), not "on vacation that day"."""
    settings.VACATION_ALLOW_BOOKING_AFTER = False
    VacationPeriodFactory(start_date=SUNDAY, end_date=SUNDAY)
    VacationPeriodFactory(
        start_date=SUNDAY + dt.timedelta(days=1), end_date=SUNDAY + dt.timedelta(1)
    )
    [notice] = Chat().say("hi")
    assert notice.text == (
        "We are closed for a vacation from Sunday 22 November 2026 to Monday 23 November 2026. "
        "We reopen on Tuesday 24 November 2026.\nWe will answer your messages when we reopen."
    )


def test_the_reopening_skips_days_the_weekly_hours_close(settings):
    """Wednesday and Thursday off, Friday closed every week: the clinic reopens on Saturday."""
    settings.VACATION_ALLOW_BOOKING_AFTER = False
    VacationPeriodFactory(start_date=SUNDAY, end_date=SUNDAY + dt.timedelta(days=4))
    [notice] = Chat().say("hi")
    assert "to Thursday 26 November 2026. We reopen on Saturday 28 November 2026." in notice.text


def test_a_chain_ending_in_an_open_ended_vacation_is_until_further_notice(settings):
    settings.VACATION_ALLOW_BOOKING_AFTER = False
    VacationPeriodFactory(start_date=SUNDAY, end_date=SUNDAY + dt.timedelta(days=1))
    VacationPeriodFactory(start_date=SUNDAY + dt.timedelta(days=2), end_date=None)
    [notice] = Chat().say("hi")
    assert "until further notice" in notice.text
    assert "We reopen" not in notice.text


def test_the_vacation_template_names_the_first_open_day(graph):
    """The template to customers whose appointment a vacation falls on says the same day."""
    first = VacationPeriodFactory(
        start_date=SUNDAY + dt.timedelta(1), end_date=SUNDAY + dt.timedelta(2)
    )
    VacationPeriodFactory(
        start_date=SUNDAY + dt.timedelta(days=3), end_date=SUNDAY + dt.timedelta(4)
    )
    ReservationFactory(customer=CustomerFactory(language="en"), date=SUNDAY + dt.timedelta(days=1))
    assert notify_vacation_customers(vacation=first, by="manager") == 1
    tasks.send_outbound(Conversation.objects.get(message_type="template").id)
    [body] = graph.sent
    params = [p["text"] for p in body["template"]["components"][0]["parameters"]]
    # Wed 25 and Thu 26 are a vacation, Fri 27 is closed every week.
    assert params[2] == "Saturday 28 November 2026"
