"""Keeping each claim's deadlines in step with its dates (design.md §3.4), in bulk: a fixed
number of queries for any number of claims, each change kept in the deadline's history."""

import datetime
import functools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import Count, F, Max
from django.utils import timezone

from audit.services import Actor, actor_user_id, audit_record
from claims import deadlines as rules
from claims.models import (
    COMPLETION_DATE_FIELDS,
    TRIGGER_DATE_FIELDS,
    Claim,
    Deadline,
    DeadlineChange,
    ServiceLevel,
    Status,
)
from config.postgres_copy import (
    AnyOf,
    copy_into,
    copy_lines,
    copy_new,
    copy_text,
    ids_allocate,
    json_text,
    update_rows,
)
from handlers.permissions import is_caseworker

_CLAIM_COLUMNS = (
    "pk",
    "status",
    "notified_on",
    *dict.fromkeys(TRIGGER_DATE_FIELDS + COMPLETION_DATE_FIELDS),
    "incident_date",
    "incident_date_to",
    "date_of_knowledge",
    "claimant_date_of_birth",
    "claimant_date_of_death",
    "claimant_lacks_capacity",
)
# The claim dates a deadline may run from or be met by (an internal service level may run from
# the day the claim was notified).
_CLAIM_DATE_FIELDS = tuple(
    dict.fromkeys(("notified_on", *TRIGGER_DATE_FIELDS, *COMPLETION_DATE_FIELDS))
)
_TRACKED = ("due_on", "suspended", "status", "met_on", "non_working_day", "source", "category")
# A deadline row as the bulk paths write it (after its id, which they take from the sequence).
_DEADLINE_COLUMNS = ("claim_id", "kind", *_TRACKED, "remind_on", "waived_reason", "updated_at")


def reminder_offsets() -> tuple[int, ...]:
    """Days before a deadline on which its handler is reminded (settings, default 14, 7, 1)."""
    return tuple(sorted(settings.DEADLINE_REMINDER_DAYS, reverse=True))


def remind_on_for(due_on: datetime.date | None, today: datetime.date) -> datetime.date | None:
    """The next reminder day from today: the earliest of due-14, due-7, due-1 not yet past."""
    if due_on is None:
        return None
    upcoming = [
        due_on - datetime.timedelta(days=offset)
        for offset in reminder_offsets()
        if due_on - datetime.timedelta(days=offset) >= today
    ]
    return min(upcoming) if upcoming else None


def deadline_rules() -> tuple[rules.DeadlineRule, ...]:
    """The protocol and court rules, and the internal service levels in force (one query)."""
    return rules.DEFAULT_RULES + tuple(
        rules.DeadlineRule(
            level.kind,
            level.trigger,
            level.period,
            level.unit,
            "",  # met on the deadline itself (ServiceLevel)
            rules.INTERNAL,
            f"Internal service level: {level.name}",
        )
        for level in ServiceLevel.objects.filter(active=True)
    )


def service_levels_fingerprint() -> tuple:
    """What changes whenever a service level is added, changed or removed: how many there are
    and the latest change."""
    return tuple(ServiceLevel.objects.aggregate(n=Count("id"), latest=Max("updated_at")).values())


def deadline_completion_field(kind: str) -> str | None:
    """The claim date that meets a deadline of this kind under the rules in force ("" for an
    internal service level, met on the deadline itself), or None: a service level switched off
    or removed since the deadline was made."""
    try:
        return rules.met_by(kind, deadline_rules())
    except ValueError:
        return None


NO_LONGER_APPLIES = (
    "Its service level no longer applies, so no date meets it; it goes once the open claims' "
    "deadlines are brought in line"
)


def _claim_dates(values: dict) -> rules.ClaimDates:
    return rules.ClaimDates(
        dates={name: values[name] for name in _CLAIM_DATE_FIELDS},
        incident_date=values["incident_date"],
        incident_date_to=values["incident_date_to"],
        date_of_knowledge=values["date_of_knowledge"],
        date_of_birth=values["claimant_date_of_birth"],
        date_of_death=values["claimant_date_of_death"],
        lacks_capacity=values["claimant_lacks_capacity"],
    )


