"""The site's error pages, rendered with the request so they keep the layout and language."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """400: the address or the form holds something no page accepts."""
    return render(request, "400.html", status=400)
