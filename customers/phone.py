"""Normalise phone numbers into WhatsApp ids (digits, country code, no `+`), and tell Meta's two
forms of customer id apart: a wa_id (digits) and a business-scoped user id (BSUID)."""

import re

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

# Meta's wa_id and `from`: digits only, country code first, no `+` and no leading zero (E.164
# allows 15 digits; a little room is left for the numbers Meta rewrites).
WA_ID_RE = re.compile(r"[1-9][0-9]{3,19}")
# A business-scoped user id: an ISO 3166 alpha-2 country code, a period, then up to 128
# alphanumerics (`US.13491208655302741918`); a parent BSUID has `ENT.` in between.
USER_ID_RE = re.compile(r"[A-Z]{2}\.(?:ENT\.)?[A-Za-z0-9]{1,128}")
# What a person may type between the digits of a number: anything else is not a number (never
# glue the digits of `966500000105<script>` together).
_TYPED_NUMBER_RE = re.compile(r"[\d+\-().\s]*")


def is_wa_id(value: object) -> bool:
    """Whether `value` is a WhatsApp id in the form Meta sends it (digits only)."""
    return isinstance(value, str) and WA_ID_RE.fullmatch(value) is not None


def is_user_id(value: object) -> bool:
    """Whether `value` is a business-scoped user id in the form Meta sends it."""
    return isinstance(value, str) and USER_ID_RE.fullmatch(value) is not None


def normalize_wa_id(raw: str, *, region: str | None = None) -> str:
    """Return the WhatsApp id for a number as Meta sends it or as a person types it.

    `966501234567`, `+966 50 123 4567`, `00966501234567` and (with region SA) `0501234567` all
    give `966501234567`. Raises ValidationError for anything that is not a possible number,
    including text with letters or symbols between the digits.
    """
    text = (raw or "").strip()
    digits = "".join(ch for ch in text if ch.isdecimal())
    if not digits:
        raise ValidationError(_("Enter a phone number."), code="empty")
    if not _TYPED_NUMBER_RE.fullmatch(text):
        raise ValidationError(
            _("%(value)s is not a phone number."), code="invalid", params={"value": raw}
        )
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
