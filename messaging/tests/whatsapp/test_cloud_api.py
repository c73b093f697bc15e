import json
import socket
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from messaging.tests.conftest import ACCESS_TOKEN, PAYLOADS, payload, payload_bytes
from messaging.whatsapp import cloud_api, outgoing

MESSAGE_FILES = sorted(p.name for p in Path(PAYLOADS).glob("message_*.json"))


def test_signature_is_checked_over_the_raw_bytes_of_an_arabic_and_emoji_body():
    raw = payload_bytes("message_text_arabic.json")
    assert "🦷".encode() in raw  # the file holds the characters, not \u escapes
    header = cloud_api.sign(raw, "secret")
    assert cloud_api.verify_signature(raw, header, "secret")
    # The same JSON re-serialised (escaped) is different bytes: it must not verify.
    reserialised = json.dumps(json.loads(raw)).encode()
    assert not cloud_api.verify_signature(reserialised, header, "secret")


@pytest.mark.parametrize("header", [None, "", "sha256=", "sha1=abc", "sha256=" + "0" * 64, "  "])
def test_missing_or_wrong_signatures_are_refused(header):
    assert not cloud_api.verify_signature(b"{}", header, "secret")


def test_no_secret_means_no_signature_verifies():
    assert not cloud_api.verify_signature(b"{}", cloud_api.sign(b"{}", ""), "")


@pytest.mark.parametrize("name", MESSAGE_FILES)
def test_every_message_type_parses_into_one_message(name):
    batch = cloud_api.parse_webhook(payload(name))
    assert len(batch.messages) == 1
    message = batch.messages[0]
    assert message.id.startswith("wamid.")
    assert message.sender
    assert message.type
    assert isinstance(message.text, str)
    # What the queue stores is enough to rebuild the same message.
    again = cloud_api.Message.from_payload(message.to_payload())
    assert (again.id, again.type, again.sender, again.text) == (
        message.id,
        message.type,
        message.sender,
        message.text,
    )
    assert again.metadata["phone_number_id"] == "106540352242922"


@pytest.mark.parametrize(
    ("name", "kind", "text", "genuine"),
    [
        ("message_text.json", "text", "Hello, I would like an appointment", True),
        ("message_image.json", "image", "[image] my report", True),
        ("message_audio.json", "audio", "[audio]", True),
        ("message_location.json", "location", "[location] 24.7136,46.6753 Kingdom Centre", True),
        ("message_contacts.json", "contacts", "[contacts] Ahmed Ali", True),
        ("message_interactive_button_reply.json", "interactive", "Book 09:00", True),
        ("message_interactive_list_reply.json", "interactive", "Tue 10:30", True),
        ("message_interactive_nfm_reply.json", "interactive", "[nfm_reply]", True),
        ("message_button.json", "button", "Confirm", True),
        ("message_reaction.json", "reaction", "[reaction] 👍", False),
        ("message_reaction_removed.json", "reaction", "[reaction] (removed)", False),
        ("message_unsupported.json", "unsupported", "[unsupported]", False),
        ("message_unknown_type.json", "poll_vote", "[poll_vote]", False),
        ("message_interactive_without_body.json", "interactive", "[interactive]", True),
    ],
)
def test_message_text_and_genuineness_per_type(name, kind, text, genuine):
    message = cloud_api.parse_webhook(payload(name)).messages[0]
    assert (message.type, message.text, message.is_genuine) == (kind, text, genuine)


def test_tapped_buttons_and_rows_carry_their_ids_and_context():
    button = cloud_api.parse_webhook(payload("message_interactive_button_reply.json")).messages[0]
    row = cloud_api.parse_webhook(payload("message_interactive_list_reply.json")).messages[0]
    template = cloud_api.parse_webhook(payload("message_button.json")).messages[0]
    assert button.reply_id == "book:2026-11-24T09:00"
    assert row.reply_id == "slot:2026-11-24T10:30"
    assert template.reply_id == "confirm:42"
    assert str(button.context_id).startswith("wamid.")


def test_batch_matches_each_sender_to_its_own_contact_and_skips_other_fields():
    batch = cloud_api.parse_webhook(payload("batch.json"))
    names = {m.id: (m.sender, m.profile_name) for m in batch.messages}
    assert names == {
        "wamid.BATCH1": ("966500000001", "One"),
        "wamid.BATCH2": ("966500000002", "Two"),
        "wamid.BATCH3": ("966500000001", "One"),
        "wamid.BATCH4": ("966500000003", "Three"),
    }
    assert batch.ignored_fields == ["account_update"]


def test_a_sender_without_a_number_is_known_by_the_business_scoped_id():
    message = cloud_api.parse_webhook(payload("message_bsuid_only.json")).messages[0]
    assert message.from_ is None
    assert message.sender == "US.77491208655302741918"
    assert message.profile_name == "Nour"


