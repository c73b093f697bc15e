"""Who can reach what: every URL of the project as an anonymous visitor and as each staff role
(no group, Receptionist, Manager), the login throttle, and the security headers under production
settings. test_admin_permissions.py walks the admin actions, test_pages.py the pages' controls.

The URL walk iterates the resolver, so a view added later is covered without touching this file:
it must either carry `config.permissions.staff_required` (or `StaffRequiredMixin`), be an admin
view, or be listed in PUBLIC below with the reason it may be reached without a staff login.
"""

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from axes.models import AccessAttempt, AccessFailureLog
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import Group, User
from django.contrib.contenttypes.models import ContentType
from django.db.models import Model
from django.test import Client, RequestFactory, override_settings
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.utils import timezone
from django_q.models import OrmQ, Task

from config.permissions import MANAGER, RECEPTIONIST, setup_roles
from config.throttle import client_ip
from customers.models import Customer
from customers.tests.factories import CustomerFactory
from messaging.demo import seed_demo_data
from messaging.models import (
    BotSession,
    MessagingSettings,
    Reminder,
    SandboxMessage,
    StatusUpdate,
    VacationNotice,
    VacationNotification,
)
from messaging.tests.factories import InboundMessageFactory, NotificationEventFactory
from reservations.models import Reservation, Resource
from reservations.tests.factories import ReservationFactory, VacationPeriodFactory

pytestmark = pytest.mark.django_db

LOGIN = "/admin/login/"
PASSWORD = "pw-Desk-2026!"

# Reachable without a staff login, by name ("namespace:name") or, if unnamed, by route; each with
# the statuses an anonymous visitor may get (GET, or POST where GET is not allowed).
PUBLIC: dict[str, tuple[str, set[int]]] = {
    "admin:login": ("the login page", {200}),
    "admin:logout": ("logging out (POST) needs no login; it redirects to the admin", {302}),
    "set_language": ("i18n: sets a cookie and redirects", {204, 302}),
    "messaging:whatsapp-webhook": ("handshake needs the verify token, POSTs a signature", {403}),
    "messaging:sandbox-graph-messages": ("plays the Graph API: bearer token; DEBUG only", {401}),
    "home": ("the start page redirects to a staff page, which asks for the login", {302}),
    "favicon": ("the site's icon, which every browser asks for", {200}),
    "messaging:sandbox-llm-completions": ("plays a model server: bearer key; DEBUG only", {401}),
    # Issue 6's calendar feed (merged separately): its URL holds a secret token; a wrong one 404s.
    "reservations:ical-feed": ("secret token in the URL (ICAL_FEED_TOKEN)", {404}),
    "reservations:ical-feed-resource": ("one resource's feed: the same secret token", {404}),
    # Probes for load balancers and Prometheus (messaging/monitoring/views.py): no login can be
    # asked of them.
    "messaging:healthz": ("liveness: says 'ok' and reads nothing", {200}),
    "messaging:readyz": ("readiness: check names and ok/failing, no data (503: no worker)", {503}),
    # The walk's client is 127.0.0.1, a local address; elsewhere 403 without the bearer token
    # (messaging/tests/monitoring/test_views.py).
    "messaging:metrics": ("METRICS_TOKEN bearer or METRICS_ALLOWED_NETWORKS only", {200}),
}
# Admin URL names end with the action; what a user needs for each (any one of them).
ADMIN_ACTIONS = {
    "changelist": ("view", "change"),
    "change": ("view", "change"),
    "history": ("view", "change"),
    "add": ("add",),
    "delete": ("delete",),
    "password_change": ("change",),  # a user's password, by staff
}


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Logins here are about who gets in, not about the hash: skip PBKDF2's deliberate cost."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@dataclass(frozen=True)
class Route:
    route: str
    name: str  # "namespace:name", or "" when unnamed
    callback: Callable[..., Any]

    @property
    def key(self) -> str:
        return self.name or self.route

    @property
    def model(self) -> type[Model] | None:
        match = re.match(r"admin/(\w+)/(\w+)/", self.route)
        try:
            return apps.get_model(match[1], match[2]) if match else None
        except LookupError:  # admin/password_change/done/
            return None


