"""Malformed input on staff pages is a 400 with the site's page, never a 500.

The walk below takes every URL of the project (as config/tests/test_security.py does), finds the
GET parameters each view reads by watching its QueryDict (and, for admin lists, the filters the
admin offers), and sends each of them a set of hostile values: a page added later is covered
without touching this file.
"""

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from unittest.mock import patch

import pytest
from django.contrib import admin
from django.http import QueryDict
from django.test import Client, RequestFactory

from config import query
from config.tests.test_security import (  # noqa: F401 (`objects` is a fixture)
    Route,
    all_routes,
    concrete_urls,
    objects,
)

pytestmark = pytest.mark.django_db

HOSTILE = [
    "²",  # str.isdigit() says yes, int() says no
    "٣",  # an Arabic-Indic digit
    "-1",
    "1e3",
    "9" * 25,  # beyond a bigint
    "9223372036854775808",
    "2026-02-30",
    "2026-13-45",
    "0001-01-01",
    "9999-12-31",
    "2026-11-23T24:00:00+00:00",
    "9999-12-31T23:59:59-14:00",
    "0001-01-01T00:00:00+14:00",
    "2026-11-23T06:00:00",  # no offset
    "2026-11-23T06:00:00+00:00~",
    "2026-11-23T06:00:00+00:00~²",
    "~",
    "x" * 5000,
    "<script>alert(1)</script>",
    "../..",
    "%",
    "\u202e",
    "1,²,x.y",
]
# The admin's lists get the values that reach its filters' database lookups (the walk's time).
ADMIN_VALUES = ["²", "9" * 25, "0001-01-01", "9999-12-31T23:59:59", "2026-02-30", "-1"]
# The admin's list pages read these from request.GET as a whole (not key by key).
ADMIN_PARAMS = ["q", "o", "p", "e", "all", "_to_field", "_popup", "_changelist_filters"]


@contextmanager
def watching_query_dicts() -> Iterator[set[str]]:
    """The keys any QueryDict is asked for while the block runs."""
    seen: set[str] = set()

    def spy(name: str) -> Callable[..., Any]:
        original = getattr(QueryDict, name)

        def wrapper(self: QueryDict, key: Any, *args: Any, **kwargs: Any) -> Any:
            if isinstance(key, str):
                seen.add(key)
            return original(self, key, *args, **kwargs)

        return wrapper

    names = ["get", "getlist", "__getitem__", "__contains__"]
    spies: dict[str, Any] = {name: spy(name) for name in names}
    with patch.multiple(QueryDict, **spies):
        yield seen


def admin_list_params(route: Route, url: str, user: Any) -> set[str]:
    model = route.model
    if model is None or not route.name.endswith("_changelist"):
        return set()
    model_admin = admin.site._registry[model]
    request = RequestFactory().get(url)
    request.user = user
    changelist = model_admin.get_changelist_instance(request)
    params = {p for spec in changelist.filter_specs for p in spec.expected_parameters() if p}
    if model_admin.date_hierarchy:
        params |= {f"{model_admin.date_hierarchy}__{part}" for part in ("year", "month", "day")}
    return params | set(ADMIN_PARAMS)


@pytest.fixture
def manager_client(django_user_model, settings):
    settings.WHATSAPP_SANDBOX = True  # its pages exist only then
    user = django_user_model.objects.create_superuser("fuzz", password="pw-Fuzz-2026!")
    client = Client()
    client.force_login(user)
    return client, user


# An admin date filter given a day builds a naive datetime: Django warns, the page is fine.
@pytest.mark.filterwarnings("ignore:DateTimeField .* received a naive datetime:RuntimeWarning")
def test_every_staff_url_answers_hostile_query_values_without_a_500(request, manager_client):
    rows = request.getfixturevalue("objects")
    client, user = manager_client
    checked = 0
    for route in all_routes():
        if route.key in ("admin:logout", "set_language", "messaging:whatsapp-webhook"):
            continue
        # Readiness answers 503 by design while no worker is running (as in this test).
        fine = {503} if route.key == "messaging:readyz" else set()
        for url in concrete_urls(route, rows):
            with watching_query_dicts() as read:
                first = client.get(url)
            if first.status_code == 405:  # POST only: no query parameters to read
                continue
            assert first.status_code < 500 or first.status_code in fine, (url, first.status_code)
            params = (read | admin_list_params(route, url, user)) - {"csrfmiddlewaretoken"}
            if route.route.startswith("admin/") and not route.name.endswith("_changelist"):
                continue  # the admin's forms read only its own markers (_popup, _to_field)
            values = ADMIN_VALUES if route.route.startswith("admin/") else HOSTILE
            for param in sorted(params):
                for value in values:
                    response = client.get(url, {param: value})
                    checked += 1
                    status = response.status_code
                    assert status < 500 or status in fine, (url, param, value, status)
                response = client.get(url, {param: "a\x00b"})
                assert response.status_code == 400, (url, param, "NUL")
    assert checked > 500


