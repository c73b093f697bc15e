import datetime as dt

import pytest

from customers.models import Customer
from customers.tests.factories import CustomerFactory
from messaging.tests.chat import Chat
from reservations import services
from reservations.models import Reservation
from reservations.tests.factories import ReservationFactory, VacationPeriodFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clinic")]

SUNDAY = dt.date(2026, 11, 22)  # today, 09:00; the clinic opens 11:00-17:00, 30-minute slots
MONDAY = SUNDAY + dt.timedelta(days=1)


def fill(day: dt.date, at: dt.time, places: int = 2) -> None:
    for _ in range(places):
        ReservationFactory(date=day, time_slot=at, source="staff")


def test_booking_by_tapping_type_day_time_and_confirm():
    chat = Chat()
    chat.say("hi")
    [question] = chat.tap("Book")
    assert question.titles == ["Appointment", "Follow-up"]
    [days] = chat.tap("Follow-up")
    assert days.kind == "list"
    assert days.titles[0] == "Sun 22 Nov"
    assert days.choices[0]["description"] == "12 times free"
    [times] = chat.tap("Mon 23 Nov")
    assert times.titles[0] == "11:00 AM"
    assert times.choices[0]["description"] == "2 places left"
    [confirm] = chat.tap("11:30 AM")
    assert "Follow-up: Monday 23 November 2026 at 11:30 AM" in confirm.text
    assert confirm.titles == ["Confirm", "Change", "Cancel"]
    [done] = chat.tap("Confirm")
    assert "Your appointment is booked for Monday 23 November 2026 at 11:30 AM" in done.text
    reservation = Reservation.objects.get()
    assert (reservation.date, reservation.time_slot) == (MONDAY, dt.time(11, 30))
    assert (reservation.type, reservation.source) == (1, "customer")


def test_with_one_type_offered_the_type_question_is_skipped(settings):
    settings.BOOKING_TYPES_OFFERED = [0]
    chat = Chat()
    chat.say("hi")
    [days] = chat.tap("Book")
    assert days.kind == "list"
    chat.tap("Sun 22 Nov")
    chat.tap("3:00 PM")
    chat.tap("Confirm")
    assert Reservation.objects.get().type == 0


def test_days_and_times_page_on_within_whatsapp_limits():
    chat = Chat()
    chat.say("hi")
    chat.tap("Book")
    [days] = chat.tap("Appointment")
    assert len(days.choices) == 10
    assert days.titles[-1] == "Later dates"
    [later] = chat.tap("Later dates")
    assert later.titles[0] not in days.titles
    [times] = chat.tap(later.titles[0])
    assert len(times.choices) == 10  # 12 slots: 9 shown and "Later times"
    assert times.titles[-1] == "Later times"
    [rest] = chat.tap("Later times")
    assert rest.titles == ["3:30 PM", "4:00 PM", "4:30 PM"]


def test_a_full_slot_is_not_offered_and_the_places_left_are_shown():
    fill(MONDAY, dt.time(11, 0))
    fill(MONDAY, dt.time(11, 30), places=1)
    chat = Chat()
    chat.say("hi")
    chat.tap("Book")
    chat.tap("Appointment")
    [times] = chat.tap("Mon 23 Nov")
    assert times.titles[0] == "11:30 AM"
    assert times.choices[0]["description"] == "1 place left"


def test_a_stale_time_button_is_checked_again_and_offers_the_nearest():
    chat = Chat()
    chat.say("hi")
    chat.tap("Book")
    chat.tap("Appointment")
    chat.tap("Mon 23 Nov")
    fill(MONDAY, dt.time(12, 0))  # others book it while the customer hesitates
    answers = chat.tap("12:00 PM")
    [nearest] = answers
    assert "That time is fully booked" in nearest.text
    assert "12:00 PM" not in " ".join(nearest.titles)
    assert "Mon 23 Nov 11:30 AM" in nearest.titles
    assert not Reservation.objects.filter(customer_id=chat.wa_id).exists()


