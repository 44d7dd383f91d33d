"""Writes to claims. Each public function is one transaction that writes its own audit rows."""

from collections.abc import Collection, Mapping, Sequence
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.db.models import BigIntegerField, Case, F, Q, Value, When
from django.utils import timezone

from audit.services import (
    Actor,
    AuditSubject,
    actor_user,
    audit_diff,
    audit_record,
    audit_record_many,
    audit_snapshot,
)
from claims import deadlines as deadline_rules
from claims import import_records as spec
from claims.deadline_services import NotOpen, claims_deadlines_recompute
from claims.models import (
    DEADLINE_INPUT_FIELDS,
    INCIDENT_FIELDS,
    REROUTE_FIELDS,
    Claim,
    ClaimClinician,
    ClaimNote,
    ClaimReferenceCounter,
    MoneyHead,
    Outcome,
    Payment,
    Reserve,
    Status,
    incident_as_one_fact,
)
from claims.money import pounds
from claims.routing_services import claims_route
from claims.selectors import (
    DUPLICATE_KEY_FIELDS,
    claim_duplicate_key,
    claim_fields_editable_by,
    claims_earliest_by_duplicate_key,
    claims_editable_by,
)
from handlers.models import Handler
from handlers.permissions import is_auditor, is_caseworker, user_role
from members.models import Member
from members.validators import nhs_number_normalise

REFERENCE_PREFIX = "CL"


class StaleVersion(Exception):
    """The caller edited an older version of the claim than the one stored (optimistic lock)."""

    def __init__(self, *, expected: int, current: int) -> None:
        super().__init__(f"Claim changed meanwhile: you had version {expected}, it is {current}.")
        self.expected = expected
        self.current = current


def claim_reference_format(*, year: int, number: int) -> str:
    return f"{REFERENCE_PREFIX}-{year}-{number:06d}"


def claim_references_allocate(
    *, count: int, year: int | None = None, detached: bool = False
) -> list[str]:
    """Hand out `count` consecutive references for `year` with one locked row update.

    `detached`: take them on a connection of their own that commits at once, so that a long
    transaction (an atomic import of 100,000 claims) does not hold the counter's row lock, and
    every other claim being recorded meanwhile, until it ends. References a rolled-back import
    took are simply never used: a gap in the numbers, not a clash (docs/decisions.md)."""
    if count <= 0:
        return []
    year = year or timezone.localdate().year
    if detached and connection.vendor == "postgresql":
        own = connections.create_connection(DEFAULT_DB_ALIAS)
        try:
            with own.cursor() as cursor:
                cursor.execute(
                    "INSERT INTO claims_claimreferencecounter (year, last_number) VALUES (%s, %s) "
                    "ON CONFLICT (year) DO UPDATE SET last_number = "
                    "claims_claimreferencecounter.last_number + EXCLUDED.last_number "
                    "RETURNING last_number",
                    [year, count],
                )
                last = cursor.fetchone()[0]
        finally:
            own.close()
        first = last - count + 1
    else:
        with transaction.atomic():
            ClaimReferenceCounter.objects.get_or_create(year=year)
            counter = ClaimReferenceCounter.objects.select_for_update().get(year=year)
            first = counter.last_number + 1
            counter.last_number = F("last_number") + count
            counter.save(update_fields=["last_number"])
    return [claim_reference_format(year=year, number=n) for n in range(first, first + count)]


def _claimant_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    cleaned = dict(fields)
    if cleaned.get("claimant_nhs_number"):
        cleaned["claimant_nhs_number"] = nhs_number_normalise(cleaned["claimant_nhs_number"])
    return cleaned


@transaction.atomic
def claim_create(
    *,
    actor: Actor,
    clinicians: Sequence[Member] = (),
    actor_label: str = "",
    **fields: Any,
) -> Claim:
    """Create one claim with its clinicians, validated against the model's rules, audited."""
    claim = Claim(**_claimant_fields(fields))
    claim.reference = claim_references_allocate(count=1)[0]
    claim.full_clean(exclude=["reference"])
    # Flagged for a caseworker as an import flags it: never merged, never silently doubled.
    key = claim_duplicate_key(claim.__dict__)
    if key is not None and claim.possible_duplicate_of_id is None:
        claim.possible_duplicate_of_id = claims_earliest_by_duplicate_key([key]).get(key)
    claim.save()
    ClaimClinician.objects.bulk_create(
        ClaimClinician(claim=claim, member=member, position=position)
        for position, member in enumerate(clinicians)
    )
    audit_record(
        actor=actor,
        actor_label=actor_label,
        action="claim.create",
        subject=claim,
        after={**audit_snapshot(claim), "clinicians": [m.key for m in clinicians]},
    )
    claims_route(claim_ids=[claim.pk], actor=actor, actor_label=actor_label, cause="Claim recorded")
    claims_deadlines_recompute(
        claim_ids=[claim.pk], actor=actor, actor_label=actor_label, reason="Claim recorded"
    )
    claim.refresh_from_db()
    return claim


