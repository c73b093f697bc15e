from django import forms
from django.utils.translation import gettext_lazy as _

from reservations.models import Reservation

TYPE_CHOICES = Reservation.Type.choices


class BookForm(forms.Form):
    wa_id = forms.CharField(label=_("WhatsApp number"), max_length=32)
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
