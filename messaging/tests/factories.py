import json

import factory

from customers.tests.factories import CustomerFactory
from messaging.models import Conversation, InboundMessage, NotificationEvent


class ConversationFactory(factory.django.DjangoModelFactory[Conversation]):
    class Meta:
        model = Conversation

    customer = factory.SubFactory(CustomerFactory)
    role = Conversation.Role.USER
    message = "Hello"
    status = Conversation.Status.RECEIVED


class InboundMessageFactory(factory.django.DjangoModelFactory[InboundMessage]):
    class Meta:
        model = InboundMessage

    message_id = factory.Sequence(lambda n: f"wamid.TEST{n:06d}")
    wa_id = "966501234567"
    payload = factory.LazyAttribute(
        lambda o: json.dumps(
            {
                "message": {
                    "from": o.wa_id,
                    "id": o.message_id,
                    "timestamp": "1763888400",
                    "type": "text",
                    "text": {"body": "hi"},
                },
                "contact": {"wa_id": o.wa_id, "profile": {"name": "Sara"}},
                "metadata": {"phone_number_id": "106540352242922"},
            }
        )
    )


class NotificationEventFactory(factory.django.DjangoModelFactory[NotificationEvent]):
    class Meta:
        model = NotificationEvent

    event_type = "reservation_created"
    data = factory.Dict({"reservation_id": 1})
