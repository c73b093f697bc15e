"""The bot: what to answer to one inbound message (a placeholder until the booking conversation).

`reply_to` is the one entry point the pipeline calls; it returns the messages to send, which the
pipeline records before sending. Replace its body to change the bot; keep it free of I/O other
than the database, so that a retry of the same message can rely on what was recorded.
"""

import re

from django.conf import settings

from messaging import outgoing
from messaging.whatsapp import Message

ARABIC = re.compile(r"[\u0600-\u06FF]")
# Types the bot can read; a person tapping a button or list row is reading, too.
READABLE_TYPES = frozenset({"text", "interactive", "button"})
# Events, not messages: nothing to answer.
SILENT_TYPES = frozenset({"reaction", "system"})


def reply_to(message: Message) -> list[outgoing.Outgoing]:
    """The replies to one inbound message, in the order they are to be sent."""
    if message.type in SILENT_TYPES:
        return []
    arabic = bool(ARABIC.search(message.text + (message.profile_name or "")))
    if message.type not in READABLE_TYPES:
        return [outgoing.text(CANNOT_READ["ar" if arabic else "en"])]
    name = message.profile_name or ""
    greeting = GREETING["ar" if arabic else "en"].format(
        name=f" {name}" if name else "", business=settings.BUSINESS_NAME
    )
    return [outgoing.text(greeting)]


GREETING = {
    "en": "Hello{name}! Welcome to {business}. Booking appointments by WhatsApp is coming soon; "
    "until then, please call us to book.",
    "ar": "أهلاً{name}! مرحباً بك في {business}. الحجز عبر واتساب قادم قريباً؛ "
    "وحتى ذلك الحين يرجى الاتصال بنا للحجز.",
}
CANNOT_READ = {
    "en": "Sorry, I can only read text messages. Please write your request in a message.",
    "ar": "عذراً، أستطيع قراءة الرسائل النصية فقط. يرجى كتابة طلبك في رسالة.",
}
