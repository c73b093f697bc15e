"""django-q2 entry points (dotted names are stable: schedules and queued tasks refer to them).

Each takes ids or nothing, and calls one service; the database rows are the source of truth, so a
lost task loses nothing (the sweep finds the work again).
"""

from django.conf import settings
from django_q.tasks import async_task

from messaging import events, privacy, services
from messaging.models import Conversation
from messaging.monitoring import probes
from messaging.reminders.planning import plan_reminders as plan
from messaging.reminders.sending import send_reminders_within
from messaging.whatsapp import delivery, sandbox


def time_budget() -> float:
    """Seconds a long task works before leaving the rest to a fresh one: half of Q_TIMEOUT, at
    most 30. django-q2 kills a task at Q_TIMEOUT, and a worker killed mid-send sends that
    reply again: with Q_TIMEOUT=20 a fixed 30 s drain was killed in every backlog."""
    return min(30.0, settings.Q_CLUSTER["timeout"] / 2)


def drain_inbound() -> str:
    result = services.drain_inbound_queue(max_seconds=time_budget())
    if result.more:
        async_task("messaging.tasks.drain_inbound")
    return str(result)


def apply_statuses() -> int:
    return delivery.apply_new_statuses()


def send_outbound(conversation_id: int) -> None:
    conversation = Conversation.objects.filter(id=conversation_id).first()
    if conversation is not None:
        delivery.send_outbound_message(conversation=conversation)


def sweep() -> str:
    return str(services.sweep_queues())


def prune_events() -> str:
    result = events.prune_notification_events()
    if result.more:  # a backlog: carry on in a fresh task rather than one long run
        async_task("messaging.tasks.prune_events")
    return str(result)


def send_sandbox_statuses(sandbox_message_id: int, statuses: list[str] | None = None) -> int:
    return sandbox.send_statuses(
        sandbox_message_id=sandbox_message_id, statuses=statuses or ["sent", "delivered"]
    )


def plan_reminders() -> str:
    return str(plan())


def send_reminders() -> str:
    outcomes, more = send_reminders_within(max_seconds=time_budget())
    if more:  # a burst: the rest in a fresh task
        async_task("messaging.tasks.send_reminders")
    return f"{sum(o.action == 'sent' for o in outcomes)} reminders sent of {len(outcomes)} due"


def apply_retention() -> str:
    result = privacy.apply_retention(max_seconds=time_budget())
    if result.more:
        async_task("messaging.tasks.apply_retention")
    return str(result)


def heartbeat() -> str:
    return f"beat at {probes.record_heartbeat():%H:%M:%S}"
