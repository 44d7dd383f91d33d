"""A claim's audit trail told in words (presentation only: what changed, from what, to what)."""

import datetime
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model

from audit.models import AuditEvent
from claims.models import MoneyHead, Outcome, Payment, Stage, Status
from claims.routing_services import Placement
from handlers.portal.labels import AUDIT_ACTIONS, field_label

_CHOICES = {
    "stage": dict(Stage.choices),
    "status": dict(Status.choices),
    "outcome": dict(Outcome.choices),
    "head": dict(MoneyHead.choices),
    "payee_type": dict(Payment.PayeeType.choices),
}
# Bookkeeping that every change moves on; the trail shows what a person changed.
_QUIET = {"version", "updated_at", "note", "where"}


@dataclass
class HistoryLine:
    at: datetime.datetime
    who: str
    what: str
    reason: str
    changes: list[tuple[str, str, str]] = field(default_factory=list)


def _shown(name: str, value, users: dict[int, str]) -> str:
    if value in (None, ""):
        return "not set"
    if name in _CHOICES:
        return _CHOICES[name].get(value, str(value))
    if name == "assigned_to":
        return users.get(value, "someone no longer here")
    if name.endswith("_on") or name.endswith("_to"):
        try:
            day = datetime.date.fromisoformat(str(value))
        except ValueError:
            return str(value)
        return f"{day.day} {day:%B %Y}"
    if name == "amount":
        return f"£{value}"
    return str(value)


def history_lines(events: Iterable[AuditEvent]) -> list[HistoryLine]:
    events = list(events)
    user_ids = {
        value
        for event in events
        if event.action == "claim.assign"
        for value in (
            (event.before or {}).get("assigned_to"),
            (event.after or {}).get("assigned_to"),
        )
        if value
    }
    users = {
        user.pk: user.get_full_name() or user.get_username()
        for user in get_user_model().objects.filter(pk__in=user_ids)
    }
    lines = []
    for event in events:
        before, after = event.before or {}, event.after or {}
        user = event.acting_account
        who = (
            (user.get_full_name() or user.get_username())
            if user
            else (event.actor_label or "the system")
        )
        line = HistoryLine(
            at=event.at,
            who=who,
            what=AUDIT_ACTIONS.get(event.action, event.action),
            reason=event.reason,
        )
        if event.action == "claim.note":
            line.changes.append(("Note", "", str(after.get("text", ""))))
        elif event.action in ("claim.create", "claim.payment"):
            keys = (
                ["head", "amount", "paid_on", "payee_type"]
                if event.action == "claim.payment"
                else []
            )
            line.changes += [(field_label(k), "", _shown(k, after.get(k), users)) for k in keys]
        elif event.action == "claim.route":
            for key in Placement._fields:
                old, new = before.get(key), after.get(key)
                if old != new:
                    line.changes.append(
                        (field_label(key), _list(old) if before else "", _list(new))
                    )
        else:
            for key in after:
                if key in _QUIET or (key == "head" and event.action == "claim.reserve"):
                    continue
                line.changes.append(
                    (
                        field_label(key),
                        _shown(key, before.get(key), users),
                        _shown(key, after.get(key), users),
                    )
                )
            if event.action == "claim.reserve":
                line.what = f"{line.what}: {_shown('head', after.get('head'), users)}"
        lines.append(line)
    return lines


def _list(value) -> str:
    if value in (None, "", []):
        return "none"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value) or "none"
    return str(value)
