"""The staff schedule: a day and a week view, and booking, moving and cancelling from them.

Every change goes through `reservations.services` with source=staff; refusals come back as
messages in the staff member's language.
"""

import hmac
from datetime import date, time, timedelta
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.forms import Form
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    QueryDict,
)
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from django.views.decorators.http import (
    condition,
    require_GET,
    require_http_methods,
    require_POST,
)

from config import query
from config.permissions import staff_required
from customers.phone import is_user_id, normalize_wa_id
from reservations import board, exports, picker, services, vacations
from reservations.forms import AttendanceForm, BookForm, CancelForm, ExportForm, MoveForm
from reservations.models import BookingRules, Reservation, Resource, Service, Source
from reservations.slots import week_start


@staff_required("reservations.view_schedule")
@require_GET
def schedule_day(request: HttpRequest) -> HttpResponse:
    day = _requested_day(request)
    calendar = services.load_calendar(start=day, end=day)
    [schedule] = services.schedule_days(start=day, end=day, calendar=calendar)
    vacation, affected = vacations.vacation_on(day=day)
    day_board = board.day_board(day=day, calendar=calendar)
    clinic = next((c.resource for c in day_board.columns if c.resource.is_clinic), None)
    return render(
        request,
        "reservations/day.html",
        {
            "board": day_board,
            "reservations": day_board.reservations,
            "clinic_shown": clinic if clinic is not None and clinic.is_active else None,
            "schedule": schedule,
            "vacation": vacation,
            "vacation_affected": affected,
            "day": day,
            "today": timezone.localdate(),
            "previous": day - timedelta(days=1),
            "next": day + timedelta(days=1),
            "type_choices": Reservation.Type.choices,
        },
    )


@staff_required("reservations.view_schedule")
@require_GET
def schedule_week(request: HttpRequest) -> HttpResponse:
    day = _requested_day(request)
    resource = _requested(request, "resource", Resource.objects.all())
    start = week_start(day, BookingRules.objects.get_solo().week_starts_on)
    days = services.schedule_days(start=start, end=start + timedelta(days=6))
    # Bookings listed apart from the clinic's slots: the chosen resource's, or (unfiltered)
    # those of every resource other than the clinic.
    held: dict[date, list[Reservation]] = {}
    rows = Reservation.objects.active().between(start, start + timedelta(days=6))
    if resource is None:
        rows = rows.exclude(resource__isnull=True).exclude(resource__is_clinic=True)
    elif resource.is_clinic:
        rows = rows.of_clinic()
    else:
        rows = rows.filter(resource=resource)
    ordered = rows.select_related("customer", "service", "resource").order_by("date", "time_slot")
    for reservation in ordered:
        held.setdefault(reservation.date, []).append(reservation)
    return render(
        request,
        "reservations/week.html",
        {
            "days": days,
            "resource": resource,
            "resources": Resource.objects.filter(is_active=True).order_by("-is_clinic", "name"),
            "held": [(schedule, held.get(schedule.day.date, [])) for schedule in days],
            "day": day,
            "start": start,
            "end": start + timedelta(days=6),
            "today": timezone.localdate(),
            "previous": start - timedelta(days=7),
            "next": start + timedelta(days=7),
        },
    )


@staff_required("reservations.add_reservation")
@require_http_methods(["GET", "POST"])
def book(request: HttpRequest) -> HttpResponse:
    """GET: the booking form, whose times are the engine's free starts of the chosen service,
    resource and day (choosing them again reloads it: no JavaScript needed). POST: book."""
    if request.method == "GET":
        return _book_page(request)
    form = BookForm(request.POST)
    if not _valid(request, form):
        return _back(request)
    data = form.cleaned_data
    service = data["service"]
    overrides: tuple[str, ...] = ()
    if service is not None:
        overrides = picker.overrides_for(
            service=service,
            day=data["date"],
            at=data["time_slot"],
            resource=data["resource"],
            wa_id=_customer_key(data["wa_id"]),
        )
    try:
        reservation = services.reserve_slot(
            wa_id=data["wa_id"],
            date=data["date"],
            time_slot=data["time_slot"],
            type=data["type"],
            source=Source.STAFF,
            customer_name=data["customer_name"],
            service=service,
            resource=data["resource"],
        )
    except services.BookingError as exc:
        _refused(request, exc)
        return _back(request, data["date"])
    messages.success(request, _("Booked %(reservation)s.") % {"reservation": _label(reservation)})
    _overridden(request, overrides)
    _tell(request, reservation, "booked", notify=data["notify"])
    return _back(request, reservation.date)


