"""Writes to ELS agreements, audited. Re-routing the claims they affect is a separate, explicit
step (preview, then apply) because it moves claims between organisations."""

import datetime

from django.db import transaction

from audit.services import Actor, audit_diff, audit_record, audit_snapshot
from members.models import DefenceOrganisation
from schemes.models import ElsAgreement


@transaction.atomic
def agreement_create(
    *,
    actor: Actor,
    organisation: DefenceOrganisation,
    agreed_on: datetime.date,
    handover_on: datetime.date | None = None,
    notes: str = "",
) -> ElsAgreement:
    agreement = ElsAgreement(
        organisation=organisation, agreed_on=agreed_on, handover_on=handover_on, notes=notes
    )
    agreement.full_clean()
    agreement.save()
    audit_record(
        actor=actor, action="agreement.create", subject=agreement, after=audit_snapshot(agreement)
    )
    return agreement


@transaction.atomic
def agreement_update(*, actor: Actor, agreement: ElsAgreement, **changes) -> ElsAgreement:
    locked = ElsAgreement.objects.select_for_update().get(pk=agreement.pk)
    before = audit_snapshot(locked)
    for name, value in changes.items():
        setattr(locked, name, value)
    locked.full_clean()
    locked.save()
    changed_before, changed_after = audit_diff(before, audit_snapshot(locked))
    audit_record(
        actor=actor,
        action="agreement.update",
        subject=locked,
        before=changed_before,
        after=changed_after,
    )
    return locked
