from reservations.models.reservation import (
    Reservation,
    ReservationQuerySet,
    Source,
    VacationPeriod,
    VacationPeriodQuerySet,
)
from reservations.models.resources import (
    Resource,
    ResourceQuerySet,
    Service,
    ServiceQuerySet,
    ServiceResource,
    StaffException,
    StaffWorkingHours,
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
    "Resource",
    "ResourceQuerySet",
    "Service",
    "ServiceQuerySet",
    "ServiceResource",
    "Source",
    "StaffException",
    "StaffWorkingHours",
    "VacationPeriod",
    "VacationPeriodQuerySet",
    "Weekday",
    "WeeklySchedule",
    "WeeklyScheduleQuerySet",
    "find_overlap",
]
