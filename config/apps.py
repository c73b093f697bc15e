"""Third-party apps under names staff can read, in every language (the admin's index shows them)."""

from axes.apps import AppConfig as AxesAppConfig
from django.utils.translation import gettext_lazy as _


class AxesConfig(AxesAppConfig):
    """django-axes (login throttling): its app has no verbose name, so the admin said "Axes"."""

    verbose_name = _("Login attempts")
