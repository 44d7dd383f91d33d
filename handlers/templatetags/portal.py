"""Filters the portal's templates use to draw NHS.UK components from Django forms and values."""

import datetime
from decimal import Decimal

from django import forms, template
from django.utils import timezone

from handlers.portal import labels
from handlers.portal.forms import DateField

register = template.Library()


@register.filter
def field_kind(bound: forms.BoundField) -> str:
    field, widget = bound.field, bound.field.widget
    if isinstance(field, DateField):
        return "date"
    if isinstance(widget, forms.HiddenInput):
        return "hidden"
    if isinstance(widget, forms.CheckboxInput):
        return "checkbox"
    if isinstance(widget, forms.Select):
        return "select"
    if isinstance(widget, forms.Textarea):
        return "textarea"
    return "input"


@register.filter
def input_type(bound: forms.BoundField) -> str:
    return getattr(bound.field.widget, "input_type", "text") or "text"


@register.filter
def error_anchor(bound: forms.BoundField) -> str:
    """Where the error summary's link goes: the field, or a date's day box."""
    suffix = "_day" if isinstance(bound.field, DateField) else ""
    return f"#{bound.auto_id}{suffix}"


@register.filter
def date_parts(bound: forms.BoundField) -> list[dict]:
    value = bound.value()
    if isinstance(value, datetime.date) or value is None:
        value = bound.field.widget.decompress(value)
    value = [*list(value), "", "", ""]
    errors = bool(bound.errors)
    return [
        {"part": "day", "label": "Day", "value": value[0] or "", "width": 2, "error": errors},
        {"part": "month", "label": "Month", "value": value[1] or "", "width": 2, "error": errors},
        {"part": "year", "label": "Year", "value": value[2] or "", "width": 4, "error": errors},
    ]


@register.filter
def selected(choice_value, bound: forms.BoundField) -> bool:
    value = bound.value()
    return str(choice_value) == ("" if value is None else str(value))


@register.filter
def pounds(value) -> str:
    if value is None:
        return ""
    return f"£{Decimal(value):,.2f}"


@register.filter
def day(value) -> str:
    """A date as the NHS style guide writes it: 9 March 2024."""
    if not value:
        return ""
    if isinstance(value, datetime.datetime):
        # The day in London, as the time beside it shows: 00:30 BST on 1 July is 23:30 UTC on
        # 30 June.
        value = (timezone.localtime(value) if timezone.is_aware(value) else value).date()
    return f"{value.day} {value:%B %Y}"


@register.filter
def nhs_number(value: str) -> str:
    digits = value or ""
    return f"{digits[:3]} {digits[3:6]} {digits[6:]}" if len(digits) == 10 else digits


@register.filter
def deadline_label(kind: str) -> str:
    return labels.deadline_label(kind)


@register.filter
def field_label(name: str) -> str:
    return labels.field_label(name)


@register.filter
def deadline_tag(deadline) -> str:
    """The tag colour for a deadline's state, today."""
    if deadline.status == "met":
        return "nhsuk-tag--green"
    if deadline.status == "waived":
        return "nhsuk-tag--grey"
    if deadline.status == "missed":
        return "nhsuk-tag--red"
    if deadline.due_on and deadline.due_on < timezone.localdate():
        return "nhsuk-tag--red"
    return "nhsuk-tag--blue"


@register.filter
def deadline_state(deadline) -> str:
    if deadline.status == "open" and deadline.suspended:
        return "Suspended"
    if deadline.status == "open" and deadline.due_on and deadline.due_on < timezone.localdate():
        return "Overdue"
    return deadline.get_status_display()


@register.filter
def split_codes(value: str) -> list[str]:
    return [code for code in (value or "").split(",") if code]