def _book_page(request: HttpRequest) -> HttpResponse:
    service_list = list(Service.objects.active().order_by("name", "id"))
    service = _requested(request, "service", Service.objects.active())
    if service is None and service_list:
        service = service_list[0]
    day = _requested_day(request)
    at = query.query_time(request, "time")
    resource = _requested(request, "resource", Resource.objects.active())
    delivering = list(
        Resource.objects.active().filter(links__service=service).order_by("name", "id")
        if service
        else []
    )
    wrong_resource = resource is not None and resource not in delivering
    if wrong_resource:
        resource = None
    choices = picker.staff_choices(service=service, day=day, resource=resource) if service else []
    return render(
        request,
        "reservations/book.html",
        {
            "services": service_list,
            "service": service,
            "resources": delivering,
            "resource": resource,
            "wrong_resource": wrong_resource,
            "day": day,
            "choices": choices,
            "selected": _nearest_choice(choices, at),
            "next": _next_page(request, day),
        },
    )


@staff_required("reservations.change_reservation")
@require_http_methods(["GET", "POST"])
def move(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: the move form (the reservation's service; a day and a resource to choose, then one
    of the engine's free starts). POST: move it there."""
    reservation = get_object_or_404(
        Reservation.objects.select_related("customer", "service", "resource"), pk=pk
    )
    if request.method == "GET":
        return _move_page(request, reservation)
    form = MoveForm(request.POST)
    if not _valid(request, form):
        return _back(request, reservation.date)
    data = form.cleaned_data
    if data["anyone"] and data["resource"] is None and data["type"] is None:
        data["resource"] = _engine_choice(reservation, data["date"], data["time_slot"])
    overrides: tuple[str, ...] = ()
    if reservation.service is not None and data["type"] is None:
        overrides = picker.overrides_for(
            service=reservation.service,
            day=data["date"],
            at=data["time_slot"],
            resource=data["resource"] or reservation.resource,
            wa_id=reservation.customer_id,
            exclude_id=reservation.pk,
        )
    before = (reservation.date, reservation.time_slot, reservation.resource_id)
    try:
        services.modify_reservation(
            reservation=reservation,
            date=data["date"],
            time_slot=data["time_slot"],
            type=data["type"],
            source=Source.STAFF,
            resource=data["resource"],
        )
    except services.BookingError as exc:
        _refused(request, exc)
        return _back(request, reservation.date)
    messages.success(request, _("Moved to %(reservation)s.") % {"reservation": _label(reservation)})
    _overridden(request, overrides)
    if (reservation.date, reservation.time_slot, reservation.resource_id) != before:
        _tell(request, reservation, "moved", notify=data["notify"])
    return _back(request, reservation.date)


def _engine_choice(reservation: Reservation, day: date, at: time) -> Resource | None:
    """Whom the engine names for `at` among everyone who delivers the reservation's service."""
    service = reservation.service or Service.objects.default_for(reservation.type)
    for choice in picker.staff_choices(
        service=service, day=day, wa_id=reservation.customer_id, exclude_id=reservation.pk
    ):
        if choice.time == at:
            return Resource.objects.filter(pk=choice.resource_id).first()
    return None


def _move_page(request: HttpRequest, reservation: Reservation) -> HttpResponse:
    service = reservation.service or Service.objects.default_for(reservation.type)
    day = _requested_day(request, default=reservation.date)
    resource = _requested(request, "resource", Resource.objects.active())
    delivering = list(
        Resource.objects.active().filter(links__service=service).order_by("name", "id")
    )
    current = reservation.resource
    if current is not None and current not in delivering:
        delivering.insert(0, current)
    if "resource" not in request.GET:
        resource = current if current is not None and current.is_active else None
    wrong_resource = resource is not None and resource not in delivering
    if wrong_resource:
        resource = None
    choices = picker.staff_choices(
        service=service,
        day=day,
        resource=resource,
        wa_id=reservation.customer_id,
        exclude_id=reservation.pk,
    )
    at = query.query_time(request, "time")
    if at is None and day == reservation.date:
        at = reservation.time_slot
    return render(
        request,
        "reservations/move.html",
        {
            "reservation": reservation,
            "service": service,
            "resources": delivering,
            "resource": resource,
            "wrong_resource": wrong_resource,
            "day": day,
            "choices": choices,
            "selected": _nearest_choice(choices, at),
            "next": _next_url(request, request.GET, reservation),
        },
    )


@staff_required("reservations.change_reservation")
@require_http_methods(["GET", "POST"])
def cancel(request: HttpRequest, pk: int) -> HttpResponse:
    """GET asks first (a page of its own, so it works without JavaScript and changes nothing);
    its form POSTs the cancellation, which comes back with an undo."""
    reservation = get_object_or_404(
        Reservation.objects.select_related("customer", "service", "resource"), pk=pk
    )
    if request.method == "GET":
        return render(
            request,
            "reservations/cancel.html",
            {"reservation": reservation, "next": _next_url(request, request.GET, reservation)},
        )
    form = CancelForm(request.POST)
    form.is_valid()  # checkboxes: never invalid
    allow_past = form.cleaned_data.get("allow_past", False)
    notify = form.cleaned_data.get("notify", False)
    was_active = reservation.is_active
    try:
        services.cancel_reservation(
            reservation=reservation, source=Source.STAFF, allow_past=allow_past
        )
    except services.BookingError as exc:
        _refused(request, exc)
        return _back(request, reservation.date)
    told = was_active and _tell(request, reservation, "cancelled", notify=notify, quiet=True)
    undo = render_to_string(
        "reservations/_undo.html",
        {
            "text": _("Cancelled %(reservation)s.") % {"reservation": _label(reservation)}
            + (" " + _("The customer is told on WhatsApp.") if told else ""),
            "reservation": reservation,
            "allow_past": allow_past,
            "notify": told,
            "next": _next_url(request, request.POST, reservation),
        },
        request=request,
    )
    messages.success(request, undo)  # rendered safe: the message carries the Undo button
    return _back(request, reservation.date)


@staff_required("reservations.change_reservation")
@require_POST
def reinstate(request: HttpRequest, pk: int) -> HttpResponse:
    """Undo a cancellation, if the slot still takes the reservation (the engine's rules)."""
    reservation = get_object_or_404(
        Reservation.objects.select_related("customer", "service", "resource"), pk=pk
    )
    form = CancelForm(request.POST)
    form.is_valid()
    was_active = reservation.is_active
    try:
        services.reinstate_reservation(
            reservation=reservation,
            source=Source.STAFF,
            allow_past=form.cleaned_data.get("allow_past", False),
        )
    except services.BookingError as exc:
        _refused(request, exc)
        return _back(request, reservation.date)
    messages.success(
        request, _("%(reservation)s is booked again.") % {"reservation": _label(reservation)}
    )
    if not was_active:  # told of the cancellation, the customer is told it is booked again
        _tell(request, reservation, "booked", notify=form.cleaned_data.get("notify", False))
    return _back(request, reservation.date)


@staff_required("reservations.change_reservation")
@require_POST
def attendance(request: HttpRequest, pk: int) -> HttpResponse:
    reservation = get_object_or_404(Reservation.objects.select_related("customer"), pk=pk)
    form = AttendanceForm(request.POST)
    if not _valid(request, form):
        return _back(request, reservation.date)
    try:
        services.mark_attendance(
            reservation=reservation,
            attendance=form.cleaned_data["attendance"] or None,
            source=Source.STAFF,
        )
    except services.BookingError as exc:
        _refused(request, exc)
        return _back(request, reservation.date)
    messages.success(
        request,
        _("%(reservation)s: %(attendance)s.")
        % {
            "reservation": _label(reservation),
            "attendance": reservation.get_attendance_display() or _("attendance cleared"),
        },
    )
    return _back(request, reservation.date)


@staff_required("reservations.export_reservations")
@require_GET
def export_csv(request: HttpRequest) -> HttpResponseBase:
    form = ExportForm(request.GET)
    if not form.is_valid():
        return HttpResponse(
            " ".join(str(e) for errors in form.errors.values() for e in errors),
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    start, end = form.cleaned_data["start"], form.cleaned_data["end"]
    return exports.csv_response(
        Reservation.objects.between(start, end), filename=exports.csv_filename(start, end)
    )


def _check_feed_token(token: str) -> None:
    expected = settings.ICAL_FEED_TOKEN
    if not expected or not hmac.compare_digest(token.encode(), expected.encode()):
        raise Http404


def _feed_etag(request: HttpRequest, token: str, resource_id: int | None = None) -> str:
    _check_feed_token(token)  # before anything about the schedule is revealed, even an ETag
    resource = _feed_resource(resource_id)
    return exports.feed_version(resource=resource)


def _feed_resource(resource_id: int | None) -> Resource | None:
    if resource_id is None:
        return None
    return get_object_or_404(Resource, pk=resource_id)


@require_GET
@condition(etag_func=_feed_etag)
def ical_feed(request: HttpRequest, token: str, resource_id: int | None = None) -> HttpResponse:
    """The schedule for staff phones' calendars (everyone's, or one resource's); the secret URL
    is the only credential."""
    _check_feed_token(token)
    resource = _feed_resource(resource_id)
    body = exports.schedule_ical(host=request.get_host().split(":")[0], resource=resource)
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    filename = f"schedule-{resource.pk}.ics" if resource else "schedule.ics"
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    response["Cache-Control"] = "private, max-age=300"
    return response


def _requested_day(request: HttpRequest, *, default: date | None = None) -> date:
    """The day in `?date=` (a malformed one is a 400, like every staff page's bad input)."""
    return query.query_date(request, "date") or default or timezone.localdate()


def _requested(request: HttpRequest, name: str, rows: QuerySet[Any]) -> Any:
    """The row whose id is in `?name=` ("" or absent: None); an id that is malformed or not
    one of `rows` is a 400."""
    pk = query.query_int(request, name)
    if pk is None:
        return None
    found = rows.filter(pk=pk).first()
    if found is None:
        raise query.BadQueryError(f"{name}: no such choice")
    return found


def _nearest_choice(choices: list[picker.Choice], at: time | None) -> str:
    """The start to preselect: `at`, else the first at or after it."""
    if at is None or not choices:
        return ""
    later = [choice for choice in choices if choice.time >= at]
    return (later[0] if later else choices[-1]).value


def _next_page(request: HttpRequest, day: date) -> str:
    target = request.GET.get("next", "")
    if _safe(request, target):
        return target
    return f"{reverse('reservations:day')}?date={day.isoformat()}"


def _customer_key(wa_id: str) -> str | None:
    """The customer key the booking service will use for `wa_id` (None: not a number)."""
    if is_user_id(wa_id):
        return wa_id
    try:
        return normalize_wa_id(wa_id)
    except ValidationError:
        return None


def _overridden(request: HttpRequest, overrides: tuple[str, ...]) -> None:
    if overrides:
        messages.warning(
            request,
            _("Booked beyond the customers' rules: %(rules)s.")
            % {"rules": picker.describe_overrides(overrides)},
        )


def _tell(
    request: HttpRequest,
    reservation: Reservation,
    change: str,
    *,
    notify: bool,
    quiet: bool = False,
) -> bool:
    """Tell the customer of a staff change on WhatsApp (RESERVATION_CHANGE_NOTIFIER), unless
    staff unticked "tell the customer"; whether a notice was queued."""
    if not notify:
        return False
    notifier = import_string(settings.RESERVATION_CHANGE_NOTIFIER)
    sent = notifier(reservation=reservation, change=change) is not None
    if not quiet:
        if sent:
            messages.info(request, _("The customer is told on WhatsApp."))
        else:
            messages.warning(request, _("The customer is blocked: nothing was sent."))
    return sent


def _valid(request: HttpRequest, form: Form) -> bool:
    if form.is_valid():
        return True
    for field, errors in form.errors.items():
        label = form.fields[field].label if field in form.fields else ""
        for error in errors:
            messages.error(request, f"{label}: {error}" if label else str(error))
    return False


def _refused(request: HttpRequest, exc: services.BookingError) -> None:
    text = exc.message_for(None)
    if isinstance(exc, services.CustomerLimitError):
        held = ", ".join(_label(r) for r in exc.reservations)
        text = f"{text} ({held})"
    messages.error(request, text)


def _label(reservation: Reservation) -> str:
    return f"{reservation.date:%Y-%m-%d} {reservation.time_slot:%H:%M} (+{reservation.customer_id})"


def _back(request: HttpRequest, day: date | None = None) -> HttpResponseRedirect:
    """Back to the page the form was on, or to the day view of `day`."""
    target = request.POST.get("next", "")
    if _safe(request, target):
        return HttpResponseRedirect(target)
    url = reverse("reservations:day")
    return HttpResponseRedirect(f"{url}?date={day.isoformat()}" if day else url)


def _next_url(request: HttpRequest, data: QueryDict, reservation: Reservation) -> str:
    """The page to go back to (given by `next`, if it is ours), else the reservation's day."""
    target = data.get("next", "")
    if _safe(request, target):
        return target
    return f"{reverse('reservations:day')}?date={reservation.date.isoformat()}"


def _safe(request: HttpRequest, target: str) -> bool:
    return url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
