from reservations.models.reservation import (
    Reservation,
    ReservationQuerySet,
    Source,
    VacationPeriod,
    VacationPeriodQuerySet,
)
from reservations.models.schedule import (
    BookingRules,
    OpeningInterval,
    Weekday,
    WeeklySchedule,
    WeeklyScheduleQuerySet,
    find_overlap,
)

__all__ = [
    "BookingRules",
    "OpeningInterval",
    "Reservation",
    "ReservationQuerySet",
    "Source",
    "VacationPeriod",
    "VacationPeriodQuerySet",
    "Weekday",
    "WeeklySchedule",
    "WeeklyScheduleQuerySet",
    "find_overlap",
]