def claim_lock_for_write(*, claim: Claim, actor: Actor, expected_version: int | None) -> Claim:
    """Lock the claim's row for this transaction, then check, under the lock, that the actor may
    change it (a system actor, None, always may) and that nobody changed it since the caller
    read it. Every write to a claim starts here."""
    writable = Claim.objects.all() if actor is None else claims_editable_by(user=actor)
    locked = writable.select_for_update().filter(pk=claim.pk).first()
    if locked is None:
        raise PermissionDenied(f"You may not change {claim.reference}.")
    if expected_version is not None and locked.version != expected_version:
        raise StaleVersion(expected=expected_version, current=locked.version)
    return locked


def _claim_version_bump(claim: Claim) -> None:
    claim.version += 1
    Claim.objects.filter(pk=claim.pk).update(version=claim.version, updated_at=timezone.now())


# Fields a person may change through claim_update; routing results and the reference are not.
CLAIM_EDITABLE_FIELDS = frozenset(
    {
        "external_ref",
        "matter_type",
        "claimant_name",
        "claimant_date_of_birth",
        "claimant_nhs_number",
        "claimant_date_of_death",
        "claimant_lacks_capacity",
        "practice",
        "practice_id",
        "care_setting",
        "activity",
        "coronavirus_response",
        "other_indemnity",
        "provider_cnst_member",
        "incident_date",
        "incident_date_from",
        "incident_date_to",
        "date_of_knowledge",
        "notified_on",
        "stage",
        "status",
        "outcome",
        "records_requested_on",
        "letter_of_notification_on",
        "letter_of_claim_on",
        "claim_form_issued_on",
        "particulars_served_on",
        "acknowledgment_of_service_on",
        "defence_extended_to",
        "records_disclosed_on",
        "letter_of_notification_acknowledged_on",
        "letter_of_claim_acknowledged_on",
        "letter_of_response_sent_on",
        "claim_form_served_on",
        "defence_filed_on",
        "description",
    }
)


@transaction.atomic
def claim_update(
    *,
    claim: Claim,
    actor: Actor,
    expected_version: int | None,
    reason: str = "",
    **changes: Any,
) -> Claim:
    """Change a claim's editable fields under an optimistic lock.

    The row is locked and its version compared inside the transaction, so two people saving at
    once cannot both win: the second gets StaleVersion and nothing changes.
    """
    return claim_change(
        claim=claim, actor=actor, expected_version=expected_version, reason=reason, **changes
    )


@transaction.atomic
def claim_assign(
    *,
    claim: Claim,
    actor: Actor,
    assignee,
    reason: str = "",
    expected_version: int | None = None,
) -> Claim:
    """Give a claim to a person. They must be able to see it (their organisation handles a part,
    or they are NHSR staff); they are told, and the change is audited. With `expected_version`,
    a claim changed meanwhile raises StaleVersion and nothing is written."""
    from claims.notification_services import Message, notifications_create
    from claims.selectors import claims_visible_to

    if not claims_visible_to(user=assignee).filter(pk=claim.pk).exists():
        raise ValidationError(
            {"assigned_to": f"{assignee.get_username()} cannot see {claim.reference}."},
            code="not_visible",
        )
    role = user_role(actor) if actor is not None else None
    if actor is not None and not (is_caseworker(actor) or role == Handler.Role.TEAM_LEAD):
        raise PermissionDenied("Only caseworkers and team leads assign claims.")
    locked = claim_lock_for_write(claim=claim, actor=actor, expected_version=expected_version)
    before = locked.assigned_to_id
    locked.assigned_to = assignee
    locked.version += 1
    locked.save(update_fields=["assigned_to", "version", "updated_at"])
    audit_record(
        actor=actor,
        action="claim.assign",
        subject=locked,
        before={"assigned_to": before},
        after={"assigned_to": assignee.pk},
        reason=reason,
    )
    if assignee != actor:
        notifications_create(
            [
                Message(
                    assignee.pk,
                    locked.pk,
                    "claim_assigned",
                    f"{locked.reference} has been assigned to you.",
                    f"claim_assigned:{locked.pk}:{locked.version}:{assignee.pk}",
                )
            ]
        )
    return locked


