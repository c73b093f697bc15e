import datetime as dt

import pytest

from customers.models import Customer
from customers.tests.factories import CustomerFactory
from messaging.models import BotSession, NotificationEvent
from messaging.tests.chat import Chat

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clinic")]


def test_a_first_message_gets_the_greeting_and_the_main_menu():
    chat = Chat(name="Sara")
    [menu] = chat.say("hello")
    assert menu.text.startswith("Hello Sara! Welcome to Test Clinic.")
    assert menu.titles == ["Book", "My appointments", "Talk to staff"]
    assert "“menu” for all options" in menu.text
    assert Customer.objects.get().language == "en"


def test_an_arabic_first_message_is_answered_in_arabic_and_remembered():
    chat = Chat(name="سارة")
    [menu] = chat.say("السلام عليكم")
    assert menu.text.startswith("أهلاً سارة! مرحباً بك في Test Clinic.")
    assert menu.titles == ["حجز موعد", "مواعيدي", "التحدث مع موظف"]
    assert Customer.objects.get().language == "ar"
    [again] = chat.say("hi")  # later messages keep the stored language
    assert again.titles[0] == "حجز موعد"
    assert "Welcome" not in again.text  # only the first answer greets


def test_the_language_can_be_switched_from_the_menu_both_ways():
    chat = Chat()
    chat.say("hello")
    [menu] = chat.say("عربي")
    assert Customer.objects.get().language == "ar"
    assert "سأكتب لك بالعربية" in menu.text
    [menu] = chat.say("English")
    assert Customer.objects.get().language == "en"
    assert menu.titles[0] == "Book"


def test_menu_lists_every_option_including_the_location_and_the_other_language():
    chat = Chat()
    chat.say("hi")
    [options] = chat.say("menu")
    assert options.kind == "list"
    assert options.titles == [
        "Book",
        "My appointments",
        "Talk to staff",
        "Our location",
        "العربية",
    ]
    pin, _menu = chat.tap("Our location")
    assert pin.type == "location"
    chat.say("menu")
    [menu] = chat.tap("العربية")
    assert Customer.objects.get().language == "ar"
    assert menu.titles == ["حجز موعد", "مواعيدي", "التحدث مع موظف"]
    [options] = chat.say("القائمة")
    assert options.titles[-1] == "English"


def test_the_location_is_sent_as_a_map_pin_on_request():
    chat = Chat()
    chat.say("hi")
    pin, menu = chat.say("where are you?")
    assert pin.type == "location"
    assert pin.body["location"]["latitude"] == 24.7136
    assert pin.body["location"]["address"] == "King Fahd Road"
    assert menu.kind == "button"


def test_without_a_map_pin_the_address_is_given(settings):
    settings.BUSINESS_LOCATION_LATITUDE = None
    chat = Chat()
    chat.say("hi")
    [menu] = chat.say("location")
    assert "King Fahd Road" in menu.text


def test_talk_to_staff_hands_off_and_the_bot_goes_silent(clinic, settings):
    settings.BOT_HANDOFF_PAUSE_HOURS = 2
    chat = Chat()
    chat.say("hi")
    [answer] = chat.tap("Talk to staff")
    assert "A member of our team will answer you" in answer.text
    customer = Customer.objects.get()
    assert customer.needs_staff_since is not None
    assert customer.is_bot_paused
    assert NotificationEvent.objects.filter(event_type="handoff_requested").count() == 1
    assert chat.say("hello?") == []  # silent while staff handle it
    clinic.shift(dt.timedelta(hours=2, minutes=1))
    [menu] = chat.say("hello again")  # the pause has run out
    assert menu.titles[0] == "Book"


def test_one_unplaced_text_gets_the_menu_two_in_a_row_hand_off():
    chat = Chat()
    chat.say("hi")
    [menu] = chat.say("qwerty zxcv")
    assert "Sorry, I did not understand that." in menu.text
    assert menu.titles[0] == "Book"
    [answer] = chat.say("asdf ghjk")
    assert "A member of our team will answer you" in answer.text
    assert Customer.objects.get().needs_staff_since is not None


def test_a_placed_text_resets_the_count_of_unplaced_ones():
    chat = Chat()
    chat.say("hi")
    chat.say("qwerty")
    chat.say("menu")
    [menu] = chat.say("qwerty")
    assert "did not understand" in menu.text
    assert Customer.objects.get().needs_staff_since is None


def test_the_session_lives_in_the_database_and_expires(clinic):
    chat = Chat()
    chat.say("hi")
    chat.say("qwerty")
    session = BotSession.objects.get()
    assert session.unplaced_texts == 1
    clinic.shift(dt.timedelta(hours=1))  # past the session's 30 minutes
    [menu] = chat.say("qwerty")
    assert "did not understand" in menu.text  # counted afresh, no hand-off


def test_a_blocked_customer_gets_nothing():
    CustomerFactory(wa_id="966501234567", is_blocked=True)
    chat = Chat()
    assert chat.say("hi") == []
    assert chat.tap_id("m:book") == []


def test_an_unknown_or_old_button_gets_the_menu():
    chat = Chat()
    chat.say("hi")
    [menu] = chat.tap_id("slot:1", "Tue 10:30", kind="list")
    assert "that choice is no longer available" in menu.text
    assert menu.titles[0] == "Book"


def test_thanks_gets_a_short_answer():
    chat = Chat()
    chat.say("hi")
    [answer] = chat.say("thanks!")
    assert answer.text == "You are welcome!"
