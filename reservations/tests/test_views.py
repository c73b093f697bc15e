import datetime as dt

import pytest
from django.urls import reverse

from customers.tests.factories import CustomerFactory
from messaging.models import NotificationEvent
from reservations.models import Reservation
from reservations.tests.conftest import SUNDAY
from reservations.tests.factories import ReservationFactory, VacationPeriodFactory, set_rules

pytestmark = pytest.mark.usefixtures("clinic")

MONDAY = SUNDAY + dt.timedelta(days=1)
FRIDAY = SUNDAY + dt.timedelta(days=5)
DAY_URL = reverse("reservations:day")
WEEK_URL = reverse("reservations:week")


def day_page(client, day):
    return client.get(DAY_URL, {"date": day.isoformat()})


def test_schedule_pages_need_a_staff_login(client, django_user_model):
    for url in (DAY_URL, WEEK_URL):
        response = client.get(url)
        assert response.status_code == 302
        assert "/admin/login/" in response["Location"]
    client.force_login(django_user_model.objects.create_user("patient", password="x"))
    assert client.get(DAY_URL).status_code == 403  # signed in, but not staff
    assert client.post(reverse("reservations:book"), {}).status_code == 403
    assert not Reservation.objects.exists()


def test_day_view_shows_every_slot_with_booked_over_capacity_and_who(staff_client):
    customer = CustomerFactory(wa_id="966501234567", customer_name="Sara Al-Qahtani")
    reservation = ReservationFactory(customer=customer, date=MONDAY, time_slot=dt.time(11))
    ReservationFactory(date=MONDAY, time_slot=dt.time(11), type=Reservation.Type.FOLLOW_UP)
    response = day_page(staff_client, MONDAY)
    content = response.content.decode()
    assert response.status_code == 200
    assert content.count('class="time"') == 12  # 11:00 .. 16:30
    assert ">2/2<" in content
    assert ">0/2<" in content
    assert "Sara Al-Qahtani" in content
    assert "+966501234567" in content
    assert "Follow-up" in content  # the service's name
    assert reverse("admin:reservations_reservation_change", args=[reservation.pk]) in content
    assert reverse("admin:customers_customer_change", args=[customer.pk]) in content
    assert f"?date={SUNDAY:%Y-%m-%d}" in content  # previous
    assert f"?date={MONDAY + dt.timedelta(days=1):%Y-%m-%d}" in content  # next


def test_closed_and_vacation_days_say_so(staff_client):
    assert "day-closed" in day_page(staff_client, FRIDAY).content.decode()
    VacationPeriodFactory(start_date=MONDAY, end_date=MONDAY)
    assert "day-vacation" in day_page(staff_client, MONDAY).content.decode()
    week = staff_client.get(WEEK_URL, {"date": MONDAY.isoformat()}).content.decode()
    assert 'class="day vacation"' in week
    assert 'class="day closed"' in week


def test_week_view_starts_on_the_configured_weekday(staff_client):
    wednesday = SUNDAY + dt.timedelta(days=3)
    response = staff_client.get(WEEK_URL, {"date": wednesday.isoformat()})
    assert response.context["start"] == SUNDAY
    set_rules(week_starts_on=5)  # Saturday
    response = staff_client.get(WEEK_URL, {"date": wednesday.isoformat()})
    assert response.context["start"] == SUNDAY - dt.timedelta(days=1)
    assert [d.day.date for d in response.context["days"]][-1] == SUNDAY + dt.timedelta(days=5)


@pytest.mark.parametrize(
    "bad", ["2026-13-45", "2026-02-30", "٢٠٢٦-١١-٢٣", "9999-12-31", "0001-01-01"]
)
@pytest.mark.parametrize("url", [DAY_URL, WEEK_URL])
def test_a_bad_date_is_a_400_with_the_site_page(staff_client, url, bad):
    response = staff_client.get(url, {"date": bad})
    assert response.status_code == 400
    assert "Bad request" in response.content.decode()
    assert 'href="/schedule/"' in response.content.decode()  # the site's layout