@transaction.atomic
def claim_close(
    *, claim: Claim, actor: Actor, outcome: str, expected_version: int | None, reason: str = ""
) -> Claim:
    """Close a claim with its outcome (domain.md §5). Its open deadlines stay as they are: the
    history shows what was outstanding when it closed."""
    if outcome not in Outcome.values:
        raise ValidationError({"outcome": f"Choose one of {', '.join(Outcome.values)}."})
    # Checked under the row lock: of two people closing at once, the second is refused.
    claim = claim_lock_for_write(claim=claim, actor=actor, expected_version=expected_version)
    if claim.status == Status.CLOSED:
        raise ValidationError({"status": f"{claim.reference} is already closed."}, code="closed")
    return claim_update(
        claim=claim,
        actor=actor,
        expected_version=expected_version,
        reason=reason or "Closed",
        status=Status.CLOSED,
        outcome=outcome,
    )


@transaction.atomic
def claim_reopen(*, claim: Claim, actor: Actor, expected_version: int | None, reason: str) -> Claim:
    """A closed claim can be reopened (domain.md §5); the reason is kept in the audit trail."""
    claim = claim_lock_for_write(claim=claim, actor=actor, expected_version=expected_version)
    if claim.status != Status.CLOSED:
        raise ValidationError({"status": f"{claim.reference} is not closed."}, code="open")
    if not reason.strip():
        raise ValidationError({"reason": "Say why the claim is reopened."}, code="required")
    return claim_update(
        claim=claim,
        actor=actor,
        expected_version=expected_version,
        reason=reason,
        status=Status.OPEN,
        outcome="",
    )


def _pounds(value: Any, *, field: str, minimum: Decimal) -> Decimal:
    try:
        return pounds(value, minimum=minimum)
    except ValueError as error:
        raise ValidationError({field: str(error)}) from None


def _head(head: str) -> str:
    if head not in MoneyHead.values:
        raise ValidationError({"head": f"Choose one of {', '.join(MoneyHead.values)}."})
    return head


@transaction.atomic
def reserve_set(
    *,
    claim: Claim,
    actor: Actor,
    head: str,
    amount: Any,
    reason: str = "",
    expected_version: int | None = None,
    actor_label: str = "",
) -> Reserve:
    """Revise what one head of a claim is expected to cost; the previous figure stays in the
    history (the earlier rows) and the audit trail."""
    head = _head(head)
    amount = _pounds(amount, field="amount", minimum=Decimal("0"))
    locked = claim_lock_for_write(claim=claim, actor=actor, expected_version=expected_version)
    previous = (
        Reserve.objects.filter(claim=locked, head=head)
        .order_by("-created_at", "-id")
        .values_list("amount", flat=True)
        .first()
    )
    reserve = Reserve.objects.create(
        claim=locked,
        head=head,
        amount=amount,
        reason=reason[:300],
        set_by=actor_user(actor),
        set_by_label=actor_label,
    )
    _claim_version_bump(locked)
    audit_record(
        actor=actor,
        actor_label=actor_label,
        action="claim.reserve",
        subject=locked,
        before={"head": head, "amount": None if previous is None else str(previous)},
        after={"head": head, "amount": str(amount)},
        reason=reason,
    )
    return reserve


