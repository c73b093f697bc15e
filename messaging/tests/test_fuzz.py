"""Fuzzing the webhook: whatever a signed body holds, it is stored or refused with a clear 4xx,
never a 500, and the worker that handles what was stored never crashes."""

import json
import os
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from messaging import services
from messaging.models import InboundMessage
from messaging.tests.conftest import payload
from messaging.whatsapp import delivery

# JSON values of every shape, including huge strings and numbers beyond 64 bits.
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False)
    | st.text(max_size=50)
    | st.sampled_from(["", "text", "wamid.X", "966501234567", "x" * 5000, "\x00", "\ud7ff"])
)
values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)
KEYS = ["from", "id", "timestamp", "type", "text", "body", "interactive", "contacts", "wa_id",
        "profile", "status", "recipient_id", "errors", "code", "messages", "statuses",
        "metadata", "context", "button_reply", "list_reply", "location", "image"]  # fmt: skip


def _mutate(data: object, path: list[int], key: str, value: object) -> object:
    """Put `value` under `key` somewhere along `path` in a copy of a real Meta payload."""
    data = json.loads(json.dumps(data))
    node: Any = data
    for step in path:
        children = list(node.values()) if isinstance(node, dict) else node
        containers = [c for c in children if isinstance(c, dict | list)] if children else []
        if not containers:
            break
        node = containers[step % len(containers)]
    if isinstance(node, dict):
        node[key] = value
    elif isinstance(node, list):
        node.append({key: value})
    return data


real_bodies = st.sampled_from(
    [
        "message_text.json",
        "message_interactive_button_reply.json",
        "status_failed_131047.json",
        "batch.json",
        "message_location.json",
        "message_reaction.json",
        "errors_only.json",
    ]
).map(payload)
mutated = st.builds(
    _mutate, real_bodies, st.lists(st.integers(0, 10), max_size=8), st.sampled_from(KEYS), values
)
raw_bodies = st.one_of(
    mutated.map(lambda d: json.dumps(d, ensure_ascii=False).encode()),
    values.map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=300),  # bad UTF-8, not JSON at all
    st.integers(1, 200_000).map(lambda depth: b"[" * depth + b"]" * depth),  # deep nesting
    st.integers(1, 5000).map(lambda depth: ('{"entry":' * depth + "1" + "}" * depth).encode()),
    mutated.map(lambda d: json.dumps(d).encode().replace(b'"', b'"\xff', 1)),
)


@pytest.mark.django_db
@settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "150")),  # run_faults.py: 2000
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(raw=raw_bodies)
def test_any_signed_body_is_stored_or_refused_with_a_clear_4xx(post_webhook, graph, raw):
    before = InboundMessage.objects.count()
    response = post_webhook(raw)
    assert response.status_code in (200, 400, 413), response.content[:200]
    if response.status_code != 200:
        assert "error" in response.json()
        assert InboundMessage.objects.count() == before  # refused means nothing was stored
    # The worker handles whatever was stored without crashing: every row ends done or failed.
    services.drain_inbound_queue()
    delivery.apply_status_updates()
    assert not InboundMessage.objects.filter(status=InboundMessage.Status.PROCESSING).exists()
