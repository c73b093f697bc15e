"""The transcript and outbox (`conversation`) and domain events (`notification_events`)."""

from datetime import UTC, datetime
from typing import Any

from django.db import models
from django.db.models.functions import Now
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from config.db import Index
from customers.models import Customer

# What staff read for each WhatsApp message type (the column keeps Meta's name).
MESSAGE_TYPE_LABELS = {
    "text": _("text"),
    "image": _("image"),
    "video": _("video"),
    "audio": _("audio"),
    "document": _("document"),
    "sticker": _("sticker"),
    "location": _("location"),
    "contacts": _("contact card"),
    "interactive": _("buttons or list"),
    "button": _("quick reply"),
    "order": _("order"),
    "reaction": _("reaction"),
    "template": _("template"),
    "system": _("system notice"),
    "unsupported": _("unsupported message"),
    "unknown": _("unknown type"),
}

# What staff read for each notification event type (the column keeps the stable name).
EVENT_LABELS = {
    "reservation_created": _("Reservation booked"),
    "reservation_updated": _("Reservation changed"),
    "reservation_cancelled": _("Reservation cancelled"),
    "reservation_reinstated": _("Cancelled reservation booked again"),
    "reservation_attendance": _("Attendance marked"),
    "reservation_confirmed": _("Customer confirmed"),
    "message_received": _("Message received"),
    "message_sent": _("Message sent"),
    "message_failed": _("Message failed"),
    "whatsapp_error": _("WhatsApp error"),
    "handoff_requested": _("Hand-off to staff"),
    "staff_replied": _("Staff replied"),
    "bot_paused": _("Bot paused"),
    "bot_resumed": _("Bot resumed"),
    "customer_blocked": _("Customer blocked"),
    "customer_unblocked": _("Customer unblocked"),
    "customer_erased": _("Customer erased"),
    "reminder_planned": _("Reminder planned"),
    "reminder_sent": _("Reminder sent"),
    "reminder_skipped": _("Reminder skipped"),
    "reminder_failed": _("Reminder failed"),
    "vacation_created": _("Vacation added"),
    "vacation_updated": _("Vacation changed"),
    "vacation_deleted": _("Vacation deleted"),
    "vacation_notice_sent": _("Vacation notice sent"),
    "vacation_customers_notified": _("Customers told of a vacation"),
    "automated_messaging_paused": _("Automated messages paused"),
    "automated_messaging_resumed": _("Automated messages resumed"),
}


class ConversationQuerySet(models.QuerySet["Conversation"]):
    def for_customer(self, wa_id: str) -> "ConversationQuerySet":
        return self.filter(customer_id=wa_id)

    def inbound(self) -> "ConversationQuerySet":
        return self.filter(role=Conversation.Role.USER)

    def outbound(self) -> "ConversationQuerySet":
        return self.exclude(role=Conversation.Role.USER)

    def failed(self) -> "ConversationQuerySet":
        return self.filter(status=Conversation.Status.FAILED)

    @staticmethod
    def retrying_q() -> models.Q:
        return models.Q(status=Conversation.Status.QUEUED, error_message__isnull=False)

    def retrying(self) -> "ConversationQuerySet":
        """Outbound messages still queued after a send failed in a way a retry may fix."""
        return self.filter(self.retrying_q())

    def send_errors(self) -> "ConversationQuerySet":
        """Outbound messages whose last send failed: being retried, or failed for good."""
        return self.filter(
            status__in=[Conversation.Status.QUEUED, Conversation.Status.FAILED],
            error_message__isnull=False,
        )


