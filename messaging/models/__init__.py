"""Messaging's tables, one module per concern; every model is importable from here."""

from messaging.models.bot import BotDailyCount, BotSession
from messaging.models.conversation import (
    EVENT_LABELS,
    MESSAGE_TYPE_LABELS,
    Conversation,
    ConversationQuerySet,
    NotificationEvent,
    NotificationEventQuerySet,
)
from messaging.models.faq import FaqEntry, FaqEntryQuerySet
from messaging.models.health import Heartbeat
from messaging.models.queue import (
    ErasedMessageId,
    InboundMessage,
    InboundMessageQuerySet,
    SendRate,
    StatusUpdate,
    StatusUpdateQuerySet,
    TaskWakeup,
)
from messaging.models.reminders import (
    MessagingSettings,
    Reminder,
    ReminderQuerySet,
    VacationNotice,
    VacationNotification,
)
from messaging.models.sandbox import SandboxMessage

__all__ = [
    "EVENT_LABELS",
    "MESSAGE_TYPE_LABELS",
    "BotDailyCount",
    "BotSession",
    "Conversation",
    "ConversationQuerySet",
    "ErasedMessageId",
    "FaqEntry",
    "FaqEntryQuerySet",
    "Heartbeat",
    "InboundMessage",
    "InboundMessageQuerySet",
    "MessagingSettings",
    "NotificationEvent",
    "NotificationEventQuerySet",
    "Reminder",
    "ReminderQuerySet",
    "SandboxMessage",
    "SendRate",
    "StatusUpdate",
    "StatusUpdateQuerySet",
    "TaskWakeup",
    "VacationNotice",
    "VacationNotification",
]
