from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from reservations.models import Reservation, Resource, Service

TYPE_CHOICES = Reservation.Type.choices
MAX_EXPORT_DAYS = 366


class NotifyField(forms.BooleanField):
    """ "Tell the customer" (checked on the pages; an unticked box is absent from the POST)."""

    def __init__(self) -> None:
        super().__init__(label=_("Tell the customer on WhatsApp"), required=False)


class BookForm(forms.Form):
    # A number, or the business-scoped user id of a customer WhatsApp gave no number for.
    wa_id = forms.CharField(label=_("WhatsApp number"), max_length=140)
    customer_name = forms.CharField(label=_("Name"), max_length=200, required=False)
    date = forms.DateField(label=_("Date"))
    time_slot = forms.TimeField(label=_("Time"))
    service = forms.ModelChoiceField(
        label=_("Service"), queryset=Service.objects.active(), required=False
    )
    resource = forms.ModelChoiceField(
        label=_("With"), queryset=Resource.objects.active(), required=False
    )
    # Without a service: the default service of this visit type.
    type = forms.TypedChoiceField(
        label=_("Type"), choices=TYPE_CHOICES, coerce=int, empty_value=None, required=False
    )
    notify = NotifyField()

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("service") is None and data.get("type") is None and not self.errors:
            raise forms.ValidationError(_("Choose a service."))
        if data.get("service") is not None:
            data["type"] = None  # the type comes from the service
        return data


class MoveForm(forms.Form):
    date = forms.DateField(label=_("Date"))
    time_slot = forms.TimeField(label=_("Time"))
    type = forms.TypedChoiceField(
        label=_("Type"),
        choices=[("", _("keep")), *TYPE_CHOICES],
        coerce=int,
        empty_value=None,
        required=False,
    )
    resource = forms.ModelChoiceField(
        label=_("With"), queryset=Resource.objects.active(), required=False
    )
    # The picker's "anyone who can": the start goes to whom the engine names (not kept as is).
    anyone = forms.BooleanField(required=False)
    notify = NotifyField()


class CancelForm(forms.Form):
    allow_past = forms.BooleanField(label=_("Cancel even though it is past"), required=False)
    notify = NotifyField()


class AttendanceForm(forms.Form):
    attendance = forms.ChoiceField(
        label=_("Attendance"),
        choices=[("", _("unknown")), *Reservation.Attendance.choices],
        required=False,  # "" clears it (the Undo button)
    )


class ExportForm(forms.Form):
    """A date range for the CSV export (both days included, at most a year)."""

    start = forms.DateField(label=_("From"))
    end = forms.DateField(label=_("To"))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        if start and end:
            if end < start:
                raise forms.ValidationError(_("The end date is before the start date."))
            if (end - start).days >= MAX_EXPORT_DAYS:
                raise forms.ValidationError(
                    _("Export at most %(days)s days at a time.") % {"days": MAX_EXPORT_DAYS}
                )
        return data
