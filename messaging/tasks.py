"""django-q2 entry points (dotted names are stable: schedules and queued tasks refer to them).

Each takes ids or nothing, and calls one service; the database rows are the source of truth, so a
lost task loses nothing (the sweep finds the work again).
"""

from django_q.tasks import async_task

from messaging import events, privacy, services
from messaging.models import Conversation
from messaging.monitoring import probes
from messaging.reminders.planning import plan_reminders as plan
from messaging.reminders.sending import send_due_reminders
from messaging.whatsapp import delivery, sandbox


def drain_inbound() -> str:
    result = services.drain_inbound_queue(max_seconds=30)  # well inside Q_TIMEOUT
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
    outcomes = send_due_reminders()
    return f"{sum(o.action == 'sent' for o in outcomes)} reminders sent of {len(outcomes)} due"


def apply_retention() -> str:
    result = privacy.apply_retention()
    if result.more:
        async_task("messaging.tasks.apply_retention")
    return str(result)


def heartbeat() -> str:
    return f"beat at {probes.record_heartbeat():%H:%M:%S}"
