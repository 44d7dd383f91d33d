"""Identifier checks of domain.md §6. Pure functions plus thin Django validators around them."""

import re

from django.core.exceptions import ValidationError

ODS_PRACTICE_CODE = re.compile(r"^[A-Z][0-9]{5}$")
GMC_NUMBER = re.compile(r"^[0-9]{7}$")
NHS_NUMBER_DIGITS = re.compile(r"^[0-9]{10}$")


def nhs_number_normalise(value: str) -> str:
    """Strip the spaces people type (`943 476 5919`) so the stored form is 10 bare digits."""
    return "".join(value.split())


def nhs_number_check_digit(first_nine: str) -> int | None:
    """Modulus 11 check digit (NHS Data Dictionary): weights 10..2, 11 - (sum mod 11);
    11 becomes 0 and 10 means no valid number has these first nine digits."""
    weighted = zip(first_nine[:9], range(10, 1, -1), strict=True)
    total = sum(int(digit) * weight for digit, weight in weighted)
    check = 11 - total % 11
    if check == 11:
        return 0
    if check == 10:
        return None
    return check


def nhs_number_is_valid(value: str) -> bool:
    digits = nhs_number_normalise(value)
    if not NHS_NUMBER_DIGITS.fullmatch(digits):
        return False
    return nhs_number_check_digit(digits[:9]) == int(digits[9])


def nhs_number_display(value: str) -> str:
    digits = nhs_number_normalise(value)
    return f"{digits[:3]} {digits[3:6]} {digits[6:]}" if len(digits) == 10 else value


def gmc_number_is_valid(value: str) -> bool:
    """GMC reference numbers are 7 digits; a leading zero is allowed (domain.md §1)."""
    return bool(GMC_NUMBER.fullmatch(value))


def ods_practice_code_is_valid(value: str) -> bool:
    """One upper-case letter then five digits (ODS; new English practices start with Y)."""
    return bool(ODS_PRACTICE_CODE.fullmatch(value))


def validate_nhs_number(value: str) -> None:
    digits = nhs_number_normalise(value)
    if not NHS_NUMBER_DIGITS.fullmatch(digits):
        raise ValidationError(
            "An NHS number is 10 digits, e.g. 943 476 5919.", code="invalid_nhs_number"
        )
    if not nhs_number_is_valid(digits):
        raise ValidationError(
            "This NHS number fails the modulus 11 check: check it for a mistyped digit.",
            code="invalid_nhs_number",
        )


def validate_gmc_number(value: str) -> None:
    if not gmc_number_is_valid(value):
        raise ValidationError(
            "A GMC reference number is 7 digits (a leading zero is allowed).",
            code="invalid_gmc_number",
        )


def validate_ods_practice_code(value: str) -> None:
    if not ods_practice_code_is_valid(value):
        raise ValidationError(
            "An ODS practice code is one capital letter and five digits, e.g. Y01234.",
            code="invalid_ods_code",
        )