@transaction.atomic
def payment_record(
    *,
    claim: Claim,
    actor: Actor,
    head: str,
    amount: Any,
    paid_on,
    payee_type: str,
    payee_name: str = "",
    reference: str = "",
    expected_version: int | None = None,
    actor_label: str = "",
) -> Payment:
    """Record money paid on a claim."""
    head = _head(head)
    amount = _pounds(amount, field="amount", minimum=Decimal("0.01"))
    if payee_type not in Payment.PayeeType.values:
        raise ValidationError(
            {"payee_type": f"Choose one of {', '.join(Payment.PayeeType.values)}."}
        )
    if paid_on is None:
        raise ValidationError({"paid_on": "Give the date the payment was made."})
    if paid_on > timezone.localdate():
        raise ValidationError({"paid_on": "A payment cannot be recorded before it is made."})
    locked = claim_lock_for_write(claim=claim, actor=actor, expected_version=expected_version)
    payment = Payment.objects.create(
        claim=locked,
        head=head,
        amount=amount,
        paid_on=paid_on,
        payee_type=payee_type,
        payee_name=payee_name[:200],
        reference=reference[:100],
        recorded_by=actor_user(actor),
        recorded_by_label=actor_label,
    )
    _claim_version_bump(locked)
    audit_record(
        actor=actor,
        actor_label=actor_label,
        action="claim.payment",
        subject=locked,
        after=audit_snapshot(payment, ["head", "amount", "paid_on", "payee_type", "reference"]),
    )
    return payment


@transaction.atomic
def note_add(*, claim: Claim, actor: Actor, text: str, actor_label: str = "") -> ClaimNote:
    """Add a file note. Notes only ever add, so they never conflict with another person's edit
    and do not move the claim's version on."""
    text = text.strip()
    if not text:
        raise ValidationError({"text": "Write the note before saving it."}, code="required")
    locked = claim_lock_for_write(claim=claim, actor=actor, expected_version=None)
    note = ClaimNote.objects.create(
        claim=locked,
        author=actor_user(actor),
        author_label=actor_label,
        text=text,
    )
    audit_record(
        actor=actor,
        actor_label=actor_label,
        action="claim.note",
        subject=locked,
        after={"note": note.pk, "text": text[:200]},
    )
    return note


def claim_viewed(*, claim: Claim, actor: Actor, channel: str) -> None:
    """Record that someone opened a claim's patient data (domain.md §6: record who viewed it)."""
    audit_record(actor=actor, action="claim.view", subject=claim, reason=channel)


# -- the caseworkers' workbench (the admin) ---------------------------------------------------

# A re-route of selected claims runs in the request, as one routing batch; larger sets of
# claims move through an agreement or the daily handover job, which run as Celery tasks.
REROUTE_SELECTION_LIMIT = 2000


def _caseworker_only(actor: Actor, what: str) -> None:
    if actor is not None and not is_caseworker(actor):
        raise PermissionDenied(f"Only NHS Resolution caseworkers may {what}.")


def _reroute_checked(claim_ids: Sequence[int], actor: Actor) -> list[int]:
    _caseworker_only(actor, "re-route claims")
    ids = sorted(set(claim_ids))
    if len(ids) > REROUTE_SELECTION_LIMIT:
        raise ValidationError(
            f"Re-route at most {REROUTE_SELECTION_LIMIT} claims at a time; narrow the list.",
            code="too_many",
        )
    return ids


@transaction.atomic
def claims_reroute(*, claim_ids: Sequence[int], actor: Actor, reason: str = ""):
    """A caseworker routes these claims again with today's facts, memberships and agreements
    (domain.md §4). Every claim gets a decision in its history, moved or not, saying who asked
    and why; claims that move are audited and both organisations are told after commit."""
    ids = _reroute_checked(claim_ids, actor)
    cause = "Re-routed by a caseworker" + (f": {reason.strip()}" if reason.strip() else "")
    return claims_route(claim_ids=ids, actor=actor, cause=cause[:200], record_all=True)


class _PreviewOnly(Exception):
    """Raised to roll back a re-route that was only run to see what it would do."""


def claims_reroute_preview(*, claim_ids: Sequence[int], actor: Actor):
    """What claims_reroute would do now, without doing it: the same service runs inside a
    savepoint that is then rolled back, so the preview cannot differ from the real thing and
    nothing (decision, audit row, notification) survives it. Returns the moves."""
    ids = _reroute_checked(claim_ids, actor)
    moves: list = []
    try:
        with transaction.atomic():
            outcome = claims_route(claim_ids=ids, actor=actor, cause="Preview", record_all=False)
            moves = list(outcome.moves)
            raise _PreviewOnly
    except _PreviewOnly:
        pass
    return moves


