from django.conf import settings
from django.db import models
from django.db.models import Q

from members.models import DefenceOrganisation

NHSR_CODE = "NHSR"


class HandlerOrganisation(models.Model):
    """Who handles claims: NHS Resolution, or an MDO (during interim handling or for its own
    non-state matters). An MDO's handler organisation points at its defence organisation."""

    code = models.CharField(max_length=16, unique=True)
    name = models.CharField(max_length=200)
    defence_organisation = models.OneToOneField(
        DefenceOrganisation,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="handler_organisation",
    )

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(code__regex=r"^[A-Z][A-Z0-9_]*$"), name="handler_org_code_upper"
            ),
        ]

    def __str__(self) -> str:
        return self.code

    @property
    def is_nhsr(self) -> bool:
        return self.code == NHSR_CODE


class Handler(models.Model):
    """A person (or system account) working for a handler organisation, with one role
    (design.md §2). The role decides what they may see and do; the organisation scopes it."""

    class Role(models.TextChoices):
        CASEWORKER = "caseworker", "Caseworker (NHSR)"
        TEAM_LEAD = "team_lead", "Team lead"
        HANDLER = "handler", "Claim handler"
        IMPORTER = "importer", "Importer (system)"
        AUDITOR = "auditor", "Auditor (read-only)"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="handler"
    )
    organisation = models.ForeignKey(
        HandlerOrganisation, on_delete=models.PROTECT, related_name="handlers"
    )
    role = models.CharField(max_length=16, choices=Role.choices)

    class Meta:
        ordering = ["organisation", "user__username"]
        indexes = [models.Index(fields=["organisation", "role"], name="handler_org_role")]

    def __str__(self) -> str:
        return f"{self.user.get_username()} ({self.organisation.code} {self.role})"
