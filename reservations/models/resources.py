"""Practitioners, rooms and equipment (resources), the services they deliver, and each
resource's own weekly hours and exceptions. Tables and names follow `shared/docs/schema.md`
("Practitioners, rooms and services").

A resource without weekly hours of its own works whenever the clinic is open; the clinic's
opening hours and vacations bound every resource. The upgrade migration turns the clinic as it
was into one resource (`is_clinic`: capacity, staff limit and per-type limits come from the
booking rules) and two services that last one clinic slot.
"""

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models.functions import Now
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from config.db import Index
from reservations.models.reservation import Reservation
from reservations.models.schedule import BookingRules, Weekday, WeeklySchedule, find_overlap


def _local_name(name: str, name_ar: str, language: str | None) -> str:
    language = language or translation.get_language() or "en"
    return name_ar if language.startswith("ar") and name_ar else name


class ResourceQuerySet(models.QuerySet["Resource"]):
    def active(self) -> "ResourceQuerySet":
        return self.filter(is_active=True)


class ResourceManager(models.Manager["Resource"]):
    def get_queryset(self) -> ResourceQuerySet:
        return ResourceQuerySet(self.model, using=self._db)

    def active(self) -> ResourceQuerySet:
        return self.get_queryset().active()

    def get_clinic(self) -> "Resource":
        """The clinic itself as a resource (created if missing, e.g. on a flushed database)."""
        clinic = self.filter(is_clinic=True).first()
        if clinic is not None:
            return clinic
        clinic, _created = self.get_or_create(
            is_clinic=True,
            defaults={
                "name": "Clinic",
                "name_ar": "العيادة",
                "resource_type": Resource.Type.PRACTITIONER,
                "capacity": BookingRules.objects.get_solo().capacity,
            },
        )
        return clinic


