import datetime as dt
import json

import pytest
from django.test import Client
from django.utils import timezone

from customers.models import Customer
from messaging import services, tasks
from messaging.models import Conversation, InboundMessage, Reminder, SandboxMessage, StatusUpdate
from messaging.reminders.planning import plan_reminders
from messaging.reminders.sending import deliver_reminder, reminder_message
from messaging.tests.conftest import ACCESS_TOKEN
from messaging.vacations import vacation_message
from messaging.whatsapp import cloud_api, outgoing, sandbox
from messaging.whatsapp.delivery import reengagement_template
from reservations.models import OpeningInterval, WeeklySchedule
from reservations.tests.factories import ReservationFactory, VacationPeriodFactory

GRAPH = "/sandbox/graph/v23.0/106540352242922/messages"


@pytest.fixture
def sandbox_on(settings):
    settings.WHATSAPP_SANDBOX = True
    return settings


def graph_post(client, body, *, token=ACCESS_TOKEN):
    return client.post(
        GRAPH,
        data=json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )


def customer_wrote(wa_id: str = "966501234567") -> None:
    SandboxMessage.objects.create(
        direction="in", wa_id=wa_id, wa_message_id=cloud_api.new_message_id(), body={}
    )


# ---------------------------------------------------------------------------- the fake Graph API
@pytest.mark.django_db
def test_the_fake_graph_accepts_a_valid_message_and_answers_like_meta(client, sandbox_on):
    customer_wrote()
    response = graph_post(client, outgoing.text("hi").body("966501234567"))
    assert response.status_code == 200
    data = response.json()
    assert data["contacts"] == [{"input": "+966501234567", "wa_id": "966501234567"}]
    stored = SandboxMessage.objects.get(direction="out")
    assert data["messages"][0]["id"] == stored.wa_message_id
    assert stored.webhook_url == "http://testserver/webhooks/whatsapp/"


@pytest.mark.django_db
def test_the_fake_graph_checks_the_token(client, sandbox_on):
    response = graph_post(client, outgoing.text("hi").body("966501234567"), token="stolen")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == 190


