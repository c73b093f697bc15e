"""The optional language model's wire format: one OpenAI-compatible Chat Completions client.

It sends one customer text (already stripped of numbers and names by the caller) with what the
clinic offers, and reads back a structured reading, through `response_format` with a JSON schema,
or a forced tool call when the server refuses JSON schemas. Every failure (off, refused, invalid,
slow, unreachable) is one `ModelError`: the bot then answers as it would without a model.
No database here: the caller counts the budget (`may_call`) and checks the reading.
"""

import json
import logging
import time as clock
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, time
from typing import Any

import requests
from django.conf import settings

logger = logging.getLogger(__name__)

INTENTS = (
    "book", "move", "cancel", "my_appointments", "late", "question", "location", "staff",
    "greeting", "thanks", "other",
)  # fmt: skip
READING_NAME = "reading"
READING_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["intent", "day", "time", "service_id", "practitioner_id", "faq_id"],
    "properties": {
        "intent": {"type": "string", "enum": list(INTENTS)},
        "day": {"type": ["string", "null"], "description": "YYYY-MM-DD, only if named"},
        "time": {"type": ["string", "null"], "description": "HH:MM (24-hour), only if named"},
        "service_id": {"type": ["integer", "null"]},
        "practitioner_id": {"type": ["integer", "null"]},
        "faq_id": {"type": ["integer", "null"], "description": "the question the text asks"},
    },
}
INSTRUCTIONS = """You read one message a patient sent to a clinic's WhatsApp and classify it.
Answer only with the reading; never write to the patient. Use null for anything the message
does not say; never guess a day or a time. Intents: book (wants a visit), move (change an
existing visit), cancel, my_appointments (asks what is booked), late (on the way or late), question
(asks something; give faq_id when one of the questions below matches), location, staff (wants a
person), greeting, thanks, other (none of these, or you are unsure).
Today is {today} ({weekday}); dates are in the clinic's calendar.
Services (id: name): {services}
Practitioners (id: name): {practitioners}
Questions (id: question): {faq}"""
# Servers that answered 400 to a JSON schema: ask them with a tool call from then on.
_TOOLS_ONLY: set[str] = set()
_session = requests.Session()


class ModelError(Exception):
    """No usable reading: off, over budget, refused, unreadable, too slow or unreachable."""


@dataclass(frozen=True)
class Choice:
    id: int
    name: str


@dataclass(frozen=True)
class Context:
    """What the model may pick from, besides the text: the date and the clinic's lists."""

    today: date
    services: list[Choice]
    practitioners: list[Choice]
    faq: list[Choice]


@dataclass(frozen=True)
class ModelReading:
    """The model's answer, well-formed but not yet checked against the clinic (ids may not exist,
    the day may have passed): the caller does that."""

    intent: str
    day: date | None = None
    at: time | None = None  # the schema's "time"
    service_id: int | None = None
    practitioner_id: int | None = None
    faq_id: int | None = None
    # A day (or time) was given but is not one: the bot asks for it rather than guess.
    unclear_day: bool = False
    unclear_time: bool = False


def is_enabled() -> bool:
    return bool(settings.LLM_BASE_URL and settings.LLM_MODEL and settings.LLM_API_KEY)


def read_text(text: str, *, context: Context, may_call: Callable[[], bool]) -> ModelReading:
    """Ask the model what `text` means; `may_call()` is asked before each request (the budget)."""
    if not is_enabled():
        raise ModelError("no language model is configured")
    deadline = clock.monotonic() + settings.LLM_TIMEOUT_SECONDS
    messages = [
        {"role": "system", "content": _instructions(context)},
        {"role": "user", "content": text},
    ]
    base = settings.LLM_BASE_URL
    if base not in _TOOLS_ONLY:
        try:
            return _parse(_post(_with_schema(messages), deadline, may_call))
        except _SchemaRefusedError:
            _TOOLS_ONLY.add(base)
            logger.info("the language model refused a JSON schema; asking with a tool call")
    try:
        return _parse(_post(_with_tool(messages), deadline, may_call))
    except _SchemaRefusedError as exc:
        raise ModelError("the language model refused the request") from exc


