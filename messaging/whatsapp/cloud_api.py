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
def _obj(value: Any) -> dict[str, Any]:
    """`value` if it is a JSON object, else an empty one (optional parts are often missing)."""
    return value if isinstance(value, dict) else {}


def _str(value: Any) -> str | None:
    """A non-empty string (numbers as text), else None."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    return str(value) or None


@dataclass(frozen=True)
class Contact:
    wa_id: str | None
    user_id: str | None
    name: str | None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Contact:
        return cls(
            wa_id=_str(data.get("wa_id")),
            user_id=_str(data.get("user_id")),
            name=_str(_obj(data.get("profile")).get("name")),
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
        code = data.get("code")
        return cls(
            code=int(code) if isinstance(code, int | str) and str(code).isdigit() else None,
            title=_str(data.get("title")) or "",
            message=_str(data.get("message")) or _str(data.get("title")) or "",
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

    @property
    def profile_name(self) -> str | None:
        return self.contact.name if self.contact else None

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
        return json.dumps(
            {
                "message": self.raw,
                "contact": self.contact.to_json() if self.contact else None,
                "metadata": self.metadata,
            },
            ensure_ascii=False,
        )

    @classmethod
    def from_payload(cls, payload: str) -> Message:
        data = json.loads(payload)
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
class WebhookBatch:
    messages: list[Message] = field(default_factory=list)
    statuses: list[Status] = field(default_factory=list)
    errors: list[ApiError] = field(default_factory=list)
    ignored_fields: list[str] = field(default_factory=list)


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
    """One `messages[]` item; the sender is matched against `contacts`, never taken as [0]."""
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
    return Message(
        id=message_id,
        type=_str(item.get("type")) or "unknown",
        timestamp=_timestamp(item.get("timestamp")),
        sender=wa_id or from_user_id or (contact.user_id if contact else None),
        from_=from_,
        from_user_id=from_user_id,
        contact=contact,
        raw=item,
        metadata=metadata,
    )


def _items(value: dict[str, Any], key: str) -> list[dict[str, Any]]:
    """`value[key]` as a list of objects (missing: empty); anything else is malformed."""
    items = value.get(key) or []
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise MalformedWebhook(f"'{key}' must be a list of objects")
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
            contacts = _items(value, "contacts")
            for item in _items(value, "messages"):
                batch.messages.append(parse_message(item, contacts, metadata))
            for item in _items(value, "statuses"):
                status_id, status = _str(item.get("id")), _str(item.get("status"))
                if not status_id or not status:
                    raise MalformedWebhook("a status without an id or status")
                batch.statuses.append(
                    Status(
                        id=status_id,
                        status=status,
                        timestamp=_timestamp(item.get("timestamp")),
                        recipient_id=_str(item.get("recipient_id")),
                        errors=tuple(ApiError.from_json(e) for e in _items(item, "errors")),
                        raw=item,
                    )
                )
            batch.errors.extend(ApiError.from_json(e) for e in _items(value, "errors"))
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
        error = response.json().get("error") or {}
    except ValueError:
        error = {}
    code = error.get("code")
    details = (error.get("error_data") or {}).get("details") or ""
    message = error.get("message") or f"HTTP {response.status_code}"
    return WhatsAppError(
        f"{message}{': ' + details if details else ''}",
        code=int(code) if isinstance(code, int) else None,
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
    messages = data.get("messages") or [{}]
    contacts = data.get("contacts") or [{}]
    return SendResult(messages[0].get("id"), contacts[0].get("wa_id"), data)


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
