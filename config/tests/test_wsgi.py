"""The WSGI entry point: Meta's webhook on a short middleware stack, the rest on the site's."""

import io
import json
import sys

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections

from config import wsgi
from config.handlers import ShortStackHandler, with_lean_webhook
from messaging.models import InboundMessage
from messaging.whatsapp import cloud_api

SECRET = "wsgi-test-secret"
BODY = cloud_api.webhook_body(
    phone_number_id="1",
    contacts=[{"profile": {"name": "سارة"}, "wa_id": "966500000009"}],
    messages=[
        {
            "from": "966500000009",
            "id": "wamid.WSGI1",
            "timestamp": "1790000000",
            "type": "text",
            "text": {"body": "مرحبا"},
        }
    ],
)


@pytest.fixture(autouse=True)
def keep_the_test_connection():
    """Like Django's test client: requests must not close the test's transaction."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def call(app, method: str, path: str, body: bytes = b"", **extra: str):
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "127.0.0.1",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        **extra,
    }
    started: list[tuple[str, list[tuple[str, str]]]] = []
    response = app(
        environ, lambda status, headers, exc_info=None: started.append((status, headers))
    )
    content = b"".join(response)
    response.close()
    return started[0][0], dict(started[0][1]), content, response


@pytest.mark.django_db
def test_the_webhook_is_served_by_the_short_stack(settings):
    settings.WHATSAPP_APP_SECRET = SECRET
    raw = json.dumps(BODY, ensure_ascii=False).encode()
    status, headers, _, response = call(
        wsgi.application,
        "POST",
        "/webhooks/whatsapp/",
        raw,
        HTTP_X_HUB_SIGNATURE_256=cloud_api.sign(raw, SECRET),
    )
    assert status == "200 OK"
    assert response._handler_class is ShortStackHandler
    assert InboundMessage.objects.filter(message_id="wamid.WSGI1").exists()
    assert headers["X-Content-Type-Options"] == "nosniff"  # the security middleware ran
    assert "Content-Language" not in headers  # the site's locale middleware did not


@pytest.mark.django_db
def test_a_bad_signature_is_still_refused_on_the_short_stack(settings):
    settings.WHATSAPP_APP_SECRET = SECRET
    status, _, content, _ = call(
        wsgi.application, "POST", "/webhooks/whatsapp/", b"{}", HTTP_X_HUB_SIGNATURE_256="x"
    )
    assert status.startswith("403")
    assert b"X-Hub-Signature-256" in content


def test_the_verification_handshake_works_on_the_short_stack(settings):
    settings.WHATSAPP_VERIFY_TOKEN = "wsgi-verify"
    status, headers, content, _ = call(
        wsgi.application,
        "GET",
        "/webhooks/whatsapp/",
        QUERY_STRING="hub.mode=subscribe&hub.verify_token=wsgi-verify&hub.challenge=1158201444",
    )
    assert status == "200 OK"
    assert headers["Content-Type"].startswith("text/plain")
    assert content == b"1158201444"


@pytest.mark.django_db
def test_every_other_path_gets_the_sites_whole_stack():
    status, headers, _, response = call(wsgi.application, "GET", "/admin/login/")
    assert status == "200 OK"
    assert response._handler_class is WSGIHandler
    assert "csrftoken" in headers.get("Set-Cookie", "")  # the site's CSRF middleware ran


@pytest.mark.django_db
def test_the_short_stack_redirects_to_https_like_the_site(settings):
    settings.SECURE_SSL_REDIRECT = True
    app = with_lean_webhook(wsgi.site)  # the middleware reads its settings when it is built
    status, headers, _, _ = call(app, "POST", "/webhooks/whatsapp/", b"{}")
    assert status.startswith("301")
    assert headers["Location"] == "https://127.0.0.1/webhooks/whatsapp/"


def test_the_site_middleware_is_left_as_it_was(settings):
    ShortStackHandler(["django.middleware.security.SecurityMiddleware"])
    assert "django.contrib.sessions.middleware.SessionMiddleware" in settings.MIDDLEWARE