class BudgetSpentError(ModelError):
    """The day's requests are spent (not a failure of the model)."""


class _SchemaRefusedError(Exception):
    pass


def _instructions(context: Context) -> str:
    def listed(choices: list[Choice]) -> str:
        return "; ".join(f"{c.id}: {c.name}" for c in choices) or "none"

    return INSTRUCTIONS.format(
        today=context.today.isoformat(),
        weekday=context.today.strftime("%A"),
        services=listed(context.services),
        practitioners=listed(context.practitioners),
        faq=listed(context.faq),
    )


def _with_schema(messages: list[dict[str, str]]) -> dict[str, Any]:
    return {
        "model": settings.LLM_MODEL,
        "messages": messages,
        "temperature": 0,
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": READING_NAME, "strict": True, "schema": READING_SCHEMA},
        },
    }


def _with_tool(messages: list[dict[str, str]]) -> dict[str, Any]:
    return {
        "model": settings.LLM_MODEL,
        "messages": messages,
        "temperature": 0,
        "tools": [
            {
                "type": "function",
                "function": {
                    "name": READING_NAME,
                    "description": "Record the reading of the patient's message.",
                    "parameters": READING_SCHEMA,
                },
            }
        ],
        "tool_choice": {"type": "function", "function": {"name": READING_NAME}},
    }


def _post(body: dict[str, Any], deadline: float, may_call: Callable[[], bool]) -> dict[str, Any]:
    left = deadline - clock.monotonic()
    if left <= 0:
        raise ModelError("no time left for the language model")
    if not may_call():
        raise BudgetSpentError("the language model's daily budget is spent")
    headers = {
        "Authorization": f"Bearer {settings.LLM_API_KEY}",
        "api-key": settings.LLM_API_KEY,  # Azure OpenAI's header
    }
    try:
        response = _session.post(
            f"{settings.LLM_BASE_URL}/chat/completions", json=body, headers=headers, timeout=left
        )
    except requests.RequestException as exc:
        raise ModelError(f"the language model did not answer: {type(exc).__name__}") from exc
    if response.status_code in (400, 422) and "response_format" in body:
        raise _SchemaRefusedError(response.text[:200])
    if response.status_code != 200:
        raise ModelError(f"the language model answered HTTP {response.status_code}")
    try:
        data = response.json()
    except ValueError as exc:
        raise ModelError("the language model's answer is not JSON") from exc
    if not isinstance(data, dict):
        raise ModelError("the language model's answer is not an object")
    return data


def _parse(data: dict[str, Any]) -> ModelReading:
    """The reading in a completion (message content, or the tool call's arguments)."""
    try:
        message = data["choices"][0]["message"]
        if message.get("refusal"):
            raise ModelError("the language model refused to read the text")
        calls = message.get("tool_calls") or []
        raw = calls[0]["function"]["arguments"] if calls else message["content"]
        fields = json.loads(raw) if isinstance(raw, str) else raw
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        raise ModelError("the language model's reading is not well-formed") from exc
    if not isinstance(fields, dict) or fields.get("intent") not in INTENTS:
        raise ModelError("the language model's reading has no known intent")
    return ModelReading(
        intent=fields["intent"],
        day=_day(fields.get("day")),
        at=_time(fields.get("time")),
        service_id=_id(fields.get("service_id")),
        practitioner_id=_id(fields.get("practitioner_id")),
        faq_id=_id(fields.get("faq_id")),
        unclear_day=bool(fields.get("day")) and _day(fields.get("day")) is None,
        unclear_time=bool(fields.get("time")) and _time(fields.get("time")) is None,
    )


def _day(value: object) -> date | None:
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        return None


def _time(value: object) -> time | None:
    if not isinstance(value, str):
        return None
    hour, _, minute = value.strip().partition(":")
    if not (hour.isdigit() and minute.isdigit() and len(minute) == 2):
        return None
    try:
        return time(int(hour), int(minute))
    except ValueError:
        return None


def _id(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None
