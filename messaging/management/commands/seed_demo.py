from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from messaging.demo import (
    DEMO_PASSWORD,
    DEMO_RECEPTIONIST_PASSWORD,
    DEMO_RECEPTIONIST_USERNAME,
    DEMO_USERNAME,
    seed_demo_data,
)


class Command(BaseCommand):
    help = "Create demo customers, reservations, messages and a demo staff login (DEBUG only)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--force", action="store_true", help="Seed even with DEBUG=false (never in production)."
        )

    def handle(self, *args: Any, force: bool = False, **options: Any) -> None:
        if not settings.DEBUG and not force:
            raise CommandError("Refusing to seed demo data and a demo login with DEBUG=false.")
        summary = seed_demo_data()
        self.stdout.write(
            f"Demo data: {summary.customers} customers, {summary.reservations} new reservations, "
            f"{summary.vacations} new vacations, {summary.messages} new messages."
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo staff login: {DEMO_USERNAME} / {DEMO_PASSWORD}  "
                f"at {settings.DEV_SERVER_URL}/admin/"
            )
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo receptionist login: {DEMO_RECEPTIONIST_USERNAME} / "
                f"{DEMO_RECEPTIONIST_PASSWORD}  (Receptionist role: schedule, inbox, customers)"
            )
        )
        if settings.WHATSAPP_SANDBOX:
            self.stdout.write(
                self.style.SUCCESS(
                    "WhatsApp sandbox (talk to the bot as a customer): "
                    f"{settings.DEV_SERVER_URL}/sandbox/"
                )
            )
