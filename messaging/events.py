"""Domain events (`notification_events`): one function every app records through.

Kept apart from `messaging.services` so that `reservations.services` can record events while
`messaging.services` (the bot) calls the booking engine, without an import cycle.
"""

from datetime import UTC
from typing import Any

from django.utils import timezone

from messaging.models import NotificationEvent


def record_event(
    *, event_type: str, data: dict[str, Any], wa_id: str | None = None
) -> NotificationEvent:
    """Append a domain event to `notification_events`."""
    now = timezone.now()
    return NotificationEvent.objects.create(
        event_type=event_type,
        ts_iso=now.astimezone(UTC).isoformat(timespec="microseconds"),
        data=data,
        wa_id=wa_id,
        created_at=now,
    )
