"""The staff schedule: a day and a week view, and booking, moving and cancelling from them.

Every change goes through `reservations.services` with source=staff; refusals come back as
messages in the staff member's language.
"""

from datetime import date, timedelta

from django.contrib import messages
from django.forms import Form
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from config.permissions import staff_required
from reservations import services
from reservations.forms import BookForm, CancelForm, MoveForm
from reservations.models import BookingRules, Reservation, Source
from reservations.slots import week_start


@staff_required("reservations.view_schedule")
@require_GET
def schedule_day(request: HttpRequest) -> HttpResponse:
    day = _requested_day(request)
    [schedule] = services.schedule_days(start=day, end=day)
    return render(
        request,
        "reservations/day.html",
        {
            "schedule": schedule,
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
@require_POST
def cancel(request: HttpRequest, pk: int) -> HttpResponse:
    reservation = get_object_or_404(Reservation, pk=pk)
    form = CancelForm(request.POST)
    form.is_valid()  # a checkbox: never invalid
    try:
        services.cancel_reservation(
            reservation=reservation,
            source=Source.STAFF,
            allow_past=form.cleaned_data.get("allow_past", False),
        )
    except services.BookingError as exc:
        _refused(request, exc)
        return _back(request, reservation.date)
    messages.success(
        request, _("Cancelled %(reservation)s.") % {"reservation": _label(reservation)}
    )
    return _back(request, reservation.date)


def _requested_day(request: HttpRequest) -> date:
    raw = request.GET.get("date", "")
    if raw:
        try:
            return date.fromisoformat(raw)
        except ValueError:
            messages.warning(request, _("%(value)s is not a date; showing today.") % {"value": raw})
    return timezone.localdate()


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
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return HttpResponseRedirect(target)
    url = reverse("reservations:day")
    return HttpResponseRedirect(f"{url}?date={day.isoformat()}" if day else url)
