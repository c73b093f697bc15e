"""The staff inbox: the conversation list, one conversation, the reply box and the bot controls.

Server-rendered pages that work without JavaScript; a few lines of script poll the JSON
endpoints here and insert the same HTML fragments the pages are made of. Every change goes
through `messaging.services`.
"""

import re
import uuid
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from config import query
from config.permissions import staff_required
from customers.models import Customer
from messaging.inbox import selectors, staff
from messaging.whatsapp import delivery

INBOX = "messaging.use_inbox"
KEY = re.compile(r"^[0-9a-f]{32}$")


def _filters(request: HttpRequest) -> dict[str, Any]:
    return {
        "term": query.query_text(request, "q", max_length=100),
        "needs_staff": query.query_flag(request, "needs"),
    }


def _cursor(request: HttpRequest, name: str) -> selectors.Cursor | None:
    raw = request.GET.get(name, "")
    return selectors.Cursor.parse(raw, name=name) if raw else None


@staff_required(INBOX)
@require_GET
def inbox_list(request: HttpRequest) -> HttpResponse:
    filters = _filters(request)
    page = selectors.inbox_page(
        **filters,
        before=_cursor(request, "before"),
        after=_cursor(request, "after"),
    )
    return render(
        request,
        "messaging/inbox.html",
        {
            "page": page,
            "q": filters["term"],
            "needs": filters["needs_staff"],
            "live": "before" not in request.GET and "after" not in request.GET,
        },
    )


@staff_required(INBOX)
@require_GET
def inbox_updates(request: HttpRequest) -> JsonResponse:
    """Conversations with a message newer than `since`, as list rows, and the badge count."""
    since = query.query_datetime(request, "since")
    rows = selectors.changed_conversations(since=since, **_filters(request)) if since else []
    return JsonResponse(
        {
            "rows": [
                {
                    "wa_id": c.wa_id,
                    "html": render_to_string("messaging/_inbox_row.html", {"c": c}, request),
                }
                for c in reversed(rows)  # oldest first: each is put on top of the list in turn
            ],
            "latest": rows[0].last_message_at.isoformat() if rows else None,  # type: ignore[union-attr]
            "needs_staff": Customer.objects.needing_staff().count(),
        }
    )


@staff_required(INBOX)
@require_GET
def conversation(request: HttpRequest, wa_id: str) -> HttpResponse:
    customer = get_object_or_404(Customer, pk=wa_id)
    return _conversation_page(request, customer)


def _conversation_page(
    request: HttpRequest, customer: Customer, *, draft: str = "", status: int = 200
) -> HttpResponse:
    before = query.query_int(request, "before")
    shown = selectors.transcript(customer=customer, before=before)
    return render(
        request,
        "messaging/conversation.html",
        {
            "customer": customer,
            "transcript": shown,
            "window_open": delivery.window_is_open(customer=customer),
            "draft": draft,
            "key": uuid.uuid4().hex,
            "live": before is None,
            "max_chars": staff.TEXT_MAX_CHARS,
        },
        status=status,
    )


@staff_required(INBOX)
@require_GET
def conversation_updates(request: HttpRequest, wa_id: str) -> JsonResponse:
    """New messages after id `after`, status changes of `watching`, and the customer's state."""
    customer = get_object_or_404(Customer, pk=wa_id)
    after = query.query_int(request, "after") or 0
    watching = _watching(request.GET.get("watching", ""))
    changed = selectors.transcript_updates(customer=customer, after=after, watching=watching)
    window_open = delivery.window_is_open(customer=customer)
    return JsonResponse(
        {
            "messages": [
                {
                    "id": m.id,
                    "open": m.status in selectors.OPEN_STATUSES,
                    "inbound": m.is_inbound,
                    "html": render_to_string("messaging/_message.html", {"m": m}, request),
                }
                for m in changed
            ],
            "state": render_to_string(
                "messaging/_state.html",
                {"customer": customer, "window_open": window_open},
                request,
            ),
            "needs_staff": Customer.objects.needing_staff().count(),
        }
    )


def _watching(raw: str) -> dict[int, str]:
    """Parse "12.sent,13.queued" (message ids and the status the page shows) into a dict."""
    pairs = (item.partition(".") for item in raw.split(",") if item)
    return {query.parse_int(pk, name="watching"): status[:32] for pk, _, status in pairs}


@staff_required(INBOX)
@require_POST
def reply(request: HttpRequest, wa_id: str) -> HttpResponse:
    customer = get_object_or_404(Customer, pk=wa_id)
    text = request.POST.get("text", "")
    key = request.POST.get("key", "")
    if not request.user.is_authenticated:  # staff_required saw to it; this tells mypy
        raise PermissionDenied
    _mark_read(request, customer)  # answering is reading what the page showed
    try:
        result = staff.send_staff_reply(
            customer=customer, text=text, user=request.user, key=key if KEY.match(key) else None
        )
    except ValidationError as exc:
        for problem in exc.messages:
            messages.error(request, problem)
        return _conversation_page(request, customer, draft=text, status=400)
    if result.as_template:
        messages.warning(
            request,
            _(
                "The 24-hour window is closed, so WhatsApp only allows a template: the "
                "re-engagement template was sent. Your text is kept in the transcript, not "
                "delivered; send it again once the customer answers."
            ),
        )
    else:
        messages.success(request, _("Reply queued for sending."))
    return _back(customer)


@staff_required(INBOX)
@require_POST
def read(request: HttpRequest, wa_id: str) -> HttpResponse:
    """Staff saw the conversation up to message `upto` (the page posts it; a GET never marks)."""
    customer = get_object_or_404(Customer, pk=wa_id)
    _mark_read(request, customer)
    if "application/json" in request.headers.get("Accept", ""):
        return HttpResponse(status=204)
    return _back(customer)


def _mark_read(request: HttpRequest, customer: Customer) -> None:
    raw = request.POST.get("upto", "")
    upto = query.parse_int(raw, name="upto") if raw else None
    staff.mark_conversation_read(customer=customer, upto=upto)


def _control(
    action: Callable[[Customer], object], done: Promise
) -> Callable[[HttpRequest, str], HttpResponse]:
    @staff_required(INBOX)
    @require_POST
    def view(request: HttpRequest, wa_id: str) -> HttpResponse:
        customer = get_object_or_404(Customer, pk=wa_id)
        action(customer)
        messages.success(request, str(done))
        return _back(customer)

    return view


pause = _control(
    lambda c: staff.pause_bot(customer=c),
    gettext_lazy("The bot is paused for this customer."),
)
resume = _control(
    lambda c: staff.resume_bot(customer=c),
    gettext_lazy("The bot answers this customer again."),
)
block = _control(
    lambda c: staff.set_customer_blocked(customer=c, blocked=True),
    gettext_lazy("Customer blocked: nothing is answered or sent to them."),
)
unblock = _control(
    lambda c: staff.set_customer_blocked(customer=c, blocked=False),
    gettext_lazy("Customer unblocked."),
)


def _back(customer: Customer) -> HttpResponseRedirect:
    url = reverse("messaging:conversation", args=[customer.wa_id])
    return HttpResponseRedirect(f"{url}#latest")
