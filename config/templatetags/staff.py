"""{% allowed_url %}, {% allowed_path %}: a link or form target only for those who may open it."""

from typing import Any

from django import template
from django.urls import reverse

from config.permissions import may_open

register = template.Library()


@register.simple_tag(takes_context=True)
def allowed_url(context: template.Context, view_name: str, *args: Any) -> str:
    """The view's URL if the signed-in user may open it, else "" (the page shows no dead control):

    {% allowed_url 'reservations:export-csv' as export_url %}{% if export_url %}...{% endif %}
    """
    return allowed_path(context, reverse(view_name, args=args))


@register.simple_tag(takes_context=True)
def allowed_path(context: template.Context, url: str) -> str:
    """`url` (a path built elsewhere) if the signed-in user may open it, else ""."""
    request = context.get("request")
    return url if request is not None and may_open(request, url) else ""