def _decided_by_a_person(deadline) -> tuple[str, ...]:
    """What of a deadline a person decided, which no recompute changes: a waiver's status; an
    internal service level's status and completion date, recorded on the deadline itself."""
    if deadline.status == Deadline.DeadlineStatus.WAIVED:
        return ("status",)
    if deadline.status == Deadline.DeadlineStatus.MET and deadline.category == rules.INTERNAL:
        return ("status", "met_on")
    return ()


def _state(deadline: Deadline) -> dict:
    return {
        name: (value.isoformat() if isinstance(value, datetime.date) else value)
        for name in _TRACKED
        for value in [getattr(deadline, name)]
    }


@transaction.atomic
def claims_deadlines_recompute(
    *,
    claim_ids: Sequence[int],
    actor: Actor,
    reason: str,
    actor_label: str = "",
    today: datetime.date | None = None,
    new_claims: Sequence[Mapping[str, Any]] | None = None,
    tell_missed: bool = True,
    reopened: bool = False,
) -> int:
    """Bring the deadlines of these claims in line with their dates; returns how many changed.
    A waived deadline stays waived (a person decided it); its date still follows the claim.
    Deadlines this change leaves missed on an open claim are told as the sweep tells them,
    unless not `tell_missed` (an import: a batch of old claims would escalate thousands).
    `reopened`: the claims were closed until this change, so every missed deadline is told, not
    only those this change marked (a closed claim's are marked by its edits, and told by none;
    those told before it closed are not told again).

    `new_claims`, instead of `claim_ids`: claims just inserted, given as their column values
    (with "pk"), so that a bulk import neither reads back what it wrote nor looks for deadlines
    that cannot exist yet."""
    today = today or timezone.localdate()
    in_force = deadline_rules()
    if new_claims is not None:
        return new_deadlines_store(
            new_claims_deadlines(
                new_claims=new_claims,
                actor=actor,
                reason=reason,
                actor_label=actor_label,
                today=today,
                in_force=in_force,
            )
        )
    user_id = actor_user_id(actor)
    claim_ids = list(claim_ids)
    existing: dict[tuple[int, str], Deadline] = {
        (d.claim_id, d.kind): d for d in Deadline.objects.filter(AnyOf(F("claim_id"), claim_ids))
    }
    created, updated, history, seen = [], [], [], set()
    missed: list[Deadline] = []  # missed by this change, on an open claim: told as the sweep tells
    claims = Claim.objects.filter(AnyOf(F("pk"), claim_ids)).values(*_CLAIM_COLUMNS)
    for values in claims:
        claim_open = values["status"] == Status.OPEN
        for computed in rules.compute_deadlines(_claim_dates(values), today=today, rules=in_force):
            key = (values["pk"], computed.kind)
            seen.add(key)
            deadline = existing.get(key)
            if deadline is None:
                # A plain row, not a model instance: imports create thousands at a time.
                deadline = SimpleNamespace(
                    pk=None, claim_id=values["pk"], kind=computed.kind, status="open"
                )
                before, reminded = None, None
                created.append(deadline)
            else:
                before, reminded = _state(deadline), deadline.remind_on
            decided = _decided_by_a_person(deadline)
            for name in _TRACKED:
                if name in decided:
                    continue
                setattr(deadline, name, getattr(computed, name))
            # Nobody is reminded of a closed claim's deadlines; reopening it starts again.
            deadline.remind_on = (
                remind_on_for(deadline.due_on, today)
                if deadline.status == "open" and claim_open
                else None
            )
            after = _state(deadline)
            if before is not None and (before != after or deadline.remind_on != reminded):
                updated.append(deadline)
            if before != after:
                history.append((deadline, before, after))
            was_missed = (before or {}).get("status") == "missed"
            if claim_open and deadline.status == "missed" and (reopened or not was_missed):
                missed.append(deadline)
    now = timezone.now()
    ids = copy_new(
        Deadline,
        _DEADLINE_COLUMNS,
        (
            (d.claim_id, d.kind, *(getattr(d, n) for n in _TRACKED), d.remind_on, "", now)
            for d in created
        ),
    )
    for deadline, pk in zip(created, ids, strict=True):
        deadline.pk = pk
    update_rows(
        Deadline,
        ("id", *_TRACKED, "remind_on", "updated_at"),
        ((d.pk, *(getattr(d, n) for n in _TRACKED), d.remind_on, now) for d in updated),
    )
    # A deadline whose trigger (or service level) went no longer applies, unless a person
    # decided it (waived it, or recorded an internal level done): that decision and its history
    # stay, its date as it last was, and a trigger given again finds it.
    gone = [d.pk for key, d in existing.items() if key not in seen and not _decided_by_a_person(d)]
    Deadline.objects.filter(pk__in=gone).delete()
    copy_into(
        DeadlineChange,
        ("deadline_id", "at", "actor_id", "actor_label", "reason", "before", "after"),
        (
            (
                deadline.pk,
                now,
                user_id,
                actor_label,
                reason[:300],
                json_text(before),
                json_text(after),
            )
            for deadline, before, after in history
        ),
    )
    if tell_missed:
        deadlines_missed_notify([(d.pk, d.claim_id, d.kind, d.due_on) for d in missed])
    return len(history) + len(gone)


