"""The WhatsApp Cloud API wire format, both ways (the only module that imports `requests`).

Inbound: signature verification over the raw bytes and parsing of webhook bodies into small typed
objects. Outbound: one `post_messages` that maps every failure to `WhatsAppError` (the message
builders and Meta's limits are in `messaging.whatsapp.outgoing`), and the signed webhook POST
the sandbox uses to play Meta.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import random
import re
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings

from customers.phone import is_user_id, is_wa_id
from messaging.whatsapp.outgoing import validate_body

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Hub-Signature-256"
TIMEOUT = (3.05, 10)  # connect, read (seconds)

# Types a person can write or tap; the others (reactions, system notices, unsupported) are not
# genuine messages and never open the 24-hour window.
GENUINE_TYPES = frozenset(
    {
        "text",
        "image",
        "video",
        "audio",
        "document",
        "sticker",
        "location",
        "contacts",
        "interactive",
        "button",
        "order",
    }
)


# ============================================================================ signatures
def sign(body: bytes, secret: str) -> str:
    """The `X-Hub-Signature-256` value Meta sends for these exact bytes."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_signature(body: bytes, header: str | None, secret: str) -> bool:
    """Whether `header` is the HMAC-SHA256 of the raw `body` under the app secret."""
    if not header or not secret or not header.startswith("sha256="):
        return False
    return hmac.compare_digest(sign(body, secret), header.strip())


# ============================================================================ inbound
# What the columns a webhook item is stored in can hold (a longer id overflows its unique index;
# Meta's wamids are about 60 characters, its ids and types far shorter than these limits).
MAX_ID_LENGTH = 512
MAX_TYPE_LENGTH = 32  # conversation.message_type
MAX_STATUS_LENGTH = 16  # whatsapp_status_updates.status
MAX_NAME_LENGTH = 256  # a WhatsApp profile name is at most 25 characters
INT32 = range(-(2**31), 2**31)  # integer columns (error codes)
_ID_RE = re.compile(r"[\x21-\x7e]+")  # printable ASCII, no spaces: wamids, WACIDs
_STATUS_RE = re.compile(r"[a-z_]+")
# What no database column may hold: NUL (PostgreSQL refuses it in text and jsonb) and lone
# surrogates (a JSON `\ud800` without its pair, which cannot be encoded as UTF-8).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def clean_text(text: str) -> str:
    """`text` without what no column can store (NUL goes, a lone surrogate becomes U+FFFD)."""
    if _UNSTORABLE.search(text) is None:
        return text
    return _UNSTORABLE.sub(lambda m: "" if m.group() == "\x00" else "\ufffd", text)


def _obj(value: Any) -> dict[str, Any]:
    """`value` if it is a JSON object, else an empty one (optional parts are often missing)."""
    return value if isinstance(value, dict) else {}


