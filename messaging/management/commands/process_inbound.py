from typing import Any

from django.core.management.base import BaseCommand

from messaging.services import drain_inbound_queue


class Command(BaseCommand):
    help = "Handle every inbound WhatsApp message that is due now, and say what happened."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(f"Inbound messages: {drain_inbound_queue()}.")
