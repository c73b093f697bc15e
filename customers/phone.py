"""Normalise phone numbers into WhatsApp ids (digits, country code, no `+`)."""

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _


def normalize_wa_id(raw: str, *, region: str | None = None) -> str:
    """Return the WhatsApp id for a number as Meta sends it or as a person types it.

    `966501234567`, `+966 50 123 4567`, `00966501234567` and (with region SA) `0501234567` all
    give `966501234567`. Raises ValidationError for anything that is not a possible number.
    """
    text = (raw or "").strip()
    digits = "".join(ch for ch in text if ch.isdigit())
    if not digits:
        raise ValidationError(_("Enter a phone number."), code="empty")
    if text.startswith("+"):
        candidate = "+" + digits
    elif digits.startswith("00"):
        candidate = "+" + digits[2:]
    elif digits.startswith("0"):
        candidate = digits  # national form: needs the region
    else:
        candidate = "+" + digits  # Meta's form: country code without "+"
    try:
        number = phonenumbers.parse(candidate, region or settings.PHONE_DEFAULT_REGION)
    except phonenumbers.NumberParseException as exc:
        raise ValidationError(_("%(value)s is not a phone number."), params={"value": raw}) from exc
    if not phonenumbers.is_possible_number(number):
        raise ValidationError(
            _("%(value)s is not a possible phone number."), code="impossible", params={"value": raw}
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164).lstrip("+")