def routes(patterns: list[Any] | None = None, prefix: str = "", ns: str = "") -> Iterator[Route]:
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{ns}:{pattern.namespace}".strip(":") if pattern.namespace else ns
            yield from routes(pattern.url_patterns, prefix + str(pattern.pattern), inner)
        elif isinstance(pattern, URLPattern):
            name = f"{ns}:{pattern.name}".strip(":") if pattern.name else ""
            yield Route(prefix + str(pattern.pattern), name, pattern.callback)


@pytest.fixture
def objects(settings):
    """One real row behind every path parameter the project's URLs take."""
    seed_demo_data()
    call_setup_schedules()
    customer = CustomerFactory(wa_id="966509999999", customer_name="Walk Through")
    reservation = ReservationFactory(customer=customer)
    vacation = VacationPeriodFactory()
    MessagingSettings.load()
    Reminder.objects.create(
        reservation=reservation,
        kind=Reminder.Kind.DAY_BEFORE,
        slot_date=reservation.date,
        slot_time=reservation.time_slot,
        due_at=timezone.now(),
    )
    VacationNotice.objects.create(customer=customer, vacation=vacation, day=vacation.start_date)
    VacationNotification.objects.create(reservation=reservation, vacation=vacation)
    InboundMessageFactory(wa_id=customer.wa_id)
    NotificationEventFactory(wa_id=customer.wa_id)
    StatusUpdate.objects.create(wa_message_id="wamid.S", status="sent", payload="{}")
    BotSession.objects.create(customer=customer, expires_at="2030-01-01T00:00Z")
    Client().post(LOGIN, {"username": "nobody", "password": "wrong"})  # an axes attempt
    admin_user = User.objects.create_superuser("walker", password=PASSWORD)
    Client().post(LOGIN, {"username": admin_user.username, "password": PASSWORD})  # access log
    AccessFailureLog.objects.create(username="nobody", ip_address="127.0.0.1", http_accept="*")
    now = timezone.now()
    for success in (True, False):  # django_q's Success and Failure pages
        Task.objects.create(
            id=f"{success:d}" * 32,
            name=f"t{success}",
            func="x",
            started=now,
            stopped=now,
            success=success,
        )
    OrmQ.objects.create(key="clinic", payload="x")
    SandboxMessage.objects.create(direction="out", wa_id=customer.wa_id, wa_message_id="w", body={})
    return {"customer": customer, "settings": settings}


def call_setup_schedules() -> None:
    from django.core.management import call_command

    call_command("setup_schedules", verbosity=0)


def value(param: str, route: Route, objects: dict[str, Any]) -> list[str]:
    customer: Customer = objects["customer"]
    model = route.model
    if param in ("object_id", "id") and model is not None:
        row = model._default_manager.order_by("pk").first()
        assert row is not None, f"no {model._meta.label} row for {route.route}: add one to objects"
        return [str(row.pk)]
    if param == "app_label":
        return sorted({m._meta.app_label for m in admin.site._registry})
    values = {
        "wa_id": customer.wa_id,
        "pk": str(Reservation.objects.filter(customer=customer).get().pk),
        "version": "v23.0",
        "phone_number_id": objects["settings"].WHATSAPP_PHONE_NUMBER_ID,
        "content_type_id": str(ContentType.objects.get_for_model(Customer).pk),
        "object_id": customer.wa_id,
        "url": "no-such-page/",
        "token": "not-the-feed-token",
        "resource_id": str(Resource.objects.get_clinic().pk),
    }
    if param not in values:
        raise AssertionError(f"no value for <{param}> in {route.route!r}: add one to value()")
    return [values[param]]


def concrete_urls(route: Route, objects: dict[str, Any]) -> list[str]:
    """Fill the route's parameters (path converters and regex groups) with real values."""
    urls = [route.route.replace("^", "").replace("$", "")]
    for param in re.findall(r"<(?:\w+:)?(\w+)>", route.route):
        urls = [
            re.sub(rf"\(\?P<{param}>[^)]*\)|<(?:\w+:)?{param}>", v, url, count=1)
            for url in urls
            for v in value(param, route, objects)
        ]
    return ["/" + url for url in urls]


