"""Template filters for showing what customers typed on staff pages."""

from django import template

from customers.names import isolate_text

register = template.Library()


@register.filter
def isolate(value: object) -> str:
    """Wrap text in a bidi isolate (FSI...PDI) where `<bdi>` cannot go, such as `<title>`."""
    return isolate_text(value) if value not in (None, "") else ""
