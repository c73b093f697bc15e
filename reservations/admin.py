from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from reservations.models import Reservation, VacationPeriod


@admin.register(Reservation)
class ReservationAdmin(admin.ModelAdmin):
    list_display = [
        "date",
        "time_slot",
        "customer",
        "type",
        "status",
        "source",
        "created_at",
    ]
    list_display_links = ["date", "time_slot"]
    list_filter = ["status", "type", "source", ("date", admin.DateFieldListFilter)]
    search_fields = ["customer__wa_id", "customer__customer_name"]
    date_hierarchy = "date"
    autocomplete_fields = ["customer"]
    list_select_related = ["customer"]
    readonly_fields = ["cancelled_at", "cancelled_source", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["customer", "date", "time_slot", "type", "status", "source"]}),
        (
            _("History"),
            {"fields": ["cancelled_at", "cancelled_source", "created_at", "updated_at"]},
        ),
    ]
    ordering = ["-date", "-time_slot"]
    show_full_result_count = False


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
class VacationPeriodAdmin(admin.ModelAdmin):
    list_display = ["title", "start_date", "end_date", "duration_days", "updated_at"]
    list_display_links = ["title", "start_date"]
    search_fields = ["title"]
    date_hierarchy = "start_date"
    readonly_fields = ["duration_days", "created_at", "updated_at"]
    fields = ["title", "start_date", "end_date", "duration_days", "created_at", "updated_at"]