def fetch(client: Client, url: str) -> Any:
    response = client.get(url)
    if response.status_code == 405:  # POST-only: the gate must hold for POST too
        response = client.post(url, {})
    return response


def is_login_redirect(response: Any) -> bool:
    return response.status_code == 302 and response["Location"].startswith(LOGIN)


def all_routes() -> list[Route]:
    return [r for r in routes() if not r.route.startswith("__debug__")]


# ---------------------------------------------------------------------------- the walk
def test_every_url_refuses_anonymous_visitors(objects, settings):
    settings.WHATSAPP_SANDBOX = True  # its views exist only then; they must refuse too
    client = Client()
    checked = 0
    for route in all_routes():
        for url in concrete_urls(route, objects):
            assert resolve(url).func is route.callback, f"{url} does not reach {route.key}"
            response = fetch(client, url)
            checked += 1
            if route.key in PUBLIC:
                assert response.status_code in PUBLIC[route.key][1], (url, response.status_code)
                continue
            assert is_login_redirect(response) or response.status_code in (403, 404), (
                f"{url} ({route.key}) answered an anonymous visitor {response.status_code}"
            )
    assert checked > 100


def test_every_staff_view_declares_its_permission():
    for route in all_routes():
        if route.key in PUBLIC or route.route.startswith("admin/"):
            continue
        assert getattr(route.callback, "required_permission", None), (
            f"{route.route} ({route.key}) is neither protected by staff_required nor in PUBLIC"
        )


# Staff roles the walks sign in as: a staff user without a group, then the two groups.
ROLES = ["no group", RECEPTIONIST, MANAGER]


def make_staff(role: str, username: str = "") -> User:
    """An active staff user in `role`'s group ("no group": none); setup_roles() must have run."""
    user = User.objects.create_user(
        username or role.replace(" ", "-").lower(), password=PASSWORD, is_staff=True
    )
    if role != "no group":
        user.groups.add(Group.objects.get(name=role))
    return User.objects.get(pk=user.pk)  # no stale permission cache


@pytest.mark.parametrize("role", ROLES)
def test_every_url_gives_each_role_what_the_role_allows(objects, settings, role):
    settings.WHATSAPP_SANDBOX = True
    setup_roles()
    user = make_staff(role)
    client = Client()
    for route in all_routes():
        if route.key in PUBLIC:
            continue
        allowed = expected_access(route, user)
        for url in concrete_urls(route, objects):
            client.force_login(user)  # a POST may have logged out (admin:logout)
            response = fetch(client, url)
            status = response.status_code
            assert status < 500, (url, status)
            assert not is_login_redirect(response), (url, f"a signed-in {role}")
            if allowed is True:
                assert status != 403, f"{url} ({route.key}): {role} should get in"
            elif allowed is False:
                assert status == 403, f"{url} ({route.key}): {role} got {status}, not 403"


def expected_access(route: Route, user: Any) -> bool | None:
    """True/False for staff views and model admin pages; None for the admin's own pages.

    Without the model permission the answer must be 403; with it, the model's admin may still
    refuse by design (the logs cannot be added to or deleted from), so it is asked as well.
    """
    permission = getattr(route.callback, "required_permission", None)
    if permission:
        return bool(user.has_perm(permission))
    model = route.model
    if model is None:
        return None  # index, logout, jsi18n, autocomplete, app lists: the admin sees to them
    prefix = f"admin:{model._meta.app_label}_{model._meta.model_name}"
    action = route.name.removeprefix(prefix).lstrip("_")
    if not route.name:
        return None  # <object_id>/ only redirects to .../change/, which is checked itself
    assert action in ADMIN_ACTIONS, f"{route.key}: add its permission to ADMIN_ACTIONS"
    opts = model._meta
    verbs = ADMIN_ACTIONS[action]
    if not any(user.has_perm(f"{opts.app_label}.{verb}_{opts.model_name}") for verb in verbs):
        return False
    request = RequestFactory().get("/")
    request.user = user
    model_admin = admin.site._registry[model]
    return any(getattr(model_admin, f"has_{verb}_permission")(request) for verb in verbs)