class Conversation(models.Model):
    """One message in either direction: the transcript, and for outbound messages the outbox."""

    class Role(models.TextChoices):
        USER = "user", _("customer")
        ASSISTANT = "assistant", _("bot")
        SECRETARY = "secretary", _("staff")
        SYSTEM = "system", _("system")

    class Status(models.TextChoices):
        """Delivery status; outbound rows only move forward through it (failed aside)."""

        RECEIVED = "received", _("received")
        QUEUED = "queued", _("queued")
        SENT = "sent", _("sent")
        DELIVERED = "delivered", _("delivered")
        READ = "read", _("read")
        FAILED = "failed", _("failed")

    id = models.AutoField(primary_key=True)
    customer = models.ForeignKey(
        Customer,
        on_delete=models.CASCADE,
        db_column="wa_id",
        db_index=False,  # idx_conversation_wa_id below, under the schema's name
        related_name="messages",
        verbose_name=_("customer"),
    )
    role = models.CharField(_("role"), max_length=16, choices=Role.choices)
    message = models.TextField(_("message"), blank=True)
    date = models.DateField(_("date"), help_text=_("Clinic-local date."))
    time = models.TimeField(_("time"), help_text=_("Clinic-local time."))
    # Beyond the original schema.
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_default=Now())
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    wa_message_id = models.TextField(_("WhatsApp message id"), null=True, blank=True)
    message_type = models.CharField(_("message type"), max_length=32, default="text")
    status = models.CharField(
        _("delivery status"), max_length=16, choices=Status.choices, default=Status.QUEUED
    )
    status_at = models.DateTimeField(_("status changed"), null=True, blank=True)
    error_code = models.IntegerField(_("error code"), null=True, blank=True)
    error_message = models.TextField(_("error"), null=True, blank=True)
    # The Graph API request body of an outbound message, kept so it can be sent (again).
    payload = models.JSONField(_("payload"), null=True, blank=True)
    # Makes a send idempotent: a retry of the same work finds the row instead of sending twice.
    idempotency_key = models.TextField(_("idempotency key"), null=True, blank=True)
    attempts = models.PositiveIntegerField(_("send attempts"), default=0)

    objects = ConversationQuerySet.as_manager()

    class Meta:
        db_table = "conversation"
        verbose_name = _("message")
        verbose_name_plural = _("conversation messages")
        ordering = ["-created_at", "-id"]
        permissions = [
            ("use_inbox", _("Can read and answer customers in the staff inbox")),
            ("use_sandbox", _("Can use the WhatsApp sandbox")),
        ]
        indexes = [
            Index(fields=["customer"], name="idx_conversation_wa_id"),
            Index(fields=["customer", "date", "time"], name="idx_conversation_wa_id_date_time"),
            Index(fields=["customer", "-created_at"], name="idx_conversation_wa_id_created"),
            Index(fields=["-created_at"], name="idx_conversation_created_at"),
            Index(
                fields=["status"],
                condition=models.Q(status__in=["queued", "failed"]),
                name="idx_conversation_open_status",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(role__in=["user", "assistant", "secretary", "system"]),
                name="ck_conversation_role",
            ),
            models.CheckConstraint(
                condition=models.Q(
                    status__in=["received", "queued", "sent", "delivered", "read", "failed"]
                ),
                name="ck_conversation_status",
            ),
            models.UniqueConstraint(
                fields=["wa_message_id"],
                condition=models.Q(wa_message_id__isnull=False),
                name="uq_conversation_wa_message_id_not_null",
            ),
            models.UniqueConstraint(
                fields=["idempotency_key"],
                condition=models.Q(idempotency_key__isnull=False),
                name="uq_conversation_idempotency_key_not_null",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_role_display()} {self.customer_id} {self.date} {self.time:%H:%M}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.date is None or self.time is None:
            self.set_local_date_time(self.created_at or timezone.now())
        super().save(*args, **kwargs)

    def set_local_date_time(self, moment: datetime) -> None:
        """Fill the clinic-local `date` and `time` columns from an aware moment."""
        local = timezone.localtime(moment)
        self.date = local.date()
        self.time = local.time().replace(microsecond=0)

    @property
    def is_inbound(self) -> bool:
        return self.role == self.Role.USER

    @property
    def message_type_label(self) -> str:
        return str(MESSAGE_TYPE_LABELS.get(self.message_type, self.message_type))


class NotificationEventQuerySet(models.QuerySet["NotificationEvent"]):
    def of_type(self, *event_types: str) -> "NotificationEventQuerySet":
        return self.filter(event_type__in=event_types)

    def older_than(self, moment: datetime) -> "NotificationEventQuerySet":
        return self.filter(created_at__lt=moment)


class NotificationEvent(models.Model):
    """A domain event, kept for replay, diagnostics and the staff's event list."""

    id = models.AutoField(primary_key=True)
    event_type = models.TextField(_("event"))
    ts_iso = models.TextField(_("timestamp (UTC, ISO-8601)"))
    data = models.JSONField(_("data"), default=dict)
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_default=Now())
    # Beyond the original schema: who the event is about, for filtering (not a foreign key, so
    # that events outlive the rows they describe).
    wa_id = models.TextField(_("WhatsApp number"), null=True, blank=True)

    objects = NotificationEventQuerySet.as_manager()

    class Meta:
        db_table = "notification_events"
        verbose_name = _("event")
        verbose_name_plural = _("events")
        ordering = ["-created_at", "-id"]
        permissions = [("view_events", _("Can see the events page and the bell"))]
        indexes = [
            Index(fields=["event_type"], name="idx_notification_events_type"),
            Index(fields=["ts_iso"], name="idx_notification_events_ts"),
            Index(fields=["event_type", "ts_iso"], name="idx_notification_events_type_ts"),
            Index(fields=["created_at"], name="idx_notification_events_created_at"),
            Index(fields=["wa_id"], name="idx_notification_events_wa_id"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.ts_iso}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self.ts_iso:
            moment = self.created_at or timezone.now()
            self.ts_iso = moment.astimezone(UTC).isoformat(timespec="microseconds")
        super().save(*args, **kwargs)

    @property
    def label(self) -> str:
        """The event's name for staff, in their language (unknown types: as stored)."""
        return str(EVENT_LABELS.get(self.event_type, self.event_type))
