"""What the sandbox's fake Graph API received (development only)."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from config.db import Index


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
