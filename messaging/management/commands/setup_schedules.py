from typing import Any

from django.core.management.base import BaseCommand
from django_q.models import Schedule

SCHEDULES = [
    # name, task, minutes between runs
    ("messaging: plan reminders", "messaging.tasks.plan_reminders", 5),
    ("messaging: send due reminders", "messaging.tasks.send_reminders", 2),
    ("messaging: sweep the WhatsApp queues", "messaging.tasks.sweep", 1),
    ("messaging: prune old notification events", "messaging.tasks.prune_events", 60),
    ("messaging: conversation retention", "messaging.tasks.apply_retention", 24 * 60),
    # Proves to /readyz and /metrics that a worker runs tasks (messaging.monitoring.probes).
    ("messaging: worker heartbeat", "messaging.tasks.heartbeat", 1),
]


class Command(BaseCommand):
    help = "Create or update the periodic background jobs (safe to run again)."

    def handle(self, *args: Any, **options: Any) -> None:
        for name, func, minutes in SCHEDULES:
            _, created = Schedule.objects.update_or_create(
                name=name,
                defaults={
                    "func": func,
                    "schedule_type": Schedule.MINUTES,
                    "minutes": minutes,
                    "repeats": -1,
                },
            )
            self.stdout.write(f"{'Created' if created else 'Updated'} schedule {name!r}.")
