"""The optional language model, against a local OpenAI-compatible server over real HTTP: it reads
only what the rules cannot place, gets the text only, and its reading is checked and confirmed
by a tap; when it refuses, talks nonsense, is slow or over budget, the bot answers as without it."""

import datetime as dt
import json
import threading
import time
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest
from django.core.wsgi import get_wsgi_application
from django.db import connection

from customers.models import Customer
from messaging import services
from messaging.bot.assisted import count_text, redact, take_model_request
from messaging.bot.understanding import llm
from messaging.models import BotDailyCount, FaqEntry, InboundMessage
from messaging.tests.bot.model_server import completion_with
from messaging.tests.chat import Chat
from reservations.models import Reservation, Service
from reservations.tests.factories import ReservationFactory, make_resource, make_service

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clinic")]

TODAY = dt.date(2026, 11, 22)  # Sunday; the clinic fixture's clock
NOT_UNDERSTOOD = "Sorry, I did not understand that."
UNPLACED = "my tooth is killing me, squeeze me in"


def counts() -> dict[str, int]:
    return {r["kind"]: r["total"] for r in BotDailyCount.objects.filter(day=TODAY).totals()}


def started_chat() -> Chat:
    chat = Chat()
    chat.say("hello")
    return chat


@pytest.fixture
def dental() -> dict:
    """Two practitioners; cleaning with Huda or Dr Sara, whitening with Dr Ali only."""
    huda, sara, ali = make_resource("Huda"), make_resource("Dr Sara"), make_resource("Dr Ali")
    cleaning = make_service(
        "Teeth cleaning", minutes=30, resources=[huda, sara], name_ar="تنظيف الأسنان"
    )
    whitening = make_service("Whitening", minutes=60, resources=[ali])
    return {"huda": huda, "sara": sara, "ali": ali, "cleaning": cleaning, "whitening": whitening}


@pytest.fixture
def cleaning(dental) -> Service:
    return dental["cleaning"]


@pytest.fixture
def parking() -> FaqEntry:
    return FaqEntry.objects.create(
        question_en="Is there parking?",
        keywords_en="parking",
        answer_en="Free parking behind the building.",
    )


def test_a_day_and_time_read_by_the_model_is_proposed_and_booked_only_on_a_tap(model_server):
    chat = started_chat()
    model_server.play_reading(intent="book", day="2026-11-24", time="16:00")
    [reply] = chat.say(UNPLACED)
    assert reply.kind == "button"
    assert "Tuesday 24 November 2026 at 4:00 PM" in reply.text
    assert reply.titles == ["Confirm", "Change", "Cancel"]
    assert not Reservation.objects.filter(date=dt.date(2026, 11, 24)).exists()
    chat.tap("Confirm")
    assert Reservation.objects.filter(date=dt.date(2026, 11, 24), time_slot=dt.time(16)).exists()
    assert counts()[BotDailyCount.Kind.MODEL] == 1
    assert counts()[BotDailyCount.Kind.MODEL_REQUEST] == 1


def test_the_service_and_practitioner_the_model_names_are_booked_by_taps(model_server, dental):
    chat = started_chat()
    model_server.play_reading(
        intent="book", service_id=dental["cleaning"].pk, practitioner_id=dental["huda"].pk
    )
    [days] = chat.say("my gums keep bleeding")
    assert "Teeth cleaning with Huda" in days.text
    model_server.play_reading(
        intent="book",
        service_id=dental["cleaning"].pk,
        practitioner_id=dental["huda"].pk,
        day="2026-11-23",
        time="11:00",
    )
    [confirm] = chat.say("my gums keep bleeding again")
    assert confirm.titles == ["Confirm", "Change", "Cancel"]
    assert "Huda" in confirm.text
    assert not Reservation.objects.filter(service=dental["cleaning"]).exists()
    chat.tap("Confirm")
    booked = Reservation.objects.get(service=dental["cleaning"])
    assert (booked.date, booked.time_slot, booked.resource) == (
        dt.date(2026, 11, 23),
        dt.time(11),
        dental["huda"],
    )


def test_a_practitioner_who_does_not_deliver_the_service_is_asked_about(model_server, dental):
    chat = started_chat()
    model_server.play_reading(
        intent="book", service_id=dental["cleaning"].pk, practitioner_id=dental["ali"].pk
    )
    [people] = chat.say("my gums keep bleeding")
    assert people.titles == ["Anyone", "Dr Sara", "Huda"]


def test_a_service_that_is_not_offered_is_asked_about(model_server, dental):
    Service.objects.filter(pk=dental["whitening"].pk).update(is_active=False)
    chat = started_chat()
    model_server.play_reading(intent="book", service_id=dental["whitening"].pk)
    [services_list] = chat.say("make my smile shiny")
    assert "Teeth cleaning" in services_list.titles


