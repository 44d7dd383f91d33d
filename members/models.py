from django.db import models
from django.db.models import F, Q

from members.validators import validate_gmc_number, validate_ods_practice_code


class DefenceOrganisation(models.Model):
    """A medical defence organisation (MPS, MDU, MDDUS) or another indemnifier, added as data."""

    class Kind(models.TextChoices):
        MDO = "mdo", "Medical defence organisation"
        INSURER = "insurer", "Commercial insurer"

    code = models.CharField(max_length=16, unique=True, help_text="Upper case, e.g. MPS.")
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.MDO)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(code__regex=r"^[A-Z][A-Z0-9_]*$"), name="defence_org_code_upper"
            ),
        ]

    def __str__(self) -> str:
        return self.code


class Practice(models.Model):
    ods_code = models.CharField(
        "ODS code", max_length=6, unique=True, validators=[validate_ods_practice_code]
    )
    name = models.CharField(max_length=200)
    postcode = models.CharField(max_length=10, blank=True)

    class Meta:
        ordering = ["ods_code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ods_code__regex=r"^[A-Z][0-9]{5}$"), name="practice_ods_code_format"
            ),
        ]
        indexes = [models.Index(fields=["name"], name="practice_name")]

    def __str__(self) -> str:
        return f"{self.ods_code} {self.name}"


class Member(models.Model):
    """A clinician or member of practice staff, keyed by registration body and number."""

    class RegistrationBody(models.TextChoices):
        GMC = "GMC", "General Medical Council"
        NMC = "NMC", "Nursing and Midwifery Council"
        GPHC = "GPHC", "General Pharmaceutical Council"
        OTHER = "OTHER", "Other / none"

    class Role(models.TextChoices):
        GP_PARTNER = "gp_partner", "GP partner"
        SALARIED_GP = "salaried_gp", "Salaried GP"
        LOCUM_GP = "locum_gp", "Locum GP"
        GP_TRAINEE = "gp_trainee", "GP trainee"
        NURSE = "nurse", "Practice nurse"
        PHARMACIST = "pharmacist", "Clinical pharmacist"
        STAFF = "staff", "Practice staff"
        STUDENT = "student", "Student"
        RETURNING_RETIREE = "returning_retiree", "Returning retiree"

    registration_body = models.CharField(max_length=8, choices=RegistrationBody.choices)
    registration_number = models.CharField(max_length=32)
    given_name = models.CharField(max_length=100)
    family_name = models.CharField(max_length=100)
    role = models.CharField(max_length=32, choices=Role.choices)

    class Meta:
        ordering = ["family_name", "given_name"]
        constraints = [
            models.UniqueConstraint(
                fields=["registration_body", "registration_number"], name="member_natural_key"
            ),
            # domain.md §1: a GMC reference number is 7 digits, leading zero allowed.
            models.CheckConstraint(
                condition=~Q(registration_body="GMC") | Q(registration_number__regex=r"^[0-9]{7}$"),
                name="member_gmc_number_format",
            ),
        ]
        indexes = [
            models.Index(fields=["registration_number"], name="member_reg_number"),
            models.Index(fields=["family_name", "given_name"], name="member_name"),
        ]

    def __str__(self) -> str:
        return f"{self.given_name} {self.family_name} ({self.key})"

    @property
    def key(self) -> str:
        """The member key of the API contract: `GMC:1234567`."""
        return f"{self.registration_body}:{self.registration_number}"

    def clean(self) -> None:
        # One member per natural key: imports and the API read member keys in upper case.
        self.registration_number = self.registration_number.strip().upper()
        if self.registration_body == self.RegistrationBody.GMC:
            validate_gmc_number(self.registration_number)


class Membership(models.Model):
    """A member's cover with a defence organisation over a period (end null: still a member).

    Routing tests membership on the incident date (domain.md §1), so periods must not overlap for
    one member and one organisation: PostgreSQL enforces that with an exclusion constraint added
    in migration 0002 (SQLite, used only by the demo, relies on the service check).
    """

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="memberships")
    organisation = models.ForeignKey(
        DefenceOrganisation, on_delete=models.PROTECT, related_name="memberships"
    )
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["member", "start_date"]
        constraints = [
            models.UniqueConstraint(
                fields=["member", "organisation", "start_date"], name="membership_natural_key"
            ),
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gte=F("start_date")),
                name="membership_ends_after_start",
            ),
        ]
        indexes = [
            models.Index(fields=["member", "start_date", "end_date"], name="membership_on_date"),
        ]

    def __str__(self) -> str:
        until = self.end_date or "open"
        return f"{self.member.key} {self.organisation.code} {self.start_date} to {until}"


class Employment(models.Model):
    """A member working at a practice; `employer` is the GP member who engaged or supervised them
    (domain.md §1, an assumption: unknown means no employer), used for the effective MDO."""

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="employments")
    practice = models.ForeignKey(Practice, on_delete=models.PROTECT, related_name="employments")
    employer = models.ForeignKey(
        Member,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="employees",
    )
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["member", "start_date"]
        constraints = [
            models.UniqueConstraint(
                fields=["member", "practice", "start_date"], name="employment_natural_key"
            ),
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gte=F("start_date")),
                name="employment_ends_after_start",
            ),
            models.CheckConstraint(
                condition=Q(employer__isnull=True) | ~Q(employer=F("member")),
                name="employment_not_self_employed",
            ),
        ]
        indexes = [
            models.Index(fields=["member", "start_date", "end_date"], name="employment_on_date"),
        ]

    def __str__(self) -> str:
        return f"{self.member.key} at {self.practice.ods_code} from {self.start_date}"
