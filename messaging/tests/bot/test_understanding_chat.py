"""What customers type, through the real pipeline: each kind of message in the corpus gets the
right answer, and a day or time the bot could not read is asked for, never guessed."""

import datetime as dt

import pytest

from customers.models import Customer
from customers.tests.factories import CustomerFactory
from messaging.models import Conversation, NotificationEvent
from messaging.tests.chat import Chat
from reservations.models import Reservation
from reservations.tests.factories import ReservationFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clinic")]

# Today is Sunday 22 November 2026, 09:00 in Riyadh. Sunday-Thursday 11:00-17:00, Saturday
# 16:00-22:00, Friday closed; 30-minute slots.
SUNDAY = dt.date(2026, 11, 22)
MONDAY = SUNDAY + dt.timedelta(days=1)


def confirmation(chat: Chat, text: str) -> str:
    [reply] = chat.say(text)
    assert reply.titles[:1] in (["Confirm"], ["تأكيد"]), reply.text
    return reply.text


def asked(chat: Chat, text: str) -> tuple[str, list[str]]:
    """The bot asked instead of proposing: its lead and the rows it offered."""
    lead, listed = chat.say(text)
    assert listed.kind == "list"
    assert "Confirm" not in listed.titles
    assert "تأكيد" not in listed.titles
    return lead.text, listed.titles


@pytest.fixture
def chat() -> Chat:
    chat = Chat()
    chat.say("hi")
    return chat


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("can I come in 3 days at 4pm?", "Wednesday 25 November 2026 at 4:00 PM"),
        ("a week from now at 11am", "Sunday 29 November 2026 at 11:00 AM"),
        ("10 December at 2pm please", "Thursday 10 December 2026 at 2:00 PM"),
        ("the 1st at noon", "Tuesday 1 December 2026 at 12:00 PM"),
        ("5 rajab 1pm", "Monday 14 December 2026 at 1:00 PM"),
        ("next sunday 11am", "Sunday 29 November 2026 at 11:00 AM"),  # said on a Sunday
        ("tomorrow half past two", "Monday 23 November 2026 at 2:30 PM"),
        ("tmrw half past 3", "Monday 23 November 2026 at 3:30 PM"),
        ("thrusday 3 pm", "Thursday 26 November 2026 at 3:00 PM"),
        ("Hello! could I have tues at 12 noon? thanks", "Tuesday 24 November 2026 at 12:00 PM"),
    ],
)
def test_days_and_times_in_english_words_are_proposed(chat, text, expected):
    assert expected in confirmation(chat, text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ابي موعد بعد ٣ أيام الساعة ٤ العصر", "الأربعاء 25 نوفمبر 2026 الساعة 4:00 م"),
        ("بعد اسبوع الساعة ١١ الصبح", "الأحد 29 نوفمبر 2026 الساعة 11:00 ص"),
        ("١٠ ديسمبر الساعة ٢ الظهر", "الخميس 10 ديسمبر 2026 الساعة 2:00 م"),
        ("بكرة ٢ ونص", "الاثنين 23 نوفمبر 2026 الساعة 2:30 م"),
        ("باجر ٤ ونص", "الاثنين 23 نوفمبر 2026 الساعة 4:30 م"),
        ("غداً الساعة الواحدة ظهراً", "الاثنين 23 نوفمبر 2026 الساعة 1:00 م"),
        ("عايز ميعاد يوم التلات الساعة ۱۲ الضهر", "الثلاثاء 24 نوفمبر 2026 الساعة 12:00 م"),
        ("بدي موعد ٥ رجب الساعة وحدة", "الاثنين 14 ديسمبر 2026 الساعة 1:00 م"),
    ],
)
def test_days_and_times_in_arabic_are_proposed_in_arabic(text, expected):
    chat = Chat(name="سارة")
    chat.say("السلام عليكم")
    assert expected in confirmation(chat, text)


