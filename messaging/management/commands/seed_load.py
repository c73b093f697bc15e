from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from messaging.load import seed_load_data


class Command(BaseCommand):
    help = "Add large synthetic data for benchmarks (use a dedicated database; DEBUG only)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--customers", type=int, default=50_000)
        parser.add_argument("--reservations", type=int, default=200_000)
        parser.add_argument("--messages", type=int, default=1_000_000)
        parser.add_argument("--events", type=int, default=200_000)
        parser.add_argument("--inbound", type=int, default=10_000)
        parser.add_argument(
            "--force", action="store_true", help="Seed even with DEBUG=false (never in production)."
        )

    def handle(self, *args: Any, force: bool = False, **options: Any) -> None:
        if not settings.DEBUG and not force:
            raise CommandError("Refusing to add load data with DEBUG=false (use --force).")
        counts = {k: options[k] for k in ("customers", "reservations", "messages", "events")}
        if any(value < 0 for value in [*counts.values(), options["inbound"]]):
            raise CommandError("Counts cannot be negative.")
        try:
            summary = seed_load_data(**counts, inbound=options["inbound"])
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"Added {summary}.")
