"""The worker's proof of life."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Heartbeat(models.Model):
    """When a background worker last ran a task (`messaging.tasks.heartbeat`, every minute).

    Written by a scheduled task, so a recent beat proves the whole path: the scheduler, the
    broker, a worker and the database. One row per name ("worker").
    """

    name = models.CharField(_("name"), max_length=50, primary_key=True)
    beat_at = models.DateTimeField(_("last beat"))

    class Meta:
        db_table = "monitoring_heartbeats"
        verbose_name = _("heartbeat")
        verbose_name_plural = _("heartbeats")

    def __str__(self) -> str:
        return f"{self.name} at {self.beat_at:%Y-%m-%d %H:%M:%S}"
