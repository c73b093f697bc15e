"""Admin for practitioners, rooms and equipment (resources) and the services they deliver:
weekly hours, exceptions and service links are inlines; changes that touch bookings go
through `reservations.resources`."""

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import Case, Count, F, IntegerField, QuerySet, Value, When
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from reservations import resources
from reservations.models import (
    BookingRules,
    Resource,
    Service,
    ServiceResource,
    StaffException,
    StaffWorkingHours,
    Weekday,
    find_overlap,
)


class WorkingHoursFormSet(forms.BaseInlineFormSet):
    """Refuses overlapping hours on one weekday of the same season before anything is saved."""

    def clean(self) -> None:
        super().clean()
        by_season: dict[Any, list[tuple[int, Any, Any]]] = {}
        for form in self.forms:
            data = form.cleaned_data
            if not data or data.get("DELETE"):
                continue
            if {"day_of_week", "start_time", "end_time"} <= data.keys():
                by_season.setdefault(data.get("season"), []).append(
                    (data["day_of_week"], data["start_time"], data["end_time"])
                )
        for spans in by_season.values():
            clash = find_overlap(spans)
            if clash:
                first, second = clash
                raise ValidationError(
                    _("Working hours overlap on %(day)s: %(a)s and %(b)s."),
                    params={
                        "day": Weekday(first[0]).label,
                        "a": f"{first[1]:%H:%M}-{first[2]:%H:%M}",
                        "b": f"{second[1]:%H:%M}-{second[2]:%H:%M}",
                    },
                )


class WorkingHoursInline(admin.TabularInline):
    model = StaffWorkingHours
    formset = WorkingHoursFormSet
    fields = ["season", "day_of_week", "start_time", "end_time"]
    extra = 1

    def formfield_for_choice_field(
        self, db_field: Any, request: HttpRequest, **kwargs: Any
    ) -> forms.TypedChoiceField | None:
        if db_field.name == "day_of_week":
            # The weekdays from the clinic's first one, as staff read a week.
            first = BookingRules.objects.get_solo().week_starts_on
            kwargs["choices"] = [
                ("", "---------"),
                *(
                    (Weekday((first + i) % 7).value, Weekday((first + i) % 7).label)
                    for i in range(7)
                ),
            ]
        return super().formfield_for_choice_field(db_field, request, **kwargs)

    def get_queryset(self, request: HttpRequest) -> QuerySet[StaffWorkingHours]:
        # Listed from the clinic's first weekday, as staff read a week.
        first = BookingRules.objects.get_solo().week_starts_on
        weekday = Case(
            *[When(day_of_week=day, then=Value((day - first) % 7)) for day in range(7)],
            output_field=IntegerField(),
        )
        queryset = super().get_queryset(request).select_related("season")
        return queryset.order_by(
            F("season__start_date").asc(nulls_first=True), weekday, "start_time"
        )


class ExceptionInline(admin.TabularInline):
    model = StaffException
    fields = ["date", "start_time", "end_time", "reason"]
    extra = 1
    ordering = ["-date", "start_time"]


class ServiceLinkInline(admin.TabularInline):
    model = ServiceResource
    extra = 1
    autocomplete_fields = ["service"]


class ResourceLinkInline(admin.TabularInline):
    model = ServiceResource
    extra = 1
    autocomplete_fields = ["resource"]


class _ActivationActions:
    """Activate / deactivate selected rows (who may change them may do it)."""

    @admin.action(description=_("Activate selected"), permissions=["change"])
    def activate_selected(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        self._set_active(request, queryset, active=True)

    @admin.action(description=_("Deactivate selected (no new bookings)"), permissions=["change"])
    def deactivate_selected(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        self._set_active(request, queryset, active=False)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Deactivated, never deleted: bookings keep their resource and service (a protected key),
        so a delete could only succeed for a row nobody booked; one rule is clearer."""
        return False

    def _set_active(self, request: HttpRequest, queryset: QuerySet[Any], *, active: bool) -> None:
        changed = queryset.exclude(is_active=active).update(is_active=active)
        self.message_user(  # type: ignore[attr-defined]
            request, ngettext("Changed %d row.", "Changed %d rows.", changed) % changed
        )


class ResourceForm(forms.ModelForm):
    class Meta:
        model = Resource
        fields = ["name", "name_ar", "resource_type", "capacity", "is_active"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        capacity = data.get("capacity")
        if self.instance.pk is not None and capacity is not None:
            clash = resources.overlap_beyond(resource=self.instance, capacity=capacity)
            if clash is not None:
                raise ValidationError(
                    _("Bookings already overlap beyond this capacity, e.g. on %(day)s."),
                    params={"day": f"{clash:%Y-%m-%d}"},
                )
        return data


@admin.register(Resource)
class ResourceAdmin(_ActivationActions, admin.ModelAdmin):
    form = ResourceForm
    list_display = ["name", "name_ar", "resource_type", "capacity", "is_active", "is_clinic"]
    list_display_links = ["name"]
    list_filter = ["resource_type", "is_active"]
    search_fields = ["name", "name_ar"]
    fields = ["name", "name_ar", "resource_type", "capacity", "is_active"]
    inlines = [WorkingHoursInline, ExceptionInline, ServiceLinkInline]
    actions = ["activate_selected", "deactivate_selected"]

    def get_readonly_fields(self, request: HttpRequest, obj: Resource | None = None) -> Any:
        # The clinic's capacity is the booking rules' capacity per slot: edit it there.
        return ["capacity"] if obj is not None and obj.is_clinic else []

    def save_model(self, request: HttpRequest, obj: Resource, form: Any, change: bool) -> None:
        resources.save_resource(resource=obj)


@admin.register(Service)
class ServiceAdmin(_ActivationActions, admin.ModelAdmin):
    list_display = [
        "name",
        "name_ar",
        "type",
        "duration_minutes",
        "buffer_before_minutes",
        "buffer_after_minutes",
        "is_active",
        "resource_count",
    ]
    list_display_links = ["name"]
    list_filter = ["type", "is_active", "lasts_one_slot"]
    search_fields = ["name", "name_ar"]
    fieldsets = [
        (None, {"fields": ["name", "name_ar", "type", "is_active"]}),
        (
            _("Length"),
            {
                "fields": [
                    "duration_minutes",
                    "lasts_one_slot",
                    "buffer_before_minutes",
                    "buffer_after_minutes",
                ]
            },
        ),
        (
            _("When customers may book (empty: the booking rules)"),
            {"fields": ["step_minutes", "min_notice_minutes", "max_horizon_days"]},
        ),
    ]
    inlines = [ResourceLinkInline]
    actions = ["activate_selected", "deactivate_selected"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Service]:
        return super().get_queryset(request).annotate(n_resources=Count("links"))

    @admin.display(description=_("delivered by"), ordering="n_resources")
    def resource_count(self, obj: Service) -> int:
        return getattr(obj, "n_resources", 0)