def test_a_day_the_model_reads_in_the_past_is_asked_for_never_proposed(model_server):
    chat = started_chat()
    model_server.play_reading(intent="book", day="2026-11-01", time="17:00")
    replies = chat.say(UNPLACED)
    assert replies[0].text == "Sorry, I could not tell which day you mean. Please choose one:"
    assert replies[1].kind == "list"


def test_a_time_the_model_garbles_is_asked_for(model_server):
    chat = started_chat()
    model_server.play_reading(intent="book", day="2026-11-24", time="five-ish")
    replies = chat.say(UNPLACED)
    assert replies[0].text == "Sorry, I could not read the time. Please choose one:"


def test_the_faq_entry_the_model_picks_is_answered_with_the_staffs_text(model_server, parking):
    chat = started_chat()
    model_server.play_reading(intent="question", faq_id=parking.pk)
    [reply] = chat.say("need a spot for my car")
    assert reply.text == "Free parking behind the building."


def test_an_faq_id_that_does_not_exist_goes_to_the_staff(model_server, parking):
    chat = started_chat()
    model_server.play_reading(intent="question", faq_id=parking.pk + 100)
    [reply] = chat.say("need a spot for my car")
    assert reply.text == "I have passed your question to our staff; they will answer you here."


def test_a_cancellation_read_by_the_model_only_lists_the_appointments(model_server):
    chat = started_chat()
    ReservationFactory(customer=Customer.objects.get(), date=dt.date(2026, 11, 25))
    before = Reservation.objects.active().count()
    model_server.play_reading(intent="cancel")
    [reply] = chat.say("gotta bail on the dentist thing")
    assert reply.text.startswith("Cancel this appointment?")
    assert reply.kind == "button"
    assert Reservation.objects.active().count() == before


def test_the_model_is_not_asked_about_texts_the_rules_place(model_server):
    chat = started_chat()
    chat.say("book tomorrow 5pm")
    chat.say("cancel my appointment")
    assert model_server.requests == []


def test_the_model_is_off_unless_configured(model_server, settings):
    settings.LLM_MODEL = ""
    chat = started_chat()
    [reply] = chat.say(UNPLACED)
    assert model_server.requests == []
    assert NOT_UNDERSTOOD in reply.text


def test_a_tap_never_goes_to_the_model(model_server):
    chat = started_chat()
    chat.tap("Book")
    assert model_server.requests == []


def test_the_model_gets_the_text_but_no_number_and_no_name(model_server, settings):
    make_service("Check-up", resources=[make_resource("Dr Huda")])
    chat = Chat(wa_id="966501234567", name="Sara Alqahtani")
    chat.say("hello")
    chat.say("Sara Alqahtani here, tooth thing")
    chat.say("sara here again, my tooth thing")
    [first, second] = model_server.requests
    for request in (first, second):
        raw = request["raw"].decode()
        text = json.dumps(request["json"], ensure_ascii=False)
        for secret in ("966501234567", "501234567", "4567", "Sara", "sara", "Alqahtani"):
            assert secret not in raw
            assert secret not in text
    assert first["json"]["messages"][-1]["content"] == "[name] [name] here, tooth thing"
    assert "Huda" in first["json"]["messages"][0]["content"]  # the clinic's own lists
    assert "2026-11-22 (Sunday)" in first["json"]["messages"][0]["content"]
    assert first["headers"]["Authorization"] == "Bearer test-key"


@pytest.mark.parametrize(
    ("text", "redacted"),
    [
        ("call 0501234567 or +966 50 123 4567", "call [number] or [number]"),
        ("رقمي ٠٥٠١٢٣٤٥٦٧ يا", "رقمي [number] يا"),
        ("SARA al-Qahtani, at 10:30 on 2026-12-01", "[name] al-[name], at 10:30 on 2026-12-01"),
        ("سارة هنا", "[name] هنا"),
    ],
)
def test_numbers_and_the_customers_names_are_taken_out(text, redacted):
    assert redact(text, names=["Sara Qahtani", "سارة", ""]) == redacted


def test_a_refusal_leaves_the_bot_as_it_is_without_a_model(model_server):
    chat = started_chat()
    model_server.play(200, completion_with(None, refusal="I cannot help with that."))
    [reply] = chat.say(UNPLACED)
    assert NOT_UNDERSTOOD in reply.text
    assert counts()[BotDailyCount.Kind.MODEL_FAILED] == 1
    assert counts()[BotDailyCount.Kind.NOT_UNDERSTOOD] == 1


