"""The bot's short-lived conversation state."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from customers.models import Customer


class BotSession(models.Model):
    """What the bot must remember between two messages of one customer, for a short while.

    Everything else a conversation needs travels in the button and row ids; this row holds only
    what a typed message cannot carry: the reservation being moved, the visit type (or the
    service and who) chosen, and how many texts in a row the bot could not place. It lives in
    the database, never in a process.
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
    booking_service_id = models.IntegerField(_("service chosen"), null=True, blank=True)
    booking_resource_id = models.IntegerField(
        _("resource chosen"), null=True, blank=True, help_text=_("Empty: anyone who can.")
    )
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
        self.booking_service_id = None
        self.booking_resource_id = None
        self.unplaced_texts = 0


# ============================================================================ automated messaging


class BotDailyCount(models.Model):
    """A per-day counter: how texts were placed (the dashboard) and the model's requests (its
    daily budget, shared by every worker). One row per clinic day and kind."""

    class Kind(models.TextChoices):
        RULES = "rules", _("placed by the rules")
        MODEL = "model", _("placed by the language model")
        FAQ = "faq", _("answered from the FAQ")
        STAFF = "staff", _("handed to staff")
        NOT_UNDERSTOOD = "not_understood", _("not understood")
        MODEL_REQUEST = "model_request", _("requests to the language model")
        MODEL_FAILED = "model_failed", _("language model failures")

    day = models.DateField(_("day"))
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    count = models.PositiveIntegerField(_("count"), default=0)

    class Meta:
        db_table = "bot_daily_counts"
        verbose_name = _("daily bot count")
        verbose_name_plural = _("daily bot counts")
        constraints = [
            models.UniqueConstraint(fields=["day", "kind"], name="uq_bot_daily_counts_day_kind")
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.kind}: {self.count}"
