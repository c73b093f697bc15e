"""The staff schedule: a day and a week view, and booking, moving and cancelling from them.

Every change goes through `reservations.services` with source=staff; refusals come back as
messages in the staff member's language.
"""

import hmac
from datetime import date, timedelta

from django.conf import settings
from django.contrib import messages
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
from django.utils.translation import gettext as _
from django.views.decorators.http import (
    condition,
    require_GET,
    require_http_methods,
    require_POST,
)

from config import query
from config.permissions import staff_required
from reservations import exports, services, vacations
from reservations.forms import AttendanceForm, BookForm, CancelForm, ExportForm, MoveForm
from reservations.models import BookingRules, Reservation, Source
from reservations.slots import week_start


@staff_required("reservations.view_schedule")
@require_GET
def schedule_day(request: HttpRequest) -> HttpResponse:
    day = _requested_day(request)
    [schedule] = services.schedule_days(start=day, end=day)
    vacation, affected = vacations.vacation_on(day=day)
    return render(
        request,
        "reservations/day.html",
        {
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
    start = week_start(day, BookingRules.objects.get_solo().week_starts_on)
    days = services.schedule_days(start=start, end=start + timedelta(days=6))
    return render(
        request,
        "reservations/week.html",
        {
            "days": days,
            "day": day,
            "start": start,
            "end": start + timedelta(days=6),
            "today": timezone.localdate(),
            "previous": start - timedelta(days=7),
            "next": start + timedelta(days=7),
        },
    )


@staff_required("reservations.add_reservation")
@require_POST
def book(request: HttpRequest) -> HttpResponse:
    form = BookForm(request.POST)
    if not _valid(request, form):
        return _back(request)
    data = form.cleaned_data
    try:
        reservation = services.reserve_slot(
            wa_id=data["wa_id"],
            date=data["date"],
            time_slot=data["time_slot"],
            type=data["type"],
            source=Source.STAFF,
            customer_name=data["customer_name"],
        )
    except services.BookingError as exc:
        _refused(request, exc)
        return _back(request, data["date"])
    messages.success(request, _("Booked %(reservation)s.") % {"reservation": _label(reservation)})
    return _back(request, reservation.date)


@staff_required("reservations.change_reservation")
@require_POST
def move(request: HttpRequest, pk: int) -> HttpResponse:
    reservation = get_object_or_404(Reservation, pk=pk)
    form = MoveForm(request.POST)
    if not _valid(request, form):
        return _back(request, reservation.date)
    data = form.cleaned_data
    try:
        services.modify_reservation(
            reservation=reservation,
            date=data["date"],
            time_slot=data["time_slot"],
            type=data["type"],
            source=Source.STAFF,
        )
    except services.BookingError as exc:
        _refused(request, exc)
        return _back(request, reservation.date)
    messages.success(request, _("Moved to %(reservation)s.") % {"reservation": _label(reservation)})
    return _back(request, reservation.date)


@staff_required("reservations.change_reservation")
@require_http_methods(["GET", "POST"])
def cancel(request: HttpRequest, pk: int) -> HttpResponse:
    """GET asks first (a page of its own, so it works without JavaScript and changes nothing);
    its form POSTs the cancellation, which comes back with an undo."""
    reservation = get_object_or_404(Reservation.objects.select_related("customer"), pk=pk)
    if request.method == "GET":
        return render(
            request,
            "reservations/cancel.html",
            {"reservation": reservation, "next": _next_url(request, request.GET, reservation)},
        )
    form = CancelForm(request.POST)
    form.is_valid()  # a checkbox: never invalid
    allow_past = form.cleaned_data.get("allow_past", False)
    try:
        services.cancel_reservation(
            reservation=reservation, source=Source.STAFF, allow_past=allow_past
        )
    except services.BookingError as exc:
        _refused(request, exc)
        return _back(request, reservation.date)
    undo = render_to_string(
        "reservations/_undo.html",
        {
            "text": _("Cancelled %(reservation)s.") % {"reservation": _label(reservation)},
            "reservation": reservation,
            "allow_past": allow_past,
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
    reservation = get_object_or_404(Reservation.objects.select_related("customer"), pk=pk)
    form = CancelForm(request.POST)
    form.is_valid()
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


def _feed_etag(request: HttpRequest, token: str) -> str:
    _check_feed_token(token)  # before anything about the schedule is revealed, even an ETag
    return exports.feed_version()


@require_GET
@condition(etag_func=_feed_etag)
def ical_feed(request: HttpRequest, token: str) -> HttpResponse:
    """The schedule for staff phones' calendars; the secret URL is the only credential."""
    _check_feed_token(token)
    body = exports.schedule_ical(host=request.get_host().split(":")[0])
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="schedule.ics"'
    response["Cache-Control"] = "private, max-age=300"
    return response


def _requested_day(request: HttpRequest) -> date:
    """The day in `?date=` (a malformed one is a 400, like every staff page's bad input)."""
    return query.query_date(request, "date") or timezone.localdate()


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