def test_a_stale_confirm_button_books_nothing_when_the_slot_is_gone():
    chat = Chat()
    chat.say("hi")
    chat.tap("Book")
    chat.tap("Appointment")
    chat.tap("Mon 23 Nov")
    chat.tap("12:00 PM")
    fill(MONDAY, dt.time(12, 0))
    [nearest] = chat.tap("Confirm")
    assert "That time is fully booked" in nearest.text
    assert nearest.kind == "list"
    assert not Reservation.objects.filter(customer_id=chat.wa_id).exists()


def test_a_typed_day_and_time_goes_straight_to_the_confirmation():
    chat = Chat()
    chat.say("hi")
    [confirm] = chat.say("book tomorrow 4pm")
    assert "Monday 23 November 2026 at 4:00 PM" in confirm.text
    chat.tap("Confirm")
    assert Reservation.objects.get().time_slot == dt.time(16, 0)


def test_an_arabic_typed_request_is_understood_and_answered_in_arabic():
    chat = Chat(name="سارة")
    [confirm] = chat.say("أبغى موعد بكرة الساعة ٤ م")
    assert "أهلاً سارة" in confirm.text  # the first answer greets
    assert "يرجى تأكيد الحجز" in confirm.text
    assert "الاثنين 23 نوفمبر 2026 الساعة 4:00 م" in confirm.text
    assert confirm.titles == ["تأكيد", "تعديل", "إلغاء"]
    [done] = chat.tap("تأكيد")
    assert "تم! حُجز موعدك" in done.text
    assert Reservation.objects.get().source == "customer"


def test_a_typed_full_time_offers_the_nearest_free_ones():
    fill(MONDAY, dt.time(16, 0))
    chat = Chat()
    chat.say("hi")
    [nearest] = chat.say("tomorrow at 4pm please")
    assert "That time is fully booked" in nearest.text
    assert "Mon 23 Nov 4:00 PM" not in nearest.titles
    assert {"Mon 23 Nov 3:30 PM", "Mon 23 Nov 4:30 PM"} <= set(nearest.titles)


def test_a_typed_time_outside_the_hours_says_the_clinic_is_closed():
    chat = Chat()
    chat.say("hi")
    [nearest] = chat.say("tomorrow 9pm")
    assert "The clinic is closed at that time." in nearest.text
    assert nearest.kind == "list"


def test_a_vacation_day_is_explained_and_other_days_offered():
    VacationPeriodFactory(start_date=MONDAY, end_date=MONDAY)
    chat = Chat()
    chat.say("hi")
    refusal, days = chat.say("tomorrow 4pm")
    assert refusal.text == "The clinic is closed for a holiday on that day."
    assert "Mon 23 Nov" not in days.titles
    assert "Tue 24 Nov" in days.titles


def test_a_typed_day_alone_lists_its_times():
    chat = Chat()
    chat.say("hi")
    [times] = chat.say("tuesday")
    assert "Free times on Tue 24 Nov" in times.text
    assert times.titles[0] == "11:00 AM"


def test_a_closed_day_says_so_and_lists_open_days():
    chat = Chat()
    chat.say("hi")
    closed, days = chat.say("friday")  # Fridays are closed
    assert closed.text == "The clinic is closed at that time."
    assert days.kind == "list"


def test_at_the_limit_the_customer_is_offered_to_move_the_one_they_hold():
    customer = CustomerFactory(wa_id="966501234567")
    held = ReservationFactory(customer=customer, date=MONDAY, time_slot=dt.time(11, 0))
    chat = Chat()
    chat.say("hi")
    [offer] = chat.say("book tuesday 4pm")
    chat.tap("Confirm")
    [offer] = chat.replies
    assert "You already have an upcoming reservation" in offer.text
    assert "Monday 23 November 2026 at 11:00 AM" in offer.text
    assert offer.titles == ["Move it", "Keep it"]
    assert Reservation.objects.get(pk=held.pk).date == MONDAY  # nothing moved yet
    [done] = chat.tap("Move it")
    assert "moved to Tuesday 24 November 2026 at 4:00 PM" in done.text
    held.refresh_from_db()
    assert (held.date, held.time_slot) == (MONDAY + dt.timedelta(days=1), dt.time(16, 0))
    assert Reservation.objects.count() == 1


