"""Booking a service with someone through the real pipeline: service, who, day, time."""

import datetime as dt

import pytest

from messaging.bot.ids import Step
from messaging.tests.chat import Chat
from reservations import services
from reservations.models import Reservation, Resource, Service, Source
from reservations.tests.factories import make_resource, make_service

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clinic")]

SUNDAY = dt.date(2026, 11, 22)  # today, 09:00; the clinic opens 11:00-17:00, 30-minute slots
MONDAY = SUNDAY + dt.timedelta(days=1)
T = dt.time


@pytest.fixture
def dental():
    """Three practitioners and three services; the upgrade's one-slot services retired."""
    Service.objects.filter(lasts_one_slot=True).update(is_active=False)
    sara = make_resource("Dr Sara")
    sara.name_ar = "د. سارة"
    sara.save()
    ali = make_resource("Dr Ali")
    huda = make_resource("Huda")
    cleaning = make_service("Cleaning", minutes=45, resources=[sara, huda], name_ar="تنظيف")
    checkup = make_service("Check-up", minutes=30, resources=[sara, ali, huda], name_ar="فحص")
    whitening = make_service("Whitening", minutes=60, resources=[ali], name_ar="تبييض")
    return {
        "sara": sara, "ali": ali, "huda": huda,
        "cleaning": cleaning, "checkup": checkup, "whitening": whitening,
    }  # fmt: skip


def book_other(at, *, service, resource, day=MONDAY, wa_id="966500000009"):
    return services.reserve_slot(
        wa_id=wa_id, date=day, time_slot=at, service=service, resource=resource,
        source=Source.STAFF,
    )  # fmt: skip


def test_booking_lists_services_then_who_then_days_and_times_of_the_engine(dental):
    chat = Chat()
    chat.say("hi")
    [question] = chat.tap("Book")
    assert question.kind == "list"
    assert question.titles == ["Check-up", "Cleaning", "Whitening"]
    assert [c["description"] for c in question.choices] == [
        "30 minutes",
        "45 minutes",
        "60 minutes",
    ]
    [people] = chat.tap("Cleaning")
    assert people.titles == ["Anyone", "Dr Sara", "Huda"]
    [days] = chat.tap("Dr Sara")
    assert "Cleaning with Dr Sara (45 minutes)" in days.text
    [times] = chat.tap("Mon 23 Nov")
    assert times.titles[0] == "11:00 AM"
    [rest] = chat.tap("Later times")
    assert rest.titles[-1] == "4:00 PM"  # 45 minutes still fit before 17:00; 4:30 does not
    [confirm] = chat.tap_id(times.choices[0]["id"], kind="list")
    assert "Cleaning with Dr Sara (45 minutes): Monday 23 November 2026 at 11:00 AM" in confirm.text
    [done] = chat.tap("Confirm")
    assert "booked for Monday 23 November 2026 at 11:00 AM" in done.text
    assert "Cleaning with Dr Sara" in done.text
    reservation = Reservation.objects.get()
    assert (reservation.service, reservation.resource) == (dental["cleaning"], dental["sara"])
    assert reservation.end_time == T(11, 45)


def test_a_service_only_one_practitioner_delivers_skips_who(dental):
    chat = Chat()
    chat.say("hi")
    chat.tap("Book")
    [days] = chat.tap("Whitening")
    assert days.titles[0] == "Sun 22 Nov"
    assert "Whitening (60 minutes)" in days.text


def test_anyone_assigns_the_least_booked_that_day_and_says_who(dental):
    book_other(T(14), service=dental["checkup"], resource=dental["sara"])
    chat = Chat()
    chat.say("hi")
    chat.tap("Book")
    chat.tap("Cleaning")
    chat.tap("Anyone")
    [times] = chat.tap("Mon 23 Nov")
    assert times.choices[0]["description"] == "Huda"
    [confirm] = chat.tap("11:00 AM")
    assert "Cleaning with Huda" in confirm.text
    [done] = chat.tap("Confirm")
    assert "Cleaning with Huda" in done.text
    assert Reservation.objects.get(customer_id="966501234567").resource == dental["huda"]


def test_a_time_taken_since_it_was_listed_is_refused_with_the_nearest_free(dental):
    chat = Chat()
    chat.say("hi")
    chat.tap("Book")
    chat.tap("Cleaning")
    chat.tap("Dr Sara")
    chat.tap("Mon 23 Nov")
    book_other(T(11, 30), service=dental["checkup"], resource=dental["sara"])
    [nearest] = chat.tap("11:00 AM")  # 11:00-11:45 now overlaps 11:30
    assert nearest.kind == "list"
    assert "Mon 23 Nov 11:00 AM" not in nearest.titles
    assert "Mon 23 Nov 12:00 PM" in nearest.titles
    assert not Reservation.objects.filter(customer_id="966501234567").exists()


def test_a_forged_resource_that_does_not_deliver_the_service_starts_over(dental):
    chat = Chat()
    chat.say("hi")
    forged = Step("t", 0, 0, MONDAY, T(11), service=dental["whitening"].pk,
                  resource=dental["sara"].pk)  # fmt: skip
    [question] = chat.tap_id(forged.id)
    assert question.titles == ["Check-up", "Cleaning", "Whitening"]


def test_a_type_button_sent_before_the_clinic_booked_services_starts_over(dental):
    chat = Chat()
    chat.say("hi")
    [question] = chat.tap_id("bk:d:2026-11-23:0:0", kind="list")
    assert question.titles == ["Check-up", "Cleaning", "Whitening"]


