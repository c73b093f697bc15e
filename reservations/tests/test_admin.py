import datetime as dt

import pytest
from django.urls import reverse

from customers.tests.factories import CustomerFactory
from messaging.models import NotificationEvent
from reservations.models import BookingRules, OpeningInterval, Reservation
from reservations.tests.conftest import SUNDAY
from reservations.tests.factories import ReservationFactory, set_rules

pytestmark = pytest.mark.usefixtures("clinic")

MONDAY = SUNDAY + dt.timedelta(days=1)
FRIDAY = SUNDAY + dt.timedelta(days=5)


def add_reservation(client, customer, day=MONDAY, at="11:00", type="0"):
    return client.post(
        reverse("admin:reservations_reservation_add"),
        {"customer": customer.pk, "date": day.isoformat(), "time_slot": at, "type": type},
    )


def test_rules_are_one_row_reached_straight_from_the_list(staff_client):
    response = staff_client.get(reverse("admin:reservations_bookingrules_changelist"))
    assert response["Location"] == reverse("admin:reservations_bookingrules_change", args=[1])
    assert staff_client.get(response["Location"]).status_code == 200
    assert staff_client.get(reverse("admin:reservations_bookingrules_add")).status_code == 403
    response = staff_client.get(reverse("admin:reservations_bookingrules_delete", args=[1]))
    assert response.status_code == 403


def test_rules_form_refuses_a_staff_limit_below_the_capacity(staff_client):
    url = reverse("admin:reservations_bookingrules_change", args=[1])
    data = {
        "capacity": 3, "staff_capacity": 2, "appointment_capacity": "", "follow_up_capacity": "",
        "min_notice_minutes": 0, "max_horizon_days": 30, "bookable_until": "end",
        "max_upcoming_per_customer": 1, "week_starts_on": 6,
    }  # fmt: skip
    response = staff_client.post(url, data)
    assert response.status_code == 200
    assert "The staff limit cannot be below the capacity." in response.content.decode()
    assert BookingRules.objects.get_solo().capacity == 2
    data["staff_capacity"] = 4
    assert staff_client.post(url, data).status_code == 302
    assert BookingRules.objects.get_solo().staff_capacity == 4


def inline_data(clinic, rows):
    data = {
        "name": clinic.name,
        "start_date": "",
        "end_date": "",
        "slot_minutes": clinic.slot_minutes,
        "intervals-TOTAL_FORMS": len(rows),
        "intervals-INITIAL_FORMS": 0,
        "intervals-MIN_NUM_FORMS": 0,
        "intervals-MAX_NUM_FORMS": 1000,
    }
    for index, (weekday, opens, closes) in enumerate(rows):
        data[f"intervals-{index}-weekday"] = weekday
        data[f"intervals-{index}-opens"] = opens
        data[f"intervals-{index}-closes"] = closes
    return data


def test_opening_hours_with_a_lunch_break_are_edited_inline(staff_client, clinic):
    clinic.intervals.all().delete()
    url = reverse("admin:reservations_weeklyschedule_change", args=[clinic.pk])
    response = staff_client.post(
        url, inline_data(clinic, [(0, "09:00", "12:00"), (0, "13:00", "17:00")])
    )
    assert response.status_code == 302
    assert clinic.intervals.count() == 2


def test_overlapping_or_backwards_intervals_are_refused(staff_client, clinic):
    clinic.intervals.all().delete()
    url = reverse("admin:reservations_weeklyschedule_change", args=[clinic.pk])
    response = staff_client.post(
        url, inline_data(clinic, [(0, "09:00", "12:00"), (0, "11:00", "17:00")])
    )
    assert "Opening hours overlap" in response.content.decode()
    response = staff_client.post(url, inline_data(clinic, [(0, "12:00", "09:00")]))
    assert "Closing time must be after opening time." in response.content.decode()
    assert not OpeningInterval.objects.filter(schedule=clinic).exists()


def test_admin_add_books_through_the_rules(staff_client):
    customer = CustomerFactory()
    response = add_reservation(staff_client, customer)
    assert response.status_code == 302
    reservation = Reservation.objects.get()
    assert reservation.source == "staff"
    assert NotificationEvent.objects.of_type("reservation_created").count() == 1
    response = add_reservation(staff_client, CustomerFactory(), day=FRIDAY)
    assert response.status_code == 200
    assert "The clinic is closed at that time." in response.content.decode()
    assert Reservation.objects.count() == 1
    assert NotificationEvent.objects.count() == 1  # the check left no trace


def test_admin_add_respects_the_staff_limit(staff_client):
    set_rules(capacity=1, staff_capacity=2)
    for _ in range(2):
        assert add_reservation(staff_client, CustomerFactory()).status_code == 302
    response = add_reservation(staff_client, CustomerFactory())
    assert "fully booked" in response.content.decode()
    assert Reservation.objects.count() == 2


def test_admin_change_moves_through_the_rules(staff_client):
    reservation = ReservationFactory(date=MONDAY, time_slot=dt.time(11))
    url = reverse("admin:reservations_reservation_change", args=[reservation.pk])
    response = staff_client.post(url, {"date": FRIDAY.isoformat(), "time_slot": "11:00", "type": 0})
    assert "The clinic is closed at that time." in response.content.decode()
    response = staff_client.post(url, {"date": MONDAY.isoformat(), "time_slot": "12:00", "type": 1})
    assert response.status_code == 302
    reservation.refresh_from_db()
    assert (reservation.time_slot, reservation.type) == (dt.time(12), 1)
    assert NotificationEvent.objects.of_type("reservation_updated").count() == 1


def test_cancel_actions_cancel_upcoming_and_past_only_when_asked(staff_client):
    upcoming = ReservationFactory(date=MONDAY)
    past = ReservationFactory(date=SUNDAY - dt.timedelta(days=2))
    url = reverse("admin:reservations_reservation_changelist")
    response = staff_client.post(
        url, {"action": "cancel_selected", "_selected_action": [upcoming.pk, past.pk]}, follow=True
    )
    content = response.content.decode()
    assert "Cancelled 1 reservation." in content
    assert "in the past" in content
    upcoming.refresh_from_db()
    past.refresh_from_db()
    assert (upcoming.status, past.status) == ("cancelled", "active")
    staff_client.post(
        url, {"action": "cancel_selected_including_past", "_selected_action": [past.pk]}
    )
    past.refresh_from_db()
    assert past.status == "cancelled"
    assert past.cancelled_source == "staff"


def test_export_action_streams_the_selected_reservations_as_csv(staff_client):
    chosen = ReservationFactory(date=MONDAY, time_slot=dt.time(11))
    ReservationFactory(date=MONDAY, time_slot=dt.time(12))
    response = staff_client.post(
        reverse("admin:reservations_reservation_changelist"),
        {"action": "export_selected_csv", "_selected_action": [chosen.pk]},
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert len(lines) == 2
    assert lines[1].startswith(f"{chosen.pk},2026-11-23,11:00,")
