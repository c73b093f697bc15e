"""The staff side of practitioners, rooms and services: the day board, the slot pickers for
booking and moving (without JavaScript), the week's resource filter, the exports."""

import datetime as dt
import re

import pytest
from django.urls import reverse

from reservations import board, services
from reservations.models import Reservation, Resource, Source, StaffException
from reservations.tests.conftest import SUNDAY
from reservations.tests.factories import ReservationFactory, make_resource, make_service

pytestmark = pytest.mark.usefixtures("clinic")

MONDAY = SUNDAY + dt.timedelta(days=1)
T = dt.time
DAY_URL = reverse("reservations:day")
WEEK_URL = reverse("reservations:week")
BOOK_URL = reverse("reservations:book")


@pytest.fixture
def team():
    sara = make_resource("Dr Sara")
    omar = make_resource("Dr Omar", hours={0: [(T(14), T(17))]})  # part-time: Monday afternoons
    room = make_resource("X-ray room", kind="room")
    cleaning = make_service("Cleaning", minutes=45, resources=[sara, omar])
    xray = make_service("X-ray", minutes=15, resources=[room])
    return {"sara": sara, "omar": omar, "room": room, "cleaning": cleaning, "xray": xray}


def book(at, service, resource, *, wa_id="966501234567", day=MONDAY):
    return services.reserve_slot(
        wa_id=wa_id, date=day, time_slot=at, source=Source.CUSTOMER, service=service,
        resource=resource,
    )  # fmt: skip


def options(html):
    """The start times offered by the picker's <select name="time_slot">."""
    select = re.search(r'<select name="time_slot".*?</select>', html, re.S)
    return re.findall(r'<option value="([0-9:]+)"', select.group(0)) if select else []


# ---------------------------------------------------------------------------- the day board
def test_the_day_board_has_a_column_per_resource_and_blocks_as_long_as_their_service(
    staff_client, team
):
    reservation = book(T(11), team["cleaning"], team["sara"])
    html = staff_client.get(DAY_URL, {"date": MONDAY.isoformat()}).content.decode()
    for name in ("Dr Sara", "Dr Omar", "X-ray room", "Clinic"):
        assert f"<bdi>{name}</bdi></div>" in html  # the column heads
    [block] = re.findall(r'<div class="block type-0 ([^"]+)"', html)
    assert "h-9" in block.split()  # 45 minutes of 5-minute rows
    day_board = board.day_board(
        day=MONDAY, calendar=services.load_calendar(start=MONDAY, end=MONDAY)
    )
    sara = next(c for c in day_board.columns if c.resource == team["sara"])
    assert [b.reservation for b in sara.blocks] == [reservation]
    assert f"c-{sara.column}" in block.split()
    # The free time after it is a link to the booking form, prefilled.
    assert f"resource={team['sara'].pk}&amp;service={team['cleaning'].pk}&amp;time=11:45" in html
    assert 'class="board-scroll"' in html  # phones scroll the columns sideways


def test_the_board_keeps_a_part_timers_hours_and_exceptions_off_the_free_time(staff_client, team):
    StaffException.objects.create(
        resource=team["omar"], date=MONDAY, start_time=T(15), end_time=T(16)
    )
    day_board = board.day_board(
        day=MONDAY, calendar=services.load_calendar(start=MONDAY, end=MONDAY)
    )
    omar = next(c for c in day_board.columns if c.resource == team["omar"])
    assert [(g.starts, g.ends) for g in omar.gaps] == [(T(14), T(15)), (T(16), T(17))]


def test_overlapping_bookings_of_the_clinic_sit_side_by_side(staff_client):
    ReservationFactory(date=MONDAY, time_slot=T(11))
    ReservationFactory(date=MONDAY, time_slot=T(11))
    day_board = board.day_board(
        day=MONDAY, calendar=services.load_calendar(start=MONDAY, end=MONDAY)
    )
    [clinic] = day_board.columns
    assert sorted(b.column for b in clinic.blocks) == [clinic.column, clinic.column + 1]
    assert clinic.lanes == 3  # two lanes of bookings, one for the free places


def test_an_inactive_resource_shows_only_while_it_holds_bookings(staff_client, team):
    book(T(11), team["xray"], team["room"])
    Resource.objects.filter(pk=team["room"].pk).update(is_active=False)
    html = staff_client.get(DAY_URL, {"date": MONDAY.isoformat()}).content.decode()
    assert "<bdi>X-ray room</bdi>" in html
    html = staff_client.get(DAY_URL, {"date": (MONDAY + dt.timedelta(days=1)).isoformat()})
    assert "<bdi>X-ray room</bdi>" not in html.content.decode()


