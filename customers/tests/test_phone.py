import pytest
from django.core.exceptions import ValidationError

from customers.phone import is_user_id, is_wa_id, normalize_wa_id


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


@pytest.mark.parametrize(
    "raw", ["966500000105<script>", "a/b1234567", "9665O0000105", "966;501234567"]
)
def test_text_with_anything_but_digits_and_separators_is_not_glued_into_a_number(raw):
    with pytest.raises(ValidationError):
        normalize_wa_id(raw)


def test_arabic_indic_digits_are_a_number():
    assert normalize_wa_id("٩٦٦٥٠١٢٣٤٥٦٧") == "966501234567"


@pytest.mark.parametrize(
    ("value", "wa_id", "user_id"),
    [("16505551234", True, False), ("US.13491208655302741918", False, True),
     ("US.ENT.11815799212886844830", False, True), ("+16505551234", False, False),
     ("0501234567", False, False), ("a/b", False, False), ("us.1349", False, False),
     ("US." + "1" * 129, False, False), (16505551234, False, False)],
)  # fmt: skip
def test_metas_two_forms_of_customer_id(value, wa_id, user_id):
    assert (is_wa_id(value), is_user_id(value)) == (wa_id, user_id)
