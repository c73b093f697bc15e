"""No staff delete that can never succeed: whatever the admin offers to delete, it can delete."""

import datetime as dt

import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.db import models
from django.test import RequestFactory
from django.urls import reverse

from customers.tests.factories import CustomerFactory
from messaging.models import VacationNotice, VacationNotification
from reservations.models import VacationPeriod
from reservations.tests.factories import ReservationFactory, VacationPeriodFactory

pytestmark = pytest.mark.django_db


def _reverse_relations(model: type[models.Model]) -> list[models.ForeignObjectRel]:
    return [
        field
        for field in model._meta.get_fields(include_hidden=True)  # related_name="+" too
        if isinstance(field, models.ForeignObjectRel) and (field.one_to_many or field.one_to_one)
    ]


def _traps(model: type[models.Model], request, seen: set, path: str) -> list[str]:
    """Why deleting a row of `model` in the admin can fail: a PROTECT/RESTRICT key pointing at it
    (or at what it cascades to), or a cascade into a model whose admin refuses deletes."""
    found = []
    for relation in _reverse_relations(model):
        on_delete, child = relation.on_delete, relation.related_model
        assert not isinstance(child, str)  # resolved once the apps are loaded
        step = f"{path} <- {child._meta.label}.{relation.field.name}"
        if on_delete in (models.PROTECT, models.RESTRICT):
            found.append(f"{step}: {on_delete.__name__}")
        elif on_delete is models.CASCADE:
            child_admin = admin.site._registry.get(child)
            if child_admin is not None and not child_admin.has_delete_permission(request):
                found.append(f"{step}: cascades into a read-only admin")
            if child not in seen:
                found += _traps(child, request, seen | {child}, step)
    return found


def test_every_delete_the_admin_offers_can_succeed():
    request = RequestFactory().get("/admin/")
    request.user = User(is_superuser=True, is_staff=True, is_active=True)
    traps = [
        trap
        for model, model_admin in admin.site._registry.items()
        if model_admin.has_delete_permission(request)
        for trap in _traps(model, request, {model}, model._meta.label)
    ]
    assert traps == []


@pytest.fixture
def told_vacation():
    """A vacation a customer got the notice of and another the template about their visit."""
    vacation = VacationPeriodFactory(
        start_date=dt.date(2026, 12, 1), end_date=dt.date(2026, 12, 2), title="National day"
    )
    customer = CustomerFactory()
    VacationNotice.objects.create(customer=customer, vacation=vacation, day=vacation.start_date)
    reservation = ReservationFactory(customer=customer, date=dt.date(2026, 12, 2))
    VacationNotification.objects.create(reservation=reservation, vacation=vacation)
    return vacation


def _assert_history_kept() -> None:
    assert not VacationPeriod.objects.exists()
    for model in (VacationNotice, VacationNotification):
        row = model.objects.get()
        assert row.vacation_id is None
        assert (row.vacation_start, row.vacation_end) == (
            dt.date(2026, 12, 1),
            dt.date(2026, 12, 2),
        )


def test_a_vacation_customers_were_told_of_can_be_deleted(told_vacation, admin_client):
    url = reverse("admin:reservations_vacationperiod_delete", args=[told_vacation.pk])
    assert "Are you sure" in admin_client.get(url).content.decode()
    response = admin_client.post(url, {"post": "yes"})
    assert response.status_code == 302
    _assert_history_kept()


def test_the_delete_action_removes_told_vacations_too(told_vacation, admin_client):
    url = reverse("admin:reservations_vacationperiod_changelist")
    data = {"action": "delete_selected", "_selected_action": [told_vacation.pk], "post": "yes"}
    assert admin_client.post(url, data).status_code == 302
    _assert_history_kept()


def test_customers_are_erased_not_deleted(admin_client):
    customer = CustomerFactory()
    ReservationFactory(customer=customer)
    change = admin_client.get(reverse("admin:customers_customer_change", args=[customer.pk]))
    assert reverse("admin:customers_customer_delete", args=[customer.pk]) not in (
        change.content.decode()
    )
    listing = admin_client.get(reverse("admin:customers_customer_changelist")).content.decode()
    assert "erase_customers" in listing
    assert "delete_selected" not in listing
