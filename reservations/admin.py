from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from config.paginators import EstimatedCountPaginator
from customers.models import Customer
from customers.names import bdi
from reservations import closures, exports, resources, services, vacations
from reservations.models import (
    BookingRules,
    OpeningInterval,
    Reservation,
    Source,
    VacationPeriod,
    WeeklySchedule,
    find_overlap,
)


class _DryRun(Exception):  # noqa: N818 - a control-flow signal, not an error
    """Raised inside a savepoint to undo a booking that only checked the rules."""


class _Impact(Exception):  # noqa: N818 - a control-flow signal, not an error
    """Raised inside a savepoint to undo a change staff must confirm first."""

    def __init__(self, outside: dict[int, str]) -> None:
        self.outside = outside


IMPACT_CONFIRMED = "_confirm_impact"
IMPACT_REASONS = {
    closures.VACATION: _("on a vacation"),
    closures.CLOSED: _("the clinic is closed that day"),
    closures.OUTSIDE_HOURS: _("outside the opening hours"),
}


class ScheduleImpactMixin(admin.ModelAdmin):
    """Before a change to the opening hours, a season or the vacations is kept (a save, an
    inline row removed, a delete), staff see the active reservations it leaves outside the
    hours and what happens to them, and choose to go on.

    The admin's own view runs in a savepoint; if it saved and reservations that were inside the
    hours are now outside, the savepoint is rolled back and a page lists them, with a form that
    posts the same data again with `_confirm_impact`."""

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        parent = super().changeform_view
        return self._confirm_impact(
            request, lambda: parent(request, object_id, form_url, extra_context)
        )

    def delete_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        parent = super().delete_view
        return self._confirm_impact(request, lambda: parent(request, object_id, extra_context))

    def _confirm_impact(
        self, request: HttpRequest, view: Callable[[], HttpResponse]
    ) -> HttpResponse:
        if request.method != "POST" or request.POST.get(IMPACT_CONFIRMED):
            return view()
        today = timezone.localdate()
        before = closures.reservations_outside_hours(start=today)
        queued = len(_queued_messages(request))
        try:
            with transaction.atomic():
                response = view()
                if response.status_code != 302:  # the form had errors, or asks first itself
                    return response
                after = closures.reservations_outside_hours(start=today)
                newly = {pk: why for pk, why in after.items() if pk not in before}
                if newly:
                    raise _Impact(newly)
                return response
        except _Impact as impact:
            del _queued_messages(request)[queued:]  # "changed successfully": it was not
            return self._impact_page(request, impact.outside)

    def _impact_page(self, request: HttpRequest, outside: dict[int, str]) -> HttpResponse:
        reservations = list(
            Reservation.objects.filter(pk__in=outside)
            .select_related("customer")
            .order_by("date", "time_slot", "id")
        )
        return TemplateResponse(
            request,
            "admin/reservations/schedule_impact.html",
            {
                **self.admin_site.each_context(request),
                "title": _("These reservations would fall outside the clinic's hours"),
                "opts": self.model._meta,
                "rows": [(r, IMPACT_REASONS[outside[r.pk]]) for r in reservations],
                "posted": [
                    (name, value)
                    for name, values in request.POST.lists()
                    if name != "csrfmiddlewaretoken"
                    for value in values
                ],
                "confirm_field": IMPACT_CONFIRMED,
                "back": request.get_full_path(),
            },
        )


def _queued_messages(request: HttpRequest) -> list[Any]:
    """The messages this request added so far (the storage's own list)."""
    storage: Any = messages.get_messages(request)
    return storage._queued_messages


