"""Site-wide request and response rules: malformed bytes refused, staff pages' security policy."""

import logging
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import logout
from django.core.exceptions import BadRequest
from django.db import DataError
from django.http import HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError
from django.utils import timezone

from config.errors import bad_request

logger = logging.getLogger(__name__)
# What the database side raises for a value out of its range (see MalformedRequestMiddleware).
QUERY_VALUE_ERRORS = (OverflowError, DataError)

NUL = "\x00"
HEADER = "Content-Security-Policy"
ACTIVITY_COOKIE = "staff_activity"
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class MalformedRequestMiddleware:
    """Answer 400, with the site's page, to requests no page can read.

    A NUL byte in the path, the query string or a submitted form: no page has a use for one, and
    PostgreSQL refuses it in any text value, so before this a NUL in `?q=`, in an id in the path
    or in a form field reached a query and came back as a 500.

    Our views parse their parameters strictly (`config.query`); the admin's list filters (ours,
    Django's, django-q's) hand a value straight to the database, where a day in year 1 overflows
    the time zone shift and a number beyond a bigint overflows the column. On a GET with a query
    string, such an overflow or the database's "value out of range" is the visitor's input, not
    a fault of the site: a 400 too.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if NUL in request.path_info or _has_nul(request.GET.lists()):
            raise BadRequest("NUL byte in the address")
        if request.method == "POST" and request.content_type in FORM_TYPES:
            try:
                request.body  # noqa: B018 (kept in memory, so a view may still read the raw bytes)
                form = request.POST
            except (BadRequest, MultiPartParserError, OSError):
                form = None  # too big or unreadable: the view meets the same error as before
            if form is not None and _has_nul(form.lists()):
                raise BadRequest("NUL byte in the form")
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if request.method == "GET" and request.GET and isinstance(exception, QUERY_VALUE_ERRORS):
            logger.warning("bad query value on %s: %s", request.path, type(exception).__name__)
            return bad_request(request, exception)
        return None


def _has_nul(items: object) -> bool:
    return any(
        NUL in key or any(NUL in value for value in values)
        for key, values in items  # type: ignore[attr-defined]
    )


class ContentSecurityPolicyMiddleware:
    """Send `settings.CONTENT_SECURITY_POLICY` with every response that has no policy of its own.

    The staff pages keep their scripts and styles in static files (no inline script, style or
    event handler), so the policy allows only this origin's: an injected `<script>` or
    `onerror=` would not run even if escaping ever failed. Django's debug pages (DEBUG only) are
    inline, so error responses go without the policy while DEBUG is on.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        policy = settings.CONTENT_SECURITY_POLICY
        if not policy or HEADER in response:
            return response
        if settings.DEBUG and response.status_code >= 400:
            return response
        response[HEADER] = policy
        return response


class StaffSessionIdleMiddleware:
    """Sign a user out after STAFF_SESSION_IDLE_MINUTES without a page view or form of theirs.

    The front desk shares one PC: a session left open there must end on its own. The pages' own
    background polls (they ask for JSON) do not count as activity, or an open inbox tab would
    keep the session alive forever. The last activity is kept in a signed browser-session cookie,
    refreshed at most once a minute, so that no page pays a database write for it.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        idle = settings.STAFF_SESSION_IDLE_MINUTES * 60
        now = int(timezone.now().timestamp())
        had_cookie = ACTIVITY_COOKIE in request.COOKIES
        refresh = forget = False
        if idle and request.user.is_authenticated:
            raw = request.get_signed_cookie(ACTIVITY_COOKIE, default="", salt=ACTIVITY_COOKIE) or ""
            last = int(raw) if raw.isascii() and raw.isdecimal() else None
            if last is not None and now - last > idle:
                logout(request)  # this request goes on as an anonymous visitor: to the login
                forget = True
            elif last is None or (not _is_background(request) and now - last >= 60):
                refresh = True
        elif had_cookie:
            forget = True  # signed out: the next sign-in starts a new clock
        response = self.get_response(request)
        if refresh:
            response.set_signed_cookie(
                ACTIVITY_COOKIE,
                str(now),
                salt=ACTIVITY_COOKIE,
                secure=settings.SESSION_COOKIE_SECURE,
                httponly=True,
                samesite="Lax",
            )
        elif forget:
            response.delete_cookie(ACTIVITY_COOKIE, samesite="Lax")
        return response


def _is_background(request: HttpRequest) -> bool:
    """A page's own poll or read receipt (its script asks for JSON), not a person's action."""
    return "application/json" in request.headers.get("Accept", "")
