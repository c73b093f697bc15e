"""The customer page as staff see it: the customer's fields (customers' admin) with what the
apps above know about them: their reservations, their latest messages and the erasure, which spans
every app. Registered here, at the top of the dependency chain, so that `customers` imports
nothing above it (messaging -> reservations -> customers)."""

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from customers.admin import CustomerAdmin
from customers.models import Customer
from messaging.admin.logs import RecentMessagesInline
from messaging.privacy import erase_customer
from reservations.admin import ReservationInline

admin.site.unregister(Customer)


@admin.register(Customer)
class CustomerHubAdmin(CustomerAdmin):
    inlines = [ReservationInline, RecentMessagesInline]
    actions = ["erase_customers"]

    def has_erase_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("customers.delete_customer")

    @admin.action(description=_("Erase selected customers and their data"), permissions=["erase"])
    def erase_customers(
        self, request: HttpRequest, queryset: QuerySet[Customer]
    ) -> HttpResponse | None:
        if request.POST.get("confirm") != "yes":
            return TemplateResponse(
                request,
                "admin/customers/erase_confirmation.html",
                {
                    **self.admin_site.each_context(request),
                    "title": _("Erase customers for good?"),
                    "customers": queryset,
                    "opts": self.model._meta,
                    "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
                },
            )
        erased = 0
        for customer in queryset:
            erase_customer(customer=customer, by=request.user)  # type: ignore[arg-type]
            erased += 1
        self.message_user(
            request,
            ngettext(
                "Erased %(count)d customer; their bookings remain as anonymous rows.",
                "Erased %(count)d customers; their bookings remain as anonymous rows.",
                erased,
            )
            % {"count": erased},
            messages.SUCCESS,
        )
        return None
