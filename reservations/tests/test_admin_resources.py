"""The admin of resources and services: inlines for hours, exceptions and service links;
actions that need the change permission."""

import datetime as dt
import re

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from reservations import services
from reservations.models import BookingRules, Resource, Source, StaffWorkingHours
from reservations.tests.conftest import SUNDAY
from reservations.tests.factories import make_resource, make_service, set_rules

pytestmark = pytest.mark.usefixtures("clinic")

MONDAY = SUNDAY + dt.timedelta(days=1)


def resource_data(name="Dr Sara", capacity=1, hours=(), prefix="working_hours"):
    data = {"name": name, "name_ar": "د. سارة", "resource_type": "practitioner",
            "capacity": capacity, "is_active": "on"}  # fmt: skip
    for inline in (prefix, "exceptions", "links"):
        data.update({f"{inline}-TOTAL_FORMS": 0, f"{inline}-INITIAL_FORMS": 0,
                     f"{inline}-MIN_NUM_FORMS": 0, f"{inline}-MAX_NUM_FORMS": 1000})  # fmt: skip
    data[f"{prefix}-TOTAL_FORMS"] = len(hours)
    for n, (day, start, end) in enumerate(hours):
        data.update({f"{prefix}-{n}-season": "", f"{prefix}-{n}-day_of_week": day,
                     f"{prefix}-{n}-start_time": start, f"{prefix}-{n}-end_time": end})  # fmt: skip
    return data


def test_resources_and_services_have_their_pages_with_inlines(staff_client):
    sara = make_resource("Dr Sara", hours={0: [(dt.time(9), dt.time(12))]})
    cleaning = make_service(resources=[sara])
    for url in (
        reverse("admin:reservations_resource_changelist"),
        reverse("admin:reservations_resource_add"),
        reverse("admin:reservations_resource_change", args=[sara.pk]),
        reverse("admin:reservations_service_changelist"),
        reverse("admin:reservations_service_add"),
        reverse("admin:reservations_service_change", args=[cleaning.pk]),
    ):
        response = staff_client.get(url)
        assert response.status_code == 200, url
    page = staff_client.get(reverse("admin:reservations_resource_change", args=[sara.pk]))
    assert b"working_hours-0-day_of_week" in page.content
    assert b"exceptions-TOTAL_FORMS" in page.content
    assert b"links-TOTAL_FORMS" in page.content


def test_a_resource_is_added_with_its_hours_and_overlapping_hours_are_refused(staff_client):
    url = reverse("admin:reservations_resource_add")
    clash = [(0, "09:00", "12:00"), (0, "11:00", "13:00")]
    response = staff_client.post(url, resource_data(hours=clash))
    assert response.status_code == 200
    assert "Working hours overlap on Monday" in response.content.decode()
    fine = [(0, "09:00", "12:00"), (0, "13:00", "15:00")]
    assert staff_client.post(url, resource_data(hours=fine)).status_code == 302
    sara = Resource.objects.get(name="Dr Sara")
    assert StaffWorkingHours.objects.filter(resource=sara).count() == 2


def test_a_capacity_below_the_overlapping_bookings_is_refused(staff_client):
    gym = make_resource("Gym", kind="room", capacity=2)
    session = make_service(minutes=60, resources=[gym])
    for n, at in enumerate([dt.time(11), dt.time(11, 30)]):
        services.reserve_slot(
            wa_id=f"96650000000{n}", date=MONDAY, time_slot=at, source=Source.CUSTOMER,
            service=session,
        )  # fmt: skip
    url = reverse("admin:reservations_resource_change", args=[gym.pk])
    data = resource_data("Gym", capacity=1) | {"resource_type": "room"}
    response = staff_client.post(url, data)
    assert "Bookings already overlap beyond this capacity" in response.content.decode()
    gym.refresh_from_db()
    assert gym.capacity == 2


def test_the_clinic_resource_takes_its_capacity_from_the_booking_rules(staff_client):
    clinic = Resource.objects.get_clinic()
    page = staff_client.get(reverse("admin:reservations_resource_change", args=[clinic.pk]))
    assert b'name="capacity"' not in page.content  # read-only: edited in the rules
    set_rules(capacity=4, staff_capacity=5)
    rules = BookingRules.objects.get_solo()
    data = {f: "" if getattr(rules, f) is None else getattr(rules, f) for f in (
        "capacity", "staff_capacity", "appointment_capacity", "follow_up_capacity",
        "min_notice_minutes", "max_horizon_days", "bookable_until", "max_upcoming_per_customer",
        "week_starts_on")}  # fmt: skip
    data["capacity"] = 3
    response = staff_client.post(reverse("admin:reservations_bookingrules_change", args=[1]), data)
    assert response.status_code == 302
    clinic.refresh_from_db()
    assert clinic.capacity == 3


def test_deactivating_needs_the_change_permission(client, staff_client, django_user_model):
    sara = make_resource("Dr Sara")
    url = reverse("admin:reservations_resource_changelist")
    action = {"action": "deactivate_selected", "_selected_action": [sara.pk]}
    assert staff_client.post(url, action).status_code == 302
    sara.refresh_from_db()
    assert not sara.is_active
    viewer = django_user_model.objects.create_user(username="viewer", password="x", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_resource"))
    client.force_login(viewer)
    page = client.get(url)
    assert page.status_code == 200
    assert b"deactivate_selected" not in page.content


def test_overlapping_working_hours_are_refused_by_clean_and_on_postgresql_the_database():
    from django.core.exceptions import ValidationError
    from django.db import IntegrityError, connection, transaction

    sara = make_resource("Dr Sara", hours={0: [(dt.time(9), dt.time(12))]})
    clash = StaffWorkingHours(
        resource=sara, day_of_week=0, start_time=dt.time(11), end_time=dt.time(13)
    )
    with pytest.raises(ValidationError):
        clash.full_clean()
    if connection.vendor == "postgresql":
        with pytest.raises(IntegrityError), transaction.atomic():
            clash.save()
    StaffWorkingHours.objects.create(
        resource=sara, day_of_week=0, start_time=dt.time(12), end_time=dt.time(13)
    )  # touching is fine


def test_the_weekday_list_of_working_hours_starts_on_the_clinics_first_weekday(staff_client):
    set_rules(week_starts_on=5)  # Saturday
    page = staff_client.get(reverse("admin:reservations_resource_add")).content.decode()
    select = page[page.index('name="working_hours-0-day_of_week"') :]
    select = select[: select.index("</select>")]
    labels = re.findall(r'<option value="\d">([^<]+)</option>', select)
    assert labels[:2] == ["Saturday", "Sunday"]
    assert labels[-1] == "Friday"