def claim_merged_problems(
    values: Mapping[str, Any], stored: Mapping[str, Any]
) -> list[tuple[str, str, str]]:
    """The rules across a claim's fields, checked on `values` (model field names) over
    `stored` (a claim's fields, or a new claim's defaults): each one broken as (field, code,
    message), in the import's codes (docs/api.md), so that an import and a PATCH refuse alike
    and a caller never meets the database's constraint instead."""

    def value(name: str) -> Any:
        return values.get(name, stored[name])

    problems = []
    status, outcome = value("status"), value("outcome")
    if status == Status.CLOSED and not outcome:
        problems.append(("outcome", spec.OUTCOME_REQUIRED, "A closed claim needs its outcome."))
    if outcome and status != Status.CLOSED:
        problems.append(
            (
                "outcome",
                spec.OUTCOME_NOT_ALLOWED,
                "Only a closed claim has an outcome; give status closed as well.",
            )
        )
    born, died = value("claimant_date_of_birth"), value("claimant_date_of_death")
    if born and died and died < born:
        problems.append(
            ("claimant.date_of_death", spec.DEATH_BEFORE_BIRTH, "Death is before birth.")
        )
    date, start, end = (value(name) for name in INCIDENT_FIELDS)
    if date and (start or end):
        problems.append(
            (
                "incident_date",
                spec.DATE_AND_RANGE,
                "Give either incident_date or incident_date_from and incident_date_to, not both.",
            )
        )
    elif bool(start) != bool(end):
        problems.append(
            (
                "incident_date_to" if start else "incident_date_from",
                spec.RANGE_INCOMPLETE,
                "A range needs both its start and its end.",
            )
        )
    elif start and end and end < start:
        problems.append(
            ("incident_date_to", spec.RANGE_REVERSED, "The incident range ends before it starts.")
        )
    for rule in _DONE_AFTER_TRIGGER:
        if all(value(name) == stored[name] for name in (rule.met_by, rule.trigger)):
            continue  # dates stored before this rule, given again as they are, stay
        done, trigger = value(rule.met_by), value(rule.trigger)
        if done and trigger and done < trigger:
            problems.append(
                (
                    rule.met_by,
                    spec.DONE_BEFORE_TRIGGER,
                    f"{_date_label(rule.met_by)} ({done.isoformat()}) is before "
                    f"{_date_label(rule.trigger)} ({trigger.isoformat()}).",
                )
            )
    return problems


# A deadline's completion cannot come before the date that set it running: records disclosed
# before they were requested, a claim form served before it was issued. Not the acknowledgment
# of service, which may be filed once the claim form is served, before the particulars are.
_DONE_AFTER_TRIGGER = tuple(
    rule for rule in deadline_rules.DEFAULT_RULES if rule.kind != "acknowledgment_of_service"
)


def _date_label(field_name: str) -> str:
    return str(Claim._meta.get_field(field_name).verbose_name).capitalize()


def claim_closed_refusal(claim: Claim, actor: Actor) -> str | None:
    """Why `actor` may not change this claim's facts, stage, dates or deadlines, or None: it is
    closed, and NHS Resolution reopens claims (its caseworkers may still correct a closed one).
    Notes, reserves and payments stay open to everyone who handles the claim."""
    if claim.status == Status.CLOSED and actor is not None and not is_caseworker(actor):
        return (
            "This claim is closed, so its stage, dates and deadlines stay as they were. "
            "NHS Resolution reopens claims; you can still add notes, reserves and payments."
        )
    return None


