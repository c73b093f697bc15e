"""Messaging workflows: the inbound queue, events and (later) the bot."""

import logging
from collections.abc import Iterable
from datetime import UTC
from typing import Any

from django.db import transaction
from django.utils import timezone

from messaging.models import InboundMessage, NotificationEvent

logger = logging.getLogger(__name__)


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


@transaction.atomic
def retry_inbound_messages(*, ids: Iterable[int]) -> int:
    """Put failed (or stuck) queue rows back to pending, due now; return how many moved."""
    count = (
        InboundMessage.objects.filter(id__in=list(ids))
        .exclude(status=InboundMessage.Status.DONE)
        .update(
            status=InboundMessage.Status.PENDING,
            next_attempt_at=None,
            locked_at=None,
            updated_at=timezone.now(),
        )
    )
    logger.info("re-queued %d inbound messages", count)
    return count
