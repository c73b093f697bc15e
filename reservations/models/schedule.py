"""The clinic's booking rules: opening hours per weekday (the normal week and seasons) and the
scalar rules (capacity, notice, horizon, ...), all edited by staff in the admin."""

import itertools
from datetime import date, time
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from reservations.models.reservation import Reservation


class Weekday(models.IntegerChoices):
    """Python's numbering (`date.weekday()`): Monday is 0."""

    MONDAY = 0, _("Monday")
    TUESDAY = 1, _("Tuesday")
    WEDNESDAY = 2, _("Wednesday")
    THURSDAY = 3, _("Thursday")
    FRIDAY = 4, _("Friday")
    SATURDAY = 5, _("Saturday")
    SUNDAY = 6, _("Sunday")


class BookingRulesManager(models.Manager["BookingRules"]):
    def get_solo(self) -> "BookingRules":
        """The one rules row (migration 0004 creates it), or unsaved defaults if it is gone."""
        return self.filter(pk=BookingRules.SINGLETON_ID).first() or BookingRules()


class BookingRules(models.Model):
    """The clinic's scalar booking rules: one row (a database invariant), edited in the admin."""

    class BookableUntil(models.TextChoices):
        START = "start", _("the slot starts")
        END = "end", _("the slot ends (arrival order inside the slot)")

    SINGLETON_ID = 1

    id = models.PositiveSmallIntegerField(primary_key=True, default=SINGLETON_ID, editable=False)
    capacity = models.PositiveSmallIntegerField(
        _("capacity per slot"),
        default=2,
        help_text=_("How many reservations one slot holds when customers book."),
    )
    staff_capacity = models.PositiveSmallIntegerField(
        _("staff limit per slot"),
        default=3,
        help_text=_("Staff may book above the capacity up to this limit."),
    )
    appointment_capacity = models.PositiveSmallIntegerField(
        _("appointments per slot"),
        null=True,
        blank=True,
        help_text=_("Optional limit inside the slot capacity; empty means no separate limit."),
    )
    follow_up_capacity = models.PositiveSmallIntegerField(
        _("follow-ups per slot"),
        null=True,
        blank=True,
        help_text=_("Optional limit inside the slot capacity; empty means no separate limit."),
    )
    min_notice_minutes = models.PositiveIntegerField(
        _("minimum notice (minutes)"),
        default=0,
        help_text=_("Customers cannot book a slot that starts sooner than this."),
    )
    max_horizon_days = models.PositiveSmallIntegerField(
        _("booking horizon (days)"),
        default=30,
        help_text=_("Customers can book at most this many days ahead."),
    )
    bookable_until = models.CharField(
        _("a slot can be booked until"),
        max_length=8,
        choices=BookableUntil.choices,
        default=BookableUntil.END,
    )
    max_upcoming_per_customer = models.PositiveSmallIntegerField(
        _("upcoming reservations per customer"),
        default=1,
        help_text=_("Booking beyond this offers to move an existing reservation instead."),
    )
    week_starts_on = models.IntegerField(
        _("week starts on"), choices=Weekday.choices, default=Weekday.SUNDAY
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = BookingRulesManager()

    class Meta:
        db_table = "booking_rules"
        verbose_name = _("booking rules")
        verbose_name_plural = _("booking rules")
        constraints = [
            models.CheckConstraint(condition=models.Q(id=1), name="ck_booking_rules_singleton"),
            models.CheckConstraint(
                condition=models.Q(capacity__gte=1), name="ck_booking_rules_capacity"
            ),
            models.CheckConstraint(
                condition=models.Q(staff_capacity__gte=models.F("capacity")),
                name="ck_booking_rules_staff_capacity",
            ),
            models.CheckConstraint(
                condition=models.Q(appointment_capacity__isnull=True)
                | models.Q(appointment_capacity__lte=models.F("capacity")),
                name="ck_booking_rules_appointment_capacity",
            ),
            models.CheckConstraint(
                condition=models.Q(follow_up_capacity__isnull=True)
                | models.Q(follow_up_capacity__lte=models.F("capacity")),
                name="ck_booking_rules_follow_up_capacity",
            ),
            models.CheckConstraint(
                condition=models.Q(max_horizon_days__gte=1), name="ck_booking_rules_horizon"
            ),
            models.CheckConstraint(
                condition=models.Q(max_upcoming_per_customer__gte=1),
                name="ck_booking_rules_max_upcoming",
            ),
            models.CheckConstraint(
                condition=models.Q(bookable_until__in=["start", "end"]),
                name="ck_booking_rules_bookable_until",
            ),
        ]

    def __str__(self) -> str:
        return str(_("Booking rules"))

    def clean(self) -> None:
        super().clean()
        if self.staff_capacity < self.capacity:
            raise ValidationError(
                {"staff_capacity": _("The staff limit cannot be below the capacity.")}
            )
        for field in ("appointment_capacity", "follow_up_capacity"):
            value = getattr(self, field)
            if value is not None and value > self.capacity:
                raise ValidationError({field: _("A type's limit cannot exceed the capacity.")})

    def type_capacity(self, type: int) -> int | None:
        """The customer-facing limit for one reservation type inside a slot, if any."""
        if type == Reservation.Type.APPOINTMENT:
            return self.appointment_capacity
        return self.follow_up_capacity


class WeeklyScheduleQuerySet(models.QuerySet["WeeklySchedule"]):
    def seasons(self) -> "WeeklyScheduleQuerySet":
        return self.filter(is_normal_week=False)

    def relevant_to(self, start: date, end: date) -> "WeeklyScheduleQuerySet":
        """The normal week and the seasons that overlap `start`..`end` (both included)."""
        return self.filter(
            models.Q(is_normal_week=True) | models.Q(start_date__lte=end, end_date__gte=start)
        )


class WeeklySchedule(models.Model):
    """Opening hours per weekday and a slot length: the normal week, or a season (a date range,
    e.g. Ramadan) whose hours replace the normal week inside the range."""

    id = models.AutoField(primary_key=True)
    name = models.CharField(_("name"), max_length=100)
    start_date = models.DateField(
        _("first day"), null=True, blank=True, help_text=_("Empty for the normal week.")
    )
    end_date = models.DateField(
        _("last day"), null=True, blank=True, help_text=_("Inclusive. Empty for the normal week.")
    )
    slot_minutes = models.PositiveSmallIntegerField(
        _("slot length (minutes)"), default=30, validators=[MinValueValidator(5)]
    )
    is_normal_week = models.BooleanField(_("normal week"), default=False, editable=False)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = WeeklyScheduleQuerySet.as_manager()

    class Meta:
        db_table = "weekly_schedules"
        verbose_name = _("weekly schedule")
        verbose_name_plural = _("weekly schedules")
        ordering = ["-is_normal_week", "start_date"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(
                    is_normal_week=True, start_date__isnull=True, end_date__isnull=True
                )
                | models.Q(
                    is_normal_week=False,
                    start_date__isnull=False,
                    end_date__isnull=False,
                    start_date__lte=models.F("end_date"),
                ),
                name="ck_weekly_schedules_dates",
            ),
            models.CheckConstraint(
                condition=models.Q(slot_minutes__gte=5, slot_minutes__lte=720),
                name="ck_weekly_schedules_slot_minutes",
            ),
            # One normal week. Seasons may not overlap either: an exclusion constraint on
            # PostgreSQL (migration 0003), clean() everywhere.
            models.UniqueConstraint(
                fields=["is_normal_week"],
                condition=models.Q(is_normal_week=True),
                name="uq_weekly_schedules_one_normal_week",
            ),
        ]

    def __str__(self) -> str:
        if self.is_normal_week:
            return f"{self.name}"
        return f"{self.name} ({self.start_date:%Y-%m-%d} - {self.end_date:%Y-%m-%d})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.is_normal_week = self.start_date is None and self.end_date is None
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and {"start_date", "end_date"} & set(update_fields):
            kwargs["update_fields"] = {*update_fields, "is_normal_week"}
        super().save(*args, **kwargs)

    def clean(self) -> None:
        super().clean()
        if (self.start_date is None) != (self.end_date is None):
            raise ValidationError(
                _("Give a season both its first and last day, or neither for the normal week.")
            )
        others = WeeklySchedule.objects.exclude(pk=self.pk)
        if self.start_date is None or self.end_date is None:
            if others.filter(is_normal_week=True).exists():
                raise ValidationError(_("There is already a normal week; give this one dates."))
            return
        if self.end_date < self.start_date:
            raise ValidationError({"end_date": _("The season cannot end before it starts.")})
        clash = others.seasons().filter(
            start_date__lte=self.end_date, end_date__gte=self.start_date
        )
        if clash.exists():
            raise ValidationError(
                _("This season overlaps %(other)s."), params={"other": clash.first()}
            )


