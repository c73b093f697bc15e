import pytest
from django.core.exceptions import ValidationError

from customers.phone import normalize_wa_id


@pytest.mark.parametrize(
    "raw",
    ["966501234567", "+966501234567", "+966 50 123 4567", "00966501234567", "0501234567",
     " 966-50-123-4567 "],
)  # fmt: skip
def test_forms_of_one_saudi_number_normalise_to_the_wa_id(raw):
    assert normalize_wa_id(raw) == "966501234567"


def test_other_countries_keep_their_code():
    assert normalize_wa_id("+44 7700 900123") == "447700900123"
    assert normalize_wa_id("16505551234") == "16505551234"
    assert normalize_wa_id("07700 900123", region="GB") == "447700900123"


@pytest.mark.parametrize("raw", ["", "abc", "12", "+999999999999999999"])
def test_impossible_numbers_are_refused(raw):
    with pytest.raises(ValidationError):
        normalize_wa_id(raw)