@pytest.fixture
def receptionist(django_user_model):
    setup_roles()
    user = django_user_model.objects.create_user("desk", password=PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name=RECEPTIONIST))
    return user


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/schedule/", 200),
        ("/schedule/week/", 200),
        ("/inbox/", 200),
        ("/admin/", 200),
        ("/admin/customers/customer/", 200),
        ("/admin/reservations/reservation/", 200),
        ("/admin/reservations/vacationperiod/", 200),
        ("/admin/messaging/conversation/", 403),
        ("/admin/messaging/inboundmessage/", 403),
        ("/admin/messaging/notificationevent/", 403),
        ("/admin/reservations/bookingrules/", 403),
        ("/admin/reservations/weeklyschedule/", 403),
        ("/admin/auth/user/", 403),
        ("/admin/auth/group/", 403),
        ("/admin/axes/accessattempt/", 403),
        ("/admin/django_q/schedule/", 403),
        ("/sandbox/", 403),
    ],
)
def test_a_receptionist_runs_the_day_but_not_the_logs_rules_or_users(
    receptionist, client, settings, url, status
):
    settings.WHATSAPP_SANDBOX = True
    client.force_login(receptionist)
    assert client.get(url).status_code == status


def test_a_manager_reaches_everything(django_user_model, client, settings):
    settings.WHATSAPP_SANDBOX = True
    setup_roles()
    manager = django_user_model.objects.create_user("boss", password=PASSWORD, is_staff=True)
    manager.groups.add(Group.objects.get(name=MANAGER))
    client.force_login(manager)
    for url in ("/sandbox/", "/admin/messaging/conversation/", "/admin/auth/user/", "/inbox/"):
        assert client.get(url).status_code == 200, url


def test_staff_without_a_role_and_non_staff_get_403(django_user_model, client):
    for user in (
        django_user_model.objects.create_user("new", password=PASSWORD, is_staff=True),
        django_user_model.objects.create_user("patient", password=PASSWORD),
    ):
        client.force_login(user)
        assert client.get("/schedule/").status_code == 403
        assert client.get("/inbox/").status_code == 403


def test_setup_roles_is_idempotent_and_the_receptionist_lacks_admin_powers():
    first = setup_roles()
    assert setup_roles() == first
    receptionist = set(
        Group.objects.get(name=RECEPTIONIST).permissions.values_list("codename", flat=True)
    )
    assert {"view_schedule", "use_inbox", "view_events", "change_reservation"} <= receptionist
    assert not receptionist & {
        "use_sandbox",
        "export_reservations",
        "change_bookingrules",
        "delete_customer",
    }
    assert not {c for c in receptionist if c.endswith(("_user", "_group", "_conversation"))}
    assert first[MANAGER] == Group.objects.get(name=MANAGER).permissions.model.objects.count()


def test_only_a_manager_may_erase_customers(receptionist, client):
    CustomerFactory(wa_id="966501111111")
    client.force_login(receptionist)
    page = client.get("/admin/customers/customer/").content.decode()
    assert "erase_customers" not in page  # the action needs delete_customer


# ---------------------------------------------------------------------------- login throttling
def login(client: Client, username: str, password: str, ip: str = "198.51.100.7", **extra: Any):
    data = {"username": username, "password": password}
    return client.post(LOGIN, data, REMOTE_ADDR=ip, **extra)


def test_five_wrong_passwords_lock_that_username_from_that_address(receptionist, client):
    for _ in range(4):
        assert login(client, "desk", "wrong").status_code == 200  # the form, with an error
    assert login(client, "desk", "wrong").status_code == 429
    assert login(client, "desk", PASSWORD).status_code == 429  # even the right password
    assert login(Client(), "desk", PASSWORD, ip="198.51.100.8").status_code == 302  # elsewhere
    attempt = AccessAttempt.objects.get(username="desk", ip_address="198.51.100.7")
    assert attempt.failures_since_start >= 5


