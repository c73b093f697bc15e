import itertools
from datetime import date, datetime, time, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models.functions import Now
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from config.db import Index
from customers.models import Customer


class Source(models.TextChoices):
    """Who made a change: recorded on reservations and in notification events."""

    CUSTOMER = "customer", _("customer (WhatsApp)")
    STAFF = "staff", _("staff")
    SYSTEM = "system", _("system")


class ReservationQuerySet(models.QuerySet["Reservation"]):
    def active(self) -> "ReservationQuerySet":
        return self.filter(status=Reservation.Status.ACTIVE)

    def cancelled(self) -> "ReservationQuerySet":
        return self.filter(status=Reservation.Status.CANCELLED)

    def on(self, day: date) -> "ReservationQuerySet":
        return self.filter(date=day)

    def between(self, start: date, end: date) -> "ReservationQuerySet":
        """Reservations from `start` to `end`, both included."""
        return self.filter(date__gte=start, date__lte=end)

    def upcoming(self) -> "ReservationQuerySet":
        now = timezone.localtime()
        return self.filter(
            models.Q(date__gt=now.date()) | models.Q(date=now.date(), time_slot__gte=now.time())
        )

    def for_customer(self, wa_id: str) -> "ReservationQuerySet":
        return self.filter(customer_id=wa_id)


class Reservation(models.Model):
    class Type(models.IntegerChoices):
        APPOINTMENT = 0, _("appointment")
        FOLLOW_UP = 1, _("follow-up")

    class Status(models.TextChoices):
        ACTIVE = "active", _("active")
        CANCELLED = "cancelled", _("cancelled")

    id = models.AutoField(primary_key=True)
    customer = models.ForeignKey(
        Customer,
        on_delete=models.PROTECT,
        db_column="wa_id",
        db_index=False,  # idx_reservations_wa_id below, under the schema's name
        related_name="reservations",
        verbose_name=_("customer"),
    )
    date = models.DateField(_("date"))
    time_slot = models.TimeField(_("time"))
    type = models.IntegerField(_("type"), choices=Type.choices, default=Type.APPOINTMENT)
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=Status.choices,
        default=Status.ACTIVE,
        db_default=Status.ACTIVE,
    )
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_default=Now())
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    # Beyond the original schema: who acted, through which channel.
    source = models.CharField(
        _("booked by"), max_length=16, choices=Source.choices, default=Source.STAFF
    )
    cancelled_source = models.CharField(
        _("cancelled by"), max_length=16, choices=Source.choices, null=True, blank=True
    )

    objects = ReservationQuerySet.as_manager()

    class Meta:
        db_table = "reservations"
        verbose_name = _("reservation")
        verbose_name_plural = _("reservations")
        ordering = ["date", "time_slot", "id"]
        indexes = [
            Index(fields=["customer"], name="idx_reservations_wa_id"),
            Index(fields=["date", "time_slot"], name="idx_reservations_date_time"),
            Index(fields=["status"], name="idx_reservations_status"),
            Index(fields=["customer", "status"], name="idx_reservations_wa_id_status"),
            Index(fields=["date", "time_slot", "status"], name="idx_reservations_date_time_status"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(type__in=[0, 1]), name="ck_reservations_type"
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=["active", "cancelled"]),
                name="ck_reservations_status",
            ),
            models.CheckConstraint(
                condition=(
                    models.Q(status="active", cancelled_at__isnull=True)
                    | models.Q(status="cancelled", cancelled_at__isnull=False)
                ),
                name="ck_reservations_cancelled_at",
            ),
            # A customer cannot hold two active reservations in the same slot.
            models.UniqueConstraint(
                fields=["customer", "date", "time_slot"],
                condition=models.Q(status="active"),
                name="uq_reservations_active_customer_slot",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.date:%Y-%m-%d} {self.time_slot:%H:%M}"

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE

    @property
    def starts_at(self) -> datetime:
        """The slot's start as an aware datetime in the clinic's zone."""
        return timezone.make_aware(datetime.combine(self.date, self.time_slot))


class VacationPeriodQuerySet(models.QuerySet["VacationPeriod"]):
    def covering(self, day: date) -> "VacationPeriodQuerySet":
        """Vacations that close the clinic on `day` (open-ended ones included)."""
        return self.filter(start_date__lte=day).filter(
            models.Q(end_date__isnull=True) | models.Q(end_date__gte=day)
        )

    def overlapping(self, start: date, end: date) -> "VacationPeriodQuerySet":
        return self.filter(start_date__lte=end).filter(
            models.Q(end_date__isnull=True) | models.Q(end_date__gte=start)
        )


class VacationPeriod(models.Model):
    id = models.AutoField(primary_key=True)
    start_date = models.DateField(_("first closed day"))
    end_date = models.DateField(
        _("last closed day"),
        null=True,
        blank=True,
        help_text=_("Inclusive. Leave empty for an open-ended vacation."),
    )
    duration_days = models.IntegerField(
        _("days"), null=True, blank=True, editable=False, help_text=_("Derived from the dates.")
    )
    title = models.TextField(_("title"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_default=Now())
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = VacationPeriodQuerySet.as_manager()

    class Meta:
        db_table = "vacation_periods"
        verbose_name = _("vacation period")
        verbose_name_plural = _("vacation periods")
        ordering = ["-start_date"]
        indexes = [
            Index(fields=["start_date"], name="idx_vacations_start"),
            Index(fields=["end_date"], name="idx_vacations_end"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end_date__isnull=True)
                | models.Q(start_date__lte=models.F("end_date")),
                name="ck_vacations_start_before_end",
            ),
            models.CheckConstraint(
                condition=models.Q(duration_days__isnull=True) | models.Q(duration_days__gte=1),
                name="ck_vacations_duration_days",
            ),
        ]

    def __str__(self) -> str:
        end = f"{self.end_date:%Y-%m-%d}" if self.end_date else _("open-ended")
        label = f"{self.start_date:%Y-%m-%d} - {end}"
        return f"{self.title} ({label})" if self.title else label

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.duration_days = (
            (self.end_date - self.start_date).days + 1
            if self.end_date and self.start_date
            else None
        )
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and {"start_date", "end_date"} & set(update_fields):
            kwargs["update_fields"] = {*update_fields, "duration_days"}
        super().save(*args, **kwargs)

    def clean(self) -> None:
        super().clean()
        if self.end_date and self.start_date and self.end_date < self.start_date:
            raise ValidationError({"end_date": _("The vacation cannot end before it starts.")})

    @property
    def reopens_on(self) -> date | None:
        """The first day after the vacation, or None while it is open-ended."""
        return self.end_date + timedelta(days=1) if self.end_date else None

    def covers(self, day: date) -> bool:
        return self.start_date <= day and (self.end_date is None or day <= self.end_date)


# ---------------------------------------------------------------------------- business rules


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

    def covers(self, day: date) -> bool:
        if self.is_normal_week or self.start_date is None or self.end_date is None:
            return True
        return self.start_date <= day <= self.end_date


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
