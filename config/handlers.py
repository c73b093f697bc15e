"""WSGI plumbing: the site's Django handler, and a lean one for Meta's webhook."""

from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.urls import reverse

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class ShortStackHandler(WSGIHandler):
    """Django's WSGI handler with its own, shorter middleware list.

    Meta's webhook needs none of the site's stack (sessions, language, CSRF, users, messages,
    login throttling, frame options): it has no browser and no user, and its signature is its
    authentication. On the webhook that stack cost about a sixth of the CPU of a POST
    (bench/RESULTS.md, "webhook intake"), so the webhook gets this handler, which keeps the
    security middleware (https redirect, HSTS, nosniff) and nothing else.
    """

    def __init__(self, middleware: list[str]) -> None:
        self.middleware = middleware
        super().__init__()

    def load_middleware(self, is_async: bool = False) -> None:
        # Django's loader reads settings.MIDDLEWARE: give it ours for the length of the call
        # (once, at start-up, before any request is served).
        site_middleware = settings.MIDDLEWARE
        settings.MIDDLEWARE = self.middleware
        try:
            super().load_middleware(is_async)
        finally:
            settings.MIDDLEWARE = site_middleware


class PathDispatcher:
    """Serve some exact paths with one WSGI application and every other path with another."""

    def __init__(self, *, site: WSGIApp, lean: WSGIApp, paths: set[str]) -> None:
        self.site = site
        self.lean = lean
        self.paths = paths

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        app = self.lean if environ.get("PATH_INFO") in self.paths else self.site
        return app(environ, start_response)


def with_lean_webhook(site: WSGIApp) -> PathDispatcher:
    """The site's application, with Meta's webhook and the probes (/healthz, /readyz, /metrics)
    served by a `ShortStackHandler`: machines, none of which needs the site's stack. Probes also
    skip its host check, since a load balancer asks by address."""
    return PathDispatcher(
        site=site,
        lean=ShortStackHandler(settings.WEBHOOK_MIDDLEWARE),
        paths={
            reverse("messaging:whatsapp-webhook"),
            reverse("messaging:healthz"),
            reverse("messaging:readyz"),
            reverse("messaging:metrics"),
        },
    )
