"""Who may open which staff page: one decorator per view, and the two roles as Django groups.

Every staff view (function or class) is wrapped in `staff_required("<app>.<codename>")`:

    @staff_required("reservations.view_schedule")
    def schedule_day(request): ...

    class EventList(StaffRequiredMixin, ListView):
        permission = "messaging.view_notificationevent"

An anonymous visitor is sent to the login page; a signed-in user who is not active staff or lacks
the permission gets 403. The permission a view needs is kept on it (`required_permission`), so
config/tests/test_security.py can check every URL of the project against the roles below: a view
without this decorator (and not on that test's short public list) fails the test.

Roles are groups: "Receptionist" runs the day (schedule, bookings, inbox, customers); "Manager"
holds every permission. `setup_roles()` (command `manage.py setup_roles`) creates and refreshes
both; run it again after a migration adds permissions.
"""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.models import Group, Permission
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.urls import Resolver404, resolve

RECEPTIONIST = "Receptionist"
MANAGER = "Manager"

# "app_label.codename"; nothing here opens raw logs, queues, booking rules, users or groups, and
# no bulk export (reservations.export_reservations is the Manager's).
RECEPTIONIST_PERMISSIONS = [
    "reservations.view_schedule",
    "reservations.view_reservation",
    "reservations.add_reservation",
    "reservations.change_reservation",
    "reservations.view_vacationperiod",
    "customers.view_customer",
    "customers.change_customer",
    "messaging.use_inbox",
    "messaging.view_events",
    # The front desk keeps the answers to customers' questions up to date; adding or removing
    # questions is the Manager's.
    "messaging.view_faqentry",
    "messaging.change_faqentry",
]


def staff_required(permission: str) -> Callable[[Callable[..., HttpResponseBase]], Any]:
    """Let a view through only for active staff holding `permission` ("app_label.codename")."""

    def decorator(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            check_staff_permission(request, permission)
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            return view(request, *args, **kwargs)

        wrapper.required_permission = permission  # type: ignore[attr-defined]
        return wrapper

    return decorator


def check_staff_permission(request: HttpRequest, permission: str) -> None:
    """Raise PermissionDenied for a signed-in user who may not; anonymous users pass to login."""
    user = request.user
    if not user.is_authenticated:
        return
    if not (user.is_active and user.is_staff and user.has_perm(permission)):
        raise PermissionDenied


class StaffRequiredMixin:
    """The class-based form of `staff_required`: set `permission` on the view class."""

    permission: str = ""

    @classmethod
    def as_view(cls, **initkwargs: Any) -> Callable[..., HttpResponse]:
        if not cls.permission:
            raise TypeError(f"{cls.__name__}.permission is not set")
        view = super().as_view(**initkwargs)  # type: ignore[misc]
        return staff_required(cls.permission)(view)


def may_open(request: HttpRequest, path: str) -> bool:
    """Whether request.user gets past the permission check of the view at `path`, so that a page
    shows only the links and forms its user may use (template tag `allowed_url`)."""
    try:
        match = resolve(path)
    except Resolver404:
        return False
    user = request.user
    is_staff = bool(user.is_active and user.is_staff)
    permission = getattr(match.func, "required_permission", None)
    if permission:
        return is_staff and user.has_perm(permission)
    if match.namespace != "admin":
        return True  # the public few (login, language switch, webhook)
    model_admin = getattr(match.func, "model_admin", None)  # set on every ModelAdmin view
    if not is_staff or model_admin is None:
        return is_staff  # the admin's index and app pages show each user only what they may
    verb = (match.url_name or "").removeprefix(f"{model_admin.opts.app_label}_")
    verb = verb.removeprefix(f"{model_admin.opts.model_name}_")
    check = {
        "add": model_admin.has_add_permission,
        "delete": model_admin.has_delete_permission,
        "password_change": model_admin.has_change_permission,
    }.get(verb, model_admin.has_view_or_change_permission)
    return bool(check(request))


def _permissions(names: list[str]) -> list[Permission]:
    query = Q(pk__in=[])
    for name in names:
        app_label, codename = name.split(".")
        query |= Q(content_type__app_label=app_label, codename=codename)
    found = list(Permission.objects.filter(query).select_related("content_type"))
    missing = set(names) - {f"{p.content_type.app_label}.{p.codename}" for p in found}
    if missing:
        raise LookupError(f"permissions not in the database (run migrate): {sorted(missing)}")
    return found


@transaction.atomic
def setup_roles() -> dict[str, int]:
    """Create or refresh the Receptionist and Manager groups; return permissions per group."""
    receptionist, _ = Group.objects.get_or_create(name=RECEPTIONIST)
    receptionist.permissions.set(_permissions(RECEPTIONIST_PERMISSIONS))
    manager, _ = Group.objects.get_or_create(name=MANAGER)
    manager.permissions.set(Permission.objects.all())
    return {group.name: group.permissions.count() for group in (receptionist, manager)}
