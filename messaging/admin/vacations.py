"""The vacation page, with what messaging knows about it."""

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from messaging import vacations
from messaging.models import (
    VacationNotification,
)
from reservations.admin import VacationPeriodAdmin
from reservations.models import VacationPeriod
from reservations.vacations import reservations_in_vacation

# The vacation page (registered by reservations) gains what messaging knows: the reservations
# the vacation falls on, and the action that tells their customers.
admin.site.unregister(VacationPeriod)


@admin.register(VacationPeriod)
class VacationPeriodMessagingAdmin(VacationPeriodAdmin):
    readonly_fields = [*VacationPeriodAdmin.readonly_fields, "affected_reservations"]
    fields = [*VacationPeriodAdmin.fields, "affected_reservations"]
    actions = ["notify_affected_customers"]
    shown_affected = 200

    @admin.display(description=_("active reservations on these days"))
    def affected_reservations(self, obj: VacationPeriod) -> str:
        if obj.pk is None:
            return "-"
        found = reservations_in_vacation(vacation=obj, today=timezone.localdate())
        rows = list(found.select_related("customer")[: self.shown_affected])
        if not rows:
            return str(_("None."))
        notified = set(
            VacationNotification.objects.filter(vacation=obj).values_list(
                "reservation_id", flat=True
            )
        )
        items = format_html_join(
            "",
            '<li><a href="{}">{} {}</a> {} {}</li>',
            (
                (
                    reverse("admin:reservations_reservation_change", args=[r.pk]),
                    f"{r.date:%Y-%m-%d}",
                    f"{r.time_slot:%H:%M}",
                    r.customer.customer_name or r.customer_id,
                    _("(notified)") if r.pk in notified else "",
                )
                for r in rows
            ),
        )
        return format_html("<ul class='affected'>{}</ul>", items)

    @admin.action(
        description=_("Notify the customers whose appointments fall in the vacation"),
        permissions=["change"],
    )
    def notify_affected_customers(
        self, request: HttpRequest, queryset: QuerySet[VacationPeriod]
    ) -> None:
        count = sum(
            vacations.notify_vacation_customers(vacation=v, by=request.user.get_username())
            for v in queryset
        )
        self.message_user(
            request,
            ngettext("%(count)d customer notified.", "%(count)d customers notified.", count)
            % {"count": count},
            messages.SUCCESS,
        )
