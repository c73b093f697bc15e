"""The automated-messaging switch, reminders, and vacation notices and notifications."""

from datetime import date, datetime, time
from typing import Any

from django.db import models
from django.db.models.functions import Now
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from config.db import Index
from customers.models import Customer
from messaging.models.conversation import Conversation


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
    # Deleting the vacation keeps the notice (the customer was told; staff may need to say the
    # clinic opens after all), with the vacation's dates copied below.
    vacation = models.ForeignKey(
        "reservations.VacationPeriod",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("vacation"),
    )
    vacation_start = models.DateField(_("vacation's first day"))
    vacation_end = models.DateField(_("vacation's last day"), null=True, blank=True)
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

    def save(self, *args: Any, **kwargs: Any) -> None:
        _copy_vacation_dates(self)
        super().save(*args, **kwargs)


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
    # Deleting the vacation keeps the notification (the message went), with its dates copied.
    vacation = models.ForeignKey(
        "reservations.VacationPeriod",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("vacation"),
    )
    vacation_start = models.DateField(_("vacation's first day"))
    vacation_end = models.DateField(_("vacation's last day"), null=True, blank=True)
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
        return f"{self.reservation_id} / {self.vacation_start:%Y-%m-%d}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        _copy_vacation_dates(self)
        super().save(*args, **kwargs)


def _copy_vacation_dates(row: VacationNotice | VacationNotification) -> None:
    """Keep the vacation's dates on the row, so that it still says which days it was about once
    the vacation is deleted."""
    if row.vacation is not None and row._state.adding:
        row.vacation_start = row.vacation.start_date
        row.vacation_end = row.vacation.end_date