def test_the_lock_lifts_after_fifteen_minutes(receptionist, client):
    import datetime as dt

    import time_machine

    with time_machine.travel(dt.datetime(2026, 11, 23, 8, 0, tzinfo=dt.UTC), tick=False) as clock:
        for _ in range(5):
            login(client, "desk", "wrong")
        assert login(client, "desk", PASSWORD).status_code == 429
        clock.shift(dt.timedelta(minutes=16))
        assert login(client, "desk", PASSWORD).status_code == 302


def test_a_successful_login_resets_the_count(receptionist, client):
    for _ in range(4):
        login(client, "desk", "wrong")
    assert login(client, "desk", PASSWORD).status_code == 302
    client.logout()
    for _ in range(4):
        assert login(client, "desk", "wrong").status_code == 200
    assert not AccessAttempt.objects.filter(failures_since_start__gte=5).exists()


@override_settings(TRUSTED_PROXY_COUNT=1)
def test_behind_the_proxy_the_lock_follows_the_forwarded_address(receptionist, client):
    proxy = {"HTTP_X_FORWARDED_FOR": "6.6.6.6, 203.0.113.9"}  # what the client claimed, then us
    for _ in range(5):
        login(client, "desk", "wrong", ip="127.0.0.1", **proxy)
    assert AccessAttempt.objects.get().ip_address == "203.0.113.9"
    other = {"HTTP_X_FORWARDED_FOR": "6.6.6.6, 203.0.113.10"}
    assert login(Client(), "desk", PASSWORD, ip="127.0.0.1", **other).status_code == 302


@pytest.mark.parametrize("proxies", [0, 1, 2])
def test_reached_directly_a_forged_forwarded_for_buys_no_extra_guesses(
    receptionist, client, settings, proxies
):
    """Gunicorn reachable from outside (not bound to 127.0.0.1): the client writes its own
    X-Forwarded-For, a new address each time; the lock follows the real peer regardless."""
    settings.TRUSTED_PROXY_COUNT = proxies
    for n in range(4):
        forged = {"HTTP_X_FORWARDED_FOR": f"203.0.113.{n}, 198.18.0.{n}"}
        assert login(client, "desk", "wrong", **forged).status_code == 200
    forged = {"HTTP_X_FORWARDED_FOR": "203.0.113.99, 198.18.0.99"}
    assert login(client, "desk", "wrong", **forged).status_code == 429
    assert login(client, "desk", PASSWORD, **forged).status_code == 429
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"198.51.100.7"}


def test_a_username_locks_after_twenty_failures_from_any_addresses(receptionist, client):
    """Guesses spread over many addresses (a botnet, each under the per-address limit) lock the
    username itself; another username is not affected."""
    for n in range(19):
        assert login(Client(), "desk", "wrong", ip=f"198.51.100.{n}").status_code == 200
    assert login(Client(), "desk", "wrong", ip="198.51.100.200").status_code == 429
    assert login(Client(), "desk", PASSWORD, ip="203.0.113.5").status_code == 429
    User.objects.create_user("other", password=PASSWORD, is_staff=True)
    assert login(Client(), "other", PASSWORD, ip="198.51.100.200").status_code == 302


@override_settings(TRUSTED_PROXY_COUNT=1)
def test_behind_the_proxy_rotating_client_addresses_still_lock_the_username(receptionist):
    for n in range(19):
        proxy = {"HTTP_X_FORWARDED_FOR": f"203.0.113.{n}"}
        assert login(Client(), "desk", "wrong", ip="127.0.0.1", **proxy).status_code == 200
    proxy = {"HTTP_X_FORWARDED_FOR": "203.0.113.250"}
    assert login(Client(), "desk", "wrong", ip="127.0.0.1", **proxy).status_code == 429


def test_a_successful_login_does_not_clear_guesses_from_elsewhere(receptionist, settings):
    settings.AXES_USERNAME_FAILURE_LIMIT = 6
    for n in range(4):
        login(Client(), "desk", "wrong", ip=f"198.51.100.{n}")
    assert login(Client(), "desk", PASSWORD, ip="203.0.113.5").status_code == 302
    assert AccessAttempt.objects.filter(username="desk").count() == 4
    login(Client(), "desk", "wrong", ip="198.51.100.50")
    assert login(Client(), "desk", "wrong", ip="198.51.100.51").status_code == 429