def test_system_messages_have_no_contact():
    message = cloud_api.parse_webhook(payload("message_system.json")).messages[0]
    assert message.contact is None
    assert message.sender == "16505551234"
    assert not message.is_genuine


def test_statuses_and_errors_are_parsed():
    failed = cloud_api.parse_webhook(payload("status_failed_131047.json"))
    assert failed.statuses[0].status == "failed"
    assert failed.statuses[0].errors[0].code == 131047
    assert "24 hours" in failed.statuses[0].errors[0].details
    errors = cloud_api.parse_webhook(payload("errors_only.json"))
    assert errors.errors[0].code == 131000
    assert not errors.messages
    assert not errors.statuses


@pytest.mark.parametrize(
    "body",
    [
        [],
        {"object": "whatsapp_business_account"},
        {"entry": "x"},
        {"entry": [{"changes": "x"}]},
        {"entry": [{"changes": [{"field": "messages"}]}]},
    ],
)
def test_malformed_bodies_are_refused(body):
    with pytest.raises(cloud_api.MalformedWebhook):
        cloud_api.parse_webhook(body)


def test_an_item_that_is_not_an_object_is_refused_alone():
    body = cloud_api.webhook_body(phone_number_id="1")
    body["entry"][0]["changes"][0]["value"] |= {
        "contacts": ["x", {"wa_id": "16505551234"}],
        "messages": ["not an object", {"from": "16505551234", "id": "wamid.OK", "type": "text"}],
        "statuses": [42, {"id": "wamid.S", "status": "read"}],
        "errors": ["x", {"code": 131000, "title": "t"}],
    }
    batch = cloud_api.parse_webhook(body)
    assert [m.id for m in batch.messages] == ["wamid.OK"]
    assert [s.id for s in batch.statuses] == ["wamid.S"]
    assert [e.code for e in batch.errors] == [131000]
    assert [(r.kind, r.reason) for r in batch.refused] == [
        ("message", "a message that is not an object"),
        ("status", "a status that is not an object"),
    ]


# ---------------------------------------------------------------------------- outgoing limits
def test_valid_messages_of_every_kind_build_bodies():
    text = outgoing.text("hi").body("966501234567", reply_to="wamid.X")
    assert text["to"] == "+966501234567"
    assert text["context"] == {"message_id": "wamid.X"}
    assert outgoing.buttons("Pick", [("a", "A" * 20), ("b", "B"), ("c", "C")]).type == "interactive"
    rows = [outgoing.Row(f"r{i}", "T" * 24, "D" * 72) for i in range(10)]
    assert outgoing.list_message("Pick", "Times", [("Morning", rows[:5]), ("Later", rows[5:])])
    template = outgoing.template("reminder_1", "ar", params=["Sara"], quick_replies=["yes"])
    assert template.content["components"][1]["sub_type"] == "quick_reply"
    assert outgoing.location(24.7, 46.6, name="Clinic").content["name"] == "Clinic"
    assert outgoing.text("hi").body("US.1349")["recipient"] == "US.1349"


@pytest.mark.parametrize(
    "build",
    [
        lambda: outgoing.text(""),
        lambda: outgoing.text("x" * 4097),
        lambda: outgoing.buttons("Pick", [("a", "A"), ("b", "B"), ("c", "C"), ("d", "D")]),
        lambda: outgoing.buttons("Pick", [("a", "A" * 21)]),
        lambda: outgoing.buttons("Pick", [("a", "Same"), ("b", "Same")]),
        lambda: outgoing.buttons("Pick", []),
        lambda: outgoing.list_message(
            "Pick", "Times", [("S", [outgoing.Row(str(i), "t") for i in range(11)])]
        ),
        lambda: outgoing.list_message("Pick", "Times", [("S", [outgoing.Row("1", "t" * 25)])]),
        lambda: outgoing.list_message("Pick", "Times", [("S", [outgoing.Row("1", "t", "d" * 73)])]),
        lambda: outgoing.list_message(
            "Pick", "A label too long here", [("S", [outgoing.Row("1", "t")])]
        ),
        lambda: outgoing.template("Bad Name", "en"),
        lambda: outgoing.location(91, 0),
    ],
)
def test_limits_are_checked_before_sending(build):
    with pytest.raises(outgoing.InvalidMessage):
        build()


def test_a_body_breaking_limits_is_never_posted(graph):
    body = outgoing.text("hi").body("966501234567")
    body["text"]["body"] = "x" * 5000
    with pytest.raises(ValueError, match="longer than 4096"):
        cloud_api.post_messages(body)
    assert graph.requests == []


# ---------------------------------------------------------------------------- the sender
def test_send_posts_with_the_bearer_token_and_returns_the_message_id(graph):
    slots = []
    result = cloud_api.post_messages(
        outgoing.text("hello").body("966501234567"), wait_for_slot=lambda: slots.append(1)
    )
    assert result.message_id == "wamid.GRAPH1"
    assert slots == [1]
    request = graph.requests[0]
    assert request["path"] == "/v23.0/106540352242922/messages"
    assert request["auth"] == f"Bearer {ACCESS_TOKEN}"
    assert request["json"]["text"]["body"] == "hello"


