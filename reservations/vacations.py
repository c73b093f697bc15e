"""Vacations: staff declare them; the engine refuses their days; these report and record them."""

from datetime import date
from typing import Any

from django.db import transaction
from django.utils import timezone

from messaging.events import record_event
from reservations.models import Reservation, ReservationQuerySet, VacationPeriod


@transaction.atomic
def save_vacation(*, vacation: VacationPeriod, by: str) -> VacationPeriod:
    """Create or change a vacation, recording `vacation_created` / `vacation_updated`."""
    created = vacation.pk is None
    vacation.full_clean()
    vacation.save()
    record_event(
        event_type="vacation_created" if created else "vacation_updated",
        data={**_describe(vacation), "by": by},
    )
    return vacation


@transaction.atomic
def delete_vacation(*, vacation: VacationPeriod, by: str) -> None:
    """Remove a vacation (its days open again), recording `vacation_deleted`."""
    described = _describe(vacation)
    vacation.delete()
    record_event(event_type="vacation_deleted", data={**described, "by": by})


def _describe(vacation: VacationPeriod) -> dict[str, Any]:
    return {
        "vacation_id": vacation.pk,
        "title": vacation.title,
        "start_date": vacation.start_date.isoformat(),
        "end_date": vacation.end_date.isoformat() if vacation.end_date else None,
    }


def reservations_in_vacation(*, vacation: VacationPeriod, today: date) -> ReservationQuerySet:
    """Active reservations from `today` on that fall on the vacation's days (staff may tell
    their customers)."""
    found = Reservation.objects.active().filter(date__gte=max(vacation.start_date, today))
    if vacation.end_date is not None:
        found = found.filter(date__lte=vacation.end_date)
    return found.order_by("date", "time_slot", "id")


def vacation_on(*, day: date) -> tuple[VacationPeriod | None, int]:
    """The vacation that closes the clinic on `day`, and how many active reservations from today
    on fall in it (0 without one)."""
    vacation = VacationPeriod.objects.covering(day).order_by("start_date", "id").first()
    if vacation is None:
        return None, 0
    return vacation, reservations_in_vacation(vacation=vacation, today=timezone.localdate()).count()
