"""Domain events (`notification_events`): one function every app records through.

Kept apart from `messaging.services` so that `reservations.services` can record events while
`messaging.services` (the bot) calls the booking engine, without an import cycle.
"""

from dataclasses import dataclass
from datetime import UTC, timedelta
from typing import Any

from django.conf import settings
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


@dataclass(frozen=True)
class PruneResult:
    deleted: int
    more: bool  # older rows remain: the run stopped at its bound

    def __str__(self) -> str:
        return f"pruned {self.deleted} events" + (" (more remain)" if self.more else "")


def prune_notification_events(
    *, retention_days: int | None = None, batch_size: int = 5000, max_batches: int = 20
) -> PruneResult:
    """Delete events older than the retention period, at most `batch_size` rows per DELETE (an
    id range, each in its own transaction) and at most `max_batches` DELETEs per run, so that a
    long backlog never holds locks or bloats one transaction."""
    days = settings.NOTIFICATION_EVENTS_RETENTION_DAYS if retention_days is None else retention_days
    cutoff = timezone.now() - timedelta(days=days)
    old = NotificationEvent.objects.older_than(cutoff).order_by("id")
    deleted = 0
    for _ in range(max_batches):
        ids = list(old.values_list("id", flat=True)[:batch_size])
        if not ids:
            return PruneResult(deleted=deleted, more=False)
        # Every old row in [first, last] is one of `ids`, so this removes at most batch_size.
        count, _by_model = old.filter(id__gte=ids[0], id__lte=ids[-1]).delete()
        deleted += count
    return PruneResult(deleted=deleted, more=old.exists())
