"""Site-wide request and response rules: malformed bytes refused, staff pages' security policy."""

from collections.abc import Callable

from django.core.exceptions import BadRequest
from django.http import HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError

NUL = "\x00"
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class RejectNulBytesMiddleware:
    """Answer 400 to a NUL byte in the path, the query string or a submitted form.

    No page has a use for one, and PostgreSQL refuses it in any text value, so before this a NUL
    in `?q=`, in an id in the path or in a form field reached a query and came back as a 500.
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


def _has_nul(items: object) -> bool:
    return any(
        NUL in key or any(NUL in value for value in values)
        for key, values in items  # type: ignore[attr-defined]
    )