@pytest.mark.parametrize(
    ("status", "data"),
    [
        (200, completion_with("this is not json")),
        (200, completion_with(json.dumps({"intent": "book_now"}))),
        (200, completion_with(json.dumps(["book"]))),
        (200, {"choices": []}),
        (200, "<html>oops</html>"),
        (500, {"error": {"message": "overloaded"}}),
        (401, {"error": {"message": "bad key"}}),
    ],
)
def test_an_unusable_answer_leaves_the_bot_as_it_is(model_server, status, data):
    chat = started_chat()
    model_server.play(status, data)
    [reply] = chat.say(UNPLACED)
    assert NOT_UNDERSTOOD in reply.text
    assert len(model_server.requests) == 1


def test_a_slow_model_is_dropped_at_the_timeout(model_server, settings):
    settings.LLM_TIMEOUT_SECONDS = 0.2
    model_server.delay = 0.6
    chat = started_chat()
    started = time.monotonic()
    [reply] = chat.say(UNPLACED)
    assert time.monotonic() - started < 0.55
    assert NOT_UNDERSTOOD in reply.text
    assert counts()[BotDailyCount.Kind.MODEL_FAILED] == 1


def test_the_daily_budget_is_counted_in_the_database(model_server, settings, clinic):
    settings.LLM_DAILY_BUDGET = 2
    chat = started_chat()
    for _ in range(3):
        model_server.play_reading(intent="my_appointments")
    assert chat.say(UNPLACED)[0].text == "You have no upcoming appointments."
    assert chat.say(UNPLACED)[0].text == "You have no upcoming appointments."
    [reply] = chat.say(UNPLACED)  # over budget: the rules alone
    assert NOT_UNDERSTOOD in reply.text
    assert len(model_server.requests) == 2
    assert counts()[BotDailyCount.Kind.MODEL_REQUEST] == 2
    assert BotDailyCount.Kind.MODEL_FAILED not in counts()
    clinic.shift(dt.timedelta(days=1))  # a new day, a new budget
    chat.say(UNPLACED)
    assert len(model_server.requests) == 3


def test_a_server_without_json_schema_is_asked_with_a_tool_call(model_server, cleaning):
    model_server.refuse_schema = True
    chat = started_chat()
    [reply] = chat.say("my teeth hurt")  # the fake: a word of the service's name
    assert "Teeth cleaning" in reply.text
    first, second = model_server.requests
    assert "response_format" in first["json"]
    assert second["json"]["tool_choice"]["function"]["name"] == "reading"
    chat.say("my teeth hurt")  # from then on, straight to the tool call
    assert "response_format" not in model_server.requests[2]["json"]
    assert len(model_server.requests) == 3


@pytest.mark.django_db(transaction=True)
def test_the_model_is_asked_outside_any_transaction(model_server, monkeypatch):
    """The worker asks before `record_inbound_message` opens its transaction."""
    seen: list[bool] = []
    post = llm._session.post

    def spy(*args, **kwargs):
        seen.append(connection.in_atomic_block)
        return post(*args, **kwargs)

    monkeypatch.setattr(llm._session, "post", spy)
    model_server.play_reading(intent="cancel")
    item = {
        "id": "wamid.MODEL1",
        "from": "966501234567",
        "timestamp": str(int(time.time())),
        "type": "text",
        "text": {"body": UNPLACED},
    }
    payload = json.dumps({"message": item, "contact": {"wa_id": "966501234567"}})
    row = InboundMessage.objects.create(
        message_id="wamid.MODEL1",
        wa_id="966501234567",
        payload=payload,
        status=InboundMessage.Status.PROCESSING,
    )
    services.handle_inbound_message(row=row)
    assert seen == [False]
    assert BotDailyCount.objects.get(kind=BotDailyCount.Kind.MODEL).count == 1


def handle_text(wamid: str, text: str) -> None:
    item = {
        "id": wamid,
        "from": "966501234567",
        "timestamp": str(int(time.time())),
        "type": "text",
        "text": {"body": text},
    }
    payload = json.dumps({"message": item, "contact": {"wa_id": "966501234567"}})
    row = InboundMessage.objects.create(
        message_id=wamid, wa_id="966501234567", payload=payload, status="processing"
    )
    services.handle_inbound_message(row=row)


def test_typing_shows_while_the_model_reads_and_the_message_is_marked_read_once(
    model_server, graph, monkeypatch
):
    sent_before_asking: list[int] = []
    post = llm._session.post

    def spy(*args, **kwargs):
        sent_before_asking.append(len(graph.requests))
        return post(*args, **kwargs)

    monkeypatch.setattr(llm._session, "post", spy)
    model_server.play_reading(intent="book", day="2026-11-24", time="16:00")
    handle_text("wamid.TYPING1", UNPLACED)
    assert sent_before_asking == [1]
    first, *rest = [r["json"] for r in graph.requests]
    # "typing..." went out before the model was asked (the worker waits on it), then the replies
    assert first == {
        "messaging_product": "whatsapp",
        "status": "read",
        "message_id": "wamid.TYPING1",
        "typing_indicator": {"type": "text"},
    }
    assert rest
    assert all("status" not in body for body in rest)


