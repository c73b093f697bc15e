"""The logs and queues staff read: messages, events, the inbound queue, statuses, reminders and
vacation notices (written by the system only)."""

import json
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.forms import BaseInlineFormSet
from django.http import HttpRequest, HttpResponse
from django.utils.html import format_html
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from config.paginators import EstimatedCountPaginator
from customers.models import Customer
from customers.names import bdi
from messaging import dashboard, services
from messaging.models import (
    EVENT_LABELS,
    MESSAGE_TYPE_LABELS,
    BotSession,
    Conversation,
    InboundMessage,
    NotificationEvent,
    Reminder,
    SandboxMessage,
    StatusUpdate,
    VacationNotice,
    VacationNotification,
)
from messaging.whatsapp import cloud_api


class ReadOnlyAdmin(admin.ModelAdmin):
    """Logs and queues are written by the system only; staff read them."""

    paginator = EstimatedCountPaginator
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class MessageTypeFilter(admin.SimpleListFilter):
    """The known WhatsApp types, listed without the SELECT DISTINCT a plain field filter runs
    over the whole table on every page view (150 ms on a million rows)."""

    title = _("message type")
    parameter_name = "message_type"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        names = sorted(cloud_api.GENUINE_TYPES | {"template", "reaction"})
        return [(name, str(MESSAGE_TYPE_LABELS.get(name, name))) for name in names]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset.filter(message_type=self.value()) if self.value() else queryset


class SendingFilter(admin.SimpleListFilter):
    """Outbound messages whose send failed: still being retried, or failed for good."""

    title = _("sending")
    parameter_name = "sending"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("retrying", str(_("being retried"))), ("errors", str(_("with a send error")))]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "retrying":
            return queryset & Conversation.objects.retrying()
        if self.value() == "errors":
            return queryset & Conversation.objects.send_errors()
        return queryset


@admin.register(Conversation)
class ConversationAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "display_customer",
        "role",
        "short_message",
        "type_label",
        "status",
        "send_error",
    ]
    list_filter = [
        "role",
        "status",
        SendingFilter,
        MessageTypeFilter,
        ("date", admin.DateFieldListFilter),
    ]
    search_fields = ["customer__wa_id", "customer__customer_name", "=wa_message_id"]
    list_select_related = ["customer"]
    ordering = ["-created_at", "-id"]

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        if term.startswith("wamid."):
            return queryset.filter(wa_message_id=term), False
        # The customers table first (50,000 rows), then this one through its wa_id index,
        # instead of OR-ing LIKE '%term%' over a join of every row (1.6 s on a million).
        return queryset.filter(customer__in=Customer.objects.search(term)), False

    @admin.display(description=_("customer"), ordering="customer__customer_name")
    def display_customer(self, obj: Conversation) -> str:
        return format_html(
            "{} <span dir='ltr'>+{}</span>", bdi(obj.customer.customer_name or ""), obj.customer_id
        )

    @admin.display(description=_("message"))
    def short_message(self, obj: Conversation) -> str:
        return format_html("<span dir='auto'>{}</span>", Truncator(obj.message).chars(80))

    @admin.display(description=_("message type"), ordering="message_type")
    def type_label(self, obj: Conversation) -> str:
        return obj.message_type_label

    @admin.display(description=_("send error"))
    def send_error(self, obj: Conversation) -> str:
        if not obj.error_message:
            return ""
        text = Truncator(obj.error_message).chars(100)
        if obj.status == Conversation.Status.QUEUED:
            return f"{_('(being retried)')} {text}"
        return text

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        """Above the list: how many sends are being retried, and the latest send error."""
        sending = dashboard.send_health()
        if request.method == "GET" and (sending.retrying or sending.last_error):
            error = sending.last_error
            self.message_user(
                request,
                ngettext(
                    "%(count)d send is being retried. Last send error: %(error)s",
                    "%(count)d sends are being retried. Last send error: %(error)s",
                    sending.retrying,
                )
                % {
                    "count": sending.retrying,
                    "error": Truncator(error.error_message or "").chars(200) if error else "-",
                },
                messages.WARNING,
            )
        return super().changelist_view(request, extra_context)


class RecentMessagesFormSet(BaseInlineFormSet):
    def get_queryset(self) -> QuerySet[Conversation]:
        return super().get_queryset()[: RecentMessagesInline.max_shown]


class RecentMessagesInline(admin.TabularInline):
    """The customer's latest messages on the customer page (the full transcript is a link)."""

    model = Conversation
    formset = RecentMessagesFormSet
    max_shown = 20
    fk_name = "customer"
    fields = readonly_fields = ("created_at", "role", "message", "status")
    ordering = ["-created_at", "-id"]
    verbose_name_plural = _("recent conversation (latest 20)")
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class EventTypeFilter(admin.SimpleListFilter):
    """The known event types by their labels (no SELECT DISTINCT over the whole table)."""

    title = _("event")
    parameter_name = "event_type"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [(name, str(label)) for name, label in EVENT_LABELS.items()]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset.filter(event_type=self.value()) if self.value() else queryset


