"""The WhatsApp webhook, and the sandbox's pages (only with WHATSAPP_SANDBOX on)."""

import hmac
import json
import logging
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import RequestDataTooBig, ValidationError
from django.db import DatabaseError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from config import query
from config.permissions import staff_required
from customers.phone import normalize_wa_id
from messaging import dashboard
from messaging.bot.understanding import llm, llm_sandbox
from messaging.models import EVENT_LABELS
from messaging.whatsapp import cloud_api, delivery, intake, sandbox

logger = logging.getLogger(__name__)


def _error(status: int, message: str) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


@csrf_exempt  # Meta cannot send a CSRF token; the signature authenticates every POST
@require_http_methods(["GET", "POST"])
def whatsapp_webhook(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _handshake(request)
    try:
        body = request.body  # the raw bytes: the signature is over exactly these
    except RequestDataTooBig:
        return _error(413, "body larger than 3 MB")
    signature = request.headers.get(cloud_api.SIGNATURE_HEADER)
    if not cloud_api.verify_signature(body, signature, settings.WHATSAPP_APP_SECRET):
        return _error(403, "missing or invalid X-Hub-Signature-256")
    try:
        batch = cloud_api.parse_webhook(json.loads(body))
    except ValueError as exc:  # bad JSON, bad UTF-8 or not a WhatsApp notification
        return _error(400, f"malformed webhook body: {exc}")
    except RecursionError:  # json nests deeper than Python's stack (found by fuzzing)
        return _error(400, "malformed webhook body: nested too deeply")
    try:
        stored = intake.store_webhook(batch=batch)
    # Only what may succeed on retry: store_webhook keeps what cannot, and answers for it.
    except (DatabaseError, delivery.QueueUnavailable):
        logger.exception("webhook not stored (or its worker not woken); Meta will deliver it again")
        return _error(503, "not stored, please retry")
    return JsonResponse(
        {
            "messages": stored.messages,
            "statuses": stored.statuses,
            "errors": stored.errors,
            "refused": stored.refused,
        }
    )


def _handshake(request: HttpRequest) -> HttpResponse:
    token = request.GET.get("hub.verify_token", "")
    expected = settings.WHATSAPP_VERIFY_TOKEN
    if (
        request.GET.get("hub.mode") == "subscribe"
        and expected
        and hmac.compare_digest(token.encode(), expected.encode())
    ):
        return HttpResponse(request.GET.get("hub.challenge", ""), content_type="text/plain")
    return HttpResponse("verification failed", status=403, content_type="text/plain")


# ============================================================================ sandbox
SANDBOX_CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def sandbox_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not settings.WHATSAPP_SANDBOX:
            raise Http404("the WhatsApp sandbox is off")
        return view(request, *args, **kwargs)

    return wrapper


def _webhook_url(request: HttpRequest) -> str:
    return request.build_absolute_uri(reverse("messaging:whatsapp-webhook"))


@csrf_exempt  # plays the Graph API, which authenticates with the bearer token
@sandbox_only
@require_POST
def sandbox_graph_messages(
    request: HttpRequest, version: str, phone_number_id: str
) -> JsonResponse:
    status, data = sandbox.accept_graph_request(
        body=request.body,
        authorization=request.headers.get("Authorization", ""),
        webhook_url=_webhook_url(request),
    )
    return JsonResponse(data, status=status)


@csrf_exempt  # plays an OpenAI-compatible model server (a bearer token, never a cookie)
@sandbox_only
@require_POST
def sandbox_llm_completions(request: HttpRequest) -> JsonResponse:
    """The sandbox's fake language model (LLM_BASE_URL in .env.example); like a real server,
    it wants the bearer key (LLM_API_KEY when set, else any)."""
    scheme, _, key = request.headers.get("Authorization", "").partition(" ")
    expected = settings.LLM_API_KEY
    if scheme != "Bearer" or not key or (expected and not hmac.compare_digest(key, expected)):
        return JsonResponse({"error": {"message": "invalid API key"}}, status=401)
    try:
        body = json.loads(request.body)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return JsonResponse({"error": {"message": "the body is not a JSON object"}}, status=400)
    status, data = llm_sandbox.completion(body)
    return JsonResponse(data, status=status)


@sandbox_only
@staff_required("messaging.use_sandbox")
@require_GET
def sandbox_chat(request: HttpRequest) -> HttpResponse:
    response = render(
        request,
        "messaging/sandbox.html",
        {"business_name": settings.BUSINESS_NAME},
    )
    # A development tool (DEBUG only) whose page is one file with its script inline.
    response["Content-Security-Policy"] = SANDBOX_CONTENT_SECURITY_POLICY
    return response


@sandbox_only
@staff_required("messaging.use_sandbox")
@require_GET
def sandbox_thread(request: HttpRequest) -> JsonResponse:
    try:
        wa_id = normalize_wa_id(request.GET.get("wa_id", ""))
    except ValidationError as exc:
        return _error(400, " ".join(exc.messages))
    sandbox.mark_seen(wa_id=wa_id)
    return JsonResponse({"wa_id": wa_id, "messages": sandbox.chat_messages(wa_id=wa_id)})


@sandbox_only
@staff_required("messaging.use_sandbox")
@require_POST
def sandbox_send(request: HttpRequest) -> JsonResponse:
    try:
        data = json.loads(request.body)
        text = str(data.get("text") or "").strip()
        reply = data.get("reply")
        if not text and not reply:
            return _error(400, "write a message or tap a button")
        message, status = sandbox.send_as_customer(
            wa_id=str(data.get("wa_id") or ""),
            name=str(data.get("name") or "").strip(),
            text=text,
            reply=reply if isinstance(reply, dict) else None,
            webhook_url=_webhook_url(request),
        )
    except ValidationError as exc:
        return _error(400, " ".join(exc.messages))
    except (ValueError, KeyError, AttributeError) as exc:
        return _error(400, f"bad request: {exc}")
    return JsonResponse({"id": message.id, "webhook_status": status})


# ============================================================================ staff dashboard
SEEN_EVENT_SESSION_KEY = "messaging:events_seen_id"


@staff_required("reservations.view_schedule")
@require_GET
def staff_dashboard(request: HttpRequest) -> HttpResponse:
    today = dashboard.today_overview()
    trend = dashboard.reservation_trend(today=today.day)
    past = [d for d in trend if d.day < today.day]
    token = settings.ICAL_FEED_TOKEN
    return render(
        request,
        "messaging/dashboard.html",
        {
            "today": today,
            "arrived": sum(r.attendance == "arrived" for r in today.reservations),
            "no_show": sum(r.attendance == "no_show" for r in today.reservations),
            "active_today": sum(r.is_active for r in today.reservations),
            "chart": dashboard.trend_chart(trend, today=today.day),
            "understanding": dashboard.understanding_by_day(today=today.day),
            "model_on": llm.is_enabled(),
            "trend_start": trend[0].day,
            "trend_end": trend[-1].day,
            "past_active": sum(d.active for d in past),
            "past_cancelled": sum(d.cancelled for d in past),
            "ical_url": request.build_absolute_uri(
                reverse("reservations:ical-feed", kwargs={"token": token})
            )
            if token
            else "",
            "now": timezone.now(),
        },
    )


@staff_required("messaging.view_events")
@require_GET
def events_list(request: HttpRequest) -> HttpResponse:
    event_type = query.query_text(request, "type", max_length=100)
    number = query.query_text(request, "number", max_length=100)
    wa_id = ""
    if number:
        try:
            wa_id = normalize_wa_id(number)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
    page = dashboard.recent_events(
        event_type=event_type,
        wa_id=wa_id,
        before=query.query_text(request, "before"),
    )
    previously_seen = request.session.get(SEEN_EVENT_SESSION_KEY, 0)
    request.session[SEEN_EVENT_SESSION_KEY] = max(previously_seen, dashboard.latest_event_id())
    return render(
        request,
        "messaging/events.html",
        {
            "page": page,
            "event_type": event_type,
            "event_type_known": event_type in EVENT_LABELS,
            "number": number,
            "known_types": [(name, EVENT_LABELS[name]) for name in dashboard.KNOWN_EVENT_TYPES],
            "previously_seen": previously_seen,
        },
    )


@staff_required("messaging.view_events")
@require_GET
def events_unseen(request: HttpRequest) -> JsonResponse:
    """The bell: how many events arrived since this staff member last opened the events list."""
    seen = request.session.get(SEEN_EVENT_SESSION_KEY)
    if seen is None:  # a new session starts with nothing unseen
        seen = request.session[SEEN_EVENT_SESSION_KEY] = dashboard.latest_event_id()
    count = dashboard.unseen_event_count(seen_id=seen)
    return JsonResponse({"count": count, "more": count >= dashboard.UNSEEN_CAP})