def test_pages_take_a_bounded_number_of_queries(staff_client, django_assert_max_num_queries):
    for n in range(120):
        ReservationFactory(
            date=SUNDAY + dt.timedelta(days=n % 5), time_slot=dt.time(11 + n % 6, 30 * (n % 2))
        )
    # The week adds the resources to filter by and the other resources' bookings.
    with django_assert_max_num_queries(11):
        assert staff_client.get(WEEK_URL).status_code == 200
    # The day board adds its resources, their hours, exceptions and services: still fixed.
    with django_assert_max_num_queries(14):
        assert day_page(staff_client, MONDAY).status_code == 200


def test_staff_book_a_customer_by_number_with_an_optional_name(staff_client):
    response = staff_client.post(
        reverse("reservations:book"),
        {"wa_id": "0501234567", "customer_name": "Noura", "date": "2026-11-23",
         "time_slot": "11:30", "type": "1"},
    )  # fmt: skip
    assert response.status_code == 302
    reservation = Reservation.objects.get()
    assert reservation.customer_id == "966501234567"
    assert reservation.customer.customer_name == "Noura"
    assert (reservation.source, reservation.type) == ("staff", 1)
    assert NotificationEvent.objects.of_type("reservation_created").count() == 1
    page = staff_client.get(response["Location"]).content.decode()
    assert "Booked 2026-11-23 11:30" in page


def test_staff_book_a_customer_known_only_by_a_business_scoped_id(staff_client):
    bsuid = "US." + "1" * 60  # up to 128 characters after the country code
    CustomerFactory(wa_id=bsuid, user_id=bsuid)
    response = staff_client.post(
        reverse("reservations:book"),
        {"wa_id": bsuid, "date": "2026-11-23", "time_slot": "11:30", "type": "0"},
    )
    assert response.status_code == 302
    assert Reservation.objects.get().customer_id == bsuid


@pytest.mark.parametrize("typed", ["966500000105<script>", "a/b", "9665O0000105"])
def test_staff_booking_never_glues_the_digits_of_a_non_number(staff_client, typed):
    response = staff_client.post(
        reverse("reservations:book"),
        {"wa_id": typed, "date": "2026-11-23", "time_slot": "11:30", "type": "0"},
        follow=True,
    )
    assert "not a valid WhatsApp number" in response.content.decode()
    assert not Reservation.objects.exists()


def test_staff_booking_refusals_are_shown_and_change_nothing(staff_client):
    set_rules(capacity=1, staff_capacity=1)
    ReservationFactory(date=MONDAY, time_slot=dt.time(11))
    response = staff_client.post(
        reverse("reservations:book"),
        {"wa_id": "966501234567", "date": "2026-11-23", "time_slot": "11:00", "type": "0"},
        follow=True,
    )
    assert "fully booked" in response.content.decode()
    assert Reservation.objects.count() == 1
    response = staff_client.post(
        reverse("reservations:book"),
        {"wa_id": "12", "date": "2026-11-23", "time_slot": "11:00", "type": "0"},
        follow=True,
    )
    assert "not a valid WhatsApp number" in response.content.decode()
    response = staff_client.post(reverse("reservations:book"), {"wa_id": ""}, follow=True)
    assert "This field is required" in response.content.decode()


def test_staff_booking_errors_are_in_arabic_for_arabic_staff(staff_client):
    staff_client.post(reverse("set_language"), {"language": "ar", "next": DAY_URL})
    response = staff_client.post(
        reverse("reservations:book"),
        {"wa_id": "966501234567", "date": FRIDAY.isoformat(), "time_slot": "11:00", "type": "0"},
        follow=True,
    )
    content = response.content.decode()
    assert 'dir="rtl"' in content
    assert "العيادة مغلقة" in content
    assert "اليوم التالي" in content  # the page itself ("Next day")


