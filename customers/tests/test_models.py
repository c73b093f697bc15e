import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from customers.models import Customer
from customers.tests.factories import CustomerFactory


def test_current_age_adds_whole_years_since_recorded():
    customer = Customer(age=30, age_recorded_at=dt.date(2024, 6, 15))
    assert customer.current_age(on=dt.date(2026, 6, 14)) == 31
    assert customer.current_age(on=dt.date(2026, 6, 15)) == 32
    assert customer.current_age(on=dt.date(2024, 1, 1)) == 30  # never younger than recorded


def test_current_age_without_age_or_date():
    assert Customer(age=None).current_age() is None
    assert Customer(age=40, age_recorded_at=None).current_age() == 40


@pytest.mark.django_db
def test_clean_normalises_the_number_and_stamps_the_age():
    customer = Customer(wa_id="+966 50 123 4567", customer_name="Sara", age=30)
    customer.full_clean()
    assert customer.wa_id == "966501234567"
    assert customer.age_recorded_at == timezone.localdate()


@pytest.mark.django_db
def test_age_over_120_is_invalid():
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        Customer(wa_id="966501234567", age=121).full_clean()


@time_machine.travel(dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC), tick=False)
def test_the_24_hour_window_closes_with_a_margin():
    now = timezone.now()
    assert not Customer(last_inbound_at=None).can_receive_free_form()
    assert Customer(last_inbound_at=now - dt.timedelta(hours=23)).can_receive_free_form()
    assert not Customer(
        last_inbound_at=now - dt.timedelta(hours=23, minutes=58)
    ).can_receive_free_form()


@pytest.mark.django_db
def test_search_by_name_or_digits():
    CustomerFactory(wa_id="966501234567", customer_name="Sara")
    CustomerFactory(wa_id="447700900123", customer_name="James")
    assert [c.wa_id for c in Customer.objects.search("+966 50")] == ["966501234567"]
    assert [c.wa_id for c in Customer.objects.search("jam")] == ["447700900123"]


def test_profile_name_is_followed_until_staff_correct_the_name():
    customer = Customer(customer_name=None, profile_name=None)
    assert customer.take_profile_name("Sara") == ["profile_name", "customer_name"]
    assert customer.take_profile_name("Sara A.") == ["profile_name", "customer_name"]
    assert customer.customer_name == "Sara A."
    customer.customer_name = "Sara Al-Qahtani"  # corrected by staff
    assert customer.take_profile_name("S") == ["profile_name"]
    assert customer.customer_name == "Sara Al-Qahtani"
    assert customer.take_profile_name("S") == []


@pytest.mark.django_db
def test_last_message_time_only_moves_forward():
    customer = CustomerFactory()
    moment = timezone.now()
    assert Customer.objects.filter(pk=customer.pk).touch_last_message(moment) == 1
    earlier = moment - dt.timedelta(minutes=1)
    assert Customer.objects.filter(pk=customer.pk).touch_last_message(earlier) == 0
    customer.refresh_from_db()
    assert customer.last_message_at == moment


def test_messages_go_in_the_customers_language_else_the_clinics(settings):
    settings.LANGUAGE_CODE = "ar"
    assert Customer(language="en").message_language == "en"
    assert Customer(language=None).message_language == "ar"
