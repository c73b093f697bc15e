from typing import Any

from django.core.management.base import BaseCommand

from config.permissions import setup_roles


class Command(BaseCommand):
    help = "Create or refresh the Receptionist and Manager staff groups (safe to run again)."

    def handle(self, *args: Any, **options: Any) -> None:
        counts = setup_roles()
        self.stdout.write(", ".join(f"{name}: {n} permissions" for name, n in counts.items()))
