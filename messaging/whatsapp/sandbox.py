"""The WhatsApp sandbox: a local stand-in for Meta, for development, demos and end-to-end tests.

It plays both of Meta's roles: the Graph API our sender posts to (validating like Meta, answering
with message ids, then posting signed status webhooks back), and the customer's phone (the chat
page's messages reach the real webhook, signed, shaped exactly like Meta's).
"""

import hmac
import json
import logging
from collections.abc import Sequence
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

    `reply` is a tapped button or list row: {"kind": "button_reply"|"list_reply", "id", "title",
    "context": wamid of the bot's message}.
    """
    wa_id = normalize_wa_id(wa_id)
    item: dict[str, Any] = {
        "from": wa_id,
        "id": cloud_api.new_message_id(),
        "timestamp": str(int(timezone.now().timestamp())),
    }
    if reply:
        kind = reply["kind"] if reply.get("kind") == "list_reply" else "button_reply"
        item |= {
            "type": "interactive",
            "interactive": {"type": kind, kind: {"id": reply["id"], "title": reply["title"]}},
            "context": {"from": settings.WHATSAPP_PHONE_NUMBER_ID, "id": reply.get("context", "")},
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
    """The chat page's view of one customer's thread (the latest `limit` messages)."""
    latest = SandboxMessage.objects.filter(wa_id=wa_id).order_by("-id")[:limit]
    return [
        {
            "id": m.id,
            "direction": m.direction,
            "wa_message_id": m.wa_message_id,
            "status": m.status,
            "at": timezone.localtime(m.created_at).strftime("%H:%M"),
            "body": m.body,
        }
        for m in reversed(latest)
    ]
