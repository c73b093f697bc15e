"""Template filters for showing what customers typed on staff pages."""

from django import template
from django.contrib.admin.utils import quote
from django.urls import reverse

from customers.converters import customer_id_to_url
from customers.names import isolate_text

register = template.Library()


@register.filter
def isolate(value: object) -> str:
    """Wrap text in a bidi isolate (FSI...PDI) where `<bdi>` cannot go, such as `<title>`."""
    return isolate_text(value) if value not in (None, "") else ""


@register.simple_tag
def customer_admin_url(wa_id: str) -> str:
    """The customer's admin page, for any stored id.

    The admin quotes `/` and friends, but a browser folds `.` and `..` segments away; those (and
    an empty id) go as the inbox's `~base64` form, which `CustomerAdmin.get_object` reads back.
    """
    segment = customer_id_to_url(wa_id) if not wa_id.strip(".") else wa_id
    return reverse("admin:customers_customer_change", args=[quote(segment)])