class ReservationAdminForm(forms.ModelForm):
    """Checks a new or moved reservation against the booking rules by running the service in
    a savepoint that is rolled back; `save_model` then books or moves for real."""

    class Meta:
        model = Reservation
        fields = ["customer", "date", "time_slot", "type"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        slot_fields = {"date", "time_slot", "type"}
        if self.instance.pk is not None and not slot_fields & set(self.changed_data):
            return data
        try:
            with transaction.atomic():
                book_or_move(self.instance, data)
                raise _DryRun
        except _DryRun:
            pass
        except services.BookingError as exc:
            raise ValidationError(exc.message_for(None), code=exc.code) from exc
        return data


def book_or_move(instance: Reservation, data: dict[str, Any]) -> Reservation:
    """Book a new reservation, or move an existing one, through the services (source staff)."""
    if instance.pk is None:
        return services.reserve_slot(
            wa_id=data["customer"].wa_id,
            date=data["date"],
            time_slot=data["time_slot"],
            type=data["type"],
            source=Source.STAFF,
        )
    return services.modify_reservation(
        reservation=Reservation.objects.get(pk=instance.pk),
        date=data["date"],
        time_slot=data["time_slot"],
        type=data["type"],
        source=Source.STAFF,
    )


@admin.register(Reservation)
class ReservationAdmin(admin.ModelAdmin):
    form = ReservationAdminForm
    actions = ["cancel_selected", "cancel_selected_including_past", "export_selected_csv"]
    list_display = [
        "date",
        "time_slot",
        "display_customer",
        "service",
        "resource",
        "type",
        "status",
        "attendance",
        "source",
        "created_at",
    ]
    list_display_links = ["date", "time_slot"]
    list_filter = [
        "status",
        "attendance",
        "type",
        "source",
        "resource",
        ("date", admin.DateFieldListFilter),
    ]
    search_fields = ["customer__wa_id", "customer__customer_name"]
    # Staff navigate reservations by date, so they keep the date hierarchy (issue 2), at the price
    # of one index-only SELECT DISTINCT per page (~50 ms at 200,000 reservations, within the
    # 300 ms page budget); the million-row logs have none.
    date_hierarchy = "date"
    paginator = EstimatedCountPaginator
    autocomplete_fields = ["customer"]
    list_select_related = ["customer", "service", "resource"]
    readonly_fields = [
        "status",
        "source",
        "cancelled_at",
        "cancelled_source",
        "attendance",
        "attendance_at",
        "created_at",
        "updated_at",
    ]
    fieldsets = [
        (None, {"fields": ["customer", "date", "time_slot", "type", "status", "source"]}),
        (
            _("History"),
            {
                "fields": [
                    "cancelled_at",
                    "cancelled_source",
                    "attendance",
                    "attendance_at",
                    "created_at",
                    "updated_at",
                ]
            },
        ),
    ]
    ordering = ["-date", "-time_slot"]
    show_full_result_count = False

    @admin.display(description=_("customer"), ordering="customer__customer_name")
    def display_customer(self, obj: Reservation) -> str:
        return format_html(
            "{} <span dir='ltr'>+{}</span>", bdi(obj.customer.customer_name or ""), obj.customer_id
        )

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        # The customers table first, then the reservations by their wa_id index.
        term = search_term.strip()
        if not term:
            return queryset, False
        return queryset.filter(customer__in=Customer.objects.search(term)), False

    def get_readonly_fields(self, request: HttpRequest, obj: Reservation | None = None) -> Any:
        if obj is None:
            return self.readonly_fields
        # The customer is fixed; cancelling is an action, so that it goes through the service.
        return [*self.readonly_fields, "customer"] + (
            [] if obj.is_active else ["date", "time_slot", "type"]
        )

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        """Reservations are cancelled, never deleted: the history, the capacity counts and the
        events stay true, and their reminders and vacation notifications (read-only logs) would
        refuse the delete anyway. Erasing a customer anonymises theirs."""
        return False

    def save_model(self, request: HttpRequest, obj: Reservation, form: Any, change: bool) -> None:
        """Book or move through the services (the form checked the rules already)."""
        if change and not {"date", "time_slot", "type"} & set(form.changed_data):
            return
        saved = book_or_move(Reservation() if not change else obj, form.cleaned_data)
        obj.pk = saved.pk
        obj.refresh_from_db()

    @admin.action(
        description=_("Cancel selected reservations (upcoming only)"), permissions=["change"]
    )
    def cancel_selected(self, request: HttpRequest, queryset: QuerySet[Reservation]) -> None:
        self._cancel(request, queryset, allow_past=False)

    @admin.action(description=_("Export selected reservations to CSV"), permissions=["export"])
    def export_selected_csv(
        self, request: HttpRequest, queryset: QuerySet[Reservation]
    ) -> StreamingHttpResponse:
        today = timezone.localdate()
        return exports.csv_response(
            Reservation.objects.filter(pk__in=queryset.values("pk")),
            filename=exports.csv_filename(today, today).replace("-", "-selected-", 1),
        )

    @admin.action(
        description=_("Cancel selected reservations, past ones included"),
        permissions=["cancel_past"],
    )
    def cancel_selected_including_past(
        self, request: HttpRequest, queryset: QuerySet[Reservation]
    ) -> None:
        self._cancel(request, queryset, allow_past=True)

    def has_export_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("reservations.export_reservations")

    def has_cancel_past_permission(self, request: HttpRequest) -> bool:
        """Rewriting the past is a manager's: it takes the delete permission, not just change."""
        return request.user.has_perm("reservations.delete_reservation")

    def _cancel(
        self, request: HttpRequest, queryset: QuerySet[Reservation], *, allow_past: bool
    ) -> None:
        cancelled, refused = 0, []
        for reservation in queryset.filter(status=Reservation.Status.ACTIVE):
            try:
                services.cancel_reservation(
                    reservation=reservation, source=Source.STAFF, allow_past=allow_past
                )
            except services.BookingError as exc:
                refused.append(f"{reservation}: {exc.message_for(None)}")
            else:
                cancelled += 1
        self.message_user(
            request,
            ngettext("Cancelled %d reservation.", "Cancelled %d reservations.", cancelled)
            % cancelled,
            messages.SUCCESS,
        )
        for line in refused:
            self.message_user(request, line, messages.WARNING)


class ReservationInline(admin.TabularInline):
    """The customer's reservations, newest first, on the customer page."""

    model = Reservation
    fk_name = "customer"
    fields = readonly_fields = ("date", "time_slot", "type", "status", "source")
    ordering = ["-date", "-time_slot"]
    extra = 0
    show_change_link = True
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Reservation]:
        return super().get_queryset(request).select_related("customer")