# ---------------------------------------------------------------------------- booking
def test_the_booking_form_offers_only_the_engines_free_starts(staff_client, team):
    book(T(11), team["cleaning"], team["sara"])
    query = {
        "date": MONDAY.isoformat(), "service": team["cleaning"].pk, "resource": team["sara"].pk
    }  # fmt: skip
    html = staff_client.get(BOOK_URL, query).content.decode()
    offered = options(html)
    assert "11:00" not in offered
    assert "11:30" not in offered
    assert offered[0] == "12:00"
    assert offered[-1] == "16:00"
    assert 'type="time"' not in html  # a picker, not a free time field
    assert 'name="notify" value="1" checked' in html
    # Another resource is a GET of the same form (works without JavaScript).
    query["resource"] = team["omar"].pk
    assert options(staff_client.get(BOOK_URL, query).content.decode())[0] == "14:00"


def test_the_gap_link_preselects_its_start(staff_client, team):
    query = {
        "date": MONDAY.isoformat(), "service": team["cleaning"].pk, "resource": team["sara"].pk,
        "time": "12:10",
    }  # fmt: skip
    html = staff_client.get(BOOK_URL, query).content.decode()
    assert '<option value="12:30" selected>' in html


@pytest.mark.parametrize(
    "query",
    [{"service": "abc"}, {"service": "999999"}, {"resource": "x"}, {"time": "25:00"},
     {"time": "1pm"}, {"date": "2026-02-30"}],
)  # fmt: skip
def test_malformed_picker_queries_are_a_400(staff_client, team, query):
    assert staff_client.get(BOOK_URL, query).status_code == 400


def test_staff_book_a_service_with_a_resource_from_the_picker(staff_client, team):
    staff_client.post(
        BOOK_URL,
        {
            "wa_id": "966501234567", "date": MONDAY.isoformat(), "time_slot": "12:00",
            "service": team["cleaning"].pk, "resource": team["omar"].pk,
        },
        follow=True,
    )  # fmt: skip
    assert not Reservation.objects.exists()  # Omar works from 14:00
    staff_client.post(
        BOOK_URL,
        {
            "wa_id": "966501234567", "date": MONDAY.isoformat(), "time_slot": "14:00",
            "service": team["cleaning"].pk, "resource": team["omar"].pk,
        },
    )  # fmt: skip
    reservation = Reservation.objects.get()
    assert (reservation.service, reservation.resource) == (team["cleaning"], team["omar"])
    assert (reservation.end_time, reservation.source) == (T(14, 45), "staff")


def test_staff_are_told_which_customer_rules_they_override(staff_client):
    first = ReservationFactory(date=MONDAY, time_slot=T(11))
    ReservationFactory(date=MONDAY, time_slot=T(11))  # full for customers (2), staff limit 3
    clinic = Resource.objects.get_clinic()
    html = staff_client.get(
        BOOK_URL, {"date": MONDAY.isoformat(), "resource": clinic.pk}
    ).content.decode()
    assert re.search(r'<option value="11:00"[^>]*>11:00 \(staff override: full for customers', html)
    service = Reservation.objects.get(time_slot=T(11), pk=first.pk).service
    assert service is not None
    response = staff_client.post(
        BOOK_URL,
        {
            "wa_id": "966509999999", "date": MONDAY.isoformat(), "time_slot": "11:00",
            "service": service.pk, "resource": clinic.pk,
        },
        follow=True,
    )  # fmt: skip
    assert "Booked beyond the customers&#x27; rules: full for customers" in (
        response.content.decode()
    )
    assert Reservation.objects.filter(time_slot=T(11)).count() == 3


# ---------------------------------------------------------------------------- moving
def test_the_move_form_keeps_the_service_and_offers_its_own_place_again(staff_client, team):
    reservation = book(T(11), team["cleaning"], team["sara"])
    url = reverse("reservations:move", args=[reservation.pk])
    html = staff_client.get(url).content.decode()
    assert "Cleaning" in html
    assert '<option value="11:00" selected>' in html  # its own place does not count
    html = staff_client.get(url, {"resource": team["omar"].pk, "date": MONDAY.isoformat()})
    assert options(html.content.decode())[0] == "14:00"


