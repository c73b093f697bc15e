"""The project's own app, and third-party apps under names staff can read, in every language (the
admin's index shows them)."""

from axes.apps import AppConfig as AxesAppConfig
from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AxesConfig(AxesAppConfig):
    """django-axes (login throttling): its app has no verbose name, so the admin said "Axes"."""

    verbose_name = _("Login attempts")


class ProjectConfig(AppConfig):
    """`config` as an app: its admin.py holds the third-party admins to our permission rules, its
    static/ the favicon, its templatetags `{% allowed_url %}`."""

    name = "config"
    verbose_name = _("Clinic")
