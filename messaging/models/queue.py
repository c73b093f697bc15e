"""The durable inbound queue, stored delivery statuses and the send-rate counter."""

import hashlib
from datetime import datetime, timedelta

from django.db import models
from django.db.models.functions import Coalesce, Now
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from config.db import Index


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

    def to_sweep(self) -> "StatusUpdateQuerySet":
        """Unapplied and not set aside as unmatched: what the status task and the sweep read."""
        return self.filter(applied_at__isnull=True, unmatched_at__isnull=True)


class StatusUpdate(models.Model):
    """A delivery status from a webhook, stored before it is applied to its outbound message.

    A status may arrive before the send that caused it has recorded its WhatsApp id; it then
    waits here (unapplied) until the sender or the sweep applies it. One whose message is still
    unknown when it is STATUS_UNMATCHED_AFTER old (the number's other apps, an erased customer, a
    send whose worker died before recording Meta's id) is marked `unmatched_at` by the sweep and
    not read by sweeps again, so they cost the sweep nothing as they pile up; a send that records
    its id later still applies it (`apply_status_updates(wa_message_ids=...)`).
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
    unmatched_at = models.DateTimeField(_("no message found"), null=True, blank=True)

    objects = StatusUpdateQuerySet.as_manager()

    class Meta:
        db_table = "whatsapp_status_updates"
        verbose_name = _("delivery status")
        verbose_name_plural = _("delivery statuses")
        ordering = ["-created_at", "-id"]
        indexes = [
            Index(
                fields=["created_at"],
                condition=models.Q(applied_at__isnull=True, unmatched_at__isnull=True),
                name="idx_whatsapp_status_updates_sweep",
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


class ErasedMessageId(models.Model):
    """The SHA-256 of a WhatsApp message id of an erased customer (`privacy.erase_customer`).

    A wamid carries its customer's number (base64 inside it), so the erased rows keep none; Meta
    still reports on those messages (a `read` when the customer opens the chat). A trigger on
    `whatsapp_status_updates` drops every status whose wamid hashes to a row here, so nothing
    stored later carries the number or joins back to the erased customer. The hash reveals
    neither the wamid nor the number, and no column says whose or when.
    """

    id_hash = models.CharField(_("SHA-256 of the message id"), max_length=64, primary_key=True)

    class Meta:
        db_table = "erased_message_ids"
        verbose_name = _("erased message id")
        verbose_name_plural = _("erased message ids")

    def __str__(self) -> str:
        return self.id_hash

    @staticmethod
    def hash(wa_message_id: str) -> str:
        """The hex digest the trigger computes in SQL (`sha256` / Django's SQLite SHA256)."""
        return hashlib.sha256(wa_message_id.encode()).hexdigest()


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


class TaskWakeup(models.Model):
    """A background task that was asked for and has not started yet: one row per task at most.

    A webhook wakes the worker through this row instead of queueing a django-q2 task per POST: the
    first webhook inserts the row and queues the task, the others find the row and skip. The task
    deletes the row as it starts, before it looks for work, under an advisory lock that webhooks
    hold shared until they commit (delivery.WAKEUP_LOCK): so a webhook that found the row has
    committed its rows before the run looks for them. The sweep deletes rows a lost task left.
    """

    task = models.CharField(_("task"), max_length=100, primary_key=True)
    requested_at = models.DateTimeField(_("requested"))

    class Meta:
        db_table = "task_wakeups"
        verbose_name = _("task wake-up")
        verbose_name_plural = _("task wake-ups")

    def __str__(self) -> str:
        return self.task
