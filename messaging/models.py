from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.db import models
from django.db.models.functions import Coalesce, Now
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from config.db import Index
from customers.models import Customer


class ConversationQuerySet(models.QuerySet["Conversation"]):
    def for_customer(self, wa_id: str) -> "ConversationQuerySet":
        return self.filter(customer_id=wa_id)

    def inbound(self) -> "ConversationQuerySet":
        return self.filter(role=Conversation.Role.USER)

    def outbound(self) -> "ConversationQuerySet":
        return self.exclude(role=Conversation.Role.USER)

    def failed(self) -> "ConversationQuerySet":
        return self.filter(status=Conversation.Status.FAILED)


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


class InboundMessageQuerySet(models.QuerySet["InboundMessage"]):
    def pending(self) -> "InboundMessageQuerySet":
        return self.filter(status=InboundMessage.Status.PENDING)

    def failed(self) -> "InboundMessageQuerySet":
        return self.filter(status=InboundMessage.Status.FAILED)

    def due(self, now: datetime | None = None) -> "InboundMessageQuerySet":
        """Pending rows whose back-off has elapsed."""
        now = now or timezone.now()
        return self.pending().filter(
            models.Q(next_attempt_at__isnull=True) | models.Q(next_attempt_at__lte=now)
        )

    def stale_claims(self, older_than: timedelta) -> "InboundMessageQuerySet":
        """Rows a worker claimed and never finished (the worker died or hung)."""
        return self.filter(
            status=InboundMessage.Status.PROCESSING, locked_at__lt=timezone.now() - older_than
        )


class InboundMessage(models.Model):
    """The durable queue between the webhook and the workers: one row per inbound message."""

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        PROCESSING = "processing", _("processing")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")

    id = models.AutoField(primary_key=True)
    message_id = models.TextField(_("WhatsApp message id"), null=True, blank=True)
    wa_id = models.TextField(_("sender"), null=True, blank=True)
    payload = models.TextField(_("payload (raw JSON)"))
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=Status.choices,
        default=Status.PENDING,
        db_default=Status.PENDING,
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0, db_default=0)
    created_at = models.DateTimeField(_("received"), default=timezone.now, db_default=Now())
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    locked_at = models.DateTimeField(_("claimed at"), null=True, blank=True)
    # Beyond the original schema.
    last_error = models.TextField(_("last error"), null=True, blank=True)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    processed_at = models.DateTimeField(_("processed"), null=True, blank=True)
    # When the customer sent it (WhatsApp's timestamp): one customer's messages are handled in
    # this order, whatever order the webhooks arrived in.
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    objects = InboundMessageQuerySet.as_manager()

    class Meta:
        db_table = "inbound_message_queue"
        verbose_name = _("inbound message")
        verbose_name_plural = _("inbound message queue")
        ordering = ["-created_at", "-id"]
        indexes = [
            Index(fields=["wa_id"], name="idx_inbound_queue_wa_id"),
            Index(fields=["created_at"], name="idx_inbound_queue_created_at"),
            Index(fields=["locked_at"], name="idx_inbound_queue_locked_at"),
            Index(fields=["status", "created_at"], name="idx_inbound_queue_status_created"),
            Index(
                fields=["wa_id", "status", "sent_at"], name="idx_inbound_queue_wa_id_status_sent"
            ),
            # The claim walks pending rows in send order and stops at the first free one:
            # 0.1 ms instead of a hash anti-join over every pending row (4-7 ms at 6,000).
            Index(
                Coalesce("sent_at", "created_at"),
                "id",
                condition=models.Q(status="pending"),
                name="idx_inbound_queue_pending_order",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["message_id"],
                condition=models.Q(message_id__isnull=False),
                name="uq_inbound_message_queue_message_id_not_null",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=["pending", "processing", "done", "failed"]),
                name="ck_inbound_message_queue_status",
            ),
            models.CheckConstraint(
                condition=models.Q(attempts__gte=0), name="ck_inbound_message_queue_attempts"
            ),
        ]

    def __str__(self) -> str:
        return self.message_id or f"inbound #{self.pk}"


class StatusUpdateQuerySet(models.QuerySet["StatusUpdate"]):
    def unapplied(self) -> "StatusUpdateQuerySet":
        return self.filter(applied_at__isnull=True)


