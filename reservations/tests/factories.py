import datetime as dt

import factory

from customers.tests.factories import CustomerFactory
from reservations.models import Reservation, VacationPeriod


class ReservationFactory(factory.django.DjangoModelFactory[Reservation]):
    class Meta:
        model = Reservation

    customer = factory.SubFactory(CustomerFactory)
    date = factory.LazyFunction(lambda: dt.date.today() + dt.timedelta(days=3))
    time_slot = dt.time(11, 0)
    type = Reservation.Type.APPOINTMENT


class VacationPeriodFactory(factory.django.DjangoModelFactory[VacationPeriod]):
    class Meta:
        model = VacationPeriod

    title = "Vacation"
    start_date = factory.LazyFunction(lambda: dt.date.today() + dt.timedelta(days=10))
    end_date = factory.LazyAttribute(lambda o: o.start_date + dt.timedelta(days=4))
