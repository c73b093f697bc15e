"""Whole conversations over real HTTP: the sandbox plays the customer's phone and Meta's API.

Each message goes: sandbox -> signed webhook -> queue -> worker -> bot -> sender -> the
sandbox's fake Graph API (which checks Meta's limits) -> read back as the customer sees it.
"""

import datetime as dt

import pytest
from django.test import Client

from customers.models import Customer
from messaging.inbox import staff
from messaging.tests.chat import SandboxChat
from reservations.models import Reservation
from reservations.tests.factories import ReservationFactory, VacationPeriodFactory

MONDAY = dt.date(2026, 11, 23)  # the clinic fixture freezes time on Sunday 22 November, 09:00
TUESDAY = dt.date(2026, 11, 24)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("clinic")]


@pytest.fixture
def phone(live_server, settings):
    settings.WHATSAPP_SANDBOX = True
    settings.WHATSAPP_API_BASE_URL = f"{live_server.url}/sandbox/graph/v23.0"

    def open_chat(wa_id: str = "966501234567", name: str = "Sara") -> SandboxChat:
        return SandboxChat(f"{live_server.url}/webhooks/whatsapp/", wa_id=wa_id, name=name)

    return open_chat


def test_english_book_list_move_and_cancel_by_tapping(phone, staff_user):
    chat = phone(name="Sara")
    [menu] = chat.say("Hello")
    assert "Welcome to Test Clinic" in menu.text
    chat.tap("Book")
    chat.tap("Appointment")
    chat.tap("Mon 23 Nov")
    chat.tap("11:30 AM")
    [done] = chat.tap("Confirm")
    assert "booked for Monday 23 November 2026 at 11:30 AM" in done.text
    reservation = Reservation.objects.get()
    assert (reservation.customer_id, reservation.source) == ("966501234567", "customer")

    # Staff see it on the schedule page.
    browser = Client()
    browser.force_login(staff_user)
    page = browser.get("/schedule/", {"date": "2026-11-23"})
    assert "Sara" in page.content.decode()

    [mine] = chat.tap("My appointments")
    assert "Monday 23 November 2026 at 11:30 AM" in mine.text
    chat.tap("Move it")
    chat.tap("Tue 24 Nov")
    chat.tap("2:00 PM")
    [moved] = chat.tap("Confirm")
    assert "moved to Tuesday 24 November 2026 at 2:00 PM" in moved.text
    reservation.refresh_from_db()
    assert (reservation.date, reservation.time_slot) == (TUESDAY, dt.time(14, 0))

    chat.tap("My appointments")
    chat.tap("Cancel it")
    [cancelled] = chat.tap("Yes, cancel it")
    assert "is cancelled" in cancelled.text
    reservation.refresh_from_db()
    assert reservation.status == "cancelled"


def test_arabic_full_slot_alternatives_limit_and_stale_button(phone):
    for _ in range(2):
        ReservationFactory(date=MONDAY, time_slot=dt.time(16, 0))
    chat = phone(wa_id="966501112222", name="نورة")
    [nearest] = chat.say("أبغى موعد بكرة الساعة ٤ م")
    assert "أهلاً نورة" in nearest.text
    assert "هذه أقرب الأوقات المتاحة" in nearest.text
    assert nearest.kind == "list"
    choice = next(t for t in nearest.titles if "4:30" in t)
    [confirm] = chat.tap(choice)
    assert "يرجى تأكيد الحجز" in confirm.text
    old_confirm = confirm
    [done] = chat.tap("تأكيد")
    assert "تم! حُجز موعدك" in done.text
    held = Reservation.objects.get(customer_id="966501112222")
    assert held.time_slot == dt.time(16, 30)

    # The limit (one upcoming visit): another booking offers to move the one held.
    chat.say("موعد يوم الثلاثاء الساعة ١٢ الظهر")
    [offer] = chat.tap("تأكيد")
    assert "الاثنين 23 نوفمبر 2026 الساعة 4:30 م" in offer.text
    assert offer.titles == ["تغيير الموعد", "إبقاء الموعد"]
    [moved] = chat.tap(offer.titles[0])
    assert "نُقل موعدك" in moved.text
    held.refresh_from_db()
    assert (held.date, held.time_slot) == (TUESDAY, dt.time(12, 0))

    # An old confirmation button, tapped now: the slot is checked again, nothing is booked twice.
    for _ in range(2):
        ReservationFactory(date=MONDAY, time_slot=dt.time(16, 30))
    chat.replies = [old_confirm]
    [stale] = chat.tap("تأكيد")
    assert "هذا الوقت محجوز بالكامل" in stale.text
    assert "الاثنين 23/11 3:30 م" in stale.titles
    assert Reservation.objects.filter(customer_id="966501112222").count() == 1


def test_a_vacation_day_in_english_offers_other_days(phone):
    VacationPeriodFactory(start_date=MONDAY, end_date=MONDAY, title="Holiday")
    chat = phone()
    chat.say("hi")
    refusal, days = chat.say("book tomorrow 4pm")
    assert refusal.text == "The clinic is closed for a holiday on that day."
    assert "Mon 23 Nov" not in days.titles
    assert "Tue 24 Nov" in days.titles


def test_hand_off_silences_the_bot_until_staff_resume(phone):
    chat = phone(name="سارة")
    chat.say("مرحبا")
    [answer] = chat.tap("التحدث مع موظف")
    assert "سيرد عليك أحد موظفينا" in answer.text
    customer = Customer.objects.get()
    assert customer.needs_staff_since is not None
    assert chat.say("هل من أحد؟") == []  # paused: recorded, not answered
    staff.resume_bot(customer=customer)
    [menu] = chat.say("مرحبا")
    assert menu.titles[0] == "حجز موعد"


def test_a_blocked_customer_gets_nothing(phone):
    Customer.objects.create(wa_id="966501234567", is_blocked=True)
    chat = phone()
    assert chat.say("hello") == []
    assert chat.say("book tomorrow 4pm") == []
    assert not Reservation.objects.exists()