def _str(value: Any) -> str | None:
    """A non-empty string (numbers as text), else None."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    return clean_text(str(value)) or None


def _int32(value: Any) -> int | None:
    """An integer that fits an integer column (from a JSON number or digits), else None."""
    if isinstance(value, str) and re.fullmatch(r"-?[0-9]{1,11}", value):
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and value in INT32:
        return value
    return None


def _id_problem(value: str | None, what: str) -> str | None:
    """Why `value` cannot be a WhatsApp message id, or None."""
    if not value:
        return f"{what} has no id"
    if len(value) > MAX_ID_LENGTH or not _ID_RE.fullmatch(value):
        return f"{what} id is not a WhatsApp id ({len(value)} characters: {value[:40]!r}...)"
    return None


@dataclass(frozen=True)
class Contact:
    wa_id: str | None
    user_id: str | None
    name: str | None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Contact:
        name = _str(_obj(data.get("profile")).get("name"))
        return cls(
            wa_id=_str(data.get("wa_id")),
            user_id=_str(data.get("user_id")),
            name=name[:MAX_NAME_LENGTH] if name else None,
        )

    def to_json(self) -> dict[str, Any]:
        return {"wa_id": self.wa_id, "user_id": self.user_id, "profile": {"name": self.name}}


@dataclass(frozen=True)
class ApiError:
    code: int | None
    title: str
    message: str = ""
    details: str = ""

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ApiError:
        raw_code, code = data.get("code"), _int32(data.get("code"))
        message = _str(data.get("message")) or _str(data.get("title")) or ""
        if code is None and raw_code not in (None, ""):
            # Kept in the text: the column holds 32-bit integers only.
            shown = clean_text(str(raw_code)[:40]) if isinstance(raw_code, str | int) else "?"
            message = f"{message} (code {shown})".strip()
        return cls(
            code=code,
            title=_str(data.get("title")) or "",
            message=message,
            details=_str(_obj(data.get("error_data")).get("details")) or "",
        )


@dataclass(frozen=True)
class Message:
    """One inbound message, as the queue stores it: the raw item plus its sender's contact."""

    id: str
    type: str
    timestamp: datetime | None
    sender: str | None  # wa_id when known, else the business-scoped user id
    from_: str | None
    from_user_id: str | None
    contact: Contact | None
    raw: dict[str, Any]
    metadata: dict[str, Any] = field(default_factory=dict)
    # Why this is not a message as Meta sends it (a sender id in no form of Meta's, an id too
    # long for its index...): then it is kept as a failed queue row and makes no customer.
    problem: str | None = None

    @property
    def profile_name(self) -> str | None:
        return self.contact.name if self.contact else None

    @property
    def phone(self) -> str | None:
        """The sender's wa_id (digits), when Meta gave it."""
        return self.from_ or (self.contact.wa_id if self.contact else None)

    @property
    def user_id(self) -> str | None:
        """The sender's business-scoped user id, when Meta gave it."""
        return self.from_user_id or (self.contact.user_id if self.contact else None)

    @property
    def is_genuine(self) -> bool:
        """A message a person wrote or tapped (what opens WhatsApp's 24-hour window)."""
        return self.type in GENUINE_TYPES

    @property
    def context_id(self) -> str | None:
        return _str(self._part("context").get("id"))

    def _part(self, key: str) -> dict[str, Any]:
        return _obj(self.raw.get(key))

    def _reply(self) -> dict[str, Any]:
        interactive = self._part("interactive")
        return _obj(interactive.get("button_reply")) or _obj(interactive.get("list_reply"))

    @property
    def reply_id(self) -> str | None:
        """The id behind a tapped button, list row or template quick reply."""
        if self.type == "button":
            return _str(self._part("button").get("payload"))
        return _str(self._reply().get("id"))

    @property
    def text(self) -> str:
        """What a person would read in the transcript."""
        return clean_text(self._text())

    def _text(self) -> str:
        kind = self.type
        if kind == "text":
            return _str(self._part("text").get("body")) or ""
        if kind == "button":
            return _str(self._part("button").get("text")) or ""
        if kind == "interactive":
            if reply := self._reply():
                return _str(reply.get("title")) or ""
            return f"[{_str(self._part('interactive').get('type')) or 'interactive'}]"
        if kind in {"image", "video", "document"} and self._part(kind).get("caption"):
            return f"[{kind}] {self._part(kind)['caption']}"
        if kind == "location":
            loc = self._part("location")
            label = loc.get("name") or loc.get("address") or ""
            return f"[location] {loc.get('latitude')},{loc.get('longitude')} {label}".strip()
        if kind == "reaction":
            return f"[reaction] {self._part('reaction').get('emoji') or '(removed)'}"
        if kind == "system":
            return f"[system] {self._part('system').get('body') or ''}".strip()
        if kind == "contacts":
            cards = self.raw.get("contacts")
            cards = cards if isinstance(cards, list) else []
            names = [_str(_obj(_obj(c).get("name")).get("formatted_name")) for c in cards]
            return "[contacts] " + ", ".join(n for n in names if n)
        return f"[{kind}]"

    def to_payload(self) -> str:
        """The queue row's `payload`: enough to process the message again."""
        return dump_json(
            {
                "message": self.raw,
                "contact": self.contact.to_json() if self.contact else None,
                "metadata": self.metadata,
            }
        )

    @classmethod
    def from_payload(cls, payload: str) -> Message:
        data = json.loads(payload)
        if not isinstance(data, dict):
            raise MalformedWebhook("a payload that is not an object")
        contact = data.get("contact")
        return parse_message(
            data.get("message") or {},
            [contact] if contact else [],
            data.get("metadata") or {},
        )


@dataclass(frozen=True)
class Status:
    id: str
    status: str
    timestamp: datetime | None
    recipient_id: str | None
    errors: tuple[ApiError, ...]
    raw: dict[str, Any]


