"""Template tags for the staff pages: the inbox badge in the navigation, failure reasons."""

from django import template
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.utils.translation import gettext as _

from customers.models import Customer
from messaging.inbox.staff import HELD_SUFFIX, WINDOW_CLOSED_NOTE
from messaging.models import Conversation

register = template.Library()


@register.simple_tag
def needs_staff_count(user: AbstractBaseUser | AnonymousUser) -> int:
    """How many conversations wait for staff (one indexed count; 0 for anyone not staff)."""
    if not getattr(user, "is_staff", False):
        return 0
    return Customer.objects.needing_staff().count()


@register.filter
def failure_reason(message: Conversation) -> str:
    """Why an outbound message failed, in the staff member's language where we wrote the reason."""
    if (message.idempotency_key or "").endswith(HELD_SUFFIX):
        return _(WINDOW_CLOSED_NOTE)
    reason = message.error_message or _("no reason given")
    return f"{message.error_code}: {reason}" if message.error_code else reason