def test_confirming_twice_books_once():
    chat = Chat()
    chat.say("hi")
    chat.say("book tomorrow 4pm")
    confirm = chat.last
    chat.tap("Confirm")
    chat.replies = [confirm]
    [again] = chat.tap("Confirm")
    assert "You are already booked at that time." in again.text
    assert Reservation.objects.count() == 1


def test_cancel_in_the_confirmation_changes_nothing():
    chat = Chat()
    chat.say("hi")
    chat.say("book tomorrow 4pm")
    [menu] = chat.tap("Cancel")
    assert "nothing was changed" in menu.text
    assert not Reservation.objects.exists()


def test_a_forged_type_is_not_trusted(settings):
    settings.BOOKING_TYPES_OFFERED = [0]
    chat = Chat()
    chat.say("hi")
    [days] = chat.tap_id("bk:ok:2026-11-23T16:00:1:0")  # follow-ups are not offered
    assert days.kind == "list"
    assert not Reservation.objects.exists()


def test_the_hijri_date_can_be_shown_beside_the_gregorian_one(settings):
    settings.SHOW_HIJRI_DATES = True
    chat = Chat()
    chat.say("hi")
    [confirm] = chat.say("book tomorrow 4pm")
    assert "Monday 23 November 2026 (" in confirm.text
    assert "1448 AH)" in confirm.text


def test_the_day_list_costs_the_same_few_queries_however_busy_the_month(
    django_assert_max_num_queries,
):
    for offset in range(1, 25):
        fill(SUNDAY + dt.timedelta(days=offset), dt.time(11, 0))
    chat = Chat()
    chat.say("hi")
    chat.tap("Book")
    with django_assert_max_num_queries(22):  # the pipeline ~15, the day list 6; no N+1
        [days] = chat.tap("Appointment")
    assert days.kind == "list"


BSUID = "US.13491208655302741918"


def test_a_customer_known_only_by_a_business_scoped_id_books_end_to_end():
    """Meta sends no number for some users (a username): the business-scoped id is their key,
    and booking, listing and cancelling work as for anyone else."""
    chat = Chat(wa_id=None, user_id=BSUID, name="Nour")
    [menu] = chat.say("hi")
    assert menu.body["recipient"] == BSUID
    assert "to" not in menu.body
    chat.tap("Book")
    chat.tap("Appointment")
    chat.tap("Mon 23 Nov")
    chat.tap("11:30 AM")
    [done] = chat.tap("Confirm")
    assert "Your appointment is booked for Monday 23 November 2026 at 11:30 AM" in done.text
    reservation = Reservation.objects.get()
    assert reservation.customer_id == BSUID
    assert reservation.customer.user_id == BSUID
    [mine] = chat.tap("My appointments")
    assert "Monday 23 November 2026" in mine.text


def test_a_business_scoped_id_customer_can_be_edited_and_booked_by_staff():
    customer = CustomerFactory(wa_id=BSUID, user_id=BSUID)
    customer.customer_name = "Nour"
    customer.full_clean()  # the key is kept, not "normalised" into a number
    assert customer.wa_id == BSUID
    reservation = services.reserve_slot(
        wa_id=BSUID, date=MONDAY, time_slot=dt.time(11, 0), type=0, source="staff"
    )
    assert reservation.customer_id == BSUID


def test_a_contact_card_is_answered_with_what_booking_really_does():
    """The bot books for the sender only: it says so, and tapping Book books the sender."""
    chat = Chat()
    chat.say("hi")
    [answer] = chat.share_contact("Omar", "966509999999")
    assert "I can only book for you" in answer.text
    assert "someone else, tap" not in answer.text
    chat.tap("Book")
    chat.tap("Appointment")
    chat.tap("Mon 23 Nov")
    chat.tap("11:30 AM")
    chat.tap("Confirm")
    assert Reservation.objects.get().customer_id == chat.wa_id
    assert not Customer.objects.filter(wa_id="966509999999").exists()