def test_staff_move_a_booking_to_another_practitioner(staff_client, team):
    reservation = book(T(11), team["cleaning"], team["sara"])
    staff_client.post(
        reverse("reservations:move", args=[reservation.pk]),
        {"date": MONDAY.isoformat(), "time_slot": "14:30", "resource": team["omar"].pk},
    )
    reservation.refresh_from_db()
    assert (reservation.resource, reservation.time_slot, reservation.service) == (
        team["omar"], T(14, 30), team["cleaning"]
    )  # fmt: skip


def test_moving_to_anyone_takes_whom_the_engine_names(staff_client, team):
    reservation = book(T(11), team["cleaning"], team["sara"])
    book(T(14), team["cleaning"], team["sara"], wa_id="966507777777")
    staff_client.post(
        reverse("reservations:move", args=[reservation.pk]),
        {"date": MONDAY.isoformat(), "time_slot": "14:00", "anyone": "1"},
    )
    reservation.refresh_from_db()
    assert (reservation.resource, reservation.time_slot) == (team["omar"], T(14))


# ---------------------------------------------------------------------------- the week
def test_the_week_filters_by_resource(staff_client, team):
    book(T(11), team["cleaning"], team["sara"], wa_id="966501111111")
    book(T(14), team["cleaning"], team["omar"], wa_id="966502222222")
    html = staff_client.get(WEEK_URL, {"date": MONDAY.isoformat()}).content.decode()
    assert "+966501111111" in html
    assert "+966502222222" in html
    html = staff_client.get(
        WEEK_URL, {"date": MONDAY.isoformat(), "resource": team["omar"].pk}
    ).content.decode()
    assert "+966502222222" in html
    assert "+966501111111" not in html
    assert f"resource={team['omar'].pk}" in html  # the pager keeps the filter


@pytest.mark.parametrize("bad", ["abc", "999999", "-1", "1.5"])
def test_a_bad_resource_filter_is_a_400(staff_client, bad):
    assert staff_client.get(WEEK_URL, {"resource": bad}).status_code == 400


# ---------------------------------------------------------------------------- exports
def test_the_calendar_feed_per_resource(client, settings, team):
    settings.ICAL_FEED_TOKEN = "s3cret-token"
    book(T(11), team["cleaning"], team["sara"], wa_id="966501111111")
    book(T(14), team["cleaning"], team["omar"], wa_id="966502222222")
    url = reverse("reservations:ical-feed-resource", args=["s3cret-token", team["sara"].pk])
    response = client.get(url)
    assert response.status_code == 200
    body = response.content.decode()
    assert body.count("BEGIN:VEVENT") == 1
    assert "DTSTART:20261123T080000Z" in body
    assert "DTEND:20261123T084500Z" in body
    assert "(Cleaning)" in body
    assert "LOCATION:Dr Sara" in body
    assert "- Dr Sara" in body  # the calendar's name
    everyone = client.get(reverse("reservations:ical-feed", args=["s3cret-token"]))
    assert everyone.content.decode().count("BEGIN:VEVENT") == 2
    missing = reverse("reservations:ical-feed-resource", args=["s3cret-token", 999999])
    assert client.get(missing).status_code == 404
    wrong = reverse("reservations:ical-feed-resource", args=["wrong", team["sara"].pk])
    assert client.get(wrong).status_code == 404


def test_the_csv_names_the_service_the_resource_and_the_end(staff_client, team):
    book(T(11), team["cleaning"], team["sara"])
    response = staff_client.get(
        reverse("reservations:export-csv"), {"start": "2026-11-23", "end": "2026-11-23"}
    )
    header, row = [
        line.split(",")
        for line in b"".join(response.streaming_content).decode().lstrip("\ufeff").split("\r\n")
        if line
    ]
    assert header[-3:] == ["end_time", "service", "resource"]
    assert row[-3:] == ["11:45", "Cleaning", "Dr Sara"]


def test_the_demo_clinic_shows_its_team_on_the_board(staff_client):
    from customers.demo import seed_customers
    from reservations.demo import seed_reservations

    seed_reservations(seed_customers())
    reservation = Reservation.objects.order_by("date", "time_slot").first()
    assert reservation is not None
    html = staff_client.get(DAY_URL, {"date": reservation.date.isoformat()}).content.decode()
    for name in ("Dr Sara", "Dr Omar", "X-ray room"):
        assert f"<bdi>{name}</bdi></div>" in html
    assert "<bdi>Clinic</bdi></div>" not in html  # retired in the demo
    assert f'href="{reverse("reservations:move", args=[reservation.pk])}' in html
