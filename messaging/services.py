"""Messaging workflows: the inbound queue, events and (later) the bot."""

import logging
from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from messaging.models import InboundMessage

logger = logging.getLogger(__name__)


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