class StatusUpdate(models.Model):
    """A delivery status from a webhook, stored before it is applied to its outbound message.

    A status may arrive before the send that caused it has recorded its WhatsApp id; it then
    waits here (unapplied) until the sender or the sweep applies it.
    """

    id = models.BigAutoField(primary_key=True)
    wa_message_id = models.TextField(_("WhatsApp message id"))
    status = models.CharField(_("status"), max_length=16)
    occurred_at = models.DateTimeField(_("occurred"), null=True, blank=True)
    recipient_id = models.TextField(_("recipient"), null=True, blank=True)
    error_code = models.IntegerField(_("error code"), null=True, blank=True)
    error_message = models.TextField(_("error"), null=True, blank=True)
    payload = models.TextField(_("payload (raw JSON)"))
    created_at = models.DateTimeField(_("received"), default=timezone.now, db_default=Now())
    applied_at = models.DateTimeField(_("applied"), null=True, blank=True)

    objects = StatusUpdateQuerySet.as_manager()

    class Meta:
        db_table = "whatsapp_status_updates"
        verbose_name = _("delivery status")
        verbose_name_plural = _("delivery statuses")
        ordering = ["-created_at", "-id"]
        indexes = [
            Index(
                fields=["created_at"],
                condition=models.Q(applied_at__isnull=True),
                name="idx_whatsapp_status_updates_unapplied",
            ),
        ]
        constraints = [
            # A redelivered status is stored once.
            models.UniqueConstraint(
                fields=["wa_message_id", "status"], name="uq_whatsapp_status_updates_id_status"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.status} {self.wa_message_id}"


class SendRate(models.Model):
    """Messages sent per wall-clock second: a rate limit shared by every process and machine."""

    second = models.BigIntegerField(_("Unix second"), primary_key=True)
    sent = models.PositiveIntegerField(_("messages sent"), default=0)

    class Meta:
        db_table = "whatsapp_send_rate"
        verbose_name = _("send rate")
        verbose_name_plural = _("send rate")

    def __str__(self) -> str:
        return f"{self.second}: {self.sent}"


class SandboxMessage(models.Model):
    """What the WhatsApp sandbox saw: the customer's messages and the bot's, with ticks."""

    class Direction(models.TextChoices):
        FROM_CUSTOMER = "in", _("from the customer")
        TO_CUSTOMER = "out", _("to the customer")

    id = models.BigAutoField(primary_key=True)
    direction = models.CharField(_("direction"), max_length=3, choices=Direction.choices)
    wa_id = models.TextField(_("customer number"))
    wa_message_id = models.TextField(_("WhatsApp message id"), unique=True)
    body = models.JSONField(_("body"))
    status = models.CharField(_("status"), max_length=16, default="sent")
    webhook_url = models.TextField(_("webhook URL"), blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        db_table = "sandbox_messages"
        verbose_name = _("sandbox message")
        verbose_name_plural = _("sandbox messages")
        ordering = ["created_at", "id"]
        indexes = [Index(fields=["wa_id", "created_at"], name="idx_sandbox_messages_wa_id")]

    def __str__(self) -> str:
        return f"{self.direction} {self.wa_id} {self.wa_message_id}"


class BotSession(models.Model):
    """What the bot must remember between two messages of one customer, for a short while.

    Everything else a conversation needs travels in the button and row ids; this row holds only
    what a typed message cannot carry: the reservation being moved, the visit type chosen, and how
    many texts in a row the bot could not place. It lives in the database, never in a process.
    """

    customer = models.OneToOneField(
        Customer,
        on_delete=models.CASCADE,
        primary_key=True,
        db_column="wa_id",
        related_name="bot_session",
        verbose_name=_("customer"),
    )
    moving_reservation_id = models.IntegerField(_("reservation being moved"), null=True, blank=True)
    booking_type = models.IntegerField(_("type of visit chosen"), null=True, blank=True)
    unplaced_texts = models.PositiveSmallIntegerField(_("texts not understood in a row"), default=0)
    expires_at = models.DateTimeField(_("expires"))
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        db_table = "bot_sessions"
        verbose_name = _("bot session")
        verbose_name_plural = _("bot sessions")

    def __str__(self) -> str:
        return f"{self.customer_id} until {self.expires_at:%Y-%m-%d %H:%M}"

    @property
    def is_live(self) -> bool:
        return self.expires_at > timezone.now()

    def forget(self) -> None:
        """Start over (in memory; the caller saves)."""
        self.moving_reservation_id = None
        self.booking_type = None
        self.unplaced_texts = 0


# ============================================================================ automated messaging
class MessagingSettings(models.Model):
    """The one row of messaging-wide switches staff change at run time (id is always 1)."""

    SINGLETON_ID = 1

    id = models.PositiveSmallIntegerField(primary_key=True, default=SINGLETON_ID, editable=False)
    automated_paused = models.BooleanField(
        _("automated messaging paused"),
        default=False,
        help_text=_("While on, no reminder is sent; due ones wait, or are dropped once too late."),
    )
    paused_reason = models.TextField(_("reason"), blank=True)
    changed_by = models.TextField(_("changed by"), blank=True)
    changed_at = models.DateTimeField(_("changed"), null=True, blank=True)

    class Meta:
        db_table = "messaging_settings"
        verbose_name = _("messaging settings")
        verbose_name_plural = _("messaging settings")
        constraints = [
            models.CheckConstraint(condition=models.Q(id=1), name="ck_messaging_settings_singleton")
        ]

    def __str__(self) -> str:
        if self.automated_paused:
            return str(_("Automated messaging paused"))
        return str(_("Automated messaging on"))

    @classmethod
    def load(cls) -> "MessagingSettings":
        return cls.objects.get_or_create(id=cls.SINGLETON_ID)[0]


class ReminderQuerySet(models.QuerySet["Reminder"]):
    def planned(self) -> "ReminderQuerySet":
        return self.filter(status=Reminder.Status.PLANNED)

    def due(self, now: datetime) -> "ReminderQuerySet":
        """Planned reminders whose time has come and that no worker holds or defers."""
        return self.planned().filter(
            models.Q(due_at__lte=now)
            & (models.Q(next_attempt_at__isnull=True) | models.Q(next_attempt_at__lte=now))
        )


class Reminder(models.Model):
    """One reminder of one reservation: planned, then sent, skipped (with a reason) or failed."""

    class Kind(models.TextChoices):
        DAY_BEFORE = "day_before", _("the day before")
        HOURS_BEFORE = "hours_before", _("hours before")

    class Status(models.TextChoices):
        PLANNED = "planned", _("planned")
        SENT = "sent", _("sent")
        SKIPPED = "skipped", _("skipped")
        FAILED = "failed", _("failed")
        CANCELLED = "cancelled", _("cancelled")

    id = models.BigAutoField(primary_key=True)
    reservation = models.ForeignKey(
        "reservations.Reservation",
        on_delete=models.CASCADE,
        db_index=False,  # the unique constraint's index serves lookups by reservation
        related_name="reminders",
        verbose_name=_("reservation"),
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    # The slot the reminder was planned for: a move makes it differ, and the row is planned again.
    slot_date = models.DateField(_("appointment day"))
    slot_time = models.TimeField(_("appointment time"))
    due_at = models.DateTimeField(_("due"))
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.PLANNED
    )
    reason = models.TextField(_("reason"), blank=True)
    attempts = models.PositiveIntegerField(_("send attempts"), default=0)
    # A worker's claim, a back-off or a wait (quiet hours, vacation, pause) until this moment.
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    conversation = models.ForeignKey(
        Conversation,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("message sent"),
    )
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    confirmed_at = models.DateTimeField(_("confirmed by the customer"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_default=Now())
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = ReminderQuerySet.as_manager()

    class Meta:
        db_table = "reminders"
        verbose_name = _("reminder")
        verbose_name_plural = _("reminders")
        constraints = [
            models.UniqueConstraint(
                fields=["reservation", "kind"], name="uq_reminders_reservation_kind"
            ),
            models.CheckConstraint(
                condition=models.Q(kind__in=["day_before", "hours_before"]),
                name="ck_reminders_kind",
            ),
            models.CheckConstraint(
                condition=models.Q(
                    status__in=["planned", "sent", "skipped", "failed", "cancelled"]
                ),
                name="ck_reminders_status",
            ),
        ]
        indexes = [Index(fields=["status", "due_at"], name="idx_reminders_status_due")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.reservation_id} ({self.status})"

    def matches_slot(self, day: date, at: time) -> bool:
        return (self.slot_date, self.slot_time) == (day, at)


class VacationNotice(models.Model):
    """A vacation notice a customer got for writing during a vacation (once per vacation or day)."""

    id = models.BigAutoField(primary_key=True)
    customer = models.ForeignKey(
        Customer,
        on_delete=models.CASCADE,
        db_column="wa_id",
        db_index=False,  # the unique constraint's index leads with the customer
        related_name="+",
        verbose_name=_("customer"),
    )
    vacation = models.ForeignKey(
        "reservations.VacationPeriod",
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("vacation"),
    )
    # The vacation's first day when the notice goes once per vacation, else the day it went.
    day = models.DateField(_("day"))
    created_at = models.DateTimeField(_("sent"), default=timezone.now, db_default=Now())

    class Meta:
        db_table = "vacation_notices"
        verbose_name = _("vacation notice")
        verbose_name_plural = _("vacation notices")
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "vacation", "day"], name="uq_vacation_notices_customer_day"
            )
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.day:%Y-%m-%d}"


class VacationNotification(models.Model):
    """Staff told the customer of an active reservation that a vacation falls on it (once)."""

    id = models.BigAutoField(primary_key=True)
    reservation = models.ForeignKey(
        "reservations.Reservation",
        on_delete=models.CASCADE,
        db_index=False,  # the unique constraint's index leads with the reservation
        related_name="+",
        verbose_name=_("reservation"),
    )
    vacation = models.ForeignKey(
        "reservations.VacationPeriod",
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("vacation"),
    )
    conversation = models.ForeignKey(
        Conversation,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("message"),
    )
    created_by = models.TextField(_("sent by"), blank=True)
    created_at = models.DateTimeField(_("sent"), default=timezone.now, db_default=Now())

    class Meta:
        db_table = "vacation_notifications"
        verbose_name = _("vacation notification")
        verbose_name_plural = _("vacation notifications")
        constraints = [
            models.UniqueConstraint(
                fields=["reservation", "vacation"], name="uq_vacation_notifications_reservation"
            )
        ]

    def __str__(self) -> str:
        return f"{self.reservation_id} / {self.vacation_id}"
