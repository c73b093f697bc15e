from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from config.paginators import EstimatedCountPaginator
from customers.models import Customer

# The customer page is the staff's hub: it shows what the other apps hold about the customer.
from messaging.admin import RecentMessagesInline
from reservations.admin import ReservationInline


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = [
        "wa_id",
        "customer_name",
        "display_age",
        "language",
        "is_blocked",
        "last_inbound_at",
        "created_at",
    ]
    list_display_links = ["wa_id", "customer_name"]
    list_filter = [
        "language",
        "is_blocked",
        ("needs_staff_since", admin.EmptyFieldListFilter),
        ("created_at", admin.DateFieldListFilter),
    ]
    search_fields = ["wa_id", "customer_name", "=user_id"]
    # No date_hierarchy (MIN/MAX + SELECT DISTINCT over every customer on each page view).
    paginator = EstimatedCountPaginator
    readonly_fields = [
        "display_age",
        "user_id",
        "profile_name",
        "last_inbound_at",
        "last_message_at",
        "needs_staff_since",
        "staff_read_at",
        "created_at",
        "updated_at",
    ]
    fieldsets = [
        (None, {"fields": ["wa_id", "customer_name", "language", "is_blocked"]}),
        (_("Age"), {"fields": ["age", "age_recorded_at", "display_age"]}),
        (_("Notes"), {"fields": ["document"], "classes": ["collapse"]}),
        (
            _("WhatsApp"),
            {
                "fields": [
                    "user_id",
                    "last_inbound_at",
                    "bot_paused_until",
                    "created_at",
                    "updated_at",
                ]
            },
        ),
    ]
    inlines = [ReservationInline, RecentMessagesInline]
    show_full_result_count = False

    @admin.display(description=_("current age"))
    def display_age(self, obj: Customer) -> int | None:
        return obj.current_age()

    def get_inlines(self, request, obj=None):  # type: ignore[no-untyped-def]
        return self.inlines if obj else []  # nothing to list for a customer being added

    def get_readonly_fields(self, request, obj=None):  # type: ignore[no-untyped-def]
        # The WhatsApp number is the key: set once, when staff add a customer by hand.
        fields = list(super().get_readonly_fields(request, obj))
        return [*fields, "wa_id"] if obj else fields