@pytest.mark.django_db
def test_the_fake_graph_enforces_meta_limits(client, sandbox_on):
    customer_wrote()
    body = outgoing.buttons("Pick", [("a", "A"), ("b", "B")]).body("966501234567")
    body["interactive"]["action"]["buttons"].extend(
        {"type": "reply", "reply": {"id": i, "title": i}} for i in ("c", "d")
    )
    response = graph_post(client, body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == 100
    assert "1 to 3 buttons" in response.json()["error"]["error_data"]["details"]


@pytest.mark.django_db
def test_the_fake_graph_refuses_free_form_outside_the_window(client, sandbox_on):
    response = graph_post(client, outgoing.text("hi").body("966501234567"))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == 131047
    template = outgoing.template("reengagement", "en", params=["Clinic"]).body("966501234567")
    assert graph_post(client, template).status_code == 200


@pytest.mark.django_db
def test_the_fake_graph_marks_customer_messages_read(client, sandbox_on):
    customer_wrote()
    wamid = SandboxMessage.objects.get().wa_message_id
    response = graph_post(client, outgoing.read_receipt(wamid, typing=True))
    assert response.json() == {"success": True}
    assert SandboxMessage.objects.get().status == "read"


@pytest.mark.django_db
def test_the_sandbox_is_off_unless_switched_on(client, staff_client):
    assert graph_post(client, {}).status_code == 404
    assert staff_client.get("/sandbox/").status_code == 404


# ---------------------------------------------------------------------------- the chat page
@pytest.mark.django_db
def test_the_chat_page_needs_a_staff_login(client, sandbox_on):
    response = client.get("/sandbox/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
    assert client.get("/sandbox/thread/?wa_id=966501234567").status_code == 302


@pytest.mark.django_db
def test_the_chat_page_renders_for_staff(staff_client, sandbox_on):
    response = staff_client.get("/sandbox/")
    assert response.status_code == 200
    assert b"WhatsApp sandbox" in response.content


@pytest.mark.django_db
def test_the_thread_endpoint_normalises_the_number(staff_client, sandbox_on):
    customer_wrote()
    response = staff_client.get("/sandbox/thread/", {"wa_id": "+966 50 123 4567"})
    assert response.json()["wa_id"] == "966501234567"
    assert len(response.json()["messages"]) == 1
    assert staff_client.get("/sandbox/thread/", {"wa_id": "abc"}).status_code == 400


@pytest.mark.django_db
def test_sending_needs_text_or_a_tap(staff_client, sandbox_on):
    response = staff_client.post(
        "/sandbox/send/", data={"wa_id": "966501234567"}, content_type="application/json"
    )
    assert response.status_code == 400


# ---------------------------------------------------------------------------- over real HTTP
@pytest.mark.django_db(transaction=True)
def test_a_message_travels_the_whole_path_over_http(live_server, sandbox_on):
    sandbox_on.WHATSAPP_API_BASE_URL = f"{live_server.url}/sandbox/graph/v23.0"
    webhook = f"{live_server.url}/webhooks/whatsapp/"

    # The customer writes (Arabic and emoji): a signed webhook reaches the real view.
    typed, code = sandbox.send_as_customer(
        wa_id="+966 50 123 4567", name="سارة", text="مرحبا 😊", webhook_url=webhook
    )
    assert code == 200
    assert InboundMessage.objects.get().message_id == typed.wa_message_id

    # A worker drains the queue: the reply goes out through requests to the fake Graph API.
    assert services.drain_inbound_queue().done == 1
    reply = Conversation.objects.get(role="assistant")
    out = SandboxMessage.objects.get(direction="out")
    assert (reply.status, reply.wa_message_id) == ("sent", out.wa_message_id)
    assert out.body["interactive"]["body"]["text"] in reply.message  # the greeting and menu
    typed.refresh_from_db()
    assert typed.status == "read"  # the bot marked it read before answering
    assert Customer.objects.get().customer_name == "سارة"

    # The fake Graph API posts signed status webhooks back; the worker applies them.
    assert sandbox.send_statuses(sandbox_message_id=out.id, statuses=["sent", "delivered"]) == 2
    tasks.apply_statuses()
    reply.refresh_from_db()
    assert reply.status == "delivered"
    assert sandbox.send_statuses(sandbox_message_id=out.id, statuses=["read"]) == 1
    tasks.apply_statuses()
    reply.refresh_from_db()
    assert reply.status == "read"
    assert StatusUpdate.objects.unapplied().count() == 0


@pytest.mark.django_db(transaction=True)
def test_tapping_a_button_on_the_chat_page_reaches_the_bot(live_server, sandbox_on, staff_user):
    browser = Client()
    browser.force_login(staff_user)
    sandbox_on.WHATSAPP_API_BASE_URL = f"{live_server.url}/sandbox/graph/v23.0"
    response = browser.post(
        "/sandbox/send/",
        data={
            "wa_id": "966501234567",
            "name": "Sara",
            "reply": {"kind": "list_reply", "id": "slot:1", "title": "Tue 10:30", "context": "w"},
        },
        content_type="application/json",
        SERVER_NAME=live_server.thread.host,
        SERVER_PORT=str(live_server.thread.port),
    )
    assert response.json()["webhook_status"] == 200
    message = cloud_api.Message.from_payload(InboundMessage.objects.get().payload)
    assert (message.type, message.reply_id, message.text) == ("interactive", "slot:1", "Tue 10:30")


# ---------------------------------------------------------------------------- approved templates
def test_the_sandbox_approves_the_templates_the_settings_name(settings):
    """Every template the app is configured to send by default is one the sandbox knows."""
    configured = {
        tuple(value.split(":"))
        for setting in (
            settings.REMINDER_TEMPLATES,
            settings.VACATION_NOTICE_TEMPLATES,
            settings.BOOKED_NOTICE_TEMPLATES,
            settings.MOVED_NOTICE_TEMPLATES,
            settings.CANCELLED_NOTICE_TEMPLATES,
        )
        for value in setting.values()
    }
    configured |= {("reengagement", "en"), ("reengagement", "ar")}
    assert configured == set(sandbox.APPROVED_TEMPLATES)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "language", "params", "code"),
    [
        ("no_such_template", "en", ["x"], 132001),
        ("appointment_reminder", "fr", ["a", "b", "c"], 132001),
        ("appointment_reminder", "en", ["a", "b"], 132000),
        ("reengagement", "en", [], 132000),
        ("vacation_notice", "ar", ["a", "b", "c", "d"], 132000),
        ("appointment_reminder", "en", ["a", " ", "c"], 131008),
    ],
)
def test_the_fake_graph_refuses_templates_meta_would(
    client, sandbox_on, name, language, params, code
):
    body = outgoing.template(name, language, params=params).body("966501234567")
    response = graph_post(client, body)
    assert response.status_code in {400, 404}
    assert response.json()["error"]["code"] == code
    assert not SandboxMessage.objects.exists()