def test_no_typing_when_the_rules_answer_at_once(model_server, graph):
    handle_text("wamid.TYPING2", "hello")
    assert model_server.requests == []
    *sends, receipt = [r["json"] for r in graph.requests]
    assert sends
    assert all("status" not in body for body in sends)
    assert receipt == {
        "messaging_product": "whatsapp",
        "status": "read",
        "message_id": "wamid.TYPING2",
    }


def test_a_days_count_is_spread_over_shard_rows_that_add_up():
    """One row a day would queue every worker behind its lock until each one's transaction
    commits (bench/soak.py found one node capped at ~40 messages/s by it)."""
    for _ in range(200):
        count_text(day=TODAY, kind=BotDailyCount.Kind.RULES)
    rows = BotDailyCount.objects.filter(day=TODAY, kind=BotDailyCount.Kind.RULES)
    assert rows.count() > 1
    assert all(0 <= shard < BotDailyCount.SHARDS for shard in rows.values_list("shard", flat=True))
    assert counts() == {"rules": 200}


def test_the_model_budget_is_one_row_beside_the_text_counts(settings):
    settings.LLM_DAILY_BUDGET = 2
    for kind in BotDailyCount.Kind.values:
        count_text(day=TODAY, kind=kind)  # rows on any shard, shard 0 included
    BotDailyCount.objects.filter(kind=BotDailyCount.Kind.MODEL_REQUEST).delete()
    assert [take_model_request(day=TODAY) for _ in range(3)] == [True, True, False]
    assert BotDailyCount.objects.get(kind=BotDailyCount.Kind.MODEL_REQUEST).shard == 0


def test_the_dashboard_counts_follow_how_texts_were_placed(model_server, parking):
    chat = started_chat()  # a greeting: the rules
    chat.say("is there parking?")  # the FAQ
    model_server.play_reading(intent="other")
    chat.say(UNPLACED)  # the model has no idea either: not understood
    model_server.play_reading(intent="cancel")
    chat.say(UNPLACED)  # the model
    chat.say("do you do braces?")  # a question nothing answers: the staff
    assert counts() == {
        "rules": 1,
        "faq": 1,
        "staff": 1,
        "not_understood": 1,
        "model": 1,
        "model_request": 2,
    }


def test_sandbox_reading_for_the_fake_lists():
    context = llm.Context(
        today=TODAY,
        services=[llm.Choice(3, "Teeth cleaning / تنظيف الأسنان")],
        practitioners=[llm.Choice(7, "Dr Huda")],
        faq=[llm.Choice(9, "Is there parking? / هل يوجد موقف للسيارات؟")],
    )
    from messaging.bot.understanding.llm_sandbox import reading_for

    instructions = llm._instructions(context)
    assert reading_for("teeth cleaning", instructions=instructions)["service_id"] == 3
    assert reading_for("with huda at 16:30", instructions=instructions) | {} == {
        "intent": "book",
        "day": None,
        "time": "16:30",
        "service_id": None,
        "practitioner_id": 7,
        "faq_id": None,
    }
    assert reading_for("تنظيف الاسنان", instructions=instructions)["service_id"] == 3
    assert reading_for("any parking near you", instructions=instructions)["faq_id"] == 9
    assert reading_for("blah", instructions=instructions)["intent"] == "other"


def test_the_sandbox_serves_the_same_fake_model(settings, cleaning):
    """`make run` with .env.example's LLM lines: the worker asks this project's fake model, served
    by the project's own WSGI application over HTTP (the view touches no database)."""
    settings.WHATSAPP_SANDBOX = True
    server = make_server("127.0.0.1", 0, get_wsgi_application(), handler_class=QuietHandler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}).start()
    try:
        settings.LLM_BASE_URL = f"http://127.0.0.1:{server.server_port}/sandbox/llm/v1"
        settings.LLM_API_KEY = settings.LLM_MODEL = "sandbox"
        chat = started_chat()
        [reply] = chat.say("my teeth hurt")
    finally:
        server.shutdown()
        server.server_close()
    assert "Teeth cleaning" in reply.text
    assert counts()[BotDailyCount.Kind.MODEL] == 1


class QuietHandler(WSGIRequestHandler):
    def log_message(self, *args: object) -> None:
        pass