def test_client_ip_trusts_only_the_configured_proxies(rf, settings):
    request = rf.get("/", HTTP_X_FORWARDED_FOR="1.1.1.1, 2.2.2.2", REMOTE_ADDR="127.0.0.1")
    settings.TRUSTED_PROXY_COUNT = 0
    assert client_ip(request) == "127.0.0.1"
    settings.TRUSTED_PROXY_COUNT = 1
    assert client_ip(request) == "2.2.2.2"
    settings.TRUSTED_PROXY_COUNT = 2
    assert client_ip(request) == "1.1.1.1"
    settings.TRUSTED_PROXY_COUNT = 3  # fewer hops than proxies: the direct peer
    assert client_ip(request) == "127.0.0.1"
    settings.TRUSTED_PROXY_COUNT = 1
    request.META["REMOTE_ADDR"] = "10.0.0.1"  # a peer outside TRUSTED_PROXY_NETWORKS
    assert client_ip(request) == "10.0.0.1"
    settings.TRUSTED_PROXY_NETWORKS = ["10.0.0.0/8"]
    assert client_ip(request) == "2.2.2.2"
    request.META["HTTP_X_FORWARDED_FOR"] = "1.1.1.1, not-an-address"
    assert client_ip(request) == "10.0.0.1"


# ---------------------------------------------------------------------------- headers
PRODUCTION = {
    "DEBUG": False,
    "SECURE_SSL_REDIRECT": True,
    "SESSION_COOKIE_SECURE": True,
    "CSRF_COOKIE_SECURE": True,
    "SECURE_HSTS_SECONDS": 31536000,
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
    "SECURE_HSTS_PRELOAD": True,
    "ALLOWED_HOSTS": ["clinic.example.com"],
}


def test_production_settings_send_secure_headers_and_cookies(receptionist):
    client = Client(HTTP_HOST="clinic.example.com")
    with override_settings(**PRODUCTION):
        plain = client.get("/admin/login/")
        assert plain.status_code == 301
        assert plain["Location"] == "https://clinic.example.com/admin/login/"
        page = client.get("/admin/login/", secure=True)
        assert page["Strict-Transport-Security"] == ("max-age=31536000; includeSubDomains; preload")
        assert page["X-Frame-Options"] == "DENY"
        assert page["X-Content-Type-Options"] == "nosniff"
        assert page["Referrer-Policy"] == "same-origin"
        assert page.cookies["csrftoken"]["secure"]
        response = client.post(
            "/admin/login/",
            {"username": "desk", "password": PASSWORD},
            secure=True,
            REMOTE_ADDR="198.51.100.7",
        )
        assert response.status_code == 302
        session = response.cookies["sessionid"]
        assert session["secure"]
        assert session["httponly"]


def test_the_sandbox_is_off_even_for_a_superuser_unless_enabled(staff_client, settings):
    settings.WHATSAPP_SANDBOX = False
    for url in ("/sandbox/", "/sandbox/thread/"):
        assert staff_client.get(url).status_code == 404
    assert staff_client.post("/sandbox/graph/v23.0/1/messages").status_code == 404


def test_the_class_based_form_guards_the_same_way(rf, receptionist, django_user_model):
    from django.contrib.auth.models import AnonymousUser
    from django.core.exceptions import PermissionDenied
    from django.http import HttpResponse
    from django.views import View

    from config.permissions import StaffRequiredMixin

    class Page(StaffRequiredMixin, View):
        permission = "messaging.use_inbox"

        def get(self, request):
            return HttpResponse("ok")

    view = Page.as_view()
    assert getattr(view, "required_permission", None) == "messaging.use_inbox"
    request = rf.get("/page/")
    request.user = AnonymousUser()
    assert is_login_redirect(view(request))
    request.user = receptionist
    assert view(request).content == b"ok"
    request.user = django_user_model.objects.create_user("other", is_staff=True)
    with pytest.raises(PermissionDenied):
        view(request)

    class Unset(StaffRequiredMixin, View):
        pass

    with pytest.raises(TypeError, match="permission is not set"):
        Unset.as_view()
