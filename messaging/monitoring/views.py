"""Probes for load balancers and Prometheus: /healthz, /readyz, /metrics.

Served by the lean WSGI handler with the webhook (config/handlers.py): no session, CSRF or host
check, and no https redirect (SECURE_REDIRECT_EXEMPT), since probes come from inside by address.
"""

import hmac
import ipaddress

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from config.throttle import client_ip
from messaging.monitoring import metrics as clinic_metrics
from messaging.monitoring import probes


@never_cache
@require_safe
def healthz(request: HttpRequest) -> HttpResponse:
    """Liveness: the process answers. Touches nothing else (not even the database)."""
    return HttpResponse("ok\n", content_type="text/plain")


@never_cache
@require_safe
def readyz(request: HttpRequest) -> HttpResponse:
    """Readiness: 200 when every check passes, 503 naming the failing ones otherwise."""
    checks = probes.check_readiness()
    ready = all(check.ok for check in checks)
    return JsonResponse(
        {"ready": ready, "checks": {check.name: check.detail for check in checks}},
        status=200 if ready else 503,
    )


@never_cache
@require_safe
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus text format, for the METRICS_TOKEN bearer or METRICS_ALLOWED_NETWORKS."""
    if not may_read_metrics(request):
        return HttpResponse("forbidden\n", status=403, content_type="text/plain")
    # The classic text format every Prometheus reads (the names are plain ASCII).
    return HttpResponse(clinic_metrics.render(), content_type=CONTENT_TYPE_PLAIN_0_0_4)


def may_read_metrics(request: HttpRequest) -> bool:
    token = settings.METRICS_TOKEN
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if token and scheme.lower() == "bearer" and hmac.compare_digest(given.encode(), token.encode()):
        return True
    try:
        address = ipaddress.ip_address(client_ip(request) or "")
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped  # ::ffff:10.0.0.7 from a dual-stack socket
    return any(address in network for network in settings.METRICS_ALLOWED_NETWORKS)