class OpeningInterval(models.Model):
    """One stretch of opening hours on one weekday; a day with none is closed."""

    id = models.AutoField(primary_key=True)
    schedule = models.ForeignKey(
        WeeklySchedule,
        on_delete=models.CASCADE,
        related_name="intervals",
        verbose_name=_("schedule"),
    )
    weekday = models.IntegerField(_("weekday"), choices=Weekday.choices)
    opens = models.TimeField(_("opens"))
    closes = models.TimeField(_("closes"), help_text=_("Within the same day."))

    class Meta:
        db_table = "opening_intervals"
        verbose_name = _("opening hours")
        verbose_name_plural = _("opening hours")
        ordering = ["schedule", "weekday", "opens"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(opens__lt=models.F("closes")),
                name="ck_opening_intervals_opens_before_closes",
            ),
            models.CheckConstraint(
                condition=models.Q(weekday__gte=0, weekday__lte=6),
                name="ck_opening_intervals_weekday",
            ),
            # Overlaps are refused by an exclusion constraint on PostgreSQL (migration 0003).
            models.UniqueConstraint(
                fields=["schedule", "weekday", "opens"], name="uq_opening_intervals_start"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.opens:%H:%M}-{self.closes:%H:%M}"

    def clean(self) -> None:
        super().clean()
        if self.opens is not None and self.closes is not None and self.opens >= self.closes:
            raise ValidationError({"closes": _("Closing time must be after opening time.")})
        if self.schedule_id is None or self.opens is None or self.closes is None:
            return
        clash = (
            OpeningInterval.objects.filter(
                schedule_id=self.schedule_id,
                weekday=self.weekday,
                opens__lt=self.closes,
                closes__gt=self.opens,
            )
            .exclude(pk=self.pk)
            .first()
        )
        if clash is not None:
            raise ValidationError(_("These hours overlap %(other)s."), params={"other": clash})


def find_overlap(
    intervals: list[tuple[int, time, time]],
) -> tuple[tuple[int, time, time], tuple[int, time, time]] | None:
    """The first pair of (weekday, opens, closes) intervals that overlap, or None."""
    ordered = sorted(intervals)
    for before, after in itertools.pairwise(ordered):
        if before[0] == after[0] and after[1] < before[2]:
            return before, after
    return None