def test_a_weekday_whose_hour_has_passed_today_means_next_week(clinic):
    clinic.move_to(dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC))  # Monday 12:00 in Riyadh
    chat = Chat()
    chat.say("hi")
    assert "Monday 30 November 2026 at 11:00 AM" in confirmation(chat, "monday 11am")
    assert "Monday 23 November 2026 at 4:00 PM" in confirmation(chat, "monday 4pm")


def test_a_time_in_words_that_is_not_a_slot_gets_the_nearest(chat):
    [nearest] = chat.say("tmrw quarter to 4")  # read as 3:45 PM; slots are on the half hour
    assert nearest.text.startswith("That is not one of the clinic's appointment times.")
    assert {"Mon 23 Nov 3:30 PM", "Mon 23 Nov 4:00 PM"} <= set(nearest.titles)


def test_a_part_of_the_day_lists_its_free_times(chat):
    [times] = chat.say("tomorrow afternoon")
    assert times.text == "Free times on Mon 23 Nov, in the afternoon:"
    assert times.titles[0] == "12:00 PM"
    assert "11:30 AM" not in times.titles
    [times] = chat.say("saturday evening")
    assert times.text.startswith("Free times on Sat 28 Nov, in the evening:")
    assert times.titles[0] == "4:30 PM"


def test_a_part_of_the_day_when_the_clinic_is_closed_says_so(chat):
    closed, times = chat.say("بكرة بعد العشا")
    assert closed.text == "We are closed at night on Mon 23 Nov."
    assert times.kind == "list"  # the day's free times instead
    assert "11:00 AM" in times.titles


@pytest.mark.parametrize(
    "text",
    [
        "sometime after eid at 5pm",
        "end of the month",
        "بعد العيد",
        "31 november 4pm",
        "thursday 27/11 at 4pm",  # 27/11 is a Friday: which one?
        "tomorrow or wednesday at 4",
        "in 2 weeks on monday",  # two weeks from this Sunday is a Sunday
        "after ramadan",
    ],
)
def test_a_day_that_cannot_be_read_is_asked_for_never_guessed(chat, text):
    lead, days = asked(chat, text)
    assert lead == "Sorry, I could not tell which day you mean. Please choose one:"
    assert days[0] == "Sun 22 Nov"


@pytest.mark.parametrize("text", ["tomorrow at 25:00", "بكرة بعد الدوام", "tmrw at 4 or 5"])
def test_a_time_that_cannot_be_read_is_asked_for_with_the_days_times(chat, text):
    lead, times = asked(chat, text)
    assert lead == "Sorry, I could not read the time. Please choose one:"
    assert times[0] == "11:00 AM"


def test_a_run_of_days_lists_the_days_from_its_first(chat):
    [days] = chat.say("anything next week?")
    assert days.titles[0] == "Sun 29 Nov"
    [days] = chat.say("sometime in december")
    assert days.titles[0] == "Tue 1 Dec"


@pytest.mark.parametrize(
    "text", ["running 10 minutes late for my 11:00", "راح اتأخر ربع ساعة", "stuck in traffic"]
)
def test_a_late_notice_tells_the_staff_with_the_visit_and_answers_kindly(text):
    customer = CustomerFactory(wa_id="966501234567", language="en")
    visit = ReservationFactory(customer=customer, date=SUNDAY, time_slot=dt.time(11, 0))
    chat = Chat()
    [reply] = chat.say(text)
    assert "Thank you for letting us know" in reply.text
    assert "Sunday 22 November 2026 at 11:00 AM" in reply.text
    assert "closed" not in reply.text
    note = Conversation.objects.get(role=Conversation.Role.SYSTEM)
    assert note.message.startswith("Late notice:")
    assert "11:00 AM" in note.message
    customer.refresh_from_db()
    assert customer.needs_staff_since is not None
    assert customer.bot_paused_until is None  # the bot goes on answering
    event = NotificationEvent.objects.get(event_type="late_notice")
    assert event.data["reservation_id"] == visit.pk
    assert Reservation.objects.count() == 1


