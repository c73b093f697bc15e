from datetime import date, datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
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


# How long an imported row without an end lasts where no schedule says (see ends_at).
IMPORTED_MINUTES = 30


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

    def of_clinic(self) -> "ReservationQuerySet":
        """The clinic resource's, imported rows without a resource included."""
        return self.filter(models.Q(resource__is_clinic=True) | models.Q(resource__isnull=True))


class Reservation(models.Model):
    class Type(models.IntegerChoices):
        APPOINTMENT = 0, _("appointment")
        FOLLOW_UP = 1, _("follow-up")

    class Status(models.TextChoices):
        ACTIVE = "active", _("active")
        CANCELLED = "cancelled", _("cancelled")

    class Attendance(models.TextChoices):
        """What happened at the visit; kept beside `status`, which stays active/cancelled."""

        ARRIVED = "arrived", _("arrived")
        NO_SHOW = "no_show", _("no-show")

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
    attendance = models.CharField(
        _("attendance"), max_length=16, choices=Attendance.choices, null=True, blank=True
    )
    attendance_at = models.DateTimeField(_("attendance marked"), null=True, blank=True)
    # The customer said they will come (a reminder's Confirm); a move forgets it.
    confirmed_at = models.DateTimeField(_("confirmed by the customer"), null=True, blank=True)
    # Practitioners, rooms and services (issue 12): who or what is booked, for which service,
    # and until when; `time_slot` stays the start and `type` comes from the service. Django
    # always fills them (save() below); they stay NULL only on rows inserted with the original
    # schema's columns alone (an import), which count as one clinic slot of their type.
    resource = models.ForeignKey(
        "reservations.Resource",
        on_delete=models.PROTECT,
        null=True,
        db_index=False,  # idx_reservations_resource_date_status below
        related_name="reservations",
        verbose_name=_("with"),
    )
    service = models.ForeignKey(
        "reservations.Service",
        on_delete=models.PROTECT,
        null=True,
        db_index=False,  # idx_reservations_service below
        related_name="reservations",
        verbose_name=_("service"),
    )
    end_time = models.TimeField(_("until"), null=True)
    # The aware range the booking keeps its resource busy, buffers included: what capacity is
    # counted on, and (for a capacity-1 resource, `exclusive`) what the exclusion constraint of
    # migration 0008 refuses to overlap on PostgreSQL.
    blocked_from = models.DateTimeField(_("blocked from"), null=True, editable=False)
    blocked_until = models.DateTimeField(_("blocked until"), null=True, editable=False)
    exclusive = models.BooleanField(
        _("one at a time"),
        default=False,
        db_default=False,
        editable=False,
        help_text=_("Its resource took one booking at a time when it was booked."),
    )

    objects = ReservationQuerySet.as_manager()

    class Meta:
        db_table = "reservations"
        verbose_name = _("reservation")
        verbose_name_plural = _("reservations")
        ordering = ["date", "time_slot", "id"]
        permissions = [
            ("view_schedule", _("Can see the staff schedule pages and the dashboard")),
            ("export_reservations", _("Can download reservations as CSV")),
        ]
        indexes = [
            Index(fields=["customer"], name="idx_reservations_wa_id"),
            Index(fields=["date", "time_slot"], name="idx_reservations_date_time"),
            Index(fields=["status"], name="idx_reservations_status"),
            Index(fields=["customer", "status"], name="idx_reservations_wa_id_status"),
            Index(fields=["date", "time_slot", "status"], name="idx_reservations_date_time_status"),
            Index(
                fields=["resource", "date", "status"], name="idx_reservations_resource_date_status"
            ),
            Index(fields=["service"], name="idx_reservations_service"),
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
            # Attendance is unknown (both empty) or known with the moment it was marked.
            models.CheckConstraint(
                condition=(
                    models.Q(attendance__isnull=True, attendance_at__isnull=True)
                    | models.Q(attendance__in=["arrived", "no_show"], attendance_at__isnull=False)
                ),
                name="ck_reservations_attendance",
            ),
            # A customer cannot hold two active reservations in the same slot.
            models.UniqueConstraint(
                fields=["customer", "date", "time_slot"],
                condition=models.Q(status="active"),
                name="uq_reservations_active_customer_slot",
            ),
            models.CheckConstraint(
                condition=models.Q(blocked_from__lt=models.F("blocked_until"))
                | models.Q(blocked_from__isnull=True, blocked_until__isnull=True),
                name="ck_reservations_blocked_range",
            ),
            # A one-at-a-time booking always knows its resource and range (the exclusion
            # constraint of migration 0009 compares them).
            models.CheckConstraint(
                condition=models.Q(exclusive=False)
                | models.Q(resource__isnull=False, blocked_from__isnull=False),
                name="ck_reservations_exclusive_placed",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.date:%Y-%m-%d} {self.time_slot:%H:%M}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Rows made outside the booking service (imports, fixtures) get the clinic, the type's
        # default service and its length; the booking service always sets all of them.
        if self.resource_id is None or self.service_id is None:
            from reservations.models.resources import Resource, Service

            if self.resource_id is None:
                self.resource = Resource.objects.get_clinic()
            service = self.service or Service.objects.default_for(self.type)
            self.service, self.type = service, service.type
        if (
            self.end_time is None or self.blocked_from is None or self.blocked_until is None
        ) and self.service is not None:
            self.place(
                length=timedelta(minutes=self.service.duration_minutes),
                buffer_before=self.service.buffer_before_minutes,
                buffer_after=self.service.buffer_after_minutes,
            )
        if self._state.adding and not self.exclusive and self.resource is not None:
            self.exclusive = self.resource.exclusive
        super().save(*args, **kwargs)

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE

    @property
    def ends_at(self) -> datetime:
        """The service's end as an aware datetime in the clinic's zone (an imported row without
        an end: 30 minutes after its start)."""
        if self.end_time is None:
            return self.starts_at + timedelta(minutes=IMPORTED_MINUTES)
        day = self.date if self.end_time > self.time_slot else self.date + timedelta(days=1)
        return timezone.make_aware(datetime.combine(day, self.end_time))

    def place(self, *, length: timedelta, buffer_before: int, buffer_after: int) -> None:
        """Set the end and the blocked range from the start (`date`, `time_slot`)."""
        starts = self.starts_at
        ends = starts + length
        self.end_time = timezone.localtime(ends).time()
        self.blocked_from = starts - timedelta(minutes=buffer_before)
        self.blocked_until = ends + timedelta(minutes=buffer_after)

    @property
    def starts_at(self) -> datetime:
        """The slot's start as an aware datetime in the clinic's zone."""
        return timezone.make_aware(datetime.combine(self.date, self.time_slot))

    @property
    def has_started(self) -> bool:
        """Whether the appointment's time has come (attendance can be marked from then on)."""
        return self.starts_at <= timezone.now()


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

    def covers(self, day: date) -> bool:
        return self.start_date <= day and (self.end_date is None or day <= self.end_date)
