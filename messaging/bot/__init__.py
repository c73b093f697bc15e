"""The bot: the customer's WhatsApp conversation (menu, booking, appointments, hand-off).

`messaging.bot.router.reply_to` is the one entry point the pipeline calls; it returns the
messages to send, which the pipeline records before sending. It reads the database and calls
the booking services, nothing else, so a retry of the same message can rely on what was recorded.
"""
