from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from messaging.reminders.planning import plan_reminders
from messaging.reminders.sending import send_due_reminders


class Command(BaseCommand):
    help = "Plan and send the reminders due now (--dry-run: only show what would be sent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="Change and send nothing.")

    def handle(self, *args: Any, **options: Any) -> None:
        dry_run = options["dry_run"]
        if not dry_run:
            self.stdout.write(f"Reminders: {plan_reminders()}.")
        outcomes = send_due_reminders(dry_run=dry_run)
        for outcome in outcomes:
            self.stdout.write(str(outcome))
        verb = "would be handled" if dry_run else "handled"
        self.stdout.write(f"{len(outcomes)} due reminders {verb}.")