@pytest.mark.parametrize(
    ("http_status", "code", "retryable", "needs_template"),
    [
        (429, 130429, True, False),
        (400, 131056, True, False),
        (500, 131000, True, False),
        (503, 2, True, False),
        (400, 131016, True, False),
        (503, 133004, True, False),
        (400, 131057, True, False),
        (400, 4, True, False),
        (502, None, True, False),
        (500, 1, True, False),  # "possible server error" with a 500: Meta's side
        (400, 1, False, False),  # the same code with a 400: the request is wrong
        (400, 131047, False, True),
        (401, 190, False, False),
        (400, 100, False, False),
        (400, 131026, False, False),
        (400, 131051, False, False),
        (400, 132001, False, False),
        (403, 10, False, False),
    ],
)
def test_graph_errors_map_to_one_error_type(graph, http_status, code, retryable, needs_template):
    graph.fail_next(http_status, code, details="why")
    with pytest.raises(cloud_api.WhatsAppError) as info:
        cloud_api.post_messages(outgoing.text("hello").body("966501234567"))
    error = info.value
    assert error.code == code
    assert error.http_status == http_status
    assert (error.retryable, error.needs_template) == (retryable, needs_template)
    assert error.permanent == (not retryable and not needs_template)


def test_connection_refused_is_retryable(settings):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings.WHATSAPP_API_BASE_URL = f"http://127.0.0.1:{port}/v23.0"
    with pytest.raises(cloud_api.WhatsAppError) as info:
        cloud_api.post_messages(outgoing.text("hello").body("966501234567"))
    assert info.value.retryable
    assert info.value.code is None


def test_a_timeout_is_retryable(settings, monkeypatch):
    with socket.socket() as sock:  # listens but never answers
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        settings.WHATSAPP_API_BASE_URL = f"http://127.0.0.1:{sock.getsockname()[1]}/v23.0"
        monkeypatch.setattr(cloud_api, "TIMEOUT", (1, 0.2))
        with pytest.raises(cloud_api.WhatsAppError) as info:
            cloud_api.post_messages(outgoing.text("hello").body("966501234567"))
    assert info.value.retryable
    assert "Timeout" in str(info.value)


def test_back_off_grows_and_is_capped():
    assert all(0 <= cloud_api.backoff_seconds(1) <= 2 for _ in range(20))
    assert all(0 <= cloud_api.backoff_seconds(3) <= 32 for _ in range(20))
    assert all(cloud_api.backoff_seconds(20) <= 300 for _ in range(20))


def test_read_receipt_and_typing_indicator_bodies():
    outgoing.validate_body(outgoing.read_receipt("wamid.X", typing=True))
    assert outgoing.read_receipt("wamid.X", typing=True)["typing_indicator"] == {"type": "text"}


# ---------------------------------------------------------------------------- any JSON at all
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.text(max_size=5)
    | st.sampled_from(["messages", "text", "interactive", "wamid.1", "966501234567", "sent"]),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "entry",
                    "changes",
                    "value",
                    "field",
                    "messages",
                    "statuses",
                    "errors",
                    "contacts",
                    "id",
                    "from",
                    "type",
                    "text",
                    "profile",
                    "wa_id",
                    "status",
                    "error_data",
                    "code",
                    "metadata",
                    "context",
                    "timestamp",
                    "interactive",
                    "button_reply",
                ]
            ),
            children,
            max_size=5,
        )
    ),
    max_leaves=25,
)


message_items = st.dictionaries(
    st.sampled_from(
        [
            "id",
            "from",
            "from_user_id",
            "type",
            "timestamp",
            "text",
            "interactive",
            "button",
            "context",
            "contacts",
            "location",
            "reaction",
            "image",
        ]
    ),
    json_values,
).map(lambda item: {"id": "wamid.1", **item})
enveloped = st.tuples(st.lists(message_items, max_size=3), st.lists(json_values, max_size=2)).map(
    lambda parts: {
        "entry": [
            {
                "changes": [
                    {"field": "messages", "value": {"messages": parts[0], "contacts": parts[1]}}
                ]
            }
        ]
    }
)


@settings(max_examples=500, deadline=None)
@given(json_values | enveloped)
def test_any_json_either_parses_or_is_refused_as_malformed(data):
    try:
        batch = cloud_api.parse_webhook(data)
    except cloud_api.MalformedWebhook:
        return
    for message in batch.messages:
        assert message.sender is None or isinstance(message.sender, str)
        again = cloud_api.Message.from_payload(message.to_payload())
        assert isinstance(again.text, str)
        assert again.context_id is None or isinstance(again.context_id, str)
        assert again.reply_id is None or isinstance(again.reply_id, str)
