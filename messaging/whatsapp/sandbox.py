"""The WhatsApp sandbox: a local stand-in for Meta, for development, demos and end-to-end tests.

It plays both of Meta's roles: the Graph API our sender posts to (validating like Meta, answering
with message ids, then posting signed status webhooks back), and the customer's phone (the chat
page's messages reach the real webhook, signed, shaped exactly like Meta's).
"""

import hmac
import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from customers.phone import normalize_wa_id
from messaging.models import SandboxMessage
from messaging.whatsapp import cloud_api, outgoing
from messaging.whatsapp.delivery import enqueue

logger = logging.getLogger(__name__)

GraphAnswer = tuple[int, dict[str, Any]]
WINDOW = timedelta(hours=24)
TICKS = ["accepted", "sent", "delivered", "read"]


# ============================================================================ approved templates
@dataclass(frozen=True)
class ApprovedTemplate:
    """A template as approved in Meta's WhatsApp Manager: a body with {{1}}... and quick replies."""

    body: str
    quick_replies: tuple[str, ...] = ()

    @property
    def parameter_count(self) -> int:
        return len(set(re.findall(r"\{\{(\d+)\}\}", self.body)))

    def render(self, params: Sequence[str]) -> str:
        return re.sub(r"\{\{(\d+)\}\}", lambda m: params[int(m.group(1)) - 1], self.body)


# The templates the sandbox's "WhatsApp Manager" has approved, by (name, language code): the
# defaults of REMINDER_TEMPLATES, VACATION_NOTICE_TEMPLATES, the staff change notices
# (BOOKED_/MOVED_/CANCELLED_NOTICE_TEMPLATES) and WHATSAPP_REENGAGEMENT_TEMPLATE
# (README, "Configuration"). Submit the same to Meta for production. Quick-reply order matters:
# the sender attaches its payloads by index (reminders: rm:ok / rm:no / rm:mv).
APPROVED_TEMPLATES: dict[tuple[str, str], ApprovedTemplate] = {
    ("appointment_reminder", "en"): ApprovedTemplate(
        "Reminder from {{1}}: you have an appointment on {{2}} at {{3}}. Will you come?",
        ("Confirm", "Cancel", "Reschedule"),
    ),
    ("appointment_reminder", "ar"): ApprovedTemplate(
        "تذكير من {{1}}: لديك موعد يوم {{2}} الساعة {{3}}. هل ستحضر؟",
        ("تأكيد", "إلغاء", "تغيير الموعد"),
    ),
    ("vacation_notice", "en"): ApprovedTemplate(
        "{{1}} is closed on {{2}}, the day of your appointment. We reopen {{3}}. "
        "Tap Reschedule to choose another time.",
        ("Reschedule",),
    ),
    ("vacation_notice", "ar"): ApprovedTemplate(
        "{{1}} مغلقة يوم {{2}}، يوم موعدك. نعود للعمل {{3}}. اضغط «تغيير الموعد» لاختيار وقت آخر.",
        ("تغيير الموعد",),
    ),
    ("appointment_booked", "en"): ApprovedTemplate(
        "{{1}} booked your {{2}} with {{3}} on {{4}} at {{5}}. Write to us to change it."
    ),
    ("appointment_booked", "ar"): ApprovedTemplate(
        "حجزت {{1}} لك {{2}} مع {{3}} يوم {{4}} الساعة {{5}}. راسلنا لتغييره."
    ),
    ("appointment_moved", "en"): ApprovedTemplate(
        "{{1}} moved your {{2}} with {{3}} to {{4}} at {{5}}. Write to us if it does not suit you."
    ),
    ("appointment_moved", "ar"): ApprovedTemplate(
        "نقلت {{1}} موعدك ({{2}}) مع {{3}} إلى يوم {{4}} الساعة {{5}}. راسلنا إن لم يناسبك."
    ),
    ("appointment_cancelled", "en"): ApprovedTemplate(
        "{{1}} cancelled your {{2}} on {{3}} at {{4}}. Write to us to book another time."
    ),
    ("appointment_cancelled", "ar"): ApprovedTemplate(
        "ألغت {{1}} موعدك ({{2}}) يوم {{3}} الساعة {{4}}. راسلنا لحجز وقت آخر."
    ),
    ("reengagement", "en"): ApprovedTemplate(
        "Hello from {{1}}! We have a reply for you: write to us to continue the conversation."
    ),
    ("reengagement", "ar"): ApprovedTemplate(
        "مرحبًا من {{1}}! لدينا رد لك: راسلنا لمتابعة المحادثة."
    ),
}