def test_staff_move_and_cancel_from_the_page(staff_client):
    reservation = ReservationFactory(date=MONDAY, time_slot=dt.time(11))
    response = staff_client.post(
        reverse("reservations:move", args=[reservation.pk]),
        {"date": "2026-11-24", "time_slot": "12:00", "type": ""},
    )
    assert response.status_code == 302
    reservation.refresh_from_db()
    assert (reservation.date, reservation.time_slot) == (dt.date(2026, 11, 24), dt.time(12))
    staff_client.post(reverse("reservations:cancel", args=[reservation.pk]))
    reservation.refresh_from_db()
    assert reservation.status == "cancelled"
    assert reservation.cancelled_source == "staff"


def test_moving_into_a_closed_day_is_refused_with_a_message(staff_client):
    reservation = ReservationFactory(date=MONDAY, time_slot=dt.time(11))
    response = staff_client.post(
        reverse("reservations:move", args=[reservation.pk]),
        {"date": FRIDAY.isoformat(), "time_slot": "11:00"},
        follow=True,
    )
    assert "The clinic is closed at that time." in response.content.decode()
    reservation.refresh_from_db()
    assert reservation.date == MONDAY


def test_past_reservations_are_cancelled_only_with_the_explicit_box(staff_client):
    past = ReservationFactory(date=SUNDAY - dt.timedelta(days=1))
    url = reverse("reservations:cancel", args=[past.pk])
    response = staff_client.post(url, follow=True)
    assert "in the past" in response.content.decode()
    past.refresh_from_db()
    assert past.is_active
    staff_client.post(url, {"allow_past": "1"})
    past.refresh_from_db()
    assert not past.is_active


def test_forms_need_csrf(staff_user):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(staff_user)
    response = client.post(
        reverse("reservations:book"),
        {"wa_id": "966501234567", "date": "2026-11-23", "time_slot": "11:00", "type": "0"},
    )
    assert response.status_code == 403
    assert not Reservation.objects.exists()


def test_next_must_stay_on_this_site(staff_client):
    reservation = ReservationFactory(date=MONDAY, time_slot=dt.time(11))
    response = staff_client.post(
        reverse("reservations:cancel", args=[reservation.pk]), {"next": "https://evil.example/"}
    )
    assert response["Location"] == f"{DAY_URL}?date=2026-11-23"


def test_admin_index_links_to_the_schedule(staff_client):
    content = staff_client.get(reverse("admin:index")).content.decode()
    assert f'href="{DAY_URL}"' in content


def test_reservations_on_a_later_declared_vacation_stay_visible(staff_client):
    stranded = ReservationFactory(date=MONDAY, time_slot=dt.time(11))
    VacationPeriodFactory(start_date=MONDAY, end_date=MONDAY)
    content = day_page(staff_client, MONDAY).content.decode()
    assert "day-vacation" in content
    assert reverse("reservations:cancel", args=[stranded.pk]) in content
    week = staff_client.get(WEEK_URL, {"date": MONDAY.isoformat()}).content.decode()
    assert reverse("admin:reservations_reservation_change", args=[stranded.pk]) in week


# ---------------------------------------------------------------------------- attendance
def attendance_url(reservation):
    return reverse("reservations:attendance", args=[reservation.pk])


