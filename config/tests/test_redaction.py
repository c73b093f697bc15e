import io
import logging
from typing import Any

from django.conf import settings

from config.redaction import REDACTED, RedactSecretsFilter


def log_through_filter(message: str, *args: object, exc: Exception | None = None) -> str:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactSecretsFilter())
    logger = logging.getLogger("test.redaction")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        if exc is None:
            logger.warning(message, *args)
        else:
            try:
                raise exc
            except Exception:
                logger.exception(message, *args)
    finally:
        logger.removeHandler(handler)
    return stream.getvalue()


def test_configured_secrets_are_masked_in_messages_and_tracebacks(settings):
    settings.WHATSAPP_ACCESS_TOKEN = "EAAG-very-secret-token"
    settings.WHATSAPP_APP_SECRET = "app-secret-0123"
    out = log_through_filter("calling with %s", "Bearer EAAG-very-secret-token")
    assert "EAAG-very-secret-token" not in out
    assert f"calling with Bearer {REDACTED}" in out
    out = log_through_filter("failed", exc=ValueError("signature app-secret-0123 rejected"))
    assert "app-secret-0123" not in out
    assert f"signature {REDACTED} rejected" in out


def test_short_or_empty_secrets_do_not_mask_ordinary_words(settings):
    settings.WHATSAPP_VERIFY_TOKEN = "abc"
    settings.WHATSAPP_APP_SECRET = ""
    assert "abc and more" in log_through_filter("abc and more")


def test_the_console_handler_uses_the_filter():
    handlers: Any = settings.LOGGING["handlers"]
    assert "redact_secrets" in handlers["console"]["filters"]
    root_filters = [f for h in logging.getLogger().handlers for f in h.filters]
    assert any(isinstance(f, RedactSecretsFilter) for f in root_filters)


def test_phone_numbers_are_masked_but_not_addresses_or_ids():
    out = log_through_filter("Not Found: /inbox/%s/ from %s", "966501234567", "203.0.113.7")
    assert "966501234567" not in out
    assert "Not Found: /inbox/[number]/ from 203.0.113.7" in out
    assert "+[number]" not in log_through_filter("to +447700900123")
    assert "wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzTEXT=" in log_through_filter(
        "sent wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzTEXT="
    )
    assert "reservation 1234 (staff)" in log_through_filter("reservation 1234 (staff)")
