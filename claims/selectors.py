"""Reads of claims, always through who may see them (design.md §2): enforced here, on the
queryset, before any view code runs."""

from django.db.models import QuerySet

from claims.models import Claim, ClaimHandling, Deadline
from handlers.models import Handler
from handlers.permissions import handler_for, sees_every_claim


def claims_visible_to(*, user) -> QuerySet[Claim]:
    """Caseworkers and auditors: every claim. MDO staff: claims their organisation handles any
    part of. Importers: claims their organisation's system sent. Anyone else: none."""
    if sees_every_claim(user):
        return Claim.objects.all()
    handler = handler_for(user)
    if handler is None:
        return Claim.objects.none()
    if handler.role == Handler.Role.IMPORTER:
        return Claim.objects.filter(source_organisation_id=handler.organisation_id)
    return Claim.objects.filter(
        pk__in=ClaimHandling.objects.filter(organisation_id=handler.organisation_id).values(
            "claim_id"
        )
    )


def deadlines_visible_to(*, user) -> QuerySet[Deadline]:
    return Deadline.objects.filter(claim__in=claims_visible_to(user=user))
