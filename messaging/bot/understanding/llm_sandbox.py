"""A stand-in for an OpenAI-compatible model, answering from simple rules: the sandbox serves it
(/sandbox/llm/v1/chat/completions, so `make run` shows the model path) and the tests talk to it
over real HTTP. It reads the lists `llm.INSTRUCTIONS` puts in the system message and answers in
the form asked: JSON-schema content, or a tool call."""

import json
import re
from typing import Any

from messaging.bot.understanding import llm
from messaging.bot.understanding.text import normalize_text

_LIST = re.compile(r"^(Services|Practitioners|Questions) \(id: [a-z]+\): (.*)$", re.MULTILINE)
_ENTRY = re.compile(r"(\d+): ([^;]+)")
_TIME = re.compile(r"\b([01]?\d|2[0-3]):([0-5]\d)\b")
_DAY = re.compile(r"\b(20\d\d-[01]\d-[0-3]\d)\b")
# Words too common to name a service, a practitioner or a question.
_COMMON = {"the", "and", "you", "your", "have", "with", "for", "this", "that", "what", "does"}


def reading_for(text: str, *, instructions: str) -> dict[str, Any]:
    """The fake model's reading: a service, practitioner or FAQ question sharing a word with the
    text; a HH:MM time and a YYYY-MM-DD day as written; "other" when nothing matches."""
    lists = {name: dict(_ENTRY.findall(items)) for name, items in _LIST.findall(instructions)}
    words = {w for w in re.findall(r"\w+", normalize_text(text)) if len(w) >= 3} - _COMMON
    found = {name: _best(words, entries) for name, entries in lists.items()}
    clock = _TIME.search(text)
    day = _DAY.search(text)
    reading: dict[str, Any] = {
        "intent": "other",
        "day": day[1] if day else None,
        "time": f"{int(clock[1]):02d}:{clock[2]}" if clock else None,
        "service_id": found.get("Services"),
        "practitioner_id": found.get("Practitioners"),
        "faq_id": None,
    }
    if reading["service_id"] or reading["practitioner_id"] or day or clock:
        reading["intent"] = "book"
    elif found.get("Questions"):
        reading.update(intent="question", faq_id=found["Questions"])
    elif "?" in text or "؟" in text:
        reading["intent"] = "question"
    return reading


def _best(words: set[str], entries: dict[str, str]) -> int | None:
    best, best_score = None, 0
    for key, name in entries.items():
        score = len(words & {w for w in re.findall(r"\w+", normalize_text(name)) if len(w) >= 3})
        if score > best_score:
            best, best_score = int(key), score
    return best


def completion(body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """The HTTP status and body a Chat Completions server would answer to `body`."""
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return 400, {"error": {"message": "messages is required", "type": "invalid_request"}}
    instructions = next((m.get("content", "") for m in messages if m.get("role") == "system"), "")
    text = next((m.get("content", "") for m in reversed(messages) if m.get("role") == "user"), "")
    raw = json.dumps(reading_for(str(text), instructions=str(instructions)))
    message: dict[str, Any] = {"role": "assistant", "content": raw, "refusal": None}
    if "response_format" not in body and body.get("tools"):
        function = {"name": llm.READING_NAME, "arguments": raw}
        call = {"id": "call_1", "type": "function", "function": function}
        message = {"role": "assistant", "content": None, "tool_calls": [call]}
    return 200, {
        "id": "chatcmpl-sandbox",
        "object": "chat.completion",
        "model": body.get("model", ""),
        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
    }