@dataclass(frozen=True)
class RenderedTemplate:
    text: str
    quick_replies: list[tuple[str, str]]  # (payload, label)


def _template_parts(content: dict[str, Any]) -> tuple[list[str], dict[int, str]]:
    """The body parameters and the quick-reply payloads by button index of a template send."""
    params: list[str] = []
    payloads: dict[int, str] = {}
    for component in content.get("components") or []:
        if component.get("type") == "body":
            params = [str(p.get("text", "")) for p in component.get("parameters") or []]
        elif component.get("type") == "button" and component.get("sub_type") == "quick_reply":
            index = int(str(component.get("index", "0")))
            for parameter in component.get("parameters") or []:
                payloads[index] = str(parameter.get("payload", ""))
    return params, payloads


def check_template(content: dict[str, Any]) -> GraphAnswer | None:
    """Meta's answer to a template it would refuse (unknown, or the wrong parameters), or None."""
    name = str(content.get("name", ""))
    code = str((content.get("language") or {}).get("code", ""))
    template = APPROVED_TEMPLATES.get((name, code))
    if template is None:
        return graph_error(
            132001,
            "Template name does not exist in the translation",
            details=f"template name ({name}) does not exist in {code}",
            http_status=404,
        )
    try:
        params, payloads = _template_parts(content)
    except ValueError:
        return graph_error(131009, "Parameter value is not valid", details="button index")
    header = [c for c in content.get("components") or [] if c.get("type") == "header"]
    if header:  # none of these templates has a header to fill
        return graph_error(
            132000,
            "Number of parameters does not match the expected number of params",
            details="header: the template has no header parameters",
        )
    if any(not p.strip() for p in params):
        return graph_error(
            131008, "Required parameter is missing", details="body: a parameter is empty"
        )
    if len(params) != template.parameter_count:
        return graph_error(
            132000,
            "Number of parameters does not match the expected number of params",
            details=f"body: number of localizable_params ({len(params)}) does not match the "
            f"expected number of params ({template.parameter_count})",
        )
    if any(index >= len(template.quick_replies) or index < 0 for index in payloads):
        return graph_error(
            131009,
            "Parameter value is not valid",
            details=f"the template has {len(template.quick_replies)} quick-reply buttons",
        )
    return None


def render_template(content: dict[str, Any]) -> RenderedTemplate | None:
    """What the customer's phone shows for an accepted template send (None if unknown)."""
    name = str(content.get("name", ""))
    code = str((content.get("language") or {}).get("code", ""))
    template = APPROVED_TEMPLATES.get((name, code))
    if template is None or check_template(content) is not None:
        return None
    params, payloads = _template_parts(content)
    return RenderedTemplate(
        text=template.render(params),
        # Without a payload, Meta sends the button's label back as the payload.
        quick_replies=[
            (payloads.get(index, label), label)
            for index, label in enumerate(template.quick_replies)
        ],
    )


def graph_error(
    code: int, message: str, *, details: str = "", http_status: int = 400
) -> GraphAnswer:
    """Meta's error envelope."""
    error = {
        "message": f"(#{code}) {message}",
        "type": "OAuthException",
        "code": code,
        "error_data": {"messaging_product": "whatsapp", "details": details or message},
        "fbtrace_id": "SandboxTrace",
    }
    return http_status, {"error": error}


