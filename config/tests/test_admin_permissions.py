"""Every admin action of every registered model, and every admin permission hook, per role.

The actions are read from the admin site, so an action added later is covered without touching
this file: it must declare `permissions=` and be listed, with who may run it, in README's actions
table ("Security and privacy"); each role is then offered, and may run, exactly what the table
says. A refused action is refused on POST too, not only left out of the menu.
"""

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.models import AnonymousUser, Permission
from django.db.models import Model
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone

from config.permissions import MANAGER, RECEPTIONIST, setup_roles
from config.tests.test_security import ROLES, is_login_redirect, make_staff
from messaging.models import MessagingSettings
from reservations.models import Reservation
from reservations.tests.factories import ReservationFactory

pytestmark = pytest.mark.django_db

Action = tuple[type[Model], admin.ModelAdmin, Any, str]  # model, its admin, function, name


def registered_actions() -> Iterator[Action]:
    for model, model_admin in admin.site._registry.items():
        for func, name, _description in model_admin._get_base_actions():  # type: ignore[attr-defined]
            yield model, model_admin, func, name


def readme_actions() -> dict[str, dict[str, bool]]:
    """README's admin actions table: `app.model.action` (or `*.action`) -> role -> may run it."""
    table: dict[str, dict[str, bool]] = {}
    for line in (settings.BASE_DIR / "README.md").read_text().splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != 4 or not cells[0].startswith("`"):
            continue
        for name in re.findall(r"`(\*\.\w+|\w+\.\w+\.\w+)`", cells[0]):
            table[name] = {RECEPTIONIST: cells[2] == "yes", MANAGER: cells[3] == "yes"}
    assert table, "README lost its admin actions table"
    return table


def allowed_by_readme(model: type[Model], name: str, role: str) -> bool:
    table = readme_actions()
    row = table.get(f"{model._meta.label_lower}.{name}") or table.get(f"*.{name}")
    assert row is not None, f"{model._meta.label_lower}.{name}: add it to README's actions table"
    return row.get(role, False)  # anonymous visitors and staff without a group: nothing


def test_every_admin_action_declares_its_permissions_and_is_in_the_readme():
    names = set()
    for model, model_admin, func, name in registered_actions():
        where = f"{model._meta.label_lower}.{name}"
        permissions = getattr(func, "allowed_permissions", None)
        assert permissions, f"{where} declares no permissions=: anyone who may view could run it"
        for permission in permissions:
            assert callable(getattr(model_admin, f"has_{permission}_permission", None)), where
        allowed_by_readme(model, name, MANAGER)
        names.add(where)
    assert "reservations.reservation.export_selected_csv" in names  # the walk sees them all


@pytest.fixture
def action_calls(monkeypatch) -> list[tuple[type[Model], str]]:
    """Stand every admin action in with a recorder that keeps its declared permissions, so
    Django's own filtering decides who gets to it, and nothing is actually sent or erased."""
    calls: list[tuple[type[Model], str]] = []

    def stand_in(func: Any, name: str) -> Any:
        def recorder(model_admin: admin.ModelAdmin, request: Any, queryset: Any) -> None:
            calls.append((model_admin.model, name))

        if hasattr(func, "allowed_permissions"):
            recorder.allowed_permissions = func.allowed_permissions  # type: ignore[attr-defined]
        return recorder

    get_action = admin.ModelAdmin.get_action

    def recording(self: admin.ModelAdmin, action: Any) -> Any:
        found = get_action(self, action)
        if found is None:
            return None
        func, name, description = found
        return stand_in(func, name), name, description

    for name, func in list(admin.site._actions.items()):  # site-wide: delete_selected
        monkeypatch.setitem(admin.site._actions, name, stand_in(func, name))
    monkeypatch.setattr(admin.ModelAdmin, "get_action", recording)
    return calls


def offered_actions(page: Any) -> set[str]:
    if page.status_code != 200:
        return set()
    select = re.search(r'<select name="action".*?</select>', page.content.decode(), re.S)
    return set(re.findall(r'<option value="(\w+)"', select[0])) if select else set()


