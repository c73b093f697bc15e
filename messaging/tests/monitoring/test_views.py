"""/healthz, /readyz and /metrics: what a load balancer and Prometheus get, and who may read."""

import datetime as dt

import pytest
import time_machine
from django.db import OperationalError, connection
from django.test import Client

from config import wsgi
from config.handlers import ShortStackHandler, with_lean_webhook
from config.tests.test_wsgi import call, keep_the_test_connection  # noqa: F401 (a fixture)
from messaging import tasks
from messaging.tests.factories import InboundMessageFactory

pytestmark = pytest.mark.broker  # readiness asks Redis too when it is the broker

NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
OUTSIDE = "203.0.113.5"


# ---------------------------------------------------------------------------- liveness
def test_healthz_answers_without_touching_the_database(client):
    # No django_db mark: a query would fail the test.
    response = client.get("/healthz")
    assert (response.status_code, response.content) == (200, b"ok\n")
    assert "no-cache" in response["Cache-Control"]
    assert client.head("/healthz").status_code == 200
    assert client.post("/healthz").status_code == 405


# ---------------------------------------------------------------------------- readiness
@pytest.mark.django_db
def test_readyz_waits_for_the_first_heartbeat(client):
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["database"] == "ok"
    assert response.json()["checks"]["worker"].startswith("no heartbeat yet")
    tasks.heartbeat()
    response = client.get("/readyz")
    assert response.status_code == 200, response.json()
    assert response.json()["ready"] is True


@pytest.mark.django_db
def test_readyz_fails_when_the_worker_stopped_beating(client, settings):
    settings.HEALTH_MAX_HEARTBEAT_AGE_SECONDS = 180
    with time_machine.travel(NOW, tick=False) as clock:
        tasks.heartbeat()
        clock.shift(dt.timedelta(seconds=170))
        assert client.get("/readyz").status_code == 200
        clock.shift(dt.timedelta(seconds=20))
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["worker"] == "no heartbeat for more than 180 s"


@pytest.mark.django_db
def test_readyz_fails_when_a_due_message_waits_too_long_but_not_for_one_backing_off(
    client, settings
):
    settings.HEALTH_MAX_QUEUE_LAG_SECONDS = 120
    with time_machine.travel(NOW, tick=False):
        tasks.heartbeat()
        InboundMessageFactory(
            created_at=NOW - dt.timedelta(minutes=10), next_attempt_at=NOW + dt.timedelta(minutes=1)
        )
        InboundMessageFactory(created_at=NOW - dt.timedelta(seconds=100))
        InboundMessageFactory(created_at=NOW - dt.timedelta(hours=2), status="done")
        assert client.get("/readyz").status_code == 200
        InboundMessageFactory(created_at=NOW - dt.timedelta(seconds=121))
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"] == {
        "database": "ok",
        "worker": "ok",
        "queue": "a message has waited more than 120 s",
        **({"broker": "ok"} if "redis" in settings.Q_CLUSTER else {}),
    }


@pytest.mark.django_db
def test_readyz_fails_without_the_database(client):
    def refuse(execute, sql, params, many, context):
        raise OperationalError("connection refused")

    with connection.execute_wrapper(refuse):
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"ready": False, "checks": {"database": "unreachable"}}


@pytest.mark.django_db
def test_on_redis_readyz_fails_when_redis_does_not_answer(client, settings):
    tasks.heartbeat()
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "redis": "redis://127.0.0.1:1/0"}
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["broker"] == "Redis unreachable"


# ---------------------------------------------------------------------------- who reads /metrics
@pytest.mark.django_db
@pytest.mark.parametrize(
    ("address", "forwarded", "auth", "status"),
    [
        ("127.0.0.1", None, None, 200),  # Prometheus on this machine
        ("::1", None, None, 200),
        (OUTSIDE, None, None, 403),
        (OUTSIDE, None, "Bearer s3cret-metrics-token", 200),
        (OUTSIDE, None, "bearer s3cret-metrics-token", 200),
        (OUTSIDE, None, "Bearer wrong", 403),
        (OUTSIDE, None, "Basic s3cret-metrics-token", 403),
        ("10.1.2.3", None, None, 200),  # METRICS_ALLOWED_NETWORKS below
        ("::ffff:10.1.2.3", None, None, 200),
        # Behind the proxy on this machine: the visitor's address counts, not the proxy's.
        ("127.0.0.1", f"6.6.6.6, {OUTSIDE}", None, 403),
        ("127.0.0.1", "127.0.0.1, 10.1.2.3", None, 200),  # what a client claims is not read
        ("127.0.0.1", "10.1.2.3, 6.6.6.6", None, 403),
    ],
)
def test_metrics_need_the_token_or_a_local_address(settings, address, forwarded, auth, status):
    import ipaddress

    settings.METRICS_TOKEN = "s3cret-metrics-token"
    settings.METRICS_ALLOWED_NETWORKS = [
        ipaddress.ip_network(n) for n in ("127.0.0.0/8", "::1/128", "10.0.0.0/8")
    ]
    settings.TRUSTED_PROXY_COUNT = 1 if forwarded else 0
    headers = {"REMOTE_ADDR": address}
    if forwarded:
        headers["HTTP_X_FORWARDED_FOR"] = forwarded
    if auth:
        headers["HTTP_AUTHORIZATION"] = auth
    assert Client().get("/metrics", **headers).status_code == status


@pytest.mark.django_db
def test_without_a_token_configured_no_bearer_gets_in(settings):
    settings.METRICS_TOKEN = ""
    response = Client().get("/metrics", REMOTE_ADDR=OUTSIDE, HTTP_AUTHORIZATION="Bearer ")
    assert response.status_code == 403


# ---------------------------------------------------------------------------- behind a balancer
@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics"])
def test_probes_by_address_over_http_get_an_answer_not_a_redirect(settings, path):
    """A balancer asks http://10.0.0.5:8000/healthz: no https redirect, no ALLOWED_HOSTS 400."""
    settings.SECURE_SSL_REDIRECT = True
    settings.ALLOWED_HOSTS = ["clinic.example.com"]
    app = with_lean_webhook(wsgi.site)  # the middleware reads its settings when it is built
    status, _, _, response = call(
        app, "GET", path, HTTP_HOST="10.0.0.5:8000", REMOTE_ADDR="127.0.0.1"
    )
    assert status.split()[0] in {"200", "503"}
    assert response._handler_class is ShortStackHandler
    status, _, _, _ = call(app, "GET", "/admin/login/", HTTP_HOST="10.0.0.5:8000")
    assert status.startswith(("301", "400"))  # the site itself still redirects and checks hosts