def open_claims_deadlines_recompute(*, actor: Actor, reason: str, batch_size: int = 2000) -> int:
    """Bring every open claim's deadlines in line with the rules in force (after a service level
    changed), a batch of claims per transaction; returns how many deadlines changed. Deadlines
    this leaves missed are not told one by one: a new service level could otherwise escalate
    thousands of claims at once."""
    ids = list(Claim.objects.filter(status=Status.OPEN).order_by("pk").values_list("pk", flat=True))
    changed = 0
    for start in range(0, len(ids), batch_size):
        with transaction.atomic():
            # Locked in order, as every change to a claim locks it first: an edit meanwhile, or
            # a second run of this job, waits its turn instead of writing the same deadline.
            batch = list(
                Claim.objects.select_for_update()
                .filter(AnyOf(F("pk"), ids[start : start + batch_size]))
                .order_by("pk")
                .values_list("pk", flat=True)
            )
            changed += claims_deadlines_recompute(
                claim_ids=batch, actor=actor, reason=reason, tell_missed=False
            )
    return changed


@dataclass
class NewDeadlines:
    """The deadlines of claims just inserted, and the first entry of each one's history, as
    COPY lines lacking only the deadline's id (new_deadlines_store numbers them)."""

    rows: list[str]
    changes: list[str]


_NEW_DEADLINE_COLUMNS = ("id", *_DEADLINE_COLUMNS)
_CHANGE_COLUMNS = ("deadline_id", "at", "actor_id", "actor_label", "reason", "before", "after")


@functools.lru_cache(maxsize=256)
def _copied(text: str) -> tuple[str, str]:
    """A deadline's source (one of a handful of rule texts) as a COPY field, and as a JSON
    string already escaped for COPY: kept as written (a "§" is not turned into "\\u00a7", whose
    backslash would make COPY's escaping rewrite every history line that holds it)."""
    return copy_text(text), copy_text(json.dumps(text, ensure_ascii=False))


def _json_date(day: datetime.date | None) -> str:
    return "null" if day is None else f'"{day.isoformat()}"'


def _copy_date(day: datetime.date | None) -> str:
    return "\\N" if day is None else day.isoformat()