@pytest.mark.django_db
def test_the_fake_graph_refuses_more_quick_replies_than_the_template_has(client, sandbox_on):
    body = outgoing.template(
        "vacation_notice", "en", params=["a", "b", "c"], quick_replies=["rm:mv:1", "rm:mv:2"]
    ).body("966501234567")
    assert graph_post(client, body).json()["error"]["code"] == 131009


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["en", "ar"])
def test_a_reminder_shows_its_body_and_quick_replies_on_the_phone(
    client, sandbox_on, staff_client, language
):
    reservation = ReservationFactory(customer__wa_id="966501234567")
    reservation.customer.language = language
    message = reminder_message(reservation=reservation)
    assert graph_post(client, message.body("966501234567")).status_code == 200
    shown = staff_client.get("/sandbox/thread/", {"wa_id": "966501234567"}).json()["messages"]
    params = message.body("x")["template"]["components"][0]["parameters"]
    text = shown[-1]["text"]
    assert "[template" not in text
    assert "{{" not in text
    assert all(p["text"] in text for p in params)
    assert [c["kind"] for c in shown[-1]["choices"]] == ["button"] * 3
    assert [c["id"] for c in shown[-1]["choices"]] == [
        f"rm:{verb}:{reservation.pk}" for verb in ("ok", "no", "mv")
    ]
    titles = [c["title"] for c in shown[-1]["choices"]]
    expected = (
        ["Confirm", "Cancel", "Reschedule"]
        if language == "en"
        else ["تأكيد", "إلغاء", "تغيير الموعد"]
    )
    assert titles == expected


@pytest.mark.django_db(transaction=True)
def test_tapping_a_reminders_quick_reply_confirms_through_the_webhook(
    live_server, sandbox_on, staff_user
):
    """In `make run`: a reminder arrives in the sandbox, the customer taps Confirm, the bot
    receives Meta's `button` message with the payload, and the reservation is confirmed."""
    sandbox_on.WHATSAPP_API_BASE_URL = f"{live_server.url}/sandbox/graph/v23.0"
    sandbox_on.REMINDER_DAY_BEFORE_AT = "19:00"
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    open_every_day = WeeklySchedule.objects.create(name="Every day", slot_minutes=30)
    OpeningInterval.objects.bulk_create(
        OpeningInterval(schedule=open_every_day, weekday=day, opens=dt.time(8), closes=dt.time(20))
        for day in range(7)
    )  # a reminder is planned only for a reservation the hours hold
    reservation = ReservationFactory(customer__wa_id="966501234567", date=tomorrow)
    plan_reminders()
    reminder = Reminder.objects.get(reservation=reservation)
    assert deliver_reminder(reminder=reminder).action == "sent"

    browser = Client()
    browser.force_login(staff_user)
    server = {"SERVER_NAME": live_server.thread.host, "SERVER_PORT": str(live_server.thread.port)}
    shown = browser.get("/sandbox/thread/", {"wa_id": "966501234567"}, **server).json()
    reminder_shown = shown["messages"][-1]
    confirm = reminder_shown["choices"][0]
    response = browser.post(
        "/sandbox/send/",
        data={
            "wa_id": "966501234567",
            "name": "Sara",
            "reply": {**confirm, "context": reminder_shown["wa_message_id"]},
        },
        content_type="application/json",
        **server,
    )
    assert response.json()["webhook_status"] == 200
    inbound = cloud_api.Message.from_payload(InboundMessage.objects.get().payload)
    assert (inbound.type, inbound.reply_id, inbound.text) == (
        "button",
        f"rm:ok:{reservation.pk}",
        "Confirm",
    )
    assert inbound.context_id == reminder_shown["wa_message_id"]
    assert services.drain_inbound_queue().done == 1
    reminder.refresh_from_db()
    assert reminder.confirmed_at is not None


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["en", "ar"])
def test_vacation_notices_and_reengagement_render_on_the_phone(
    client, sandbox_on, staff_client, language
):
    reservation = ReservationFactory(customer__wa_id="966501234567", customer__language=language)
    vacation = VacationPeriodFactory(start_date=reservation.date, end_date=reservation.date)
    notice = vacation_message(reservation=reservation, vacation=vacation)
    assert graph_post(client, notice.body("966501234567")).status_code == 200
    sandbox_on.WHATSAPP_REENGAGEMENT_LANGUAGE = language
    assert graph_post(client, reengagement_template().body("966501234567")).status_code == 200
    shown = staff_client.get("/sandbox/thread/", {"wa_id": "966501234567"}).json()["messages"]
    notice_shown, reengage_shown = shown[-2:]
    assert "Test Clinic" in notice_shown["text"]
    assert "{{" not in notice_shown["text"]
    assert [(c["kind"], c["id"]) for c in notice_shown["choices"]] == [
        ("button", f"rm:mv:{reservation.pk}")
    ]
    assert "Test Clinic" in reengage_shown["text"]
    assert reengage_shown["choices"] == []


@pytest.mark.django_db
def test_the_fake_graph_refuses_a_header_the_template_does_not_have(client, sandbox_on):
    body = outgoing.template("reengagement", "en", params=["Clinic"]).body("966501234567")
    body["template"]["components"].insert(0, {"type": "header", "parameters": []})
    assert graph_post(client, body).json()["error"]["code"] == 132000