def accept_graph_request(*, body: bytes, authorization: str, webhook_url: str) -> GraphAnswer:
    """Answer a POST to `/<phone number id>/messages` the way the Cloud API would."""
    expected = f"Bearer {settings.WHATSAPP_ACCESS_TOKEN}"
    if not settings.WHATSAPP_ACCESS_TOKEN or not hmac.compare_digest(
        authorization.encode(), expected.encode()
    ):
        return graph_error(190, "Invalid OAuth access token", http_status=401)
    try:
        data = json.loads(body)
        if not isinstance(data, dict):
            raise ValueError("expected a JSON object")
        outgoing.validate_body(data)
    except ValueError as exc:  # InvalidMessage is a ValueError too
        return graph_error(100, "Invalid parameter", details=str(exc))
    if data.get("status") == "read":
        mark_read(message_id=str(data["message_id"]))
        return 200, {"success": True}
    if data.get("type") == "template" and (refused := check_template(data["template"])):
        return refused
    recipient = str(data.get("to") or data.get("recipient"))
    wa_id = recipient.lstrip("+") if "." in recipient else "".join(filter(str.isdigit, recipient))
    if data.get("type") != "template" and not window_is_open(wa_id=wa_id):
        return graph_error(
            131047,
            "Re-engagement message",
            details="Message failed to send because more than 24 hours have passed since the "
            "customer last replied to this number.",
        )
    message = SandboxMessage.objects.create(
        direction=SandboxMessage.Direction.TO_CUSTOMER,
        wa_id=wa_id,
        wa_message_id=cloud_api.new_message_id(),
        body=data,
        status="accepted",
        webhook_url=webhook_url,
    )
    enqueue("messaging.tasks.send_sandbox_statuses", message.id)
    return 200, {
        "messaging_product": "whatsapp",
        "contacts": [{"input": recipient, "wa_id": wa_id}],
        "messages": [{"id": message.wa_message_id}],
    }


def window_is_open(*, wa_id: str) -> bool:
    """The sandbox's own record: did this customer write in the last 24 hours?"""
    return SandboxMessage.objects.filter(
        direction=SandboxMessage.Direction.FROM_CUSTOMER,
        wa_id=wa_id,
        created_at__gte=timezone.now() - WINDOW,
    ).exists()


def mark_read(*, message_id: str) -> int:
    """The business read a customer's message (and, like WhatsApp, every earlier one)."""
    message = SandboxMessage.objects.filter(wa_message_id=message_id).first()
    if message is None:
        return 0
    return SandboxMessage.objects.filter(
        direction=SandboxMessage.Direction.FROM_CUSTOMER,
        wa_id=message.wa_id,
        created_at__lte=message.created_at,
    ).update(status="read")


def send_statuses(
    *, sandbox_message_id: int, statuses: Sequence[str] = ("sent", "delivered")
) -> int:
    """Post signed status webhooks for one message the bot sent; return how many were taken."""
    message = SandboxMessage.objects.get(id=sandbox_message_id)
    taken = 0
    for status in statuses:
        if TICKS.index(status) <= TICKS.index(message.status):
            continue
        item = {
            "id": message.wa_message_id,
            "status": status,
            "timestamp": str(int(timezone.now().timestamp())),
            "recipient_id": message.wa_id,
        }
        body = cloud_api.webhook_body(
            phone_number_id=settings.WHATSAPP_PHONE_NUMBER_ID, statuses=[item]
        )
        raw = json.dumps(body).encode()
        code = cloud_api.post_webhook(message.webhook_url, raw, secret=settings.WHATSAPP_APP_SECRET)
        if code != 200:
            logger.warning("status webhook for %s answered %s", message.wa_message_id, code)
            break
        SandboxMessage.objects.filter(id=message.id).update(status=status)
        message.status = status
        taken += 1
    return taken


def mark_seen(*, wa_id: str) -> int:
    """The customer looked at the chat: queue `read` statuses for what was delivered."""
    ids = list(
        SandboxMessage.objects.filter(
            direction=SandboxMessage.Direction.TO_CUSTOMER, wa_id=wa_id, status="delivered"
        ).values_list("id", flat=True)
    )
    for message_id in ids:
        enqueue("messaging.tasks.send_sandbox_statuses", message_id, ["read"])
    return len(ids)


