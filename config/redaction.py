"""A logging filter that masks the configured secrets, and phone numbers, in every record."""

import logging
import re

from django.conf import settings

REDACTED = "[redacted]"
SECRET_SETTINGS = [
    "SECRET_KEY",
    "WHATSAPP_ACCESS_TOKEN",
    "WHATSAPP_APP_SECRET",
    "WHATSAPP_VERIFY_TOKEN",
]
MIN_SECRET_LENGTH = 6  # shorter values would mask ordinary words
# A WhatsApp number (8-15 digits, maybe after "+") standing alone, e.g. in a URL Django logs
# with a 404 ("Not Found: /inbox/966501234567/"); not part of an IP address or a longer id.
PHONE_NUMBER = re.compile(r"(?<![\w.])\+?\d{8,15}(?![\w.])")
NUMBER = "[number]"


def secret_values() -> list[str]:
    """The secrets this deployment holds, longest first (so no secret is half-masked)."""
    values = [str(getattr(settings, name, "") or "") for name in SECRET_SETTINGS]
    values += [str(db.get("PASSWORD") or "") for db in settings.DATABASES.values()]
    return sorted({v for v in values if len(v) >= MIN_SECRET_LENGTH}, key=len, reverse=True)


def redact(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, REDACTED)
    return PHONE_NUMBER.sub(NUMBER, text)


class RedactSecretsFilter(logging.Filter):
    """Mask every configured secret ("[redacted]") and phone number ("[number]") in the message
    and the traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        secrets = secret_values()
        message = record.getMessage()
        clean = redact(message, secrets)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, secrets)
        if record.stack_info:
            record.stack_info = redact(record.stack_info, secrets)
        return True
