"""Writes to claims. Each public function is one transaction that writes its own audit rows."""

from collections.abc import Mapping, Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from audit.services import Actor, audit_diff, audit_record, audit_snapshot
from claims.deadline_services import claims_deadlines_recompute
from claims.models import (
    COMPLETION_DATE_FIELDS,
    ROUTING_FACT_FIELDS,
    TRIGGER_DATE_FIELDS,
    Claim,
    ClaimClinician,
    ClaimReferenceCounter,
)
from claims.routing_services import claims_route
from members.models import Member
from members.validators import nhs_number_normalise

REFERENCE_PREFIX = "CL"
# Claim fields that feed deadlines (design.md §3.4; domain.md §5 limitation).
DEADLINE_INPUT_FIELDS = frozenset(
    {
        *TRIGGER_DATE_FIELDS,
        *COMPLETION_DATE_FIELDS,
        "incident_date",
        "incident_date_to",
        "date_of_knowledge",
        "claimant_date_of_birth",
        "claimant_date_of_death",
        "claimant_lacks_capacity",
    }
)


class StaleVersion(Exception):
    """The caller edited an older version of the claim than the one stored (optimistic lock)."""

    def __init__(self, *, expected: int, current: int) -> None:
        super().__init__(f"Claim changed meanwhile: you had version {expected}, it is {current}.")
        self.expected = expected
        self.current = current


def claim_reference_format(*, year: int, number: int) -> str:
    return f"{REFERENCE_PREFIX}-{year}-{number:06d}"


def claim_references_allocate(*, count: int, year: int | None = None) -> list[str]:
    """Hand out `count` consecutive references for `year` with one locked row update."""
    if count <= 0:
        return []
    year = year or timezone.localdate().year
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
    unknown = set(changes) - CLAIM_EDITABLE_FIELDS
    if unknown:
        raise ValueError(f"Not editable: {', '.join(sorted(unknown))}")
    locked = Claim.objects.select_for_update().get(pk=claim.pk)
    if expected_version is not None and locked.version != expected_version:
        raise StaleVersion(expected=expected_version, current=locked.version)
    before = audit_snapshot(locked)
    for name, value in _claimant_fields(changes).items():
        setattr(locked, name, value)
    locked.full_clean(exclude=["reference"])
    locked.version += 1
    locked.save()
    after = audit_snapshot(locked)
    changed_before, changed_after = audit_diff(before, after)
    audit_record(
        actor=actor,
        action="claim.update",
        subject=locked,
        before=changed_before,
        after=changed_after,
        reason=reason,
    )
    dates_changed = sorted(set(changed_after) & set(DEADLINE_INPUT_FIELDS))
    if dates_changed:
        claims_deadlines_recompute(
            claim_ids=[locked.pk],
            actor=actor,
            reason=(reason or "Dates changed") + f" ({', '.join(dates_changed)})",
        )
    facts_changed = sorted(set(changed_after) & set(ROUTING_FACT_FIELDS))
    if facts_changed:
        claims_route(
            claim_ids=[locked.pk],
            actor=actor,
            cause=f"Facts changed: {', '.join(facts_changed)}",
        )
        locked.refresh_from_db()
    return locked


@transaction.atomic
def claim_assign(*, claim: Claim, actor: Actor, assignee, reason: str = "") -> Claim:
    """Give a claim to a person. They must be able to see it (their organisation handles a part,
    or they are NHSR staff); they are told, and the change is audited."""
    from claims.notification_services import Message, notifications_create
    from claims.selectors import claims_visible_to

    if not claims_visible_to(user=assignee).filter(pk=claim.pk).exists():
        raise ValidationError(
            {"assigned_to": f"{assignee.get_username()} cannot see {claim.reference}."},
            code="not_visible",
        )
    locked = Claim.objects.select_for_update().get(pk=claim.pk)
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
