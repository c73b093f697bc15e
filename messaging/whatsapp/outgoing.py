"""Outbound WhatsApp messages: builders that check Meta's limits before anything is sent.

Pure data (no HTTP): the bot builds `Outgoing` objects, `messaging.whatsapp.cloud_api` posts them,
and the sandbox validates what it receives with the same `validate_body`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


class InvalidMessage(ValueError):  # noqa: N818
    """A message that breaks one of Meta's limits; caught before sending."""


@dataclass(frozen=True)
class Outgoing:
    """A message to send, without its recipient: `type` and the object under that key."""

    type: str
    content: dict[str, Any]
    preview: str  # what the transcript shows

    def body(self, to: str, *, reply_to: str | None = None) -> dict[str, Any]:
        envelope: dict[str, Any] = {"messaging_product": "whatsapp", "recipient_type": "individual"}
        if "." in to:  # a business-scoped user id (e.g. US.1349...) rather than a number
            envelope["recipient"] = to
        else:
            envelope["to"] = "+" + to.lstrip("+")
        envelope |= {"type": self.type, self.type: self.content}
        if reply_to:
            envelope["context"] = {"message_id": reply_to}
        validate_body(envelope)
        return envelope


def _check(condition: bool, problem: str) -> None:
    if not condition:
        raise InvalidMessage(problem)


def _check_len(value: Any, limit: int, what: str, *, required: bool = True) -> None:
    if value is None and not required:
        return
    _check(isinstance(value, str) and (value != "" or not required), f"{what} is required")
    _check(len(value) <= limit, f"{what} is longer than {limit} characters")


def text(body: str, *, preview_url: bool = False) -> Outgoing:
    outgoing = Outgoing("text", {"preview_url": preview_url, "body": body}, body)
    _validate_content(outgoing.type, outgoing.content)
    return outgoing


def buttons(
    body: str, choices: Sequence[tuple[str, str]], *, footer: str | None = None
) -> Outgoing:
    """Reply buttons: `choices` are (id, title) pairs, at most 3, titles up to 20 characters."""
    content: dict[str, Any] = {
        "type": "button",
        "body": {"text": body},
        "action": {
            "buttons": [{"type": "reply", "reply": {"id": i, "title": t}} for i, t in choices]
        },
    }
    if footer:
        content["footer"] = {"text": footer}
    _validate_content("interactive", content)
    return Outgoing("interactive", content, body + "\n" + " | ".join(t for _, t in choices))


@dataclass(frozen=True)
class Row:
    id: str
    title: str
    description: str | None = None


def list_message(body: str, button: str, sections: Sequence[tuple[str, Sequence[Row]]]) -> Outgoing:
    """A list: (section title, rows) pairs; at most 10 rows in all."""
    content = {
        "type": "list",
        "body": {"text": body},
        "action": {
            "button": button,
            "sections": [
                {
                    "title": title,
                    "rows": [
                        {"id": r.id, "title": r.title}
                        | ({"description": r.description} if r.description else {})
                        for r in rows
                    ],
                }
                for title, rows in sections
            ],
        },
    }
    _validate_content("interactive", content)
    titles = [r.title for _, rows in sections for r in rows]
    return Outgoing("interactive", content, body + "\n- " + "\n- ".join(titles))


def template(
    name: str,
    language: str,
    *,
    params: Sequence[str] = (),
    quick_replies: Sequence[str] = (),
) -> Outgoing:
    """An approved template with positional body parameters and quick-reply payloads."""
    components: list[dict[str, Any]] = []
    if params:
        components.append(
            {"type": "body", "parameters": [{"type": "text", "text": p} for p in params]}
        )
    for index, payload in enumerate(quick_replies):
        components.append(
            {
                "type": "button",
                "sub_type": "quick_reply",
                "index": str(index),
                "parameters": [{"type": "payload", "payload": payload}],
            }
        )
    content: dict[str, Any] = {"name": name, "language": {"code": language}}
    if components:
        content["components"] = components
    _validate_content("template", content)
    return Outgoing("template", content, f"[template {name}] " + " | ".join(params))


