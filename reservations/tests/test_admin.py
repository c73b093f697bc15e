import datetime as dt

import pytest
from django.urls import reverse

from customers.tests.factories import CustomerFactory
from messaging.models import NotificationEvent
from reservations.models import (
    BookingRules,
    OpeningInterval,
    Reservation,
    VacationPeriod,
    WeeklySchedule,
)
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


# ---------------------------------------------------------------- changes that strand reservations
THURSDAY = SUNDAY + dt.timedelta(days=4)


def hours_data(schedule, *, closes_thursday="17:00"):
    """The change form of `schedule` as posted, its Thursday closing at `closes_thursday`."""
    rows = list(schedule.intervals.order_by("weekday", "opens"))
    data = {
        "name": schedule.name,
        "start_date": "",
        "end_date": "",
        "slot_minutes": schedule.slot_minutes,
        "intervals-TOTAL_FORMS": len(rows),
        "intervals-INITIAL_FORMS": len(rows),
        "intervals-MIN_NUM_FORMS": 0,
        "intervals-MAX_NUM_FORMS": 1000,
        "_save": "Save",
    }
    for index, row in enumerate(rows):
        closes = closes_thursday if row.weekday == 3 else f"{row.closes:%H:%M}"
        data.update(
            {
                f"intervals-{index}-id": row.pk,
                f"intervals-{index}-schedule": schedule.pk,
                f"intervals-{index}-weekday": row.weekday,
                f"intervals-{index}-opens": f"{row.opens:%H:%M}",
                f"intervals-{index}-closes": closes,
            }
        )
    return data


def thursday_closes(schedule):
    return schedule.intervals.get(weekday=3).closes


def test_shorter_hours_are_not_saved_before_staff_see_whom_they_strand(staff_client, clinic):
    """Issue 11 #17: Thursday closes at 16:00 instead of 17:00."""
    late = ReservationFactory(
        date=THURSDAY, time_slot=dt.time(16, 30), customer=CustomerFactory(customer_name="Lina")
    )
    ReservationFactory(date=THURSDAY, time_slot=dt.time(15, 30))  # still inside
    url = reverse("admin:reservations_weeklyschedule_change", args=[clinic.pk])
    data = hours_data(clinic, closes_thursday="16:00")
    response = staff_client.post(url, data)
    assert response.status_code == 200
    content = response.content.decode()
    assert "1 active reservation falls outside the clinic's hours" in content
    assert "Lina" in content
    assert "2026-11-26" in content
    assert "outside the opening hours" in content
    assert "Their reminders are not sent" in content
    assert 'name="_confirm_impact"' in content
    form = content[content.index('<form method="post" action="' + url) :]
    assert form.count('name="csrfmiddlewaretoken"') == 1  # the page's own, not the posted one
    assert thursday_closes(clinic) == dt.time(17)  # nothing saved yet
    follow = staff_client.get(url).content.decode()
    assert "changed successfully" not in follow  # no message about a save that did not happen
    response = staff_client.post(url, {**data, "_confirm_impact": "1"})
    assert response.status_code == 302
    assert thursday_closes(clinic) == dt.time(16)
    late.refresh_from_db()
    assert late.is_active  # kept: staff decide what to do with it


def test_a_change_that_strands_nobody_saves_at_once(staff_client, clinic):
    ReservationFactory(date=THURSDAY, time_slot=dt.time(15, 30))
    url = reverse("admin:reservations_weeklyschedule_change", args=[clinic.pk])
    response = staff_client.post(url, hours_data(clinic, closes_thursday="16:00"))
    assert response.status_code == 302
    assert thursday_closes(clinic) == dt.time(16)


def test_a_longer_slot_that_moves_the_slot_times_asks_too(staff_client, clinic):
    ReservationFactory(date=THURSDAY, time_slot=dt.time(11, 30))
    url = reverse("admin:reservations_weeklyschedule_change", args=[clinic.pk])
    data = {**hours_data(clinic), "slot_minutes": 60}  # 11:30 is no longer a start
    assert staff_client.post(url, data).status_code == 200
    clinic.refresh_from_db()
    assert clinic.slot_minutes == 30


def test_a_season_that_closes_a_day_asks_first(staff_client):
    ReservationFactory(date=THURSDAY, time_slot=dt.time(11))
    data = {
        "name": "Short week",
        "start_date": THURSDAY.isoformat(),
        "end_date": THURSDAY.isoformat(),
        "slot_minutes": 30,
        "intervals-TOTAL_FORMS": 0,
        "intervals-INITIAL_FORMS": 0,
        "intervals-MIN_NUM_FORMS": 0,
        "intervals-MAX_NUM_FORMS": 1000,
    }
    url = reverse("admin:reservations_weeklyschedule_add")
    response = staff_client.post(url, data)
    assert "the clinic is closed that day" in response.content.decode()
    assert not WeeklySchedule.objects.seasons().exists()


def test_deleting_the_normal_week_asks_first(staff_client, clinic):
    ReservationFactory(date=THURSDAY, time_slot=dt.time(11))
    url = reverse("admin:reservations_weeklyschedule_delete", args=[clinic.pk])
    assert "Are you sure" in staff_client.get(url).content.decode()
    response = staff_client.post(url, {"post": "yes"})
    assert response.status_code == 200
    assert WeeklySchedule.objects.filter(pk=clinic.pk).exists()
    assert staff_client.post(url, {"post": "yes", "_confirm_impact": "1"}).status_code == 302
    assert not WeeklySchedule.objects.exists()


def test_a_new_vacation_over_reservations_asks_first(staff_client):
    ReservationFactory(date=THURSDAY, time_slot=dt.time(11))
    ReservationFactory(date=THURSDAY + dt.timedelta(days=2), time_slot=dt.time(16))
    url = reverse("admin:reservations_vacationperiod_add")
    data = {"title": "Eid", "start_date": THURSDAY.isoformat(), "end_date": ""}
    response = staff_client.post(url, data)
    content = response.content.decode()
    assert "2 active reservations fall outside the clinic's hours" in content
    assert "on a vacation" in content
    assert not VacationPeriod.objects.exists()
    assert not NotificationEvent.objects.of_type("vacation_created").exists()
    assert staff_client.post(url, {**data, "_confirm_impact": "1"}).status_code == 302
    assert VacationPeriod.objects.get().title == "Eid"