def new_claims_deadlines(
    *,
    new_claims: Sequence[Mapping[str, Any]],
    actor: Actor,
    reason: str,
    actor_label: str = "",
    today: datetime.date,
    in_force: Sequence[rules.DeadlineRule] = rules.DEFAULT_RULES,
) -> NewDeadlines:
    """The deadlines of new claims (their column values, with "pk"), made without the database:
    a bulk import prepares them on another thread while the previous slice is written. Each
    row's fields in _NEW_DEADLINE_COLUMNS order after the id; each history entry's after the
    deadline id, its `after` the state _state gives."""
    now = timezone.now()
    stamped = copy_text(now)
    # What every history entry of the call shares, formatted once.
    shared = "\t".join(map(copy_text, (now, actor_user_id(actor), actor_label, reason[:300])))
    rows, changes = [], []
    for values in new_claims:
        claim_id = values["pk"]
        for c in rules.compute_deadlines(_claim_dates(values), today=today, rules=in_force):
            remind_on = (
                remind_on_for(c.due_on, today)
                if c.status == "open" and values["status"] == Status.OPEN
                else None
            )
            # Kinds, statuses and categories are codes and dates ISO text: nothing in them for
            # COPY to escape, so only the source goes through copy_text (once, cached).
            source, source_json = _copied(c.source)
            rows.append(
                f"{claim_id}\t{c.kind}\t{_copy_date(c.due_on)}\t"
                f"{'t' if c.suspended else 'f'}\t{c.status}\t{_copy_date(c.met_on)}\t"
                f"{'t' if c.non_working_day else 'f'}\t{source}\t{c.category}\t"
                f"{_copy_date(remind_on)}\t\t{stamped}\n"
            )
            changes.append(
                f'{shared}\t\\N\t{{"due_on":{_json_date(c.due_on)},'
                f'"suspended":{"true" if c.suspended else "false"},'
                f'"status":"{c.status}","met_on":{_json_date(c.met_on)},'
                f'"non_working_day":{"true" if c.non_working_day else "false"},'
                f'"source":{source_json},"category":"{c.category}"}}\n'
            )
    return NewDeadlines(rows, changes)


def new_deadlines_store(new: NewDeadlines) -> int:
    """Number and write what new_claims_deadlines made: the ids from the sequence in one query,
    then a COPY of the deadlines and one of their history."""
    ids = ids_allocate(Deadline, len(new.rows))
    copy_lines(
        Deadline,
        _NEW_DEADLINE_COLUMNS,
        [f"{pk}\t{row}" for pk, row in zip(ids, new.rows, strict=True)],
    )
    copy_lines(
        DeadlineChange,
        _CHANGE_COLUMNS,
        [f"{pk}\t{change}" for pk, change in zip(ids, new.changes, strict=True)],
    )
    return len(new.rows)


class NotOpen(Exception):
    """A change that the state of the claim or of the deadline no longer allows: a closed claim
    (for anyone but NHS Resolution), a deadline already met or waived. The API's 409."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.code = code


def deadline_refusal_message(deadline: Deadline) -> str | None:
    """deadline_refusal as a sentence a person reads, or None."""
    refusal = deadline_refusal(deadline)
    return f"This deadline cannot be changed now: {refusal}." if refusal else None


def deadline_refusal(deadline: Deadline) -> str | None:
    """Why `deadline` cannot be met or waived now, or None. A missed one still can be: met late
    (its completion date recorded) or waived."""
    if deadline.claim.status != Status.OPEN:
        return "the claim is closed"
    if deadline.status in (Deadline.DeadlineStatus.MET, Deadline.DeadlineStatus.WAIVED):
        return f"it is already {deadline.get_status_display().lower()}"
    return None


def _deadline_locked_if_open(deadline: Deadline) -> Deadline:
    """The deadline and its claim, locked, as they are now; NotOpen if it cannot be changed."""
    claim = Claim.objects.select_for_update().get(pk=deadline.claim_id)
    locked = Deadline.objects.select_for_update().get(pk=deadline.pk)
    locked.claim = claim
    refusal = deadline_refusal_message(locked)
    if refusal:
        raise NotOpen(refusal, code="deadline_not_open")
    return locked


@transaction.atomic
def deadline_waive(*, deadline: Deadline, actor: Actor, reason: str) -> Deadline:
    """A caseworker decides a deadline no longer applies (domain.md §5), with a reason."""
    if not is_caseworker(actor):
        raise PermissionDenied("Only NHS Resolution caseworkers may waive a deadline.")
    if not reason.strip():
        # The code on the message itself: Django drops a dict's outer code.
        raise ValidationError(
            {"note": ValidationError("Say why the deadline is waived.", code="required")}
        )
    locked = _deadline_locked_if_open(deadline)
    before = _state(locked)
    locked.status, locked.waived_reason, locked.waived_by = "waived", reason.strip(), actor
    locked.remind_on = None
    locked.save()
    _decision_recorded(
        locked,
        actor=actor,
        action="deadline.waive",
        before=before,
        reason=reason,
        history_reason=f"Waived: {reason.strip()}",
    )
    return locked


def _decision_recorded(
    locked: Deadline, *, actor: Actor, action: str, before: dict, reason: str, history_reason: str
) -> None:
    """A person's decision on a deadline, in its history and in the audit trail."""
    after = _state(locked)
    DeadlineChange.objects.create(
        deadline=locked, actor=actor, reason=history_reason[:300], before=before, after=after
    )
    audit_record(
        actor=actor, action=action, subject=locked, before=before, after=after, reason=reason
    )


