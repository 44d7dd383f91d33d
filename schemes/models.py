from django.db import models
from django.db.models import F, Q

from members.models import DefenceOrganisation


class Scheme(models.Model):
    """A state indemnity scheme (domain.md §2), or one of the routing outcomes that is not a scheme
    (NO_STATE_SCHEME, NOT_A_CLAIM, UNDETERMINED), so that every routed claim names a row here."""

    code = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=200)
    is_state_scheme = models.BooleanField(default=True)
    covers = models.TextField(blank=True)
    source = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code


class ElsAgreement(models.Model):
    """An MDO's agreement with DHSC that puts its members' pre-2019 liabilities under ELSGP
    (domain.md §3). Between `agreed_on` and `handover_on` the MDO handles them (ELGP); from
    `handover_on` NHS Resolution does. `handover_on` is null while it is not known."""

    organisation = models.ForeignKey(
        DefenceOrganisation, on_delete=models.PROTECT, related_name="els_agreements"
    )
    agreed_on = models.DateField()
    handover_on = models.DateField(null=True, blank=True)
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["organisation", "agreed_on"]
        verbose_name = "ELS agreement"
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "agreed_on"], name="els_agreement_natural_key"
            ),
            models.CheckConstraint(
                condition=Q(handover_on__isnull=True) | Q(handover_on__gte=F("agreed_on")),
                name="els_agreement_handover_after_agreement",
            ),
        ]
        indexes = [models.Index(fields=["handover_on"], name="els_agreement_handover")]

    def __str__(self) -> str:
        return (
            f"{self.organisation.code} agreed {self.agreed_on}, handover {self.handover_on or '?'}"
        )
