"""The one way to write the audit trail. Call inside the transaction that makes the change."""

import datetime
import decimal
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import models
from django.utils import timezone

from audit.models import AuditEvent
from config.postgres_copy import copy_lines, copy_text, json_text

Actor = AbstractBaseUser | AnonymousUser | None


def actor_user(actor: Actor) -> AbstractBaseUser | None:
    """The person a "who" column stores for an actor: None for the system (no actor) or anyone
    not signed in, whose label says who it was."""
    return actor if getattr(actor, "is_authenticated", False) else None


def actor_user_id(actor: Actor) -> int | None:
    """The id a "who" column stores for an actor (actor_user's), for rows written as COPY."""
    user = actor_user(actor)
    return user.pk if user else None


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime.date | datetime.datetime):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, models.Model):
        return value.pk
    return value


def audited_fields(model: type[models.Model]) -> list[str]:
    """The columns the trail records of a model: all concrete fields (foreign keys as ids) but
    the id and bookkeeping that changes on every save (`auto_now` stamps: they are in `at`)."""
    return [
        f.attname
        for f in model._meta.concrete_fields
        if f.name != "id" and not getattr(f, "auto_now", False)
    ]


def audit_snapshot(instance: models.Model, fields: Iterable[str] | None = None) -> dict[str, Any]:
    """The audited state of an object, JSON-safe."""
    names = list(fields) if fields is not None else audited_fields(type(instance))
    return {name: _jsonable(getattr(instance, name)) for name in names}


def audit_snapshot_of_row(names: Iterable[str], row: Mapping[str, Any]) -> dict[str, Any]:
    """The same snapshot from a row's values by column, for bulk paths that never build model
    instances."""
    return {name: _jsonable(row[name]) for name in names}


def audit_diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> tuple[dict, dict]:
    """Only the fields that changed, so the trail shows what a person actually altered."""
    changed = [key for key in after if before.get(key) != after.get(key)]
    return {k: before.get(k) for k in changed}, {k: after.get(k) for k in changed}


def _event(
    *,
    actor: Actor,
    actor_label: str,
    action: str,
    subject: models.Model,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
    reason: str,
) -> AuditEvent:
    user = actor_user(actor)
    return AuditEvent(
        actor=user,
        actor_label=actor_label,
        action=action,
        subject_type=subject._meta.label_lower,
        subject_id=str(subject.pk),
        subject_repr=str(subject)[:200],
        before=dict(before) if before is not None else None,
        after=dict(after) if after is not None else None,
        reason=reason,
    )


def audit_record(
    *,
    actor: Actor,
    action: str,
    subject: models.Model,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    reason: str = "",
    actor_label: str = "",
) -> AuditEvent:
    event = _event(
        actor=actor,
        actor_label=actor_label,
        action=action,
        subject=subject,
        before=before,
        after=after,
        reason=reason,
    )
    event.save()
    return event


@dataclass(frozen=True, slots=True)
class AuditSubject:
    """An audited object named without loading it (its model label, key and how it reads), for
    bulk writers that hold plain values: building 50,000 model instances to name the claims a
    re-route moved costs more than the re-route."""

    label: str
    pk: Any
    text: str


# One audited change: the object (or its name), its state before and after (None: none).
AuditChange = tuple[models.Model | AuditSubject, Mapping[str, Any] | None, Mapping[str, Any] | None]


def audit_record_many(
    *,
    actor: Actor,
    action: str,
    changes: Iterable[AuditChange],
    reason: str = "",
    actor_label: str = "",
) -> int:
    """Bulk form for imports and re-routes: one COPY for all the changes, not a row at a time.
    A before or after mapping passed for many rows (the same object) is serialised once."""
    return audit_lines_write(
        audit_lines(
            actor=actor, action=action, changes=changes, reason=reason, actor_label=actor_label
        )
    )


def audit_lines_write(lines: list[str]) -> int:
    """Store audit rows made by audit_lines: one COPY."""
    return copy_lines(AuditEvent, AUDIT_COLUMNS, lines)


def audit_lines(
    *,
    actor: Actor,
    action: str,
    changes: Iterable[AuditChange],
    reason: str = "",
    actor_label: str = "",
) -> list[str]:
    """The audit rows of audit_record_many as COPY lines, made without the database, so that a
    bulk import can prepare them on another thread while the database writes something else."""
    user_id = actor_user_id(actor)
    # The fields every row shares are formatted once (copy_lines).
    shared = "\t".join(map(copy_text, (timezone.now(), user_id, actor_label, action)))
    reason_field = copy_text(reason)
    # id() -> (the mapping, its JSON as a COPY field). The mapping is held so its id cannot be
    # reused by another object while this call runs.
    texts: dict[int, tuple[Mapping[str, Any], str]] = {}

    def as_field(value: Mapping[str, Any] | None) -> str:
        if value is None:
            return "\\N"
        known = texts.get(id(value))
        if known is None or known[0] is not value:
            known = texts[id(value)] = (value, copy_text(json_text(dict(value))))
        return known[1]

    def line(subject, before, after) -> str:
        if isinstance(subject, AuditSubject):
            label, pk, text = subject.label, subject.pk, subject.text
        else:
            label, pk, text = subject._meta.label_lower, subject.pk, str(subject)
        return (
            f"{shared}\t{copy_text(label)}\t{copy_text(pk)}\t{copy_text(text[:200])}"
            f"\t{as_field(before)}\t{as_field(after)}\t{reason_field}\n"
        )

    return [line(*change) for change in changes]


AUDIT_COLUMNS = (
    "at",
    "actor_id",
    "actor_label",
    "action",
    "subject_type",
    "subject_id",
    "subject_repr",
    "before",
    "after",
    "reason",
)