@dataclass(frozen=True)
class Refused:
    """A `messages[]` or `statuses[]` item that is not as Meta sends it, and why: it is kept
    (a failed queue row staff can see and retry), never applied and never made a customer."""

    kind: str  # "message" or "status"
    reason: str
    payload: str  # what a retry reads: `Message.to_payload()`, or {"status": item}
    message_id: str | None = None  # a message's usable wamid (a redelivery is stored once)
    timestamp: datetime | None = None


@dataclass(frozen=True)
class WebhookBatch:
    messages: list[Message] = field(default_factory=list)
    statuses: list[Status] = field(default_factory=list)
    errors: list[ApiError] = field(default_factory=list)
    ignored_fields: list[str] = field(default_factory=list)
    refused: list[Refused] = field(default_factory=list)


def dump_json(data: Any) -> str:
    """JSON text for a text column: non-ASCII kept as is, unless a lone surrogate needs escaping."""
    text = json.dumps(data, ensure_ascii=False)
    return json.dumps(data) if _UNSTORABLE.search(text) else text


class MalformedWebhook(ValueError):  # noqa: N818 (reads better at the call site)
    """A signed body that is not a WhatsApp webhook notification."""


def _timestamp(value: Any) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(value), tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def parse_message(
    item: dict[str, Any], contacts: Sequence[dict[str, Any]], metadata: dict[str, Any]
) -> Message:
    """One `messages[]` item; the sender is matched against `contacts`, never taken as [0].

    Raises MalformedWebhook without a string id; `problem` says what else is not Meta's form.
    """
    message_id = item.get("id")
    if not isinstance(message_id, str) or not message_id:
        raise MalformedWebhook("a message without an id")
    from_ = _str(item.get("from"))
    from_user_id = _str(item.get("from_user_id"))
    contact = None
    for candidate in map(Contact.from_json, filter(lambda c: isinstance(c, dict), contacts)):
        if (from_ and candidate.wa_id == from_) or (
            from_user_id and candidate.user_id == from_user_id
        ):
            contact = candidate
            break
    wa_id = from_ or (contact.wa_id if contact else None)
    user_id = from_user_id or (contact.user_id if contact else None)
    kind = _str(item.get("type"))
    return Message(
        id=message_id,
        type=kind if kind and len(kind) <= MAX_TYPE_LENGTH else "unknown",
        timestamp=_timestamp(item.get("timestamp")),
        sender=wa_id or user_id,
        from_=from_,
        from_user_id=from_user_id,
        contact=contact,
        raw=item,
        metadata=metadata,
        problem=_message_problem(message_id, wa_id, user_id),
    )


def _message_problem(message_id: str, wa_id: str | None, user_id: str | None) -> str | None:
    if problem := _id_problem(message_id, "the message"):
        return problem
    if wa_id is not None and not is_wa_id(wa_id):
        return f"the sender {wa_id[:40]!r} is not a WhatsApp number (digits only)"
    if user_id is not None and not is_user_id(user_id):
        return f"the sender {user_id[:40]!r} is not a business-scoped user id (e.g. US.1349...)"
    if not wa_id and not user_id:
        return "the message names no sender"
    return None


def _refused_message(item: Any, reason: str, metadata: dict[str, Any]) -> Refused:
    item_id = item.get("id") if isinstance(item, dict) else None
    message_id = item_id if isinstance(item_id, str) else None
    usable = message_id if message_id and not _id_problem(message_id, "") else None
    return Refused(
        kind="message",
        reason=reason,
        payload=dump_json({"message": item, "contact": None, "metadata": metadata}),
        message_id=usable,
        timestamp=_timestamp(item.get("timestamp")) if isinstance(item, dict) else None,
    )


def parse_status(item: dict[str, Any]) -> Status:
    """One `statuses[]` item; raises MalformedWebhook (saying why) if it is not Meta's form."""
    status_id, status = _str(item.get("id")) or "", _str(item.get("status"))
    if problem := _id_problem(status_id, "the status"):
        raise MalformedWebhook(problem)
    if not status or len(status) > MAX_STATUS_LENGTH or not _STATUS_RE.fullmatch(status):
        raise MalformedWebhook(f"the status value {(status or '')[:40]!r} is not one Meta sends")
    errors = item.get("errors") or []
    if not isinstance(errors, list):
        raise MalformedWebhook("the status's 'errors' is not a list")
    return Status(
        id=status_id,
        status=status,
        timestamp=_timestamp(item.get("timestamp")),
        recipient_id=_str(item.get("recipient_id")),
        errors=tuple(ApiError.from_json(e) for e in errors if isinstance(e, dict)),
        raw=item,
    )