@admin.register(NotificationEvent)
class NotificationEventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "event_label", "wa_id", "summary"]
    list_filter = [EventTypeFilter, ("created_at", admin.DateFieldListFilter)]
    search_fields = ["=wa_id", "event_type"]
    ordering = ["-created_at", "-id"]

    @admin.display(description=_("event"), ordering="event_type")
    def event_label(self, obj: NotificationEvent) -> str:
        return obj.label

    @admin.display(description=_("data"))
    def summary(self, obj: NotificationEvent) -> str:
        return Truncator(json.dumps(obj.data, ensure_ascii=False, default=str)).chars(120)


@admin.register(InboundMessage)
class InboundMessageAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "created_at",
        "wa_id",
        "status",
        "attempts",
        "next_attempt_at",
        "locked_at",
        "error_summary",
    ]
    list_filter = ["status", ("created_at", admin.DateFieldListFilter)]
    search_fields = ["=message_id", "=wa_id"]
    ordering = ["-created_at", "-id"]
    actions = ["retry"]
    readonly_fields = ["pretty_payload"]

    @admin.display(description=_("last error"))
    def error_summary(self, obj: InboundMessage) -> str:
        return Truncator(obj.last_error or "").chars(80)

    @admin.display(description=_("payload"))
    def pretty_payload(self, obj: InboundMessage) -> str:
        try:
            text = json.dumps(json.loads(obj.payload), ensure_ascii=False, indent=2)
        except ValueError:
            text = obj.payload
        return format_html("<pre dir='auto'>{}</pre>", text)

    @admin.action(description=_("Retry the selected messages"), permissions=["retry"])
    def retry(self, request: HttpRequest, queryset: QuerySet[InboundMessage]) -> None:
        count = services.retry_inbound_messages(ids=list(queryset.values_list("id", flat=True)))
        self.message_user(
            request,
            ngettext("%(count)d message queued again.", "%(count)d messages queued again.", count)
            % {"count": count},
            messages.SUCCESS,
        )

    def has_retry_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("messaging.change_inboundmessage")


@admin.register(StatusUpdate)
class StatusUpdateAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at", "wa_message_id", "status", "error_code", "applied_at", "unmatched_at"
    ]  # fmt: skip
    list_filter = [
        "status",
        ("applied_at", admin.EmptyFieldListFilter),
        ("unmatched_at", admin.EmptyFieldListFilter),
    ]
    search_fields = ["=wa_message_id", "=recipient_id"]
    ordering = ["-created_at", "-id"]


@admin.register(SandboxMessage)
class SandboxMessageAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "direction", "wa_id", "wa_message_id", "status"]
    list_filter = ["direction", "status"]
    search_fields = ["=wa_id", "=wa_message_id"]
    ordering = ["-created_at", "-id"]


@admin.register(BotSession)
class BotSessionAdmin(ReadOnlyAdmin):
    list_display = [
        "customer",
        "moving_reservation_id",
        "booking_type",
        "unplaced_texts",
        "expires_at",
    ]
    list_select_related = ["customer"]
    search_fields = ["=customer__wa_id", "customer__customer_name"]
    ordering = ["-expires_at"]


@admin.register(Reminder)
class ReminderAdmin(ReadOnlyAdmin):
    list_display = [
        "due_at",
        "reservation",
        "kind",
        "status",
        "reason",
        "attempts",
        "error_summary",
        "sent_at",
        "confirmed_at",
    ]
    list_filter = ["status", "kind", ("confirmed_at", admin.EmptyFieldListFilter)]
    search_fields = ["=reservation__customer__wa_id", "reservation__customer__customer_name"]
    list_select_related = ["reservation"]
    date_hierarchy = "due_at"
    ordering = ["-due_at", "-id"]

    @admin.display(description=_("last error"))
    def error_summary(self, obj: Reminder) -> str:
        return Truncator(obj.last_error).chars(80)


@admin.register(VacationNotice)
class VacationNoticeAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "customer", "vacation_start", "vacation_end", "vacation", "day"]
    list_select_related = ["customer", "vacation"]
    search_fields = ["=customer__wa_id"]
    ordering = ["-created_at", "-id"]


@admin.register(VacationNotification)
class VacationNotificationAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "reservation",
        "vacation_start",
        "vacation_end",
        "vacation",
        "created_by",
        "conversation",
    ]
    list_select_related = ["reservation", "vacation", "conversation"]
    search_fields = ["=reservation__customer__wa_id"]
    ordering = ["-created_at", "-id"]
