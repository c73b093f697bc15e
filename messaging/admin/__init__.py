"""The messaging admin, by concern; importing the package registers every part."""

from messaging.admin import customers, logs, settings, vacations

__all__ = ["customers", "logs", "settings", "vacations"]