class Resource(models.Model):
    """Someone or something a service is booked with: Dr Sara, the X-ray room."""

    class Type(models.TextChoices):
        PRACTITIONER = "practitioner", _("practitioner")
        ROOM = "room", _("room")
        EQUIPMENT = "equipment", _("equipment")

    id = models.AutoField(primary_key=True)
    name = models.CharField(_("name"), max_length=200, help_text=_("As customers see it."))
    name_ar = models.CharField(_("Arabic name"), max_length=200, blank=True, default="")
    resource_type = models.CharField(_("kind"), max_length=16, choices=Type.choices)
    capacity = models.PositiveSmallIntegerField(
        _("capacity"),
        default=1,
        help_text=_("People served at once: 1 for a person, more for a group room."),
    )
    is_active = models.BooleanField(
        _("active"), default=True, help_text=_("Inactive resources take no new bookings.")
    )
    is_clinic = models.BooleanField(
        _("the clinic itself"),
        default=False,
        editable=False,
        help_text=_("Its capacity and limits per slot come from the booking rules."),
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_default=Now())
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = ResourceManager()

    class Meta:
        db_table = "resources"
        verbose_name = _("resource")
        verbose_name_plural = _("resources")
        ordering = ["name", "id"]
        indexes = [
            Index(fields=["resource_type", "is_active"], name="idx_resources_type_active"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(resource_type__in=["practitioner", "room", "equipment"]),
                name="ck_resources_type",
            ),
            models.CheckConstraint(
                condition=models.Q(capacity__gte=1), name="ck_resources_capacity"
            ),
            models.UniqueConstraint(
                fields=["is_clinic"],
                condition=models.Q(is_clinic=True),
                name="uq_resources_one_clinic",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def display_name(self, language: str | None = None) -> str:
        return _local_name(self.name, self.name_ar, language)

    @property
    def exclusive(self) -> bool:
        """One booking at a time: the database itself refuses overlaps (PostgreSQL)."""
        return self.capacity == 1 and not self.is_clinic


class ServiceQuerySet(models.QuerySet["Service"]):
    def active(self) -> "ServiceQuerySet":
        return self.filter(is_active=True)


class ServiceManager(models.Manager["Service"]):
    def get_queryset(self) -> ServiceQuerySet:
        return ServiceQuerySet(self.model, using=self._db)

    def active(self) -> ServiceQuerySet:
        return self.get_queryset().active()

    def default_for(self, type: int) -> "Service":
        """The service a booking of visit `type` without a named service is (created if none)."""
        found = self.active().filter(type=type).order_by("-lasts_one_slot", "id").first()
        if found is not None:
            return found
        # None yet (a new or flushed database): create it once, holding the clinic's row so
        # that simultaneous first bookings do not each create one.
        clinic = Resource.objects.get_clinic()
        with transaction.atomic():
            Resource.objects.select_for_update().filter(pk=clinic.pk).first()
            found = self.active().filter(type=type).order_by("-lasts_one_slot", "id").first()
            if found is not None:
                return found
            normal = WeeklySchedule.objects.filter(is_normal_week=True).first()
            english, arabic = DEFAULT_SERVICE_NAMES[Reservation.Type(type)]
            service = self.create(
                type=type,
                lasts_one_slot=True,
                name=english,
                name_ar=arabic,
                duration_minutes=normal.slot_minutes if normal else 30,
            )
            service.resources.add(clinic)
            return service


DEFAULT_SERVICE_NAMES = {
    Reservation.Type.APPOINTMENT: ("Appointment", "موعد"),
    Reservation.Type.FOLLOW_UP: ("Follow-up", "مراجعة"),
}


class Service(models.Model):
    """What a customer books: a cleaning of 30 minutes, a 60-minute session."""

    id = models.AutoField(primary_key=True)
    name = models.CharField(_("name"), max_length=200)
    name_ar = models.CharField(_("Arabic name"), max_length=200, blank=True, default="")
    type = models.IntegerField(
        _("visit type"),
        choices=Reservation.Type.choices,
        default=Reservation.Type.APPOINTMENT,
        help_text=_("The type a reservation of this service records."),
    )
    duration_minutes = models.PositiveSmallIntegerField(_("duration (minutes)"), default=30)
    lasts_one_slot = models.BooleanField(
        _("lasts one clinic slot"),
        default=False,
        help_text=_(
            "Its length follows the clinic's slot length (shorter in a season with shorter "
            "slots); the duration above is the normal week's."
        ),
    )
    buffer_before_minutes = models.PositiveSmallIntegerField(
        _("buffer before (minutes)"), default=0
    )
    buffer_after_minutes = models.PositiveSmallIntegerField(_("buffer after (minutes)"), default=0)
    step_minutes = models.PositiveSmallIntegerField(
        _("start every (minutes)"),
        null=True,
        blank=True,
        help_text=_("Empty: starts follow the clinic's slot length."),
    )
    min_notice_minutes = models.PositiveIntegerField(
        _("minimum notice (minutes)"),
        null=True,
        blank=True,
        help_text=_("Empty: the booking rules' notice."),
    )
    max_horizon_days = models.PositiveSmallIntegerField(
        _("booking horizon (days)"),
        null=True,
        blank=True,
        help_text=_("Empty: the booking rules' horizon."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    resources: "models.ManyToManyField[Resource, ServiceResource]" = models.ManyToManyField(
        Resource,
        through="ServiceResource",
        related_name="services",
        verbose_name=_("delivered by"),
        blank=True,
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_default=Now())
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = ServiceManager()

    class Meta:
        db_table = "services"
        verbose_name = _("service")
        verbose_name_plural = _("services")
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(type__in=[0, 1]), name="ck_services_type"),
            models.CheckConstraint(
                condition=models.Q(duration_minutes__gt=0, duration_minutes__lte=720),
                name="ck_services_duration",
            ),
            models.CheckConstraint(
                condition=models.Q(buffer_before_minutes__gte=0, buffer_after_minutes__gte=0),
                name="ck_services_buffers",
            ),
            models.CheckConstraint(
                condition=models.Q(step_minutes__isnull=True)
                | models.Q(step_minutes__gte=5, step_minutes__lte=720),
                name="ck_services_step",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.duration_minutes} min)"

    def display_name(self, language: str | None = None) -> str:
        return _local_name(self.name, self.name_ar, language)


class ServiceResource(models.Model):
    """A resource that can deliver a service. The kinds linked to a service are its roles: a
    service linked to practitioners and to rooms needs one of each (booked together in a later
    step; today a booking takes one resource, a practitioner first)."""

    id = models.AutoField(primary_key=True)
    service = models.ForeignKey(
        Service, on_delete=models.CASCADE, related_name="links", verbose_name=_("service")
    )
    resource = models.ForeignKey(
        Resource, on_delete=models.CASCADE, related_name="links", verbose_name=_("resource")
    )

    class Meta:
        db_table = "service_resources"
        verbose_name = _("service resource")
        verbose_name_plural = _("service resources")
        constraints = [
            models.UniqueConstraint(
                fields=["service", "resource"], name="uq_service_resources_service_resource"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.service} - {self.resource}"


class StaffWorkingHours(models.Model):
    """One stretch of a resource's weekly hours; several a day are allowed. Rows without a
    season are its normal week; rows of a clinic season replace them inside that season."""

    id = models.AutoField(primary_key=True)
    resource = models.ForeignKey(
        Resource, on_delete=models.CASCADE, related_name="working_hours", verbose_name=_("resource")
    )
    season = models.ForeignKey(
        WeeklySchedule,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        limit_choices_to={"is_normal_week": False},
        related_name="staff_hours",
        verbose_name=_("season"),
        help_text=_("Empty for the normal week; a clinic season to replace it there."),
    )
    day_of_week = models.IntegerField(_("weekday"), choices=Weekday.choices)
    start_time = models.TimeField(_("from"))
    end_time = models.TimeField(_("until"), help_text=_("Within the same day."))

    class Meta:
        db_table = "staff_working_hours"
        verbose_name = _("working hours")
        verbose_name_plural = _("working hours")
        ordering = ["resource", "season", "day_of_week", "start_time"]
        indexes = [
            Index(fields=["resource", "day_of_week"], name="idx_staff_working_hours_resource_day"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(start_time__lt=models.F("end_time")),
                name="ck_staff_working_hours_start_before_end",
            ),
            models.CheckConstraint(
                condition=models.Q(day_of_week__gte=0, day_of_week__lte=6),
                name="ck_staff_working_hours_day",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_day_of_week_display()} {self.start_time:%H:%M}-{self.end_time:%H:%M}"

    def clean(self) -> None:
        super().clean()
        if self.start_time and self.end_time and self.start_time >= self.end_time:
            raise ValidationError({"end_time": _("The end must be after the start.")})
        if self.season_id is not None and self.season and self.season.is_normal_week:
            raise ValidationError({"season": _("Choose a season, or leave it empty.")})
        if self.resource_id is None or self.start_time is None or self.end_time is None:
            return
        rows = StaffWorkingHours.objects.filter(
            resource_id=self.resource_id, season_id=self.season_id, day_of_week=self.day_of_week
        ).exclude(pk=self.pk)
        spans = [(row.day_of_week, row.start_time, row.end_time) for row in rows]
        if find_overlap([*spans, (self.day_of_week, self.start_time, self.end_time)]):
            raise ValidationError(_("These hours overlap other hours of the same day."))


class StaffException(models.Model):
    """A resource's day off (no times) or blocked hours on one date."""

    id = models.AutoField(primary_key=True)
    resource = models.ForeignKey(
        Resource, on_delete=models.CASCADE, related_name="exceptions", verbose_name=_("resource")
    )
    date = models.DateField(_("date"))
    start_time = models.TimeField(
        _("from"), null=True, blank=True, help_text=_("Empty (with the end) for the whole day.")
    )
    end_time = models.TimeField(_("until"), null=True, blank=True)
    reason = models.TextField(_("reason"), null=True, blank=True)

    class Meta:
        db_table = "staff_exceptions"
        verbose_name = _("exception")
        verbose_name_plural = _("exceptions")
        ordering = ["resource", "date", "start_time"]
        indexes = [
            Index(fields=["resource", "date"], name="idx_staff_exceptions_resource_date"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(start_time__isnull=True, end_time__isnull=True)
                | models.Q(
                    start_time__isnull=False,
                    end_time__isnull=False,
                    start_time__lt=models.F("end_time"),
                ),
                name="ck_staff_exceptions_times",
            ),
        ]

    def __str__(self) -> str:
        if self.start_time is None or self.end_time is None:
            return f"{self.date:%Y-%m-%d} ({_('whole day')})"
        return f"{self.date:%Y-%m-%d} {self.start_time:%H:%M}-{self.end_time:%H:%M}"

    def clean(self) -> None:
        super().clean()
        if (self.start_time is None) != (self.end_time is None):
            raise ValidationError(_("Give both times, or neither for the whole day."))
        if self.start_time and self.end_time and self.start_time >= self.end_time:
            raise ValidationError({"end_time": _("The end must be after the start.")})

    @property
    def whole_day(self) -> bool:
        return self.start_time is None
