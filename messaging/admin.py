import json

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.forms import BaseInlineFormSet
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from config.paginators import EstimatedCountPaginator
from customers.models import Customer
from messaging import services, whatsapp
from messaging.models import (
    BotSession,
    Conversation,
    InboundMessage,
    NotificationEvent,
    SandboxMessage,
    StatusUpdate,
)


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
        return [(name, name) for name in sorted(whatsapp.GENUINE_TYPES | {"template", "reaction"})]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset.filter(message_type=self.value()) if self.value() else queryset


@admin.register(Conversation)
class ConversationAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "customer", "role", "short_message", "message_type", "status"]
    list_filter = ["role", "status", MessageTypeFilter, ("date", admin.DateFieldListFilter)]
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

    @admin.display(description=_("message"))
    def short_message(self, obj: Conversation) -> str:
        return Truncator(obj.message).chars(80)


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


@admin.register(NotificationEvent)
class NotificationEventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "event_type", "wa_id", "summary"]
    list_filter = ["event_type", ("created_at", admin.DateFieldListFilter)]
    search_fields = ["=wa_id", "event_type"]
    ordering = ["-created_at", "-id"]

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
    list_display = ["created_at", "wa_message_id", "status", "error_code", "applied_at"]
    list_filter = ["status", ("applied_at", admin.EmptyFieldListFilter)]
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
