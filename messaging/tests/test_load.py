import datetime as dt

import pytest
import time_machine
from django.core.management import CommandError, call_command

from customers.models import Customer
from messaging.models import Conversation, InboundMessage, NotificationEvent
from reservations.models import Reservation

NOW = dt.datetime(2026, 11, 23, 7, 0, tzinfo=dt.UTC)
pytestmark = pytest.mark.django_db


def test_seed_load_adds_the_requested_rows_that_satisfy_every_constraint(settings):
    settings.DEBUG = True
    with time_machine.travel(NOW, tick=False):
        call_command(
            "seed_load",
            customers=30,
            reservations=900,
            messages=12_000,
            events=500,
            inbound=60,
        )
    assert Customer.objects.count() == 30
    assert Reservation.objects.count() == 900
    assert Reservation.objects.cancelled().count() == 129  # one in seven
    assert Conversation.objects.count() == 12_000
    assert Conversation.objects.failed().exists()
    assert NotificationEvent.objects.count() == 500
    assert InboundMessage.objects.pending().count() == 25
    assert InboundMessage.objects.failed().count() == 15
    first, last = Reservation.objects.order_by("date")[0], Reservation.objects.order_by("-date")[0]
    assert first.date == dt.date(2025, 11, 23)
    assert last.date <= dt.date(2027, 1, 22)
    newest = NotificationEvent.objects.order_by("-created_at")[0]
    assert newest.ts_iso == "2026-11-23T07:00:00.000000+00:00"
    message = Conversation.objects.get(message="Load message 0")
    assert (message.date, message.time) == (dt.date(2026, 11, 23), dt.time(10, 0))


def test_seed_load_refuses_without_debug(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG=false"):
        call_command("seed_load", customers=1, reservations=0, messages=0, events=0, inbound=0)
    assert not Customer.objects.exists()
