"""Questions: the staff's FAQ answers them in the customer's language; the opening hours come
from the schedule; a question nothing matches goes to the staff."""

import datetime as dt

import pytest
from django.db import IntegrityError, transaction

from customers.models import Customer
from messaging.models import FaqEntry, NotificationEvent
from messaging.tests.chat import Chat
from reservations.models import WeeklySchedule
from reservations.tests.factories import VacationPeriodFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clinic")]

SUNDAY = dt.date(2026, 11, 22)  # today


def dashes(text: str) -> str:
    """The answer uses en dashes between days and between hours."""
    return text.replace("\u2013", "-")


@pytest.fixture
def parking() -> FaqEntry:
    return FaqEntry.objects.create(
        question_en="Is there parking?",
        question_ar="هل يوجد موقف سيارات؟",
        keywords_en="parking, park, car park",
        keywords_ar="مواقف, موقف سيارات, ركنة, الباركنج",
        answer_en="Free parking behind the building.",
        answer_ar="يوجد موقف مجاني خلف المبنى.",
    )


@pytest.mark.parametrize("text", ["is parking available?", "where can i park", "car park?"])
def test_a_question_gets_the_staffs_answer(parking, text):
    chat = Chat()
    chat.say("hi")
    [reply] = chat.say(text)
    assert reply.text == "Free parking behind the building."
    assert Customer.objects.get().needs_staff_since is None


@pytest.mark.parametrize("text", ["فيه مواقف للسيارات؟", "في موقف سيارات؟", "وين أركن؟ في ركنة؟"])
def test_arabic_questions_match_with_the_folding_and_get_the_arabic_answer(parking, text):
    chat = Chat(name="سارة")
    chat.say("السلام عليكم")
    [reply] = chat.say(text)
    assert reply.text == "يوجد موقف مجاني خلف المبنى."


def test_an_answer_in_one_language_only_is_given_in_it():
    FaqEntry.objects.create(question_en="Wifi?", keywords_en="wifi", answer_en="Ask at the desk.")
    chat = Chat(name="سارة")
    chat.say("السلام عليكم")
    [reply] = chat.say("wifi password")  # not a question in its form, still a known topic
    assert reply.text == "Ask at the desk."


def test_the_opening_hours_come_from_the_schedule():
    chat = Chat()
    chat.say("hi")
    [reply] = chat.say("what time do you open?")
    assert dashes(reply.text) == (
        "Our opening hours this week:\n"
        "Sunday - Thursday: 11:00 AM - 5:00 PM\n"
        "Friday: closed\n"
        "Saturday: 4:00 PM - 10:00 PM"
    )
    VacationPeriodFactory(start_date=SUNDAY + dt.timedelta(days=2), end_date=None)
    normal = WeeklySchedule.objects.get(start_date=None)
    normal.intervals.filter(weekday=0).update(opens=dt.time(9))
    [reply] = chat.say("are you open on friday?")
    assert dashes(reply.text) == (
        "Our opening hours this week:\n"
        "Sunday: 11:00 AM - 5:00 PM\n"
        "Monday: 9:00 AM - 5:00 PM\n"
        "Tuesday - Saturday: closed (holiday)"
    )


def test_the_opening_hours_in_arabic():
    chat = Chat(name="سارة")
    chat.say("السلام عليكم")
    [reply] = chat.say("متى تفتحون؟")
    lines = dashes(reply.text).splitlines()
    assert lines[:2] == ["أوقات الدوام هذا الأسبوع:", "الأحد - الخميس: 11:00 ص - 5:00 م"]
    assert "الجمعة: مغلق" in reply.text


def test_an_inactive_answer_is_not_given_and_the_question_goes_to_the_staff(parking):
    parking.is_active = False
    parking.save()
    chat = Chat()
    chat.say("hi")
    [reply] = chat.say("is parking available?")
    assert reply.text == "I have passed your question to our staff; they will answer you here."
    assert Customer.objects.get().needs_staff_since is not None
    assert NotificationEvent.objects.filter(event_type="handoff_requested").exists()


def test_the_entry_covering_most_of_the_question_wins(parking):
    FaqEntry.objects.create(
        question_en="Price of a car park ticket?",
        keywords_en="car park ticket, ticket price",
        answer_en="The ticket is free.",
        position=50,
    )
    chat = Chat()
    chat.say("hi")
    [reply] = chat.say("how much is the car park ticket?")
    assert reply.text == "The ticket is free."


def test_an_entry_needs_keywords_and_an_answer():
    with transaction.atomic(), pytest.raises(IntegrityError):
        FaqEntry.objects.create(question_en="No answer", keywords_en="x")
    with transaction.atomic(), pytest.raises(IntegrityError):
        FaqEntry.objects.create(question_en="No keywords", answer_en="y")
    hours = FaqEntry.objects.get(kind=FaqEntry.Kind.OPENING_HOURS)  # seeded by the migration
    assert "opening hours" in hours.keywords