@transaction.atomic
def claim_change(
    *,
    claim: Claim,
    actor: Actor,
    expected_version: int | None,
    reason: str = "",
    clinicians: Sequence[Member] | None = None,
    **changes: Any,
) -> Claim:
    """A person's edit of a claim: its fields and, if given, its clinicians, as one change: one
    version, one audit entry, and the claim routed once (not once for its fields and again for
    its clinicians) and its deadlines recomputed once, whatever the edit touched."""
    unknown = set(changes) - CLAIM_EDITABLE_FIELDS
    if unknown:
        raise ValueError(f"Not editable: {', '.join(sorted(unknown))}")
    asked = frozenset(changes) | ({"clinicians"} if clinicians is not None else frozenset())
    allowed = claim_fields_editable_by(user=actor, all_fields=asked)
    if clinicians is not None and "clinicians" not in allowed:
        raise PermissionDenied("You may not change the clinicians of a claim.")
    refused = sorted(set(changes) - allowed)
    if refused:
        raise PermissionDenied(f"You may not change {', '.join(refused)}.")
    locked = claim_lock_for_write(claim=claim, actor=actor, expected_version=expected_version)
    refusal = claim_closed_refusal(locked, actor)
    if refusal:
        raise NotOpen(refusal, code="claim_closed")
    before = audit_snapshot(locked)
    key_before = claim_duplicate_key(locked.__dict__)
    if changes:
        changes = incident_as_one_fact(changes)
        if changes.get("status") == Status.OPEN and "outcome" not in changes:
            changes["outcome"] = ""  # reopened: the outcome no longer stands
        problems = claim_merged_problems(changes, locked.__dict__)
        if problems:
            raise ValidationError(
                {field: ValidationError(message, code=code) for field, code, message in problems}
            )
        for name, value in _claimant_fields(changes).items():
            setattr(locked, name, value)
        locked.full_clean(exclude=["reference"])
    moved = None if clinicians is None else _clinicians_replace(locked, clinicians)
    # Fields given are saved even when equal (the version says someone saved); naming the
    # same clinicians again changes nothing.
    if not changes and moved is None:
        return locked
    locked.version += 1
    locked.save()
    changed_before, changed_after = audit_diff(before, audit_snapshot(locked))
    if moved is not None:
        changed_before["clinicians"], changed_after["clinicians"] = moved
    audit_record(
        actor=actor,
        action="claim.update",
        subject=locked,
        before=changed_before,
        after=changed_after,
        reason=reason,
    )
    if claim_duplicate_key(locked.__dict__) != key_before:
        claims_duplicates_recheck(claim_ids=[locked.pk], actor=actor, reason=reason)
        locked.refresh_from_db(fields=["possible_duplicate_of", "version"])
    # Routed first: a deadline the change leaves missed is told to whoever handles the claim
    # now (an incident date corrected both moves a claim and passes its limitation date).
    facts_changed = sorted(set(changed_after) & {*REROUTE_FIELDS, "clinicians"})
    if facts_changed:
        claims_route(
            claim_ids=[locked.pk],
            actor=actor,
            cause=f"Facts changed: {', '.join(facts_changed)}",
        )
    dates_changed = sorted(set(changed_after) & set(DEADLINE_INPUT_FIELDS))
    if dates_changed:
        claims_deadlines_recompute(
            claim_ids=[locked.pk],
            actor=actor,
            reason=(reason or "Dates changed") + f" ({', '.join(dates_changed)})",
            reopened=changed_before.get("status") == Status.CLOSED and locked.status == Status.OPEN,
        )
    if facts_changed:
        locked.refresh_from_db()
    return locked


def _clinicians_replace(
    locked: Claim, members: Sequence[Member]
) -> tuple[list[str], list[str]] | None:
    """Name the claim's clinicians, in order (routing orders segments by clinician, domain.md
    §4); returns their keys before and after, or None if they are the same."""
    keys = [member.key for member in members]
    if len(set(keys)) != len(keys):
        raise ValidationError(
            {"clinicians": ValidationError("Name each clinician once.", code="duplicate")}
        )
    before = [
        link.member.key
        for link in ClaimClinician.objects.filter(claim=locked)
        .select_related("member")
        .order_by("position", "pk")
    ]
    if before == keys:
        return None
    ClaimClinician.objects.filter(claim=locked).delete()
    ClaimClinician.objects.bulk_create(
        ClaimClinician(claim=locked, member=member, position=position)
        for position, member in enumerate(members)
    )
    return before, keys


