"""The project's own few pages: the start page and the favicon."""

from pathlib import Path

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_safe

from config.permissions import may_open

FAVICON = Path(__file__).resolve().parent / "static" / "favicon.ico"
START_PAGES = ["messaging:dashboard", "messaging:inbox", "admin:index"]


@require_safe
def home(request: HttpRequest) -> HttpResponseRedirect:
    """Go to the first staff page the user may open (an anonymous visitor: to the login)."""
    for name in START_PAGES:
        if may_open(request, reverse(name)):
            return redirect(name)
    return redirect(START_PAGES[0])


@require_safe
@cache_control(public=True, max_age=7 * 24 * 3600)
def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask every site for /favicon.ico; pages also link to it."""
    return HttpResponse(FAVICON.read_bytes(), content_type="image/x-icon")
