"""A customer's phone for bot tests: write or tap, read what the bot answered.

`Chat` goes straight through `record_inbound_message` (what the worker calls); `SandboxChat`
goes the whole way over HTTP: the sandbox posts a signed webhook, a worker drains the queue, the
replies travel to the sandbox's fake Graph API and are read back from there.
"""

import itertools
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from messaging import services
from messaging.bot import assisted
from messaging.models import SandboxMessage
from messaging.whatsapp import cloud_api, sandbox

_ids = itertools.count(1)


@dataclass
class Reply:
    body: dict[str, Any]  # the /messages request body

    @property
    def type(self) -> str:
        return self.body["type"]

    @property
    def text(self) -> str:
        if self.type == "text":
            return self.body["text"]["body"]
        if self.type == "interactive":
            return self.body["interactive"]["body"]["text"]
        return ""

    @property
    def kind(self) -> str:
        """button / list / text / location."""
        return self.body["interactive"]["type"] if self.type == "interactive" else self.type

    @property
    def choices(self) -> list[dict[str, str]]:
        """Buttons or list rows as {"id", "title", "description"?}."""
        if self.type != "interactive":
            return []
        action = self.body["interactive"]["action"]
        if "buttons" in action:
            return [b["reply"] for b in action["buttons"]]
        return [row for section in action["sections"] for row in section["rows"]]

    @property
    def titles(self) -> list[str]:
        return [c["title"] for c in self.choices]


class Chat:
    """A customer with a number (`wa_id`), or known only by a business-scoped id (`user_id`
    with `wa_id=None`, as Meta sends for users with a username)."""

    def __init__(
        self, wa_id: str | None = "966501234567", name: str = "Sara", user_id: str | None = None
    ) -> None:
        self.wa_id = wa_id
        self.user_id = user_id
        self.name = name
        self.replies: list[Reply] = []

    @property
    def last(self) -> Reply:
        return self.replies[-1]

    def say(self, text: str) -> list[Reply]:
        return self._send({"type": "text", "text": {"body": text}})

    def tap(self, title: str) -> list[Reply]:
        """Tap the button or row with this title in the latest answer that offers it."""
        for reply in reversed(self.replies):
            for choice in reply.choices:
                if choice["title"] == title:
                    return self.tap_id(choice["id"], title, kind=reply.kind)
        raise AssertionError(f"no choice {title!r} in {[r.titles for r in self.replies]}")

    def tap_id(self, reply_id: str, title: str = "tap", *, kind: str = "button") -> list[Reply]:
        key = "list_reply" if kind == "list" else "button_reply"
        return self._send(
            {
                "type": "interactive",
                "interactive": {"type": key, key: {"id": reply_id, "title": title}},
            }
        )

    def tap_template(self, payload: str, text: str = "tap") -> list[Reply]:
        """Tap a quick reply of a template message (an inbound "button" message)."""
        return self._send({"type": "button", "button": {"payload": payload, "text": text}})

    def share_contact(self, name: str, phone: str) -> list[Reply]:
        """Send a contact card (someone else's name and number)."""
        card = {
            "name": {"formatted_name": name},
            "phones": [{"phone": f"+{phone}", "wa_id": phone}],
        }
        return self._send({"type": "contacts", "contacts": [card]})

    def _send(self, content: dict[str, Any]) -> list[Reply]:
        item: dict[str, Any] = {
            "id": f"wamid.CHAT{next(_ids):08d}",
            "timestamp": str(int(timezone.now().timestamp())),
            **content,
        }
        contact: dict[str, Any] = {"profile": {"name": self.name}}
        if self.wa_id:
            item["from"] = contact["wa_id"] = self.wa_id
        if self.user_id:
            item["from_user_id"] = contact["user_id"] = self.user_id
        message = cloud_api.parse_message(item, [contact], {})
        assert message.problem is None, message.problem
        model = assisted.ask_model(message=message)  # as the worker does, before the transaction
        rows = services.record_inbound_message(message=message, model=model)
        self.replies = [Reply(row.payload or {}) for row in rows]
        return self.replies


class SandboxChat(Chat):
    """The same conversation, over real HTTP through the sandbox and the worker."""

    def __init__(self, webhook_url: str, wa_id: str = "966501234567", name: str = "Sara") -> None:
        super().__init__(wa_id, name)
        self.webhook_url = webhook_url

    def say(self, text: str) -> list[Reply]:
        return self._through_sandbox(text=text)

    def tap_id(self, reply_id: str, title: str = "tap", *, kind: str = "button") -> list[Reply]:
        key = "list_reply" if kind == "list" else "button_reply"
        return self._through_sandbox(reply={"kind": key, "id": reply_id, "title": title})

    def _through_sandbox(self, **what: Any) -> list[Reply]:
        assert self.wa_id, "the sandbox plays customers with a number"
        seen = SandboxMessage.objects.filter(direction="out").order_by("-id").first()
        _, code = sandbox.send_as_customer(
            wa_id=self.wa_id, name=self.name, webhook_url=self.webhook_url, **what
        )
        assert code == 200
        result = services.drain_inbound_queue()
        assert result.failed == 0
        out = SandboxMessage.objects.filter(
            direction="out", wa_id=self.wa_id, id__gt=seen.id if seen else 0
        ).order_by("id")
        self.replies = [Reply(m.body) for m in out]
        return self.replies
