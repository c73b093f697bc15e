"""Fault injection on PostgreSQL: redeliveries racing each other, a slot everyone wants.

The trial counts are small here so the suite stays fast; `bench/faults/run_faults.py` runs the
same tests with FAULT_TRIALS=100 and records the outcome in bench/RESULTS.md ("faults").
"""

import datetime as dt
import json
import os
import random
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import time_machine
from django.db import connection

from customers.tests.factories import CustomerFactory
from messaging import services
from messaging.models import Conversation, InboundMessage, StatusUpdate
from messaging.tests.conftest import APP_SECRET, PAYLOADS
from messaging.whatsapp import cloud_api, delivery
from reservations import services as booking
from reservations.models import Reservation, Source
from reservations.tests.conftest import NOW
from reservations.tests.factories import make_schedule, set_rules

pytestmark = pytest.mark.broker

TRIALS = int(os.environ.get("FAULT_TRIALS", "2"))
MONDAY = dt.date(2026, 11, 23)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_every_payload_three_times_at_once_out_of_order_is_stored_and_answered_once(
    live_server, graph
):
    bodies = [path.read_bytes() for path in sorted(PAYLOADS.glob("*.json"))]
    deliveries = bodies * 3
    random.Random(7).shuffle(deliveries)  # statuses before their messages, copies apart
    url = f"{live_server.url}/webhooks/whatsapp/"
    with ThreadPoolExecutor(max_workers=8) as pool:
        codes = list(pool.map(lambda raw: cloud_api.post_webhook(url, raw, secret=APP_SECRET),
                              deliveries))  # fmt: skip
    connection.close()
    assert Counter(codes) == Counter({200: len(deliveries)})

    batches = [cloud_api.parse_webhook(json.loads(raw)) for raw in bodies]
    message_ids = {m.id for batch in batches for m in batch.messages}
    status_keys = {(s.id, s.status) for batch in batches for s in batch.statuses}
    assert InboundMessage.objects.count() == len(message_ids)
    assert StatusUpdate.objects.count() == len(status_keys)

    for _ in range(2):  # a second pass finds nothing left to do
        services.drain_inbound_queue()
        delivery.apply_status_updates()
    assert set(InboundMessage.objects.values_list("status", flat=True)) <= {"done", "failed"}
    genuine = InboundMessage.objects.filter(status="done").count()
    user_rows = Conversation.objects.filter(role="user")
    assert user_rows.count() == genuine
    assert len(set(user_rows.values_list("wa_message_id", flat=True))) == genuine
    # Each inbound message is answered once: one reply group per message, each reply sent once.
    replies = Conversation.objects.filter(role="assistant")
    keys = replies.values_list("idempotency_key", flat=True)
    groups = Counter((key or "").rsplit(":", 1)[0] for key in keys)
    assert len(groups) <= genuine
    assert len(graph.sent) == replies.count()
    assert not replies.exclude(status=Conversation.Status.SENT).exists()
    _close_live_server_connections()


def _close_live_server_connections() -> None:
    # The live server's threads keep theirs (CONN_MAX_AGE); the test database is dropped after.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_fifty_customers_booking_the_last_place_at_once_get_exactly_one_booking():
    make_schedule()
    set_rules(capacity=1, staff_capacity=1, max_horizon_days=365, max_upcoming_per_customer=1000)
    customers = [CustomerFactory(wa_id=f"96650{n:07d}").wa_id for n in range(50)]
    for trial in range(TRIALS):
        slot = dt.time(11 + trial % 12 // 2, 30 * (trial % 2))  # 12 slots each Monday
        day = MONDAY + dt.timedelta(weeks=trial // 12)
        start = threading.Barrier(len(customers))

        def book(wa_id: str, slot=slot, day=day, start=start) -> Any:
            try:
                start.wait()
                return booking.reserve_slot(
                    wa_id=wa_id, date=day, time_slot=slot,
                    type=0, source=Source.CUSTOMER,
                )  # fmt: skip
            except booking.BookingError as exc:
                return exc
            finally:
                connection.close()

        with time_machine.travel(NOW, tick=False), ThreadPoolExecutor(len(customers)) as pool:
            results = list(pool.map(book, customers))
        booked = [r for r in results if isinstance(r, Reservation)]
        assert len(booked) == 1, f"trial {trial}: {Counter(map(repr, results))}"
        assert {r.code for r in results if not isinstance(r, Reservation)} == {"slot_full"}
    assert Reservation.objects.active().count() == TRIALS