def test_staff_mark_a_visitor_arrived_and_return_to_the_page(staff_client):
    reservation = ReservationFactory(date=SUNDAY, time_slot=dt.time(8, 30))  # it is 09:00
    response = staff_client.post(
        attendance_url(reservation), {"attendance": "arrived", "next": "/dashboard/"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/dashboard/"
    reservation.refresh_from_db()
    assert reservation.attendance == Reservation.Attendance.ARRIVED
    assert NotificationEvent.objects.filter(event_type="reservation_attendance").count() == 1


def test_undo_clears_the_attendance(staff_client):
    reservation = ReservationFactory(date=SUNDAY, time_slot=dt.time(8, 30))  # it is 09:00
    staff_client.post(attendance_url(reservation), {"attendance": "no_show"})
    response = staff_client.post(attendance_url(reservation), {"attendance": ""}, follow=True)
    assert "attendance cleared" in response.content.decode()
    reservation.refresh_from_db()
    assert reservation.attendance is None


@pytest.mark.parametrize("day", [SUNDAY, MONDAY], ids=["later-today", "tomorrow"])
def test_attendance_before_the_appointment_starts_is_refused_with_a_message(staff_client, day):
    reservation = ReservationFactory(date=day, time_slot=dt.time(11))
    response = staff_client.post(
        attendance_url(reservation), {"attendance": "no_show"}, follow=True
    )
    assert "once the appointment has started" in response.content.decode()
    reservation.refresh_from_db()
    assert reservation.attendance is None


def test_attendance_needs_post_and_a_staff_login(client, staff_client):
    reservation = ReservationFactory(date=SUNDAY, time_slot=dt.time(11))
    assert staff_client.get(attendance_url(reservation)).status_code == 405
    client.logout()
    assert client.post(attendance_url(reservation), {"attendance": "arrived"}).status_code == 302
    reservation.refresh_from_db()
    assert reservation.attendance is None


def test_a_bad_attendance_value_is_reported_and_changes_nothing(staff_client):
    reservation = ReservationFactory(date=SUNDAY, time_slot=dt.time(11))
    response = staff_client.post(attendance_url(reservation), {"attendance": "late"}, follow=True)
    assert "Select a valid choice" in response.content.decode()
    reservation.refresh_from_db()
    assert reservation.attendance is None


# ---------------------------------------------------------------------------- CSV export
EXPORT_URL = reverse("reservations:export-csv")


def csv_rows(response):
    body = b"".join(response.streaming_content).decode()
    assert body.startswith("\ufeff")
    return [line.split(",") for line in body[1:].splitlines()]


def test_csv_export_lists_the_range_in_slot_order(staff_client):
    customer = CustomerFactory(wa_id="966501234567", customer_name="Sara")
    late = ReservationFactory(customer=customer, date=MONDAY, time_slot=dt.time(12))
    early = ReservationFactory(date=MONDAY, time_slot=dt.time(11), type=1)
    ReservationFactory(date=MONDAY + dt.timedelta(days=1))  # outside the range
    response = staff_client.get(EXPORT_URL, {"start": "2026-11-22", "end": "2026-11-23"})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="reservations-20261122-20261123.csv"' in response["Content-Disposition"]
    header, *rows = csv_rows(response)
    assert header[:4] == ["id", "date", "time", "wa_id"]
    assert [row[0] for row in rows] == [str(early.pk), str(late.pk)]
    assert rows[1][:9] == [
        str(late.pk),
        "2026-11-23",
        "12:00",
        "966501234567",
        "Sara",
        "appointment",
        "active",
        "",
        "staff",
    ]
    assert rows[0][5] == "follow_up"


def test_csv_export_neutralises_formulas_in_names(staff_client):
    customer = CustomerFactory(customer_name="=HYPERLINK(1)")
    ReservationFactory(customer=customer, date=MONDAY)
    response = staff_client.get(EXPORT_URL, {"start": "2026-11-23", "end": "2026-11-23"})
    [_, row] = csv_rows(response)
    assert row[4] == "'=HYPERLINK(1)"


def test_csv_export_refuses_a_bad_range(staff_client):
    for params in (
        {"start": "2026-11-23", "end": "2026-11-01"},
        {"start": "2024-01-01", "end": "2026-01-01"},
        {"start": "yesterday", "end": "2026-11-01"},
    ):
        response = staff_client.get(EXPORT_URL, params)
        assert response.status_code == 400
        assert response.content


def test_csv_export_needs_a_staff_login(client):
    response = client.get(EXPORT_URL, {"start": "2026-11-23", "end": "2026-11-23"})
    assert response.status_code == 302


# ---------------------------------------------------------------------------- iCalendar
def feed_url(token):
    return reverse("reservations:ical-feed", args=[token])


def test_calendar_feed_is_off_without_a_token(client, settings):
    settings.ICAL_FEED_TOKEN = ""
    assert client.get(feed_url("anything")).status_code == 404


def test_calendar_feed_refuses_a_wrong_token(client, settings):
    settings.ICAL_FEED_TOKEN = "s3cret-token"
    assert client.get(feed_url("s3cret-tokeX")).status_code == 404


def test_calendar_feed_lists_active_reservations_in_utc_with_stable_uids(client, settings):
    settings.ICAL_FEED_TOKEN = "s3cret-token"
    customer = CustomerFactory(wa_id="966501234567", customer_name="Sara")
    reservation = ReservationFactory(customer=customer, date=MONDAY, time_slot=dt.time(11))
    ReservationFactory(
        date=MONDAY,
        time_slot=dt.time(12),
        status=Reservation.Status.CANCELLED,
        cancelled_at=dt.datetime(2026, 11, 21, tzinfo=dt.UTC),
    )
    response = client.get(feed_url("s3cret-token"))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    body = response.content.decode()
    assert body.count("BEGIN:VEVENT") == 1
    # 11:00 in Riyadh (UTC+3) is 08:00 UTC; the demo week's slots last 30 minutes.
    assert "DTSTART:20261123T080000Z" in body
    assert "DTEND:20261123T083000Z" in body
    assert f"UID:reservation-{reservation.pk}@testserver" in body
    assert "SUMMARY:Sara (Appointment)" in body  # the service's name
    # Moving the reservation keeps its UID, so the phone updates the same event.
    Reservation.objects.filter(pk=reservation.pk).update(time_slot=dt.time(13))
    body = client.get(feed_url("s3cret-token")).content.decode()
    assert f"UID:reservation-{reservation.pk}@testserver" in body
    assert "DTSTART:20261123T100000Z" in body


def test_calendar_feed_answers_304_until_the_schedule_changes(client, settings, frozen):
    settings.ICAL_FEED_TOKEN = "s3cret-token"
    reservation = ReservationFactory(date=MONDAY, time_slot=dt.time(11))
    etag = client.get(feed_url("s3cret-token"))["ETag"]
    again = client.get(feed_url("s3cret-token"), headers={"if-none-match": etag})
    assert again.status_code == 304
    frozen.shift(60)
    reservation.time_slot = dt.time(12)
    reservation.save()
    changed = client.get(feed_url("s3cret-token"), headers={"if-none-match": etag})
    assert changed.status_code == 200
    assert "DTSTART:20261123T090000Z" in changed.content.decode()
    assert client.get(feed_url("wrong"), headers={"if-none-match": etag}).status_code == 404


# ---------------------------------------------------------------- cancel: ask, then undo
def cancel_url(reservation):
    return reverse("reservations:cancel", args=[reservation.pk])


def undo_form(content: str, reservation) -> str:
    """The Undo form the message after a cancellation carries (None if there is none)."""
    action = reverse("reservations:reinstate", args=[reservation.pk])
    start = content.find(f'action="{action}"')
    return content[start : content.index("</form>", start)] if start != -1 else ""


def test_the_schedule_asks_before_cancelling_also_without_javascript(staff_client):
    reservation = ReservationFactory(date=MONDAY, time_slot=dt.time(11))
    day = day_page(staff_client, MONDAY).content.decode()
    # The page links to a question; no form on it cancels in one tap.
    assert f'href="{cancel_url(reservation)}?next=' in day
    assert f'action="{cancel_url(reservation)}"' not in day
    page = staff_client.get(cancel_url(reservation), {"next": f"{DAY_URL}?date=2026-11-23"})
    content = page.content.decode()
    assert "Cancel this reservation?" in content
    assert f'<form method="post" action="{cancel_url(reservation)}">' in content
    assert f'value="{DAY_URL}?date=2026-11-23"' in content  # back where staff came from
    reservation.refresh_from_db()
    assert reservation.is_active  # GET changed nothing
    assert not NotificationEvent.objects.filter(event_type="reservation_cancelled").exists()


def test_the_question_page_needs_the_change_permission(client, django_user_model):
    reservation = ReservationFactory(date=MONDAY, time_slot=dt.time(11))
    assert client.get(cancel_url(reservation)).status_code == 302  # to the login
    client.force_login(django_user_model.objects.create_user("x", password="x", is_staff=True))
    assert client.get(cancel_url(reservation)).status_code == 403


def test_a_cancellation_can_be_undone_from_its_message(staff_client):
    customer = CustomerFactory(customer_name="Sara")
    reservation = ReservationFactory(
        customer=customer, date=MONDAY, time_slot=dt.time(11), type=1, source="customer"
    )
    back = f"{DAY_URL}?date=2026-11-23"
    response = staff_client.post(cancel_url(reservation), {"next": back}, follow=True)
    content = response.content.decode()
    assert "Cancelled 2026-11-23 11:00" in content
    form = undo_form(content, reservation)
    assert "csrfmiddlewaretoken" in form
    assert f'value="{back}"' in form
    reservation.refresh_from_db()
    assert reservation.status == "cancelled"
    response = staff_client.post(
        reverse("reservations:reinstate", args=[reservation.pk]), {"next": back}, follow=True
    )
    assert response.redirect_chain[-1][0] == back
    assert "is booked again" in response.content.decode()
    reservation.refresh_from_db()
    # The same reservation, as it was: type, who booked it.
    assert (reservation.status, reservation.type, reservation.source) == ("active", 1, "customer")
    assert reservation.cancelled_at is None
    assert NotificationEvent.objects.filter(event_type="reservation_reinstated").count() == 1


def test_undo_is_refused_once_the_slot_is_taken(staff_client):
    reservation = ReservationFactory(date=MONDAY, time_slot=dt.time(11))
    staff_client.post(cancel_url(reservation))
    for _ in range(3):  # the staff limit
        ReservationFactory(date=MONDAY, time_slot=dt.time(11))
    response = staff_client.post(
        reverse("reservations:reinstate", args=[reservation.pk]), follow=True
    )
    assert "That time is fully booked." in response.content.decode()
    reservation.refresh_from_db()
    assert reservation.status == "cancelled"


def test_undo_is_refused_once_the_clinic_closes_that_day(staff_client):
    reservation = ReservationFactory(date=MONDAY, time_slot=dt.time(11))
    staff_client.post(cancel_url(reservation))
    VacationPeriodFactory(start_date=MONDAY, end_date=MONDAY)
    response = staff_client.post(
        reverse("reservations:reinstate", args=[reservation.pk]), follow=True
    )
    assert "closed for a holiday" in response.content.decode()
    assert Reservation.objects.get(pk=reservation.pk).status == "cancelled"


def test_undo_of_a_past_cancellation_needs_the_same_box(staff_client):
    past = ReservationFactory(date=SUNDAY - dt.timedelta(days=1))
    page = staff_client.get(cancel_url(past)).content.decode()
    assert 'name="allow_past"' in page
    content = staff_client.post(cancel_url(past), {"allow_past": "1"}, follow=True)
    form = undo_form(content.content.decode(), past)
    assert 'name="allow_past"' in form
    reinstate = reverse("reservations:reinstate", args=[past.pk])
    staff_client.post(reinstate)
    assert Reservation.objects.get(pk=past.pk).status == "cancelled"
    staff_client.post(reinstate, {"allow_past": "1"})
    assert Reservation.objects.get(pk=past.pk).status == "active"


def test_reinstate_needs_post(staff_client):
    reservation = ReservationFactory(date=MONDAY, time_slot=dt.time(11))
    staff_client.post(cancel_url(reservation))
    assert (
        staff_client.get(reverse("reservations:reinstate", args=[reservation.pk])).status_code
        == 405
    )
    assert Reservation.objects.get(pk=reservation.pk).status == "cancelled"


def test_the_day_page_offers_attendance_only_once_the_visit_started(staff_client):
    started = ReservationFactory(date=SUNDAY, time_slot=dt.time(8, 30))  # it is 09:00
    later = ReservationFactory(date=SUNDAY, time_slot=dt.time(11))
    content = day_page(staff_client, SUNDAY).content.decode()
    assert reverse("reservations:attendance", args=[started.pk]) in content
    assert reverse("reservations:attendance", args=[later.pk]) not in content