def _items(value: dict[str, Any], key: str) -> list[Any]:
    """`value[key]` as a list (missing: empty); anything else is malformed."""
    items = value.get(key) or []
    if not isinstance(items, list):
        raise MalformedWebhook(f"'{key}' must be a list")
    return items


def parse_webhook(data: Any) -> WebhookBatch:
    """Walk every entry -> change -> value of a webhook body (already JSON-decoded)."""
    if not isinstance(data, dict) or not isinstance(data.get("entry"), list):
        raise MalformedWebhook("expected an object with an 'entry' list")
    batch = WebhookBatch()
    for entry in data["entry"]:
        changes = entry.get("changes") if isinstance(entry, dict) else None
        if not isinstance(changes, list):
            raise MalformedWebhook("an entry without a 'changes' list")
        for change in changes:
            if not isinstance(change, dict) or not isinstance(change.get("value"), dict):
                raise MalformedWebhook("a change without a 'value' object")
            if change.get("field") != "messages":
                batch.ignored_fields.append(str(change.get("field")))
                continue
            value = change["value"]
            metadata = value.get("metadata")
            metadata = metadata if isinstance(metadata, dict) else {}
            contacts = [c for c in _items(value, "contacts") if isinstance(c, dict)]
            # One item not in Meta's form is kept aside with its reason; the others go on.
            for item in _items(value, "messages"):
                try:
                    if not isinstance(item, dict):
                        raise MalformedWebhook("a message that is not an object")
                    message = parse_message(item, contacts, metadata)
                except MalformedWebhook as exc:
                    batch.refused.append(_refused_message(item, str(exc), metadata))
                    continue
                if message.problem:
                    batch.refused.append(
                        Refused(
                            kind="message",
                            reason=message.problem,
                            payload=message.to_payload(),
                            message_id=None if _id_problem(message.id, "") else message.id,
                            timestamp=message.timestamp,
                        )
                    )
                else:
                    batch.messages.append(message)
            for item in _items(value, "statuses"):
                try:
                    if not isinstance(item, dict):
                        raise MalformedWebhook("a status that is not an object")
                    batch.statuses.append(parse_status(item))
                except MalformedWebhook as exc:
                    batch.refused.append(
                        Refused(kind="status", reason=str(exc), payload=dump_json({"status": item}))
                    )
            batch.errors.extend(
                ApiError.from_json(e) for e in _items(value, "errors") if isinstance(e, dict)
            )
    return batch


# ============================================================================ outbound: errors
RETRYABLE_CODES = frozenset({2, 4, 80007, 130429, 131000, 131016, 131056, 131057, 133004})
NEEDS_TEMPLATE_CODES = frozenset({131047})


