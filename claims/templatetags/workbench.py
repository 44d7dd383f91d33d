"""Filters the caseworkers' admin templates use (presentation only)."""

import datetime

from django import template

from claims.selectors import UNMET_DEADLINE_STATUSES
from handlers.templatetags import portal

register = template.Library()


# The same labels and money format as the portal: one implementation, registered here too.
register.filter("deadline_label", portal.deadline_label)
register.filter("field_label", portal.field_label)
register.filter("pounds", portal.pounds)


def due_state(due_on: datetime.date, today: datetime.date, near_days: int) -> str:
    """missed, near (within `near_days`) or later: how an unmet deadline's day is shown."""
    days = (due_on - today).days
    if days < 0:
        return "missed"
    return "near" if days <= near_days else "later"


@register.simple_tag
def deadline_state(deadline, today: datetime.date, near_days: int) -> str:
    """missed, near or later for an unmet deadline with a date; the status otherwise."""
    if deadline.status not in UNMET_DEADLINE_STATUSES or deadline.due_on is None:
        return deadline.status
    return due_state(deadline.due_on, today, near_days)


@register.filter
def codes(value) -> str:
    """A list of codes (or a comma-joined string of them) as words: "ELGP, ELSGP"."""
    if not value:
        return "none"
    if isinstance(value, str):
        value = [v for v in value.split(",") if v]
    return ", ".join(str(v) for v in value) or "none"


@register.filter
def iso(value) -> str:
    if value in (None, ""):
        return ""
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value)


@register.filter
def get(mapping, key):
    return mapping.get(key) if hasattr(mapping, "get") else None