@transaction.atomic
def deadline_meet(
    *,
    deadline: Deadline,
    actor: Actor,
    note: str = "",
    on: datetime.date | None = None,
    expected_version: int | None = None,
) -> Deadline:
    """A deadline is met by recording the completion date that answers it on the claim
    (design.md §3.4), so the claim, its deadlines and their history all agree. With
    `expected_version`, a claim changed meanwhile raises StaleVersion and nothing is written."""
    from claims.services import claim_update

    locked = _deadline_locked_if_open(deadline)
    claim = locked.claim
    met_by = deadline_completion_field(deadline.kind)
    if met_by is None:
        raise NotOpen(NO_LONGER_APPLIES, code="deadline_not_open")
    if not met_by:
        return _internal_deadline_meet(
            locked, actor=actor, note=note, on=on, expected_version=expected_version
        )
    claim_update(
        claim=claim,
        actor=actor,
        expected_version=expected_version,
        reason=note or f"{deadline.kind} met",
        **{met_by: on or timezone.localdate()},
    )
    return Deadline.objects.get(pk=deadline.pk)


def _internal_deadline_meet(
    locked: Deadline,
    *,
    actor: Actor,
    note: str,
    on: datetime.date | None,
    expected_version: int | None,
) -> Deadline:
    """An internal service level is met on the deadline itself (no claim date is its own): the
    claim is locked and its version checked and moved on as any change to it, and the deadline's
    history and the audit trail say who recorded it and when it was done."""
    from claims.services import claim_lock_for_write

    claim = claim_lock_for_write(claim=locked.claim, actor=actor, expected_version=expected_version)
    before = _state(locked)
    locked.status, locked.met_on = Deadline.DeadlineStatus.MET, on or timezone.localdate()
    locked.remind_on = None
    locked.save(update_fields=["status", "met_on", "remind_on", "updated_at"])
    claim.version += 1
    claim.save(update_fields=["version", "updated_at"])
    reason = note or f"{locked.kind} met"
    _decision_recorded(
        locked,
        actor=actor,
        action="deadline.meet",
        before=before,
        reason=reason,
        history_reason=reason,
    )
    return locked


@dataclass
class SweepResult:
    reminded: int = 0
    missed: int = 0
    notifications: int = 0


def _claim_reminders(rows: list[tuple], today: datetime.date) -> list[tuple]:
    """Move each deadline's `remind_on` on to its next reminder day, but only where it still
    holds the value this sweep read: a conditional UPDATE, so of two sweeps at once exactly one
    claims each reminder. Returns the rows this sweep claimed."""
    tomorrow = today + datetime.timedelta(days=1)
    ids = [row[0] for row in rows]
    old = [row[4] for row in rows]
    new = [remind_on_for(row[3], tomorrow) for row in rows]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                """
                UPDATE claims_deadline AS deadline SET remind_on = next.new
                  FROM unnest(%s::bigint[], %s::date[], %s::date[]) AS next(id, old, new)
                 WHERE deadline.id = next.id AND deadline.remind_on = next.old
                       AND deadline.status = 'open'
             RETURNING deadline.id
                """,
                [ids, old, new],
            )
            claimed = {row[0] for row in cursor.fetchall()}
    else:
        claimed = {
            pk
            for pk, was, will in zip(ids, old, new, strict=True)
            if Deadline.objects.filter(pk=pk, remind_on=was, status="open").update(remind_on=will)
        }
    return [row for row in rows if row[0] in claimed]


