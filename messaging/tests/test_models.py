import datetime as dt

import pytest
import time_machine
from django.db import IntegrityError, transaction

from messaging.events import record_event
from messaging.models import Conversation, InboundMessage
from messaging.services import retry_inbound_messages
from messaging.tests.factories import ConversationFactory, InboundMessageFactory


@pytest.mark.django_db
@time_machine.travel(dt.datetime(2026, 11, 23, 21, 30, tzinfo=dt.UTC), tick=False)
def test_conversation_date_and_time_are_clinic_local():
    message = ConversationFactory()
    # 21:30 UTC is 00:30 the next day in Riyadh (UTC+3)
    assert (message.date, message.time) == (dt.date(2026, 11, 24), dt.time(0, 30))


@pytest.mark.django_db
def test_whatsapp_message_ids_are_unique_when_set():
    ConversationFactory(wa_message_id=None)
    ConversationFactory(wa_message_id=None)
    ConversationFactory(wa_message_id="wamid.X")
    with pytest.raises(IntegrityError), transaction.atomic():
        ConversationFactory(wa_message_id="wamid.X")


@pytest.mark.django_db
def test_record_event_stamps_utc_iso():
    event = record_event(event_type="reservation_created", data={"id": 1}, wa_id="966501234567")
    assert event.ts_iso.endswith("+00:00")
    assert dt.datetime.fromisoformat(event.ts_iso) == event.created_at


@pytest.mark.django_db
def test_retry_puts_failed_rows_back_but_never_done_ones():
    failed = InboundMessageFactory(
        status=InboundMessage.Status.FAILED,
        attempts=5,
        next_attempt_at=dt.datetime(2030, 1, 1, tzinfo=dt.UTC),
    )
    done = InboundMessageFactory(status=InboundMessage.Status.DONE)
    assert retry_inbound_messages(ids=[failed.id, done.id]) == 1
    failed.refresh_from_db()
    done.refresh_from_db()
    assert failed.status == InboundMessage.Status.PENDING
    assert failed.next_attempt_at is None
    assert done.status == InboundMessage.Status.DONE
    assert list(InboundMessage.objects.due()) == [failed]


@pytest.mark.django_db
def test_outbound_and_inbound_filters():
    inbound = ConversationFactory(role=Conversation.Role.USER)
    outbound = ConversationFactory(customer=inbound.customer, role=Conversation.Role.ASSISTANT)
    assert list(Conversation.objects.inbound()) == [inbound]
    assert list(Conversation.objects.outbound()) == [outbound]