def claims_duplicates_recheck(
    *, claim_ids: Collection[int], actor: Actor, reason: str, actor_label: str = ""
) -> int:
    """After the duplicate key (NHS number, practice, incident date) of these stored claims
    changed (the key, not merely one of its columns: a range starting on the old incident date
    is the same key), the possible-duplicate flags it touches are worked out again, as for a
    new claim. Called inside the transaction that changed them, which holds their locks:
    - each of them points at the earliest claim sharing its new key, unless it is that claim;
    - a claim that pointed at one of them and no longer shares its key likewise;
    - a later claim sharing a new key points at the claim that now has it, if that is now the
      earliest with the key and it pointed at nothing or at a later claim (so a flag that a
      caseworker cleared against an earlier claim still stays clear).
    Each flag changed is a new version of its claim and an entry in its history. Returns how
    many flags changed."""
    ids = set(claim_ids)
    if not ids:
        return 0
    fields = ("pk", "reference", "version", "possible_duplicate_of_id", *DUPLICATE_KEY_FIELDS)
    moved = {row["pk"]: row for row in Claim.objects.filter(pk__in=ids).values(*fields)}
    new_keys = {pk: claim_duplicate_key(row) for pk, row in moved.items()}
    sharing = Q(pk__in=[])
    for number, practice_id, on in set(new_keys.values()) - {None}:
        sharing |= Q(claimant_nhs_number=number, practice_id=practice_id) & (
            Q(incident_date=on) | Q(incident_date__isnull=True, incident_date_from=on)
        )
    # Locked, so that a caseworker clearing one of these flags meanwhile is not overwritten.
    others = {
        row["pk"]: row
        for row in Claim.objects.filter(Q(possible_duplicate_of_id__in=ids) | sharing)
        .exclude(pk__in=ids)
        .select_for_update()
        .order_by("pk")
        .values(*fields)
    }
    rows = {**others, **moved}
    keys = {pk: claim_duplicate_key(row) for pk, row in rows.items()}
    earliest = claims_earliest_by_duplicate_key(keys.values())
    pointers: dict[int, int | None] = {}
    for pk, row in rows.items():
        first = earliest.get(keys[pk])
        fresh = first if first is not None and first < pk else None
        current = row["possible_duplicate_of_id"]
        if (
            pk in moved
            or (current in moved and keys[pk] != new_keys[current])
            or (fresh in moved and (current is None or current > fresh))
        ):
            pointers[pk] = fresh
    changes = {pk: to for pk, to in pointers.items() if to != rows[pk]["possible_duplicate_of_id"]}
    if not changes:
        return 0
    named = set(changes.values()) | {rows[pk]["possible_duplicate_of_id"] for pk in changes}
    references = dict(Claim.objects.filter(pk__in=named - {None}).values_list("pk", "reference"))
    Claim.objects.filter(pk__in=changes).update(
        possible_duplicate_of_id=Case(
            *(
                When(pk=pk, then=Value(to, output_field=BigIntegerField()))
                for pk, to in changes.items()
            )
        ),
        version=F("version") + 1,
        updated_at=timezone.now(),
    )
    audit_record_many(
        actor=actor,
        actor_label=actor_label,
        action="claim.update",
        changes=[
            (
                AuditSubject("claims.claim", pk, rows[pk]["reference"]),
                {"possible_duplicate_of": references.get(rows[pk]["possible_duplicate_of_id"])},
                {"possible_duplicate_of": references.get(to)},
            )
            for pk, to in changes.items()
        ],
        reason=reason,
    )
    return len(changes)


@transaction.atomic
def claim_duplicate_dismiss(
    *, claim: Claim, actor: Actor, reason: str, expected_version: int | None = None
) -> Claim:
    """A caseworker has checked a claim flagged as a possible duplicate and found it is a claim
    of its own: the flag goes, the earlier claim is kept in the audit trail with the reason."""
    _caseworker_only(actor, "clear a possible-duplicate flag")
    if not reason.strip():
        raise ValidationError({"reason": "Say why this is not a duplicate."}, code="required")
    locked = claim_lock_for_write(claim=claim, actor=actor, expected_version=expected_version)
    if locked.possible_duplicate_of_id is None:
        raise ValidationError(
            {"possible_duplicate_of": f"{locked.reference} is not flagged as a duplicate."},
            code="not_flagged",
        )
    earlier = Claim.objects.filter(pk=locked.possible_duplicate_of_id).values_list(
        "reference", flat=True
    )
    before = {"possible_duplicate_of": earlier.first()}
    Claim.objects.filter(pk=locked.pk).update(possible_duplicate_of=None)
    locked.possible_duplicate_of = None
    _claim_version_bump(locked)
    audit_record(
        actor=actor,
        action="claim.update",
        subject=locked,
        before=before,
        after={"possible_duplicate_of": None},
        reason=reason.strip(),
    )
    return locked


def claims_export_recorded(*, actor: Actor, query: str) -> None:
    """Record that someone exported claims (domain.md §6: who viewed patient data), with the
    filters they used; the subject is the person, as an export names no single claim."""
    if actor is None or not (is_caseworker(actor) or is_auditor(actor)):
        raise PermissionDenied("Only caseworkers and auditors export claims.")
    audit_record(
        actor=actor,
        action="claim.export",
        subject=actor,
        after={"query": query[:1000]},
        reason="CSV export from the admin",
    )