def test_typed_service_practitioner_day_and_time_go_straight_to_the_confirmation(dental):
    chat = Chat()
    [confirm] = chat.say("cleaning with Dr Sara tomorrow 3pm")[-1:]
    assert "Cleaning with Dr Sara (45 minutes): Monday 23 November 2026 at 3:00 PM" in confirm.text
    chat.tap("Confirm")
    reservation = Reservation.objects.get()
    assert (reservation.service, reservation.resource) == (dental["cleaning"], dental["sara"])


def test_typed_in_arabic_with_the_arabic_names(dental):
    chat = Chat(name="سارة")
    [confirm] = chat.say("ابغى تنظيف مع الدكتورة سارة بكرة الساعة ٣ العصر")[-1:]
    assert "تنظيف مع د. سارة" in confirm.text
    chat.tap("تأكيد")
    reservation = Reservation.objects.get()
    assert (reservation.service, reservation.resource) == (dental["cleaning"], dental["sara"])


def test_a_typed_practitioner_without_a_service_asks_only_their_services(dental):
    chat = Chat()
    [question] = chat.say("I want to book with Dr Ali")[-1:]
    assert question.titles == ["Check-up", "Whitening"]
    [days] = chat.tap("Check-up")
    assert "Check-up with Dr Ali (30 minutes)" in days.text


def test_a_typed_time_without_a_service_asks_the_service(dental):
    chat = Chat()
    [question] = chat.say("tomorrow 3pm")[-1:]
    assert question.titles == ["Check-up", "Cleaning", "Whitening"]


def test_my_appointments_cancel_and_move_name_the_service_and_keep_it(dental):
    reservation = services.reserve_slot(
        wa_id="966501234567", date=MONDAY, time_slot=T(11), service=dental["cleaning"],
        resource=dental["huda"], source=Source.CUSTOMER,
    )  # fmt: skip
    chat = Chat()
    chat.say("hi")
    [one] = chat.tap("My appointments")
    assert "Cleaning with Huda: Monday 23 November 2026 at 11:00 AM" in one.text
    [days] = chat.tap("Move it")
    assert "Moving your Cleaning with Huda" in days.text
    chat.tap("Mon 23 Nov")
    [confirm] = chat.tap("11:30 AM")  # overlaps its own old place: that does not count
    assert "Cleaning with Huda" in confirm.text
    [done] = chat.tap("Confirm")
    assert "moved to Monday 23 November 2026 at 11:30 AM" in done.text
    assert "Cleaning with Huda" in done.text
    reservation.refresh_from_db()
    assert (reservation.service, reservation.resource) == (dental["cleaning"], dental["huda"])
    assert (reservation.time_slot, reservation.end_time) == (T(11, 30), T(12, 15))
    chat.tap("My appointments")
    chat.tap("Cancel it")
    [cancelled] = chat.tap("Yes, cancel it")
    assert "is cancelled" in cancelled.text
    assert "Cleaning with Huda" in cancelled.text


def test_a_reminder_confirmation_names_the_service(dental):
    reservation = book_other(T(11), service=dental["cleaning"], resource=dental["sara"],
                             wa_id="966501234567")  # fmt: skip
    chat = Chat()
    chat.say("hi")
    [reply] = chat.tap_template(f"rm:ok:{reservation.pk}")
    assert "is confirmed" in reply.text
    assert "Cleaning with Dr Sara" in reply.text


def test_with_the_upgrades_services_still_offered_they_are_listed_too(dental):
    Service.objects.filter(lasts_one_slot=True).update(is_active=True)
    chat = Chat()
    chat.say("hi")
    [question] = chat.tap("Book")
    assert question.titles == ["Appointment", "Check-up", "Cleaning", "Follow-up", "Whitening"]
    [days] = chat.tap("Appointment")  # the clinic itself delivers it: no "who"
    [times] = chat.tap(days.titles[1])
    chat.tap(times.titles[0])
    chat.tap("Confirm")
    assert Reservation.objects.get().resource == Resource.objects.get_clinic()


def test_a_typed_time_after_choosing_the_service_and_who_keeps_them(dental):
    chat = Chat()
    chat.say("hi")
    chat.tap("Book")
    chat.tap("Cleaning")
    chat.tap("Dr Sara")
    [confirm] = chat.say("tomorrow 3pm")
    assert "Cleaning with Dr Sara (45 minutes): Monday 23 November 2026 at 3:00 PM" in confirm.text


def test_a_typed_part_of_day_lists_that_services_times_with_that_practitioner(dental):
    book_other(T(14), service=dental["whitening"], resource=dental["ali"])
    chat = Chat()
    [times] = chat.say("whitening with Dr Ali tomorrow afternoon")[-1:]
    assert times.kind == "list"
    # Dr Ali is booked 14:00-15:00: 60 minutes from 13:30 or 14:30 would run into it.
    assert times.titles == ["12:00 PM", "12:30 PM", "1:00 PM", "3:00 PM", "3:30 PM", "4:00 PM"]


def test_at_the_limit_the_held_booking_is_offered_to_move_keeping_its_service(dental):
    held = services.reserve_slot(
        wa_id="966501234567", date=MONDAY, time_slot=T(11), service=dental["cleaning"],
        resource=dental["sara"], source=Source.CUSTOMER,
    )  # fmt: skip
    chat = Chat()
    [confirm] = chat.say("check-up with Dr Sara on Tuesday at 2pm")[-1:]
    assert "Check-up with Dr Sara (30 minutes): Tuesday 24 November 2026 at 2:00 PM" in confirm.text
    [offer] = chat.tap("Confirm")
    assert "Cleaning with Dr Sara" in offer.text
    [done] = chat.tap("Move it")
    assert "moved to Tuesday 24 November 2026 at 2:00 PM" in done.text
    held.refresh_from_db()
    assert (held.service, held.resource, held.time_slot) == (
        dental["cleaning"],
        dental["sara"],
        T(14),
    )
