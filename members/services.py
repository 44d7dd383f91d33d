"""Writes to practices, members, memberships and employments, each audited."""

import datetime
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q

from audit.services import Actor, audit_record, audit_snapshot
from members.models import DefenceOrganisation, Member, Membership
from members.signals import cover_changed


def member_cover_changed(*, member_ids: Iterable[int], actor: Actor, cause: str) -> None:
    """These members' memberships or employments changed: the open claims whose routing reads
    them are re-routed, in this transaction (claims listens: claims_of_members_reroute). Every
    writer of memberships or employments calls it, once per change or batch of changes."""
    member_ids = sorted(set(member_ids))
    if member_ids:
        cover_changed.send(sender=Member, member_ids=member_ids, actor=actor, cause=cause)


def membership_overlaps(
    *,
    member: Member,
    organisation: DefenceOrganisation,
    start_date: datetime.date,
    end_date: datetime.date | None,
    exclude_pk: int | None = None,
) -> bool:
    """Whether [start, end] (end null: open) meets another period of the same member and
    organisation. Routing reads membership on one date, so overlapping periods would be
    ambiguous; PostgreSQL also refuses them with an exclusion constraint."""
    others = Membership.objects.filter(member=member, organisation=organisation).filter(
        Q(end_date__isnull=True) | Q(end_date__gte=start_date)
    )
    if end_date is not None:
        others = others.filter(start_date__lte=end_date)
    if exclude_pk is not None:
        others = others.exclude(pk=exclude_pk)
    return others.exists()


@transaction.atomic
def membership_create(
    *,
    actor: Actor,
    member: Member,
    organisation: DefenceOrganisation,
    start_date: datetime.date,
    end_date: datetime.date | None = None,
) -> Membership:
    membership = Membership(
        member=member, organisation=organisation, start_date=start_date, end_date=end_date
    )
    membership.full_clean()
    # Lock the member so two concurrent writers cannot both pass the overlap check.
    Member.objects.select_for_update().filter(pk=member.pk).first()
    if membership_overlaps(
        member=member, organisation=organisation, start_date=start_date, end_date=end_date
    ):
        raise ValidationError(
            f"{member.key} already has a {organisation.code} membership overlapping "
            f"{start_date} to {end_date or 'open'}.",
            code="overlapping_membership",
        )
    membership.save()
    audit_record(
        actor=actor,
        action="membership.create",
        subject=membership,
        after=audit_snapshot(membership),
    )
    member_cover_changed(
        member_ids=[member.pk], actor=actor, cause=f"Membership added: {membership}"
    )
    return membership