@pytest.mark.parametrize("role", ["anonymous", *ROLES])
def test_each_role_is_offered_and_may_run_exactly_the_actions_readme_gives_it(
    objects, action_calls, role
):
    setup_roles()
    user = None if role == "anonymous" else make_staff(role)
    client = Client()
    request = RequestFactory().get("/")
    request.user = user or AnonymousUser()
    checked = 0
    for model, model_admin, _func, name in registered_actions():
        opts = model._meta
        if user is not None:
            client.force_login(user)
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        expected = user is not None and allowed_by_readme(model, name, role)
        if expected and name == "delete_selected":
            expected = model_admin.has_delete_permission(request)
        where = f"{opts.label_lower}.{name} as {role}"
        assert (name in offered_actions(client.get(url))) == expected, f"{where}: offered?"
        row = model._default_manager.order_by("pk").first()
        assert row is not None, f"no {opts.label} row: add one to the objects fixture"
        action_calls.clear()
        response = client.post(url, {"action": name, "_selected_action": [row.pk], "index": 0})
        assert response.status_code < 500, where
        assert (action_calls == [(model, name)]) == expected, f"{where}: ran {action_calls}"
        if user is None:
            assert is_login_redirect(response), where
        checked += 1
    assert checked >= 20


# ---------------------------------------------------------------------------- the review's cases
def post_action(client: Client, model: str, action: str, pks: list[Any]) -> Any:
    url = reverse(f"admin:{model}_changelist")
    return client.post(url, {"action": action, "_selected_action": pks, "index": 0})


def test_a_receptionist_cannot_export_or_cancel_past_reservations_by_posting_the_action(client):
    setup_roles()
    reservation = ReservationFactory()
    client.force_login(make_staff(RECEPTIONIST))
    for action in ("export_selected_csv", "cancel_selected_including_past"):
        response = post_action(client, "reservations_reservation", action, [reservation.pk])
        assert response.get("Content-Type", "").startswith("text/html"), action
        assert "text/csv" not in response.get("Content-Type", "")
    reservation.refresh_from_db()
    assert reservation.status == Reservation.Status.ACTIVE


def test_a_view_only_user_cannot_cancel_a_reservation(client, django_user_model):
    reservation = ReservationFactory(date=timezone.localdate() + dt.timedelta(days=3))
    viewer = django_user_model.objects.create_user("viewer", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_reservation"))
    client.force_login(viewer)
    assert client.get(reverse("admin:reservations_reservation_changelist")).status_code == 200
    post_action(client, "reservations_reservation", "cancel_selected", [reservation.pk])
    reservation.refresh_from_db()
    assert reservation.status == Reservation.Status.ACTIVE


def test_a_manager_exports_the_selected_reservations(client):
    setup_roles()
    reservation = ReservationFactory()
    client.force_login(make_staff(MANAGER))
    response = post_action(
        client, "reservations_reservation", "export_selected_csv", [reservation.pk]
    )
    assert response["Content-Type"].startswith("text/csv")


# ---------------------------------------------------------------------------- permission hooks
def test_every_admin_permission_hook_asks_the_users_permissions(objects, django_user_model):
    """A staff user without a group gets False from every has_*_permission of every model admin
    and inline: an override may refuse more than Django does, never grant on its own."""
    user = django_user_model.objects.create_user("nobody-staff", is_staff=True)
    request = RequestFactory().get("/")
    request.user = user
    hooks = ("view", "add", "change", "delete")
    for model, model_admin in admin.site._registry.items():
        row = model._default_manager.order_by("pk").first()
        custom = {
            p
            for _m, a, f, _n in registered_actions()
            if a is model_admin
            for p in f.allowed_permissions
        }
        assert not model_admin.has_module_permission(request), model
        for hook in {*hooks, *custom}:
            method = getattr(model_admin, f"has_{hook}_permission")
            assert not method(request), (model, hook)
            if hook in ("view", "change", "delete"):
                assert not method(request, row), (model, hook, "object")
        for inline_class in model_admin.inlines:
            inline = inline_class(model, admin.site)
            for hook in hooks:
                assert not getattr(inline, f"has_{hook}_permission")(request, row), inline


@pytest.mark.parametrize("role", ["no group", RECEPTIONIST])
def test_on_a_fresh_install_only_a_manager_may_pause_automated_messaging(client, role):
    setup_roles()
    assert not MessagingSettings.objects.exists()
    client.force_login(make_staff(role))
    url = reverse("admin:messaging_messagingsettings_add")
    assert client.get(url).status_code == 403
    response = client.post(url, {"automated_paused": "on", "paused_reason": "x"})
    assert response.status_code == 403
    assert not MessagingSettings.objects.filter(automated_paused=True).exists()
    client.force_login(make_staff(MANAGER, username="boss"))
    assert client.get(url).status_code == 200
