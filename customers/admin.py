from typing import Any

from django.contrib import admin
from django.contrib.admin.utils import quote, unquote
from django.contrib.admin.views.main import ChangeList
from django.db.models import Model
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from config.paginators import EstimatedCountPaginator
from customers.converters import MARK, customer_id_from_url
from customers.models import Customer
from customers.names import bdi
from customers.templatetags.customers import customer_admin_url


class CustomerChangeList(ChangeList):
    def url_for_result(self, result: Model) -> str:
        return customer_admin_url(result.pk)  # also for ids a browser would fold (`..`)


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    """The customer's own fields. The page staff see is this plus what the apps above know (their
    reservations, messages and the erasure): `messaging.admin.customers` registers it."""

    list_display = [
        "wa_id",
        "display_name",
        "display_age",
        "language",
        "is_blocked",
        "last_inbound_at",
        "created_at",
    ]
    list_display_links = ["wa_id", "display_name"]
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
    show_full_result_count = False

    @admin.display(description=_("name"), ordering="customer_name")
    def display_name(self, obj: Customer) -> str:
        return bdi(obj.customer_name or "")

    @admin.display(description=_("current age"))
    def display_age(self, obj: Customer) -> int | None:
        return obj.current_age()

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        """A customer is erased (the action), not deleted: their reservations are protected and
        their messages are read-only logs, so the plain delete could never succeed."""
        return False

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return CustomerChangeList

    def get_object(
        self, request: HttpRequest, object_id: str, from_field: str | None = None
    ) -> Customer | None:
        found = super().get_object(request, object_id, from_field)
        if found is None and from_field is None and unquote(object_id).startswith(MARK):
            try:  # an id a browser would rewrite (`..`), linked as in the inbox's URLs
                wa_id = customer_id_from_url(unquote(object_id))
            except ValueError:
                return None
            found = super().get_object(request, quote(wa_id))
        return found

    def get_inlines(self, request, obj=None):  # type: ignore[no-untyped-def]
        return self.inlines if obj else []  # nothing to list for a customer being added

    def get_readonly_fields(self, request, obj=None):  # type: ignore[no-untyped-def]
        # The WhatsApp number is the key: set once, when staff add a customer by hand.
        fields = list(super().get_readonly_fields(request, obj))
        return [*fields, "wa_id"] if obj else fields