def location(
    latitude: float, longitude: float, *, name: str | None = None, address: str | None = None
) -> Outgoing:
    content: dict[str, Any] = {"latitude": latitude, "longitude": longitude}
    content |= {k: v for k, v in (("name", name), ("address", address)) if v}
    _validate_content("location", content)
    return Outgoing("location", content, f"[location] {name or ''} {address or ''}".strip())


def read_receipt(message_id: str, *, typing: bool = False) -> dict[str, Any]:
    """Mark an inbound message read (and show the typing indicator for up to 25 s)."""
    body: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "status": "read",
        "message_id": message_id,
    }
    if typing:
        body["typing_indicator"] = {"type": "text"}
    return body


def _validate_content(kind: str, content: dict[str, Any]) -> None:
    if kind == "text":
        _check_len(content.get("body"), 4096, "text body")
    elif kind == "interactive":
        _validate_interactive(content)
    elif kind == "template":
        name = str(content.get("name") or "")
        _check_len(name, 512, "template name")
        _check(
            all(ch.islower() or ch.isdigit() or ch == "_" for ch in name),
            "template name must be lowercase letters, digits and underscores",
        )
        _check_len((content.get("language") or {}).get("code"), 16, "template language")
    elif kind == "location":
        for key, bound in (("latitude", 90), ("longitude", 180)):
            try:
                value = float(content.get(key))  # type: ignore[arg-type]
            except (TypeError, ValueError):
                raise InvalidMessage(f"location {key} must be a number") from None
            _check(-bound <= value <= bound, f"location {key} is out of range")
    elif kind == "reaction":
        _check_len(content.get("message_id"), 512, "reaction message id")
    else:
        raise InvalidMessage(f"unsupported message type {kind!r}")


def _validate_interactive(content: dict[str, Any]) -> None:
    kind = content.get("type")
    _check(kind in {"button", "list"}, f"unsupported interactive type {kind!r}")
    body_limit = 1024 if kind == "button" else 4096
    _check_len((content.get("body") or {}).get("text"), body_limit, "interactive body")
    if "footer" in content:
        _check_len((content.get("footer") or {}).get("text"), 60, "footer")
    action = content.get("action") or {}
    if kind == "button":
        items = action.get("buttons") or []
        _check(1 <= len(items) <= 3, "reply buttons need 1 to 3 buttons")
        titles = [(b.get("reply") or {}).get("title") for b in items]
        for b in items:
            reply = b.get("reply") or {}
            _check_len(reply.get("id"), 256, "button id")
            _check_len(reply.get("title"), 20, "button title")
        _check(len(set(titles)) == len(titles), "button titles must be unique")
        return
    _check_len(action.get("button"), 20, "list button label")
    sections = action.get("sections") or []
    _check(1 <= len(sections) <= 10, "a list needs 1 to 10 sections")
    rows = [row for section in sections for row in section.get("rows") or []]
    _check(1 <= len(rows) <= 10, "a list holds 1 to 10 rows in all")
    for section in sections:
        _check_len(section.get("title"), 24, "section title", required=len(sections) > 1)
    for row in rows:
        _check_len(row.get("id"), 200, "row id")
        _check_len(row.get("title"), 24, "row title")
        _check_len(row.get("description"), 72, "row description", required=False)


def validate_body(body: dict[str, Any]) -> None:
    """Check a whole `/messages` request body against Meta's limits (InvalidMessage if not)."""
    _check(body.get("messaging_product") == "whatsapp", "messaging_product must be whatsapp")
    if body.get("status") == "read":
        _check_len(body.get("message_id"), 512, "message_id")
        return
    _check(bool(body.get("to") or body.get("recipient")), "a recipient ('to') is required")
    kind = body.get("type", "text")
    content = body.get(kind)
    if not isinstance(content, dict):
        raise InvalidMessage(f"the {kind!r} object is missing")
    _validate_content(kind, content)
