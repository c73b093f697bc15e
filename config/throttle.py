"""Login throttling (django-axes): whose address a login comes from, and the limits on guessing.

Two counts lock a login out for AXES_COOLOFF_MINUTES (HTTP 429, even with the right password):
AXES_FAILURE_LIMIT wrong passwords for one username from one address, and
AXES_USERNAME_FAILURE_LIMIT for one username from any number of addresses (a botnet, or a
client that forges its address). The address is the direct peer's, unless that peer is one of our
proxies (TRUSTED_PROXY_NETWORKS): then it is the one the outermost of TRUSTED_PROXY_COUNT proxies
saw, read from the right of X-Forwarded-For; anything further left is what the client claims.
"""

import ipaddress
from functools import cache
from typing import Any

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username, get_lockout_parameters
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Sum
from django.http import HttpRequest

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def client_ip(request: HttpRequest) -> str | None:
    """The client's address, as far as our own proxies vouch for it (AXES_CLIENT_IP_CALLABLE)."""
    peer = request.META.get("REMOTE_ADDR") or None
    hops = settings.TRUSTED_PROXY_COUNT
    if not hops or not is_trusted_proxy(peer):
        return peer  # reached directly: X-Forwarded-For is whatever the client wrote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [part for part in forwarded if part]
    if len(forwarded) < hops:
        return peer
    try:
        return str(ipaddress.ip_address(forwarded[-hops]))
    except ValueError:  # not what a proxy of ours writes
        return peer


def is_trusted_proxy(peer: str | None) -> bool:
    if not peer:
        return True  # a Unix socket: only a process on this machine can connect
    try:
        address = ipaddress.ip_address(peer)
    except ValueError:
        return False
    return any(
        address in network for network in trusted_networks(tuple(settings.TRUSTED_PROXY_NETWORKS))
    )


@cache
def trusted_networks(networks: tuple[str, ...]) -> list[Network]:
    return [ipaddress.ip_network(network, strict=False) for network in networks]


class LoginThrottle(AxesDatabaseHandler):
    """Axes' database handler with a limit of its own for each lockout parameter."""

    def get_failures(self, request: HttpRequest, credentials: dict[str, Any] | None = None) -> int:
        # Axes compares one number with AXES_FAILURE_LIMIT. Each count is shifted onto that
        # scale, so that it reaches AXES_FAILURE_LIMIT exactly when it reaches its own limit.
        base = settings.AXES_FAILURE_LIMIT
        worst = 0
        parameters = get_lockout_parameters(request, credentials)
        for parameter, attempts in zip(
            parameters, self.get_user_attempts(request, credentials), strict=True
        ):
            failures = attempts.aggregate(n=Sum("failures_since_start"))["n"] or 0
            own = settings.AXES_USERNAME_FAILURE_LIMIT if parameter == "username" else base
            worst = max(worst, failures - own + base)
        return worst

    def reset_user_attempts(
        self, request: HttpRequest, credentials: dict[str, Any] | None = None
    ) -> int:
        """A successful login clears the failures from its own address, not those guessed at the
        same username from elsewhere (axes would clear every count the username is part of)."""
        username = get_client_username(request, credentials)
        attempts = AccessAttempt.objects.filter(
            username=username,
            ip_address=request.axes_ip_address,  # type: ignore[attr-defined]  # set by axes
        )
        return attempts.delete()[0]
