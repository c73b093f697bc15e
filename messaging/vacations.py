"""Vacations and messaging: the notice a customer gets for writing while the clinic is closed,
and the template staff send to the customers whose appointments a new vacation falls on."""

from datetime import date

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from customers.models import Customer
from messaging.bot.formatting import format_day
from messaging.events import record_event
from messaging.models import VacationNotice, VacationNotification
from messaging.reminders.sending import reminder_choice, template_setting
from messaging.whatsapp import outgoing
from messaging.whatsapp.delivery import SEND_TASK, enqueue, record_outbound
from reservations.closures import Closure, vacation_closure
from reservations.models import Reservation, VacationPeriod
from reservations.vacations import reservations_in_vacation

NOTIFY_KEY = "vacation:"  # idempotency keys of the notifications (the sweep re-sends them if lost)


def running_vacation(day: date) -> VacationPeriod | None:
    return VacationPeriod.objects.covering(day).order_by("start_date", "id").first()


def notice_text(vacation: VacationPeriod, *, language: str) -> str:
    """The notice in `language`: the dates, and the reopening or "until further notice" (chained
    vacations and the closed days after them count as one closure)."""
    closure = vacation_closure(vacation=vacation)
    with override(language):
        start = format_day(closure.start, language=language)
        if closure.last_vacation_day is None or closure.reopens_on is None:
            text = _("We are closed for a vacation from %(start)s until further notice.") % {
                "start": start
            }
        else:
            text = _(
                "We are closed for a vacation from %(start)s to %(end)s. We reopen on %(reopen)s."
            ) % {
                "start": start,
                "end": format_day(closure.last_vacation_day, language=language),
                "reopen": format_day(closure.reopens_on, language=language),
            }
        if settings.VACATION_ALLOW_BOOKING_AFTER:
            return text + "\n" + _("You can still book a visit for after the reopening.")
        return text + "\n" + _("We will answer your messages when we reopen.")


def take_vacation_notice(
    *, customer: Customer, vacation: VacationPeriod, today: date, language: str
) -> list[outgoing.Outgoing]:
    """The notice, if this customer has not had it for this vacation (or today, by the setting)."""
    day = today if settings.VACATION_NOTICE_ONCE_PER == "day" else vacation.start_date
    _notice, created = VacationNotice.objects.get_or_create(
        customer=customer, vacation=vacation, day=day
    )
    if not created:
        return []
    record_event(
        event_type="vacation_notice_sent",
        data={"vacation_id": vacation.pk, "day": day.isoformat()},
        wa_id=customer.wa_id,
    )
    return [outgoing.text(notice_text(vacation, language=language))]


def vacation_message(
    *, reservation: Reservation, vacation: VacationPeriod, closure: Closure | None = None
) -> outgoing.Outgoing:
    """The template telling the customer `vacation` falls on their appointment, with the day the
    clinic reopens (`closure`, computed once by a caller that sends many)."""
    language = reservation.customer.message_language
    name, code = template_setting(settings.VACATION_NOTICE_TEMPLATES, language)
    reopens_on = (closure or vacation_closure(vacation=vacation)).reopens_on
    with override(language):
        reopen = (
            format_day(reopens_on, language=language) if reopens_on else _("until further notice")
        )
    return outgoing.template(
        name,
        code,
        params=[settings.BUSINESS_NAME, format_day(reservation.date, language=language), reopen],
        quick_replies=[reminder_choice("mv", reservation.pk)],
    )


@transaction.atomic
def notify_vacation_customers(*, vacation: VacationPeriod, by: str) -> int:
    """Send each customer whose appointment the vacation falls on the template offering to
    rebook, once per reservation and vacation; return how many were sent now."""
    today = timezone.localdate()
    closure = vacation_closure(vacation=vacation)
    sent = 0
    for reservation in reservations_in_vacation(vacation=vacation, today=today).select_related(
        "customer"
    ):
        if reservation.customer.is_blocked:
            continue
        notification, created = VacationNotification.objects.get_or_create(
            reservation=reservation, vacation=vacation, defaults={"created_by": by}
        )
        if not created:
            continue
        message = vacation_message(reservation=reservation, vacation=vacation, closure=closure)
        conversation, _created = record_outbound(
            customer=reservation.customer,
            message=message,
            key=f"{NOTIFY_KEY}{vacation.pk}:{reservation.pk}",
        )
        notification.conversation = conversation
        notification.save(update_fields=["conversation"])
        enqueue(SEND_TASK, conversation.id)
        sent += 1
    record_event(
        event_type="vacation_customers_notified",
        data={"vacation_id": vacation.pk, "notified": sent, "by": by},
    )
    return sent
