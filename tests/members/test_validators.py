"""domain.md §6 identifiers: NHS number (modulus 11), GMC number, ODS practice code."""

import itertools

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from members.validators import (
    gmc_number_is_valid,
    nhs_number_check_digit,
    nhs_number_display,
    nhs_number_is_valid,
    ods_practice_code_is_valid,
    validate_gmc_number,
    validate_nhs_number,
    validate_ods_practice_code,
)


def reference_check_digit(first_nine: str) -> int | None:
    """An independent statement of the NHS Data Dictionary rule, to test against."""
    weights = [10, 9, 8, 7, 6, 5, 4, 3, 2]
    remainder = sum(int(d) * w for d, w in zip(first_nine, weights, strict=True)) % 11
    check = 11 - remainder
    return {11: 0, 10: None}.get(check, check)


def test_the_documented_valid_nhs_number_passes():
    assert nhs_number_is_valid("9434765919")


def test_the_documented_invalid_nhs_number_fails():
    assert not nhs_number_is_valid("1234567890")


def test_nhs_number_with_spaces_is_accepted_and_displayed_in_groups_of_3_3_4():
    assert nhs_number_is_valid("943 476 5919")
    assert nhs_number_display("9434765919") == "943 476 5919"


@pytest.mark.parametrize("value", ["", "943476591", "94347659190", "94347659A9", "943-476-5919"])
def test_nhs_number_that_is_not_ten_digits_is_invalid(value):
    assert not nhs_number_is_valid(value)


def test_every_last_digit_but_one_fails_for_a_valid_prefix():
    """Exhaustive over the check digit: exactly one of the ten endings is valid."""
    valid = [d for d in range(10) if nhs_number_is_valid(f"943476591{d}")]
    assert valid == [9]


def test_check_digit_eleven_becomes_zero():
    # 10*0+...: find a prefix whose remainder is 0, so 11 - 0 = 11 -> 0.
    prefix = next(p for p in (f"{n:09d}" for n in range(1000)) if reference_check_digit(p) == 0)
    assert nhs_number_check_digit(prefix) == 0
    assert nhs_number_is_valid(prefix + "0")


def test_check_digit_ten_means_no_valid_number():
    prefix = next(p for p in (f"{n:09d}" for n in range(1000)) if reference_check_digit(p) is None)
    assert nhs_number_check_digit(prefix) is None
    assert not any(nhs_number_is_valid(prefix + str(d)) for d in range(10))


def test_check_digit_matches_the_rule_for_every_single_digit_prefix_variation():
    """Exhaustive over each position: changing one digit of a valid number changes its check
    digit unless the weight makes it a multiple of 11 (it never is, weights are 2..10)."""
    base = "943476591"
    for position, digit in itertools.product(range(9), range(10)):
        prefix = base[:position] + str(digit) + base[position + 1 :]
        assert nhs_number_check_digit(prefix) == reference_check_digit(prefix)


@given(st.text(alphabet="0123456789", min_size=9, max_size=9))
def test_check_digit_agrees_with_the_data_dictionary_rule(first_nine):
    assert nhs_number_check_digit(first_nine) == reference_check_digit(first_nine)


@given(st.text(alphabet="0123456789", min_size=10, max_size=10))
def test_a_number_is_valid_exactly_when_its_tenth_digit_is_the_check_digit(number):
    expected = reference_check_digit(number[:9])
    assert nhs_number_is_valid(number) == (expected is not None and expected == int(number[9]))


@given(st.text(alphabet="0123456789", min_size=9, max_size=9), st.integers(1, 9))
def test_a_single_mistyped_digit_is_always_caught(first_nine, delta):
    check = nhs_number_check_digit(first_nine)
    if check is None:
        return
    number = first_nine + str(check)
    position = delta % 10
    typo = number[:position] + str((int(number[position]) + delta) % 10) + number[position + 1 :]
    assert not nhs_number_is_valid(typo)


def test_validate_nhs_number_names_the_problem():
    with pytest.raises(ValidationError) as short:
        validate_nhs_number("12345")
    assert short.value.code == "invalid_nhs_number"
    assert "10 digits" in short.value.message
    with pytest.raises(ValidationError) as wrong:
        validate_nhs_number("1234567890")
    assert "modulus 11" in wrong.value.message
    validate_nhs_number("943 476 5919")


@pytest.mark.parametrize("value", ["1234567", "0123456", "0000001", "9999999"])
def test_gmc_number_of_seven_digits_with_or_without_leading_zero_is_valid(value):
    assert gmc_number_is_valid(value)
    validate_gmc_number(value)


@pytest.mark.parametrize(
    "value", ["", "123456", "12345678", "123456A", " 1234567", "G1234567", "1234567\n"]
)
def test_gmc_number_not_seven_digits_is_invalid(value):
    assert not gmc_number_is_valid(value)
    with pytest.raises(ValidationError):
        validate_gmc_number(value)


@given(st.integers(min_value=0, max_value=9_999_999))
def test_every_seven_digit_gmc_number_is_valid(n):
    assert gmc_number_is_valid(f"{n:07d}")


@given(st.text(max_size=12))
def test_gmc_validity_is_exactly_seven_ascii_digits(text):
    assert gmc_number_is_valid(text) == (len(text) == 7 and all(c in "0123456789" for c in text))


@pytest.mark.parametrize("value", ["Y01234", "A81001", "M85002", "Y99999"])
def test_ods_practice_code_letter_and_five_digits_is_valid(value):
    assert ods_practice_code_is_valid(value)
    validate_ods_practice_code(value)


@pytest.mark.parametrize(
    "value", ["y01234", "Y1234", "Y012345", "YY1234", "012345", "Y0123A", "", "Y01234\n"]
)
def test_ods_practice_code_of_another_shape_is_invalid(value):
    assert not ods_practice_code_is_valid(value)
    with pytest.raises(ValidationError):
        validate_ods_practice_code(value)


@given(st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZ"), st.integers(0, 99_999))
def test_every_capital_letter_and_five_digits_is_an_ods_code(letter, n):
    assert ods_practice_code_is_valid(f"{letter}{n:05d}")


@given(st.text(max_size=8))
def test_ods_validity_is_exactly_capital_then_five_digits(text):
    expected = len(text) == 6 and "A" <= text[0] <= "Z" and all(c in "0123456789" for c in text[1:])
    assert ods_practice_code_is_valid(text) == expected
