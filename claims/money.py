"""Amounts of money as the domain has them (domain.md §6): Decimal pounds and pence, never a
float, never a fraction of a penny. Pure Python, shared by the services and the import checks."""

from decimal import Decimal, InvalidOperation
from typing import Any

PENNY = Decimal("0.01")
# Reserve and Payment store 14 digits, two of them pence.
LIMIT = Decimal("1000000000000")


def pounds(value: Any, *, minimum: Decimal = Decimal("0")) -> Decimal:
    """`value` (text such as "£1,250.50", an int or a Decimal) as pounds and pence; ValueError
    with a message a person can act on otherwise."""
    if isinstance(value, float | bool):
        raise ValueError("Give money as text or a whole number, not a floating-point number.")
    try:
        amount = Decimal(str(value).strip().replace(",", "").lstrip("£"))
    except (InvalidOperation, ValueError):
        raise ValueError(f"{value!r} is not an amount in pounds.") from None
    if not amount.is_finite():
        raise ValueError(f"{value!r} is not an amount in pounds.")
    # Before any rounding: quantize itself fails on a number too large for it.
    if abs(amount) >= LIMIT:
        raise ValueError("The amount is larger than any claim could be.")
    if amount != amount.quantize(PENNY):
        raise ValueError("Give pounds and pence: at most two decimal places.")
    if amount < minimum:
        raise ValueError(f"The amount must be at least £{minimum}.")
    return amount.quantize(PENNY)
