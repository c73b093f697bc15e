import datetime as dt

import pytest
from django.urls import reverse

from messaging.models import NotificationEvent
from reservations.models import VacationPeriod
from reservations.tests.factories import VacationPeriodFactory

pytestmark = pytest.mark.django_db


def events(kind: str) -> list[dict]:
    return [e.data for e in NotificationEvent.objects.filter(event_type=kind).order_by("id")]


def test_staff_adding_changing_and_deleting_a_vacation_is_recorded(staff_client):
    add = reverse("admin:reservations_vacationperiod_add")
    response = staff_client.post(
        add, {"title": "Eid", "start_date": "2027-03-09", "end_date": "2027-03-12"}
    )
    assert response.status_code == 302
    vacation = VacationPeriod.objects.get()
    assert vacation.duration_days == 4
    assert events("vacation_created") == [
        {
            "vacation_id": vacation.pk,
            "title": "Eid",
            "start_date": "2027-03-09",
            "end_date": "2027-03-12",
            "by": "reception",
        }
    ]
    change = reverse("admin:reservations_vacationperiod_change", args=[vacation.pk])
    staff_client.post(change, {"title": "Eid", "start_date": "2027-03-09", "end_date": ""})
    assert events("vacation_updated")[0]["end_date"] is None
    delete = reverse("admin:reservations_vacationperiod_delete", args=[vacation.pk])
    staff_client.post(delete, {"post": "yes"})
    assert not VacationPeriod.objects.exists()
    assert events("vacation_deleted")[0]["vacation_id"] == vacation.pk


def test_bulk_delete_records_one_event_per_vacation(staff_client):
    first = VacationPeriodFactory(start_date=dt.date(2027, 1, 1), end_date=dt.date(2027, 1, 2))
    second = VacationPeriodFactory(start_date=dt.date(2027, 2, 1), end_date=dt.date(2027, 2, 2))
    staff_client.post(
        reverse("admin:reservations_vacationperiod_changelist"),
        {"action": "delete_selected", "_selected_action": [first.pk, second.pk], "post": "yes"},
    )
    assert sorted(e["vacation_id"] for e in events("vacation_deleted")) == [first.pk, second.pk]