@admin.register(VacationPeriod)
class VacationPeriodAdmin(ScheduleImpactMixin):
    list_display = ["title", "start_date", "end_date", "duration_days", "updated_at"]
    list_display_links = ["title", "start_date"]
    search_fields = ["title"]
    date_hierarchy = "start_date"
    readonly_fields = ["duration_days", "created_at", "updated_at"]
    fields = ["title", "start_date", "end_date", "duration_days", "created_at", "updated_at"]

    def save_model(
        self, request: HttpRequest, obj: VacationPeriod, form: Any, change: bool
    ) -> None:
        vacations.save_vacation(vacation=obj, by=request.user.get_username())

    def delete_model(self, request: HttpRequest, obj: VacationPeriod) -> None:
        vacations.delete_vacation(vacation=obj, by=request.user.get_username())

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[VacationPeriod]) -> None:
        for vacation in queryset:
            vacations.delete_vacation(vacation=vacation, by=request.user.get_username())


class OpeningIntervalFormSet(forms.BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        kept = [
            (form.cleaned_data["weekday"], form.cleaned_data["opens"], form.cleaned_data["closes"])
            for form in self.forms
            if form.cleaned_data
            and not form.cleaned_data.get("DELETE")
            and {"weekday", "opens", "closes"} <= form.cleaned_data.keys()
        ]
        clash = find_overlap(kept)
        if clash:
            first, second = clash
            raise ValidationError(
                _("Opening hours overlap on %(day)s: %(a)s and %(b)s."),
                params={
                    "day": dict(OpeningInterval._meta.get_field("weekday").flatchoices)[first[0]],
                    "a": f"{first[1]:%H:%M}-{first[2]:%H:%M}",
                    "b": f"{second[1]:%H:%M}-{second[2]:%H:%M}",
                },
            )


class OpeningIntervalInline(admin.TabularInline):
    model = OpeningInterval
    formset = OpeningIntervalFormSet
    fields = ["weekday", "opens", "closes"]
    extra = 1


@admin.register(WeeklySchedule)
class WeeklyScheduleAdmin(ScheduleImpactMixin):
    list_display = ["name", "start_date", "end_date", "slot_minutes", "is_normal_week"]
    list_display_links = ["name"]
    fields = ["name", "start_date", "end_date", "slot_minutes"]
    inlines = [OpeningIntervalInline]


@admin.register(BookingRules)
class BookingRulesAdmin(admin.ModelAdmin):
    """One row: the list goes straight to it; it cannot be added twice or deleted."""

    fieldsets = [
        (
            _("Capacity"),
            {
                "fields": [
                    "capacity",
                    "staff_capacity",
                    "appointment_capacity",
                    "follow_up_capacity",
                ]
            },
        ),
        (
            _("When customers may book"),
            {"fields": ["min_notice_minutes", "max_horizon_days", "bookable_until"]},
        ),
        (_("Customers"), {"fields": ["max_upcoming_per_customer"]}),
        (_("Schedule page"), {"fields": ["week_starts_on"]}),
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return super().has_add_permission(request) and not BookingRules.objects.exists()

    def save_model(self, request: HttpRequest, obj: BookingRules, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        resources.sync_clinic_capacity(obj)

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        rules = BookingRules.objects.get_solo()
        if rules.pk is None or rules._state.adding:
            return HttpResponseRedirect(reverse("admin:reservations_bookingrules_add"))
        return HttpResponseRedirect(
            reverse("admin:reservations_bookingrules_change", args=[rules.pk])
        )


# Practitioners, rooms and services: their own module, registered with this one.
from reservations import admin_resources  # noqa: E402, F401