class WhatsAppError(Exception):
    """Every failure to talk to the Graph API, with whether a retry (or a template) can help."""

    def __init__(
        self, message: str, *, code: int | None = None, http_status: int | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.http_status = http_status

    @property
    def needs_template(self) -> bool:
        return self.code in NEEDS_TEMPLATE_CODES

    @property
    def retryable(self) -> bool:
        if self.code in RETRYABLE_CODES:
            return True
        if self.code is None:  # timeouts, connection errors, 5xx without an envelope
            return self.http_status is None or self.http_status >= 500 or self.http_status == 429
        # A 5xx with code 0 or 1 ("invalid request or possible server error") is Meta failing,
        # not the request: the fault runs (bench/faults) showed replies lost to it for good.
        return self.http_status is not None and self.http_status >= 500 and self.code in (0, 1)

    @property
    def permanent(self) -> bool:
        return not self.retryable and not self.needs_template

    def __str__(self) -> str:
        prefix = f"({self.code}) " if self.code is not None else ""
        return prefix + super().__str__()


def backoff_seconds(attempt: int, *, base: float = 2.0, cap: float = 300.0) -> float:
    """Exponential back-off with full jitter for the `attempt`-th retry (1-based)."""
    return random.uniform(0, min(cap, base * 4 ** max(attempt - 1, 0)))  # noqa: S311


def _error_from_response(response: requests.Response) -> WhatsAppError:
    try:
        error = _obj(_obj(response.json()).get("error"))
    except ValueError:
        error = {}
    details = _str(_obj(error.get("error_data")).get("details")) or ""
    message = _str(error.get("message")) or f"HTTP {response.status_code}"
    # Stored on the outbound row (an integer column, text columns): only what they can hold.
    return WhatsAppError(
        f"{message}{': ' + details if details else ''}"[:2000],
        code=_int32(error.get("code")) if isinstance(error.get("code"), int) else None,
        http_status=response.status_code,
    )


# ============================================================================ outbound: HTTP
_session = requests.Session()
_ERRNO_REASON = re.compile(r"\[Errno -?\d+\] ([^'\")\]]+)")


def describe_request_error(exc: requests.RequestException, url: str) -> str:
    """What staff need to read when no answer came: which host, and why (refused, timed out...)."""
    where = urlsplit(url).netloc or url
    if isinstance(exc, requests.Timeout):
        return f"no answer from {where} within {TIMEOUT[0]:g} s ({type(exc).__name__})"
    if isinstance(exc, requests.ConnectionError):
        found = _ERRNO_REASON.search(str(exc))
        reason = found.group(1).strip() if found else type(exc).__name__
        return f"cannot connect to {where}: {reason}"
    return f"{type(exc).__name__} from {where}"


@dataclass(frozen=True)
class SendResult:
    message_id: str | None
    wa_id: str | None
    raw: dict[str, Any]


def messages_url() -> str:
    return f"{settings.WHATSAPP_API_BASE_URL}/{settings.WHATSAPP_PHONE_NUMBER_ID}/messages"


def post_messages(
    body: dict[str, Any], *, wait_for_slot: Callable[[], None] | None = None
) -> SendResult:
    """POST one body to `/messages`; every failure becomes WhatsAppError.

    `wait_for_slot` is called first: the caller's rate limiter (a database counter shared by
    every process), kept outside this module so that it stays free of the ORM.
    """
    validate_body(body)
    if wait_for_slot is not None:
        wait_for_slot()
    try:
        response = _session.post(
            messages_url(),
            json=body,
            headers={"Authorization": f"Bearer {settings.WHATSAPP_ACCESS_TOKEN}"},
            timeout=TIMEOUT,
        )
    except requests.RequestException as exc:
        raise WhatsAppError(describe_request_error(exc, messages_url())) from exc
    if response.status_code >= 400:
        raise _error_from_response(response)
    try:
        data = response.json()
    except ValueError as exc:
        raise WhatsAppError("the Graph API answered with invalid JSON", http_status=200) from exc
    data = _obj(data)
    messages = data.get("messages") or [{}]
    contacts = data.get("contacts") or [{}]
    message_id = _str(_obj(messages[0]).get("id"))
    if message_id and _id_problem(message_id, ""):
        message_id = None  # not a wamid: it could not be stored, nor ever match a status
    return SendResult(message_id, _str(_obj(contacts[0]).get("wa_id")), data)


# ============================================================================ webhooks (sandbox)
def new_message_id() -> str:
    """A wamid-shaped id (the sandbox's and the tests' stand-in for Meta's)."""
    return "wamid.SBX" + uuid.uuid4().hex.upper()


def webhook_body(
    *,
    phone_number_id: str,
    messages: Iterable[dict[str, Any]] = (),
    contacts: Iterable[dict[str, Any]] = (),
    statuses: Iterable[dict[str, Any]] = (),
) -> dict[str, Any]:
    """A notification shaped exactly like Meta's (one entry, one change)."""
    value: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": phone_number_id, "phone_number_id": phone_number_id},
    }
    for key, items in (("contacts", contacts), ("messages", messages), ("statuses", statuses)):
        items = list(items)
        if items:
            value[key] = items
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "0", "changes": [{"value": value, "field": "messages"}]}],
    }


def post_webhook(url: str, body: bytes, *, secret: str) -> int:
    """POST a signed webhook body like Meta does; return the HTTP status (0 if unreachable)."""
    try:
        response = _session.post(
            url,
            data=body,
            headers={"Content-Type": "application/json", SIGNATURE_HEADER: sign(body, secret)},
            timeout=TIMEOUT,
        )
    except requests.RequestException as exc:
        logger.warning("webhook POST to %s failed: %s", url, exc)
        return 0
    return response.status_code