def _claim_missed(today: datetime.date, limit: int) -> list[tuple]:
    """Mark open deadlines of open claims past their day as missed, claiming each with
    `status = 'open'` in the same statement, and return (id, claim_id, kind, due_on) of those
    this sweep marked. A closed claim's deadlines stay as they were when it closed; reopened,
    its recompute marks those past their day."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE claims_deadline SET status = 'missed', remind_on = NULL
             WHERE status = 'open' AND id IN (
                   SELECT deadline.id FROM claims_deadline AS deadline
                     JOIN claims_claim AS claim ON claim.id = deadline.claim_id
                    WHERE deadline.status = 'open' AND deadline.due_on < %s
                          AND claim.status = 'open'
                    ORDER BY deadline.due_on, deadline.id LIMIT %s)
         RETURNING id, claim_id, kind, due_on
            """,
            [today, limit],
        )
        return cursor.fetchall()


def deadlines_missed_notify(missed: Sequence[tuple]) -> int:
    """Tell the claim's handler that each deadline (id, claim_id, kind, due_on) was missed, and
    its lead organisation's team leads (escalation), once each; returns how many were told."""
    from claims.notification_services import (
        Message,
        claim_people,
        deadline_text,
        notifications_create,
    )

    if not missed:
        return 0
    people = claim_people({row[1] for row in missed})
    references = dict(
        Claim.objects.filter(pk__in={row[1] for row in missed}).values_list("pk", "reference")
    )
    messages = []
    for pk, claim_id, kind, due_on in missed:
        handlers, leads = people[claim_id]
        text = f"MISSED: {deadline_text(kind, references[claim_id], due_on)}"
        messages += [
            Message(user, claim_id, "deadline_missed", text, f"deadline_missed:{pk}:{user}")
            for user in handlers
        ]
        messages += [
            Message(user, claim_id, "deadline_escalated", text, f"deadline_escalated:{pk}:{user}")
            for user in leads
        ]
    return len(notifications_create(messages))


def deadlines_sweep(*, today: datetime.date | None = None, batch_size: int = 5000) -> SweepResult:
    """The daily sweep (Celery beat, or `manage.py sweep_deadlines`): reminders due and deadlines
    just missed, found by indexed columns, each claimed and notified in one transaction per
    batch, so a worker that dies mid-way loses nothing and a second sweep repeats nothing."""
    from claims.notification_services import (
        Message,
        claim_people,
        deadline_text,
        notifications_create,
    )

    today = today or timezone.localdate()
    result = SweepResult()
    while True:
        with transaction.atomic():
            rows = list(
                Deadline.objects.filter(status="open", remind_on__lte=today)
                .order_by("remind_on", "pk")
                .values_list("pk", "claim_id", "kind", "due_on", "remind_on", "claim__reference")[
                    :batch_size
                ]
            )
            if not rows:
                break
            claimed = _claim_reminders(rows, today)
            people = claim_people({row[1] for row in claimed})
            messages = [
                Message(
                    user,
                    claim_id,
                    "deadline_reminder",
                    deadline_text(kind, reference, due_on),
                    f"deadline_reminder:{pk}:{remind_on.isoformat()}:{user}",
                )
                for pk, claim_id, kind, due_on, remind_on, reference in claimed
                for user in (people[claim_id][0] or people[claim_id][1])
            ]
            result.notifications += len(notifications_create(messages))
            result.reminded += len(claimed)
            if len(rows) < batch_size:
                break
    while True:
        with transaction.atomic():
            missed = _claim_missed(today, batch_size)
            if not missed:
                break
            result.notifications += deadlines_missed_notify(missed)
            result.missed += len(missed)
    return result
