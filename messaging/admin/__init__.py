"""The messaging admin, by concern; importing the package registers every part."""

from messaging.admin import logs, settings, vacations

__all__ = ["logs", "settings", "vacations"]
