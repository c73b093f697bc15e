from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from reservations.models import Reservation

TYPE_CHOICES = Reservation.Type.choices
MAX_EXPORT_DAYS = 366


class BookForm(forms.Form):
    # A number, or the business-scoped user id of a customer WhatsApp gave no number for.
    wa_id = forms.CharField(label=_("WhatsApp number"), max_length=140)
    customer_name = forms.CharField(label=_("Name"), max_length=200, required=False)
    date = forms.DateField(label=_("Date"))
    time_slot = forms.TimeField(label=_("Time"))
    type = forms.TypedChoiceField(label=_("Type"), choices=TYPE_CHOICES, coerce=int)


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


class CancelForm(forms.Form):
    allow_past = forms.BooleanField(label=_("Cancel even though it is past"), required=False)


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
