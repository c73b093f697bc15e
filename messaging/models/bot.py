"""The bot's short-lived conversation state."""

import secrets
from datetime import date
from typing import Any

from django.db import connection, models
from django.db.models import Sum
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


class BotDailyCountQuerySet(models.QuerySet["BotDailyCount"]):
    def add_one(self, *, day: date, kind: str) -> None:
        """Count one, in one statement, on one of the day's SHARDS rows picked at random.

        Every handled text is counted inside the transaction that records it, which holds the
        counted row's lock until it commits: with one row a day, every worker counting a text
        waited for the others' transactions (seen in pg_stat_activity under bench/soak.py's
        load). Readers add the shards up (`totals`).
        """
        table = self.model._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} (day, kind, shard, count) VALUES (%s, %s, %s, 1) "  # noqa: S608
                f"ON CONFLICT (day, kind, shard) DO UPDATE SET count = {table}.count + 1",
                [day, kind, secrets.randbelow(BotDailyCount.SHARDS)],
            )

    def totals(self) -> "models.QuerySet[BotDailyCount, dict[str, Any]]":
        """{"day", "kind", "total"} rows: each day's kinds with their shards added up."""
        return self.values("day", "kind").annotate(total=Sum("count")).order_by()


class BotDailyCount(models.Model):
    """A per-day counter: how texts were placed (the dashboard) and the model's requests (its
    daily budget, shared by every worker). Per clinic day and kind, a texts count is spread over
    up to SHARDS rows (so concurrent workers rarely wait on one another's row lock), while the
    budget is one row (shard 0), whose conditional update decides who may ask."""

    SHARDS = 16

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
    shard = models.PositiveSmallIntegerField(_("shard"), default=0)
    count = models.PositiveIntegerField(_("count"), default=0)

    objects = BotDailyCountQuerySet.as_manager()

    class Meta:
        db_table = "bot_daily_counts"
        verbose_name = _("daily bot count")
        verbose_name_plural = _("daily bot counts")
        constraints = [
            models.UniqueConstraint(
                fields=["day", "kind", "shard"], name="uq_bot_daily_counts_day_kind_shard"
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.kind}: {self.count}"