def send_as_customer(
    *,
    wa_id: str,
    name: str,
    webhook_url: str,
    text: str = "",
    reply: dict[str, str] | None = None,
) -> tuple[SandboxMessage, int]:
    """Write as a customer: post a signed webhook shaped like Meta's; return it and the answer.

    `reply` is a tapped button or list row: {"kind": "button_reply"|"list_reply"|"button", "id",
    "title", "context": wamid of the bot's message}; "button" is a template's quick reply, which
    Meta delivers as a `button` message carrying the payload the template was sent with.
    """
    wa_id = normalize_wa_id(wa_id)
    item: dict[str, Any] = {
        "from": wa_id,
        "id": cloud_api.new_message_id(),
        "timestamp": str(int(timezone.now().timestamp())),
    }
    if reply:
        context = {"from": settings.WHATSAPP_PHONE_NUMBER_ID, "id": reply.get("context", "")}
        if reply.get("kind") == "button":
            item |= {
                "type": "button",
                "button": {"payload": reply["id"], "text": reply["title"]},
                "context": context,
            }
        else:
            kind = reply["kind"] if reply.get("kind") == "list_reply" else "button_reply"
            item |= {
                "type": "interactive",
                "interactive": {"type": kind, kind: {"id": reply["id"], "title": reply["title"]}},
                "context": context,
            }
    else:
        item |= {"type": "text", "text": {"body": text}}
    message = SandboxMessage.objects.create(
        direction=SandboxMessage.Direction.FROM_CUSTOMER,
        wa_id=wa_id,
        wa_message_id=item["id"],
        body=item,
        status="sent",
        webhook_url=webhook_url,
    )
    body = cloud_api.webhook_body(
        phone_number_id=settings.WHATSAPP_PHONE_NUMBER_ID,
        contacts=[{"profile": {"name": name or wa_id}, "wa_id": wa_id}],
        messages=[item],
    )
    raw = json.dumps(body, ensure_ascii=False).encode()
    code = cloud_api.post_webhook(webhook_url, raw, secret=settings.WHATSAPP_APP_SECRET)
    if code == 200:
        SandboxMessage.objects.filter(id=message.id).update(status="delivered")
    return message, code


def chat_messages(*, wa_id: str, limit: int = 200) -> list[dict[str, Any]]:
    """The chat page's view of one customer's thread (the latest `limit` messages): each with the
    text a phone shows and the choices it offers to tap."""
    latest = SandboxMessage.objects.filter(wa_id=wa_id).order_by("-id")[:limit]
    thread = []
    for m in reversed(latest):
        text, choices = shown_on_phone(m.body, outbound=m.direction == m.Direction.TO_CUSTOMER)
        thread.append(
            {
                "id": m.id,
                "direction": m.direction,
                "wa_message_id": m.wa_message_id,
                "status": m.status,
                "at": timezone.localtime(m.created_at).strftime("%H:%M"),
                "text": text,
                "choices": choices,
                "body": m.body,
            }
        )
    return thread


def shown_on_phone(body: dict[str, Any], *, outbound: bool) -> tuple[str, list[dict[str, str]]]:
    """A message as the customer's phone shows it: its text, and its buttons or list rows."""
    kind = str(body.get("type", ""))
    found = body.get(kind)
    part: dict[str, Any] = found if isinstance(found, dict) else {}
    if not outbound:
        message = cloud_api.parse_message(body, [], {}) if body.get("id") else None
        return (message.text if message else ""), []
    if kind == "text":
        return str(part.get("body", "")), []
    if kind == "interactive":
        return _interactive(part)
    if kind == "template":
        rendered = render_template(part)
        if rendered is None:  # refused by the fake Graph API, so never shown; kept readable
            return f"[template {part.get('name')}]", []
        choices = [
            {"kind": "button", "id": payload, "title": label}
            for payload, label in rendered.quick_replies
        ]
        return rendered.text, choices
    if kind == "location":
        where = " ".join(str(part.get(k) or "") for k in ("name", "address")).strip()
        return f"📍 {where} {part.get('latitude')},{part.get('longitude')}".strip(), []
    return f"[{kind}]", []


def _interactive(part: dict[str, Any]) -> tuple[str, list[dict[str, str]]]:
    text = str((part.get("body") or {}).get("text", ""))
    action = part.get("action") or {}
    if part.get("type") == "button":
        choices = [
            {"kind": "button_reply", "id": b["reply"]["id"], "title": b["reply"]["title"]}
            for b in action.get("buttons") or []
        ]
    elif part.get("type") == "list":
        choices = [
            {
                "kind": "list_reply",
                "id": row["id"],
                "title": row["title"],
                "description": row.get("description", ""),
            }
            for section in action.get("sections") or []
            for row in section.get("rows") or []
        ]
    else:
        choices = []
    return text, choices