def test_a_late_notice_without_a_visit_still_reaches_the_staff(chat):
    [reply] = chat.say("gonna be late sorry")
    assert "Thank you for letting us know" in reply.text
    assert "no appointment" in Conversation.objects.get(role="system").message


@pytest.mark.parametrize(
    "text",
    [
        "is parking available?",
        "do you have flu vaccine slots this week?",
        "كم سعر الكشف؟",
        "do u take tawuniya",
        "is there wifi?",
    ],
)
def test_a_question_goes_to_the_staff_not_to_the_menu(chat, text):
    [reply] = chat.say(text)
    assert reply.text in {
        "I have passed your question to our staff; they will answer you here.",
        "لقد أحلنا سؤالك إلى فريقنا، وسيجيبونك هنا.",
    }
    assert Customer.objects.get().needs_staff_since is not None
    event = NotificationEvent.objects.get(event_type="handoff_requested")
    assert event.data == {"reason": "question"}


@pytest.fixture
def held() -> Reservation:
    customer = CustomerFactory(wa_id="966501234567", language="en")
    return ReservationFactory(customer=customer, date=MONDAY, time_slot=dt.time(11, 0))


@pytest.mark.parametrize("text", ["do I have an appointment?", "when is my next visit"])
def test_asking_whether_i_have_an_appointment_shows_it(held, text):
    [reply] = Chat().say(text)
    assert "Your appointment:" in reply.text
    assert "Monday 23 November 2026 at 11:00 AM" in reply.text


@pytest.mark.parametrize("text", ["call it off please", "الغوا الموعد", "I can't make it"])
def test_a_cancellation_in_other_words_asks_to_confirm(held, text):
    [reply] = Chat().say(text)
    assert reply.titles[0] in {"Yes, cancel it", "نعم، ألغِه"}


@pytest.mark.parametrize("text", ["أأجل الموعد", "can i push my appointment back?"])
def test_a_move_in_other_words_offers_new_days(held, text):
    [reply] = Chat().say(text)
    assert reply.kind == "list"
    assert reply.titles[0] in {"Sun 22 Nov", "الأحد 22 نوفمبر"}


def test_a_move_with_the_new_time_in_the_same_message_asks_to_confirm_the_move(held):
    [reply] = Chat().say("can you move my appointment to tuesday 2pm")
    assert "Move your appointment from Monday 23 November 2026 at 11:00 AM" in reply.text
    assert "to Tuesday 24 November 2026 at 2:00 PM" in reply.text


def test_where_is_the_clinic_sends_the_pin(chat):
    pin, _menu = chat.say("where is the clinic located?")
    assert pin.type == "location"


def test_arabic_customers_get_the_new_answers_in_arabic():
    customer = CustomerFactory(wa_id="966501234567", language="ar")
    ReservationFactory(customer=customer, date=SUNDAY, time_slot=dt.time(11, 0))
    chat = Chat()
    [late] = chat.say("هتأخر شوية، انا في الطريق")
    assert "شكراً لإبلاغنا" in late.text
    assert "الأحد 22 نوفمبر 2026 الساعة 11:00 ص" in late.text
    # the staff note is in the staff's language
    assert "Sunday 22 November 2026 at 11:00 AM" in Conversation.objects.get(role="system").message
    closed, _times = chat.say("بكرة بعد العشا")
    assert closed.text == "العيادة مغلقة ليلاً يوم الاثنين 23 نوفمبر."
    lead, _days = chat.say("بعد العيد")
    assert lead.text == "عذراً، لم أفهم اليوم المقصود. اختر يوماً من القائمة:"
    [passed] = chat.say("فيه مواقف للسيارات؟")
    assert passed.text == "لقد أحلنا سؤالك إلى فريقنا، وسيجيبونك هنا."
