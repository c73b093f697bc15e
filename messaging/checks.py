"""System check: warn at start-up when a WhatsApp setting is missing."""

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core import checks

REQUIRED_SETTINGS = {
    "WHATSAPP_VERIFY_TOKEN": "the webhook handshake (GET) cannot be answered",
    "WHATSAPP_APP_SECRET": "webhook signatures cannot be verified, so every POST is refused",
    "WHATSAPP_ACCESS_TOKEN": "no message can be sent",
    "WHATSAPP_PHONE_NUMBER_ID": "no message can be sent",
    "WHATSAPP_API_BASE_URL": "no message can be sent",
}


@checks.register(checks.Tags.compatibility)
def check_whatsapp_settings(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    return [
        checks.Warning(
            f"{name} is not set: {consequence}.",
            hint=f"Set {name} in the environment (see .env.example).",
            id=f"messaging.W00{index}",
        )
        for index, (name, consequence) in enumerate(REQUIRED_SETTINGS.items(), start=1)
        if not getattr(settings, name, "")
    ]