@pytest.mark.parametrize(
    ("url", "params"),
    [
        ("/inbox/", {"before": "2026-02-30T00:00:00+00:00~966501234567"}),
        ("/inbox/", {"after": "junk"}),
        ("/inbox/", {"needs": "yes"}),
        ("/inbox/updates/", {"since": "2026-11-23T25:00:00+00:00"}),
        ("/inbox/966501234567/", {"before": "²"}),
        ("/inbox/966501234567/updates/", {"after": "9" * 30}),
        ("/inbox/966501234567/updates/", {"watching": "²."}),
        ("/dashboard/events/", {"before": "2026-11-23T06:00:00+00:00~²"}),
        ("/schedule/", {"date": "9999-12-31"}),
        ("/schedule/week/", {"date": "0001-01-01"}),
        ("/inbox/", {"q": "\x00"}),
        ("/dashboard/events/", {"type": "a\x00"}),
    ],
)
def test_malformed_parameters_get_the_site_400_page(staff_client, url, params):
    from customers.tests.factories import CustomerFactory

    CustomerFactory(wa_id="966501234567")
    response = staff_client.get(url, params)
    assert response.status_code == 400
    page = response.content.decode()
    assert "Bad request" in page
    assert 'href="/inbox/"' in page  # the site's layout, for a signed-in user


@pytest.mark.parametrize(
    "path",
    ["/inbox/%00/", "/inbox/~AA/", "/admin/customers/customer/%00/change/", "/schedule/%00"],
)
def test_a_nul_in_the_path_is_a_400(staff_client, path):
    assert staff_client.get(path).status_code == 400 or path == "/inbox/~AA/"
    assert staff_client.get(path).status_code < 500


def test_a_nul_in_a_form_is_a_400(staff_client):
    from customers.tests.factories import CustomerFactory

    customer = CustomerFactory()
    response = staff_client.post(f"/inbox/{customer.wa_id}/reply/", {"text": "hi\x00"})
    assert response.status_code == 400
    response = staff_client.post("/admin/login/", {"username": "a\x00", "password": "x"})
    assert response.status_code == 400


# ---------------------------------------------------------------------------- the parsers
@pytest.mark.parametrize("raw", ["0", "7", "9223372036854775807"])
def test_parse_int_takes_ascii_digits_within_a_bigint(raw):
    assert query.parse_int(raw) == int(raw)


@pytest.mark.parametrize("raw", ["", "²", "٣", "-1", "+1", " 1", "1.0", "9223372036854775808"])
def test_parse_int_refuses_the_rest(raw):
    with pytest.raises(query.BadQueryError):
        query.parse_int(raw)


def test_parse_date_and_datetime_take_real_iso_values():
    assert query.parse_date("2026-11-23") == dt.date(2026, 11, 23)
    moment = query.parse_datetime("2026-11-23T06:00:00.123456+00:00")
    assert moment == dt.datetime(2026, 11, 23, 6, 0, 0, 123456, tzinfo=dt.UTC)
    assert query.parse_datetime("2026-11-23T09:00:00+03:00") == moment.replace(microsecond=0)


@pytest.mark.parametrize(
    "raw",
    ["2026-02-30", "2026-13-01", "٢٠٢٦-١١-٢٣", "0001-01-01", "9999-12-31", "20261123", "x"],
)
def test_parse_date_refuses_impossible_or_unbounded_days(raw):
    with pytest.raises(query.BadQueryError):
        query.parse_date(raw)


@pytest.mark.parametrize(
    "raw",
    [
        "2026-11-23T06:00:00",  # naive: which zone?
        "2026-11-23T24:00:00+00:00",
        "2026-02-30T06:00:00+00:00",
        "0001-01-01T00:00:00+14:00",
        "9999-12-31T23:59:59-14:00",
        "yesterday",
    ],
)
def test_parse_datetime_refuses_naive_impossible_or_unbounded_moments(raw):
    with pytest.raises(query.BadQueryError):
        query.parse_datetime(raw)
