"""System checks: warn at start-up when a WhatsApp or language model setting is missing or
points elsewhere."""

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

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


@checks.register(checks.Tags.compatibility)
def check_sandbox_address(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """With the sandbox on, the bot's replies must go to this server's own fake Graph API."""
    if not settings.WHATSAPP_SANDBOX:
        return []
    base = urlsplit(settings.WHATSAPP_API_BASE_URL)
    port = base.port or (443 if base.scheme == "https" else 80)
    if "/sandbox/graph/" not in base.path + "/" or port == settings.SERVER_PORT:
        return []
    return [
        checks.Warning(
            f"WHATSAPP_API_BASE_URL points at port {port}, but this server runs on port "
            f"{settings.SERVER_PORT} (PORT): the bot's replies will not arrive.",
            hint="Remove WHATSAPP_API_BASE_URL from .env: with the sandbox on, it follows PORT.",
            id="messaging.W010",
        )
    ]


LANGUAGE_MODEL_SETTINGS = ("LLM_BASE_URL", "LLM_API_KEY", "LLM_MODEL")


@checks.register(checks.Tags.compatibility)
def check_language_model_settings(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """The language model is off unless all three settings are given: say so if some are."""
    given = [name for name in LANGUAGE_MODEL_SETTINGS if getattr(settings, name, "")]
    missing = [name for name in LANGUAGE_MODEL_SETTINGS if name not in given]
    found: list[checks.CheckMessage] = []
    if given and missing:
        found.append(
            checks.Warning(
                f"{', '.join(missing)} not set: the language model stays off.",
                hint="Set all of LLM_BASE_URL, LLM_API_KEY and LLM_MODEL, or none.",
                id="messaging.W020",
            )
        )
    if "/sandbox/llm/" in settings.LLM_BASE_URL + "/" and not settings.WHATSAPP_SANDBOX:
        found.append(
            checks.Warning(
                "LLM_BASE_URL points at the sandbox's fake model, but the sandbox is off.",
                hint="Set WHATSAPP_SANDBOX=true (development) or point it at a real model.",
                id="messaging.W021",
            )
        )
    return found
