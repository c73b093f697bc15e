"""What staff set for the bot: FAQ answers and the automated-messaging switch."""

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from messaging.inbox import staff
from messaging.models import (
    FaqEntry,
    MessagingSettings,
)


# ============================================================================ FAQ
@admin.register(FaqEntry)
class FaqEntryAdmin(admin.ModelAdmin):
    list_display = ["question_en", "question_ar", "kind", "is_active", "position", "updated_at"]
    list_filter = ["is_active", "kind"]
    search_fields = ["question_en", "question_ar", "keywords_en", "keywords_ar"]
    ordering = ["position", "id"]
    actions = ["activate", "deactivate"]
    fieldsets = [
        (_("Question"), {"fields": ["question_en", "question_ar", "keywords_en", "keywords_ar"]}),
        (_("Answer"), {"fields": ["kind", "answer_en", "answer_ar"]}),
        (None, {"fields": ["is_active", "position"]}),
    ]

    @admin.action(description=_("Answer the selected questions"), permissions=["change"])
    def activate(self, request: HttpRequest, queryset: QuerySet[FaqEntry]) -> None:
        count = queryset.update(is_active=True)
        self.message_user(
            request,
            ngettext("%(count)d question is answered.", "%(count)d questions are answered.", count)
            % {"count": count},
        )

    @admin.action(description=_("Stop answering the selected questions"), permissions=["change"])
    def deactivate(self, request: HttpRequest, queryset: QuerySet[FaqEntry]) -> None:
        count = queryset.update(is_active=False)
        self.message_user(
            request,
            ngettext(
                "%(count)d question goes to the staff again.",
                "%(count)d questions go to the staff again.",
                count,
            )
            % {"count": count},
        )


# ============================================================================ automated messaging
@admin.register(MessagingSettings)
class MessagingSettingsAdmin(admin.ModelAdmin):
    list_display = ["__str__", "paused_reason", "changed_by", "changed_at"]
    fields = ["automated_paused", "paused_reason", "changed_by", "changed_at"]
    readonly_fields = ["changed_by", "changed_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return super().has_add_permission(request) and not MessagingSettings.objects.exists()

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def save_model(
        self, request: HttpRequest, obj: MessagingSettings, form: object, change: bool
    ) -> None:
        staff.set_automated_messaging_paused(
            paused=obj.automated_paused, by=request.user.get_username(), reason=obj.paused_reason
        )
