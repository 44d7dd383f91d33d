from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q

from handlers.models import HandlerOrganisation
from members.models import Member, Practice
from members.validators import nhs_number_display, validate_nhs_number


class Stage(models.TextChoices):
    """Pre-Action Protocol for the Resolution of Clinical Disputes, then court (domain.md §5)."""

    RECORDS_REQUESTED = "records_requested", "Records requested"
    LETTER_OF_NOTIFICATION = "letter_of_notification", "Letter of notification"
    LETTER_OF_CLAIM = "letter_of_claim", "Letter of claim"
    INVESTIGATION = "investigation", "Investigation"
    LETTER_OF_RESPONSE = "letter_of_response", "Letter of response"
    NEGOTIATION = "negotiation", "Negotiation / ADR"
    PROCEEDINGS_ISSUED = "proceedings_issued", "Proceedings issued"
    SERVED = "served", "Served"
    SETTLED = "settled", "Settled"


class Status(models.TextChoices):
    OPEN = "open", "Open"
    CLOSED = "closed", "Closed"


class Outcome(models.TextChoices):
    CLOSED_WITH_DAMAGES = "closed_with_damages", "Closed with damages"
    CLOSED_WITHOUT_DAMAGES = "closed_without_damages", "Closed without damages"
    REDIRECTED_TO_MDO = "redirected_to_mdo", "Redirected to the MDO"
    NOT_A_CLAIM = "not_a_claim", "Not a claim"


class MatterType(models.TextChoices):
    CLAIM = "claim", "Claim in tort"
    MEDICO_LEGAL = "medico_legal", "Medico-legal matter (GMC, inquest, complaint, ...)"


class CareSetting(models.TextChoices):
    GENERAL_PRACTICE = "general_practice", "General practice (GMS/PMS/APMS)"
    TRUST = "trust", "NHS trust"
    INDEPENDENT_SECTOR = "independent_sector", "Independent-sector provider"
    OTHER = "other", "Other"


class Activity(models.TextChoices):
    NHS_PRIMARY_MEDICAL_SERVICES = "nhs_primary_medical_services", "NHS primary medical services"
    NHS_OTHER = "nhs_other", "Other NHS activity"
    PRIVATE = "private", "Private"
    FEE_PAYING = "fee_paying", "Fee-paying non-NHS"
    VOLUNTARY = "voluntary", "Voluntary"


# design.md §3.4: the claim dates that start a deadline, and those that meet one.
TRIGGER_DATE_FIELDS = (
    "records_requested_on",
    "letter_of_notification_on",
    "letter_of_claim_on",
    "claim_form_issued_on",
    "particulars_served_on",
    "acknowledgment_of_service_on",
    "defence_extended_to",
)
COMPLETION_DATE_FIELDS = (
    "records_disclosed_on",
    "letter_of_notification_acknowledged_on",
    "letter_of_claim_acknowledged_on",
    "letter_of_response_sent_on",
    "claim_form_served_on",
    "acknowledgment_of_service_on",
    "defence_filed_on",
)
# Claim fields that feed deadlines (design.md §3.4; domain.md §5 limitation): changing one
# recomputes the claim's deadlines. The status too: a closed claim's deadlines remind nobody.
DEADLINE_INPUT_FIELDS = frozenset(
    {
        "status",
        "notified_on",  # internal service levels may run from it
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


# The facts that routing reads (domain.md §4); changing one re-routes the claim.
ROUTING_FACT_FIELDS = (
    "matter_type",
    "care_setting",
    "activity",
    "coronavirus_response",
    "other_indemnity",
    "provider_cnst_member",
    "incident_date",
    "incident_date_from",
    "incident_date_to",
)
# The incident is one fact: a date, a range, or neither. A change giving any of these replaces
# the others (a date replaces a stored range, and a range a date).
INCIDENT_FIELDS = ("incident_date", "incident_date_from", "incident_date_to")


def incident_as_one_fact(values: dict) -> dict:
    """`values` (a change to a claim), with the incident fields it does not give cleared if it
    gives any of them."""
    if any(name in values for name in INCIDENT_FIELDS):
        return {**dict.fromkeys(INCIDENT_FIELDS), **values}
    return values


# What re-routes a claim when it changes: its facts, and its practice (which employment, and so
# which employing GP's MDO, counts when a clinician works at two practices).
REROUTE_FIELDS = frozenset({*ROUTING_FACT_FIELDS, "practice_id"})


class Claim(models.Model):
    # Unique by a constraint (Meta), not unique=True: references are matched whole, never by
    # prefix, so the pattern index Django adds beside a unique text column would cost every
    # claim written and serve no query.
    reference = models.CharField(max_length=20, editable=False)
    external_ref = models.CharField(
        max_length=100, blank=True, help_text="The sender's own reference; unique per sender."
    )
    source_organisation = models.ForeignKey(
        HandlerOrganisation,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="claims_sent",
        help_text="The organisation whose system sent this claim (the owner of external_ref).",
    )
    matter_type = models.CharField(max_length=16, choices=MatterType.choices)

    claimant_name = models.CharField(max_length=200)
    claimant_date_of_birth = models.DateField(null=True, blank=True)
    claimant_nhs_number = models.CharField(
        "claimant NHS number",
        max_length=10,
        blank=True,
        validators=[validate_nhs_number],
        help_text="10 digits, stored without spaces.",
    )
    claimant_date_of_death = models.DateField(null=True, blank=True)
    claimant_lacks_capacity = models.BooleanField(default=False)

    practice = models.ForeignKey(
        Practice, null=True, blank=True, on_delete=models.PROTECT, related_name="claims"
    )
    clinicians = models.ManyToManyField(
        Member, through="ClaimClinician", related_name="claims", blank=True
    )
    care_setting = models.CharField(max_length=32, choices=CareSetting.choices)
    activity = models.CharField(max_length=32, choices=Activity.choices)
    coronavirus_response = models.BooleanField(default=False)
    other_indemnity = models.BooleanField(default=False)
    provider_cnst_member = models.BooleanField(default=False)

    # Either one incident date, a range, or neither (unknown): see the constraints below.
    incident_date = models.DateField(null=True, blank=True)
    incident_date_from = models.DateField(null=True, blank=True)
    incident_date_to = models.DateField(null=True, blank=True)
    date_of_knowledge = models.DateField(null=True, blank=True)
    notified_on = models.DateField(
        null=True, blank=True, help_text="The date the claim reached its handler."
    )

    stage = models.CharField(max_length=32, choices=Stage.choices, default=Stage.LETTER_OF_CLAIM)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    outcome = models.CharField(max_length=32, choices=Outcome.choices, blank=True)

    records_requested_on = models.DateField(null=True, blank=True)
    letter_of_notification_on = models.DateField(null=True, blank=True)
    letter_of_claim_on = models.DateField(null=True, blank=True)
    claim_form_issued_on = models.DateField(null=True, blank=True)
    particulars_served_on = models.DateField(
        null=True, blank=True, help_text="Deemed date of service of the particulars of claim."
    )
    acknowledgment_of_service_on = models.DateField(null=True, blank=True)
    defence_extended_to = models.DateField(null=True, blank=True)

    records_disclosed_on = models.DateField(null=True, blank=True)
    letter_of_notification_acknowledged_on = models.DateField(null=True, blank=True)
    letter_of_claim_acknowledged_on = models.DateField(null=True, blank=True)
    letter_of_response_sent_on = models.DateField(null=True, blank=True)
    claim_form_served_on = models.DateField(null=True, blank=True)
    defence_filed_on = models.DateField(null=True, blank=True)

    description = models.TextField(blank=True)

    # Current routing, kept on the claim so lists filter by indexed columns; segments and the
    # decision history with its reasons are in ClaimSegment and RoutingDecision.
    # Not indexed: the scheme filter matches any segment (ClaimSegment, indexed), and every
    # index here is one more entry to write for each claim a re-route moves.
    schemes = models.CharField(
        max_length=100, blank=True, help_text="Sorted scheme codes, comma-joined."
    )
    lead_handler = models.CharField(max_length=16, blank=True)
    handlers = models.CharField(
        max_length=100, blank=True, help_text="Sorted handler codes of all segments, comma-joined."
    )
    flags = models.CharField(max_length=100, blank=True, help_text="Routing flags, comma-joined.")
    needs_triage = models.BooleanField(
        default=False, help_text="UNDETERMINED or MANUAL_REVIEW: in the caseworkers' triage queue."
    )
    handling_organisations = models.ManyToManyField(
        HandlerOrganisation, through="ClaimHandling", related_name="claims_handled", blank=True
    )
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_claims",
    )
    # Same NHS number, practice and incident date as a claim already recorded: flagged for a
    # caseworker to decide, never merged or dropped silently.
    possible_duplicate_of = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="possible_duplicates",
        help_text="An earlier claim with the same NHS number, practice and incident date.",
        # Indexed only where set (Meta.indexes): most claims are no one's duplicate.
        db_index=False,
    )

    # Optimistic locking: every service write bumps it; a stale If-Match is refused.
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["reference"], name="claim_reference_unique"),
            models.UniqueConstraint(
                fields=["source_organisation", "external_ref"],
                condition=~Q(external_ref=""),
                name="claim_external_ref_per_sender",
            ),
            models.CheckConstraint(
                condition=Q(incident_date_from__isnull=True)
                | Q(incident_date_to__isnull=True)
                | Q(incident_date_to__gte=F("incident_date_from")),
                name="claim_incident_range_ordered",
            ),
            models.CheckConstraint(
                condition=Q(incident_date_from__isnull=True, incident_date_to__isnull=True)
                | Q(incident_date_from__isnull=False, incident_date_to__isnull=False),
                name="claim_incident_range_has_both_ends",
            ),
            models.CheckConstraint(
                condition=Q(incident_date__isnull=True) | Q(incident_date_from__isnull=True),
                name="claim_incident_date_or_range",
            ),
            models.CheckConstraint(
                condition=Q(status="open", outcome="") | (Q(status="closed") & ~Q(outcome="")),
                name="claim_outcome_iff_closed",
            ),
            models.CheckConstraint(
                condition=Q(claimant_nhs_number="") | Q(claimant_nhs_number__regex=r"^[0-9]{10}$"),
                name="claim_nhs_number_digits",
            ),
            models.CheckConstraint(
                condition=Q(claimant_date_of_death__isnull=True)
                | Q(claimant_date_of_birth__isnull=True)
                | Q(claimant_date_of_death__gte=F("claimant_date_of_birth")),
                name="claim_death_after_birth",
            ),
            models.CheckConstraint(condition=Q(version__gte=1), name="claim_version_positive"),
        ]
        indexes = [
            models.Index(fields=["stage"], name="claim_stage"),
            models.Index(fields=["status", "stage"], name="claim_status_stage"),
            models.Index(fields=["incident_date"], name="claim_incident_date"),
            models.Index(fields=["notified_on"], name="claim_notified_on"),
            models.Index(fields=["claimant_name"], name="claim_claimant_name"),
            models.Index(fields=["external_ref"], name="claim_external_ref"),
            # The lists' order (newest first, the id breaking ties within one import batch)
            # read straight off the index, with no sort of a batch's rows.
            models.Index(fields=["created_at", "id"], name="claim_created_at_id"),
            # Equality only: a plain index, without the pattern index db_index adds to text.
            models.Index(fields=["lead_handler"], name="claim_lead_handler"),
            # The admin's triage queue (claims.selectors.claims_triage_queue, TRIAGE_ORDER).
            models.Index(
                F("needs_triage").desc(),
                "created_at",
                "id",
                condition=Q(status="open")
                & (Q(needs_triage=True) | Q(possible_duplicate_of__isnull=False)),
                name="claim_triage_open",
            ),
            # A claim's possible duplicates and the possible-duplicate filter; the rest, most
            # claims, point nowhere and cost no index entry when written.
            models.Index(
                fields=["possible_duplicate_of"],
                condition=Q(possible_duplicate_of__isnull=False),
                name="claim_possible_duplicate_of",
            ),
            # The incident-date filter matches any part of a range; ranges are few, so both
            # ends are indexed only where the claim has a range.
            models.Index(
                fields=["incident_date_from"],
                condition=Q(incident_date_from__isnull=False),
                name="claim_incident_from",
            ),
            models.Index(
                fields=["incident_date_to"],
                condition=Q(incident_date_to__isnull=False),
                name="claim_incident_to",
            ),
            # The flag filter: the rarer routing flag, newest first.
            models.Index(
                "created_at",
                "id",
                condition=Q(flags__contains="APPORTIONMENT_REQUIRED"),
                name="claim_apportionment",
            ),
            # Also the index of a search by NHS number (its first column): one index where two
            # would each cost every claim written.
            models.Index(
                fields=["claimant_nhs_number", "practice", "incident_date"],
                name="claim_duplicate_key",
            ),
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def claimant_nhs_number_display(self) -> str:
        return nhs_number_display(self.claimant_nhs_number) if self.claimant_nhs_number else ""


class ClaimClinician(models.Model):
    """A clinician involved in a claim; `position` keeps the order the sender gave (routing
    orders segments by clinician)."""

    # No index of its own: claim_clinician_once (claim, member) serves lookups by claim.
    claim = models.ForeignKey(
        Claim, on_delete=models.CASCADE, related_name="claim_clinicians", db_index=False
    )
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="claim_clinicians")
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["claim", "position"]
        constraints = [
            models.UniqueConstraint(fields=["claim", "member"], name="claim_clinician_once"),
        ]

    def __str__(self) -> str:
        return f"{self.claim_id}: {self.member_id}"


class ClaimHandling(models.Model):
    """An organisation that handles some part of a claim. The portal shows a claim to exactly
    these organisations (domain.md §4: visible to every organisation handling a segment)."""

    # No index of its own: claim_handling_once (claim, organisation) serves lookups by claim.
    claim = models.ForeignKey(
        Claim, on_delete=models.CASCADE, related_name="handlings", db_index=False
    )
    # No index of its own either: claim_handling_by_org (organisation, claim) serves it.
    organisation = models.ForeignKey(
        HandlerOrganisation, on_delete=models.PROTECT, related_name="handlings", db_index=False
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["claim", "organisation"], name="claim_handling_once"),
        ]
        indexes = [models.Index(fields=["organisation", "claim"], name="claim_handling_by_org")]

    def __str__(self) -> str:
        return f"{self.claim_id} handled by {self.organisation_id}"


class ClaimReferenceCounter(models.Model):
    """The last number used for each year's `CL-YYYY-NNNNNN` references; a row lock hands out
    a block of numbers at once so bulk imports take one round trip, not one per claim."""

    year = models.PositiveIntegerField(primary_key=True)
    last_number = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.year}: {self.last_number}"


class ClaimSegment(models.Model):
    """One segment of the claim's current routing decision (domain.md §4): a clinician (or none)
    over a stretch of the incident, with its scheme and handler. Replaced on every re-route;
    the history is in RoutingDecision."""

    # No index of its own: claim_segment_position (claim, position) serves lookups by claim.
    claim = models.ForeignKey(
        Claim, on_delete=models.CASCADE, related_name="segments", db_index=False
    )
    clinician = models.ForeignKey(
        Member, null=True, blank=True, on_delete=models.PROTECT, related_name="claim_segments"
    )
    position = models.PositiveSmallIntegerField()
    start_date = models.DateField(null=True, blank=True)
    end_date = models.DateField(null=True, blank=True)
    scheme = models.CharField(max_length=32)
    # An organisation code, PROVIDER, or blank for nobody.
    handler = models.CharField(max_length=16, blank=True)

    class Meta:
        ordering = ["claim", "position"]
        constraints = [
            models.UniqueConstraint(fields=["claim", "position"], name="claim_segment_position"),
        ]
        indexes = [
            models.Index(fields=["scheme", "claim"], name="claim_segment_scheme"),
            models.Index(fields=["handler", "claim"], name="claim_segment_handler"),
        ]

    def __str__(self) -> str:
        return f"{self.claim_id}#{self.position} {self.scheme} {self.handler or '-'}"


class RoutingRuling(models.Model):
    """The facts a routing decision read and what it decided (design.md §3.2: schemes, lead
    handler, handlers, flags, segments, reasons, rule version, decision date), stored once and
    shared by every decision taken on identical facts with an identical outcome. A re-route of
    100,000 claims meets the same facts thousands of times; each decision row points here rather
    than repeating a few kilobytes of reasons. Never changed or deleted."""

    key = models.UUIDField(
        primary_key=True, editable=False, help_text="A hash of the facts and the outcome."
    )
    facts = models.JSONField()
    outcome = models.JSONField()

    def __str__(self) -> str:
        return f"{', '.join(self.outcome.get('schemes', []))} ({self.key})"


class RoutingDecision(models.Model):
    """A routing decision as it was taken: the facts read, the outcome and its reasons (in the
    shared ruling), the rule version and decision date, who or what decided, and what it
    replaced. A row is written when a claim is first routed and whenever its outcome changes (a
    move). Read through claims.selectors.claim_routing_history and claim_routing_current."""

    # No index of its own: routing_decision_claim (claim, decided_at) serves lookups by claim.
    claim = models.ForeignKey(
        Claim, on_delete=models.CASCADE, related_name="routing_decisions", db_index=False
    )
    decided_at = models.DateTimeField(auto_now_add=True)
    decision_date = models.DateField()
    # Kept, without a database constraint, as AuditEvent.actor is (one decision a claim imported).
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="routing_decisions",
        db_constraint=False,
    )
    decided_by_label = models.CharField(max_length=150, blank=True)
    cause = models.CharField(max_length=200, help_text="Why the claim was (re-)routed.")
    rule_version = models.CharField(max_length=32)
    ruling = models.ForeignKey(
        RoutingRuling, on_delete=models.PROTECT, related_name="decisions", db_index=False
    )
    previous = models.JSONField(
        null=True, blank=True, help_text="Schemes, lead handler and handlers before this decision."
    )
    schemes = models.CharField(max_length=100)
    lead_handler = models.CharField(max_length=16, blank=True)

    class Meta:
        ordering = ["-decided_at", "-id"]
        indexes = [models.Index(fields=["claim", "decided_at"], name="routing_decision_claim")]

    def __str__(self) -> str:
        return f"{self.claim_id} {self.schemes} -> {self.lead_handler or 'nobody'}"

    @property
    def facts(self) -> dict:
        return self.ruling.facts

    @property
    def outcome(self) -> dict:
        return self.ruling.outcome


class RoutingJob(models.Model):
    """A re-route running as a Celery task (an agreement applied, a handover falling due), with
    progress a client can poll."""

    class Kind(models.TextChoices):
        AGREEMENT = "agreement", "Agreement applied"
        HANDOVER = "handover", "Daily handover re-route"

    class JobStatus(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    agreement = models.ForeignKey(
        "schemes.ElsAgreement",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="routing_jobs",
    )
    decision_date = models.DateField()
    status = models.CharField(max_length=8, choices=JobStatus.choices, default=JobStatus.QUEUED)
    rows_total = models.PositiveIntegerField(default=0)
    rows_done = models.PositiveIntegerField(default=0)
    moved = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="routing_jobs",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["kind", "decision_date"], name="routing_job_kind_date")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.decision_date} ({self.status})"


class Deadline(models.Model):
    """A deadline of a claim (domain.md §5, design.md §3.4), computed from the claim's dates by
    claims.deadlines and kept in step by claims.deadline_services. `remind_on` is the next day a
    reminder is due, so the daily sweep finds work by one indexed column."""

    class DeadlineStatus(models.TextChoices):
        OPEN = "open", "Open"
        MET = "met", "Met"
        MISSED = "missed", "Missed"
        WAIVED = "waived", "Waived"

    # Found by claim through the (claim, kind) unique index; a second index on claim alone
    # would only cost every deadline written.
    claim = models.ForeignKey(
        Claim, on_delete=models.CASCADE, related_name="deadlines", db_index=False
    )
    kind = models.CharField(max_length=64)
    category = models.CharField(max_length=16)
    due_on = models.DateField(null=True, blank=True)
    suspended = models.BooleanField(default=False)
    status = models.CharField(
        max_length=8, choices=DeadlineStatus.choices, default=DeadlineStatus.OPEN
    )
    met_on = models.DateField(null=True, blank=True)
    non_working_day = models.BooleanField(default=False)
    source = models.CharField(max_length=300)
    waived_reason = models.TextField(blank=True)
    waived_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="waived_deadlines",
        # Indexed only where set (deadline_waived_by): nearly every deadline has no waiver, and
        # an import writes three deadlines a claim.
        db_index=False,
    )
    remind_on = models.DateField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["due_on", "kind"]
        constraints = [
            models.UniqueConstraint(fields=["claim", "kind"], name="deadline_once_per_kind"),
            models.CheckConstraint(
                condition=Q(due_on__isnull=False) | Q(suspended=True),
                name="deadline_dated_unless_suspended",
            ),
            models.CheckConstraint(
                condition=~Q(status="waived") | ~Q(waived_reason=""),
                name="deadline_waived_with_reason",
            ),
        ]
        indexes = [
            models.Index(
                fields=["due_on"], condition=Q(status="open"), name="deadline_open_due_on"
            ),
            models.Index(
                fields=["remind_on"], condition=Q(status="open"), name="deadline_open_remind_on"
            ),
            models.Index(fields=["kind", "due_on"], name="deadline_kind_due_on"),
            models.Index(
                fields=["waived_by"],
                condition=Q(waived_by__isnull=False),
                name="deadline_waived_by",
            ),
            # Overdue claims and missed deadlines (open past their day, or marked missed).
            models.Index(
                fields=["due_on", "claim"],
                condition=Q(status__in=["open", "missed"]),
                name="deadline_unmet_due_on",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} due {self.due_on or 'suspended'} ({self.status})"


class ServiceLevel(models.Model):
    """An internal service level (domain.md §5, assumption: configurable data): a deadline of
    its own kind, `period` `unit`s after a claim date, moved off a weekend or bank holiday to
    the next working day, and met when someone records it done on the deadline itself (every
    completion date of a claim already meets a protocol or court deadline, which recording an
    internal one must not touch). Caseworkers keep them in the admin; each change is applied to
    the open claims' deadlines by a background job."""

    class Unit(models.TextChoices):
        DAYS = "days", "Days"
        WORKING_DAYS = "working_days", "Working days"
        MONTHS = "months", "Months"

    # The dates a service level may run from and be met by: the claim's own.
    TRIGGERS = ("notified_on", *TRIGGER_DATE_FIELDS)

    kind = models.SlugField(
        max_length=64,
        unique=True,
        help_text="The deadline's kind, lower case with underscores, e.g. acknowledge_new_claim.",
    )
    name = models.CharField(max_length=200, help_text="What is to be done, as the lists show it.")
    trigger = models.CharField(
        max_length=64,
        choices=[(name, name.replace("_", " ").capitalize()) for name in TRIGGERS],
        help_text="The claim date the period runs from.",
    )
    period = models.PositiveSmallIntegerField(validators=[MinValueValidator(1)])
    unit = models.CharField(max_length=16, choices=Unit.choices)
    active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["kind"]
        constraints = [
            models.CheckConstraint(
                condition=Q(period__gte=1), name="service_level_period_positive"
            ),
            models.CheckConstraint(
                condition=Q(kind__regex=r"^[a-z][a-z0-9_]*$"), name="service_level_kind_shape"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        from claims.deadlines import DEFAULT_RULES

        self.kind = (self.kind or "").strip().lower().replace("-", "_")
        if self.kind in {rule.kind for rule in DEFAULT_RULES} | {"limitation"}:
            raise ValidationError(
                {"kind": "That is a protocol, court or limitation deadline's kind; choose another."}
            )


class DeadlineChange(models.Model):
    """The history of one deadline: every computed or human change with who and why."""

    deadline = models.ForeignKey(Deadline, on_delete=models.CASCADE, related_name="history")
    at = models.DateTimeField(auto_now_add=True)
    # Kept, without a database constraint, as AuditEvent.actor is (three changes a claim imported).
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        db_constraint=False,
    )
    actor_label = models.CharField(max_length=150, blank=True)
    reason = models.CharField(max_length=300)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["deadline", "at", "id"]

    def __str__(self) -> str:
        return f"{self.deadline_id} {self.at:%Y-%m-%d} {self.reason}"


class Notification(models.Model):
    """Something a person is told: in the in-app inbox, and by e-mail. `dedupe_key` is unique, so
    a sweep run twice, or two sweeps at once, tell each person each thing once."""

    class Kind(models.TextChoices):
        DEADLINE_REMINDER = "deadline_reminder", "Deadline reminder"
        DEADLINE_MISSED = "deadline_missed", "Deadline missed"
        DEADLINE_ESCALATED = "deadline_escalated", "Missed deadline escalated"
        CLAIM_MOVED_IN = "claim_moved_in", "Claim moved to your organisation"
        CLAIM_MOVED_OUT = "claim_moved_out", "Claim moved away from your organisation"
        CLAIM_ASSIGNED = "claim_assigned", "Claim assigned to you"
        CLAIM_ROUTED = "claim_routed", "New claim routed to your organisation"
        IMPORT_FINISHED = "import_finished", "Import finished"

    class EmailStatus(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        NO_ADDRESS = "no_address", "No address"
        # The claim moved away before the e-mail went: the inbox keeps it, without a link.
        WITHHELD = "withheld", "Not sent: the claim moved away"

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    claim = models.ForeignKey(
        Claim, null=True, blank=True, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(max_length=32, choices=Kind.choices)
    message = models.TextField()
    dedupe_key = models.CharField(max_length=200, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)
    email_status = models.CharField(
        max_length=12, choices=EmailStatus.choices, default=EmailStatus.PENDING
    )
    email_attempts = models.PositiveSmallIntegerField(default=0)
    email_error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["recipient", "read_at", "created_at"], name="notification_inbox"),
        ]

    def __str__(self) -> str:
        return f"{self.recipient_id} {self.kind} {self.created_at:%Y-%m-%d}"


class MoneyHead(models.TextChoices):
    """The three heads of a claim's money (domain.md §6)."""

    DAMAGES = "damages", "Damages"
    CLAIMANT_COSTS = "claimant_costs", "Claimant costs"
    DEFENCE_COSTS = "defence_costs", "Defence costs"


_PENCE = {"max_digits": 14, "decimal_places": 2}


class Reserve(models.Model):
    """What a claim is expected to cost under one head. A revision is a new row, so the history
    is the table itself; the current reserve of a head is its latest row."""

    claim = models.ForeignKey(Claim, on_delete=models.CASCADE, related_name="reserves")
    head = models.CharField(max_length=16, choices=MoneyHead.choices)
    amount = models.DecimalField(**_PENCE, validators=[MinValueValidator(Decimal("0"))])
    reason = models.CharField(max_length=300, blank=True)
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    set_by_label = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["claim", "head", "-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="reserve_not_negative"),
        ]
        indexes = [models.Index(fields=["claim", "head", "-created_at"], name="reserve_latest")]

    def __str__(self) -> str:
        return f"{self.claim_id} {self.head} reserve £{self.amount}"


class Payment(models.Model):
    """Money actually paid on a claim, under one head."""

    class PayeeType(models.TextChoices):
        CLAIMANT = "claimant", "Claimant"
        CLAIMANT_SOLICITOR = "claimant_solicitor", "Claimant's solicitor"
        DEFENCE_SOLICITOR = "defence_solicitor", "Panel (defence) solicitor"
        EXPERT = "expert", "Expert"
        COUNSEL = "counsel", "Counsel"
        OTHER = "other", "Other"

    claim = models.ForeignKey(Claim, on_delete=models.CASCADE, related_name="payments")
    head = models.CharField(max_length=16, choices=MoneyHead.choices)
    amount = models.DecimalField(**_PENCE, validators=[MinValueValidator(Decimal("0.01"))])
    paid_on = models.DateField()
    payee_type = models.CharField(max_length=20, choices=PayeeType.choices)
    payee_name = models.CharField(max_length=200, blank=True)
    reference = models.CharField(max_length=100, blank=True, help_text="Invoice or payment ref.")
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    recorded_by_label = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["claim", "paid_on", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_positive"),
        ]
        indexes = [models.Index(fields=["claim", "head"], name="payment_claim_head")]

    def __str__(self) -> str:
        return f"{self.claim_id} {self.head} paid £{self.amount} on {self.paid_on}"


class ClaimNote(models.Model):
    """A file note on a claim: who wrote what, when. Notes are never edited or deleted."""

    claim = models.ForeignKey(Claim, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    author_label = models.CharField(max_length=150, blank=True)
    text = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["claim", "-created_at", "-id"]
        indexes = [models.Index(fields=["claim", "-created_at"], name="claim_note_latest")]

    def __str__(self) -> str:
        return f"{self.claim_id} note {self.created_at:%Y-%m-%d}"


class ImportBatch(models.Model):
    """One bulk import request (design.md §3.1): what was sent, by whom, under which
    Idempotency-Key, and how it went, row by row. Large batches run as a Celery task and report
    progress here."""

    class Kind(models.TextChoices):
        PRACTICES = "practices", "Practices"
        MEMBERS = "members", "Members"
        MEMBERSHIPS = "memberships", "Memberships"
        EMPLOYMENTS = "employments", "Employments"
        CLAIMS = "claims", "Claims"

    class Mode(models.TextChoices):
        ATOMIC = "atomic", "All rows or none"
        PARTIAL = "partial", "Good rows kept, bad rows reported"

    class BatchStatus(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        REJECTED = "rejected", "Rejected"
        FAILED = "failed", "Failed"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    mode = models.CharField(max_length=8, choices=Mode.choices, default=Mode.ATOMIC)
    status = models.CharField(max_length=8, choices=BatchStatus.choices, default=BatchStatus.QUEUED)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="import_batches",
    )
    organisation = models.ForeignKey(
        HandlerOrganisation,
        on_delete=models.PROTECT,
        related_name="import_batches",
        help_text="The sending organisation: owner of the claims' external references.",
    )
    idempotency_key = models.CharField(max_length=200, blank=True)
    body_hash = models.CharField(max_length=64, help_text="SHA-256 of kind, mode and body.")
    content_type = models.CharField(max_length=100)
    queued = models.BooleanField(
        default=False, help_text="Large: answered 202 and run by a Celery task."
    )
    rows_total = models.PositiveIntegerField(default=0)
    rows_done = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)
    failure = models.TextField(blank=True, help_text="Why a batch failed as a whole.")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # Two identical requests racing each other create one batch (design.md §3.1).
            models.UniqueConstraint(
                fields=["created_by", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="import_batch_idempotency_key",
            ),
            models.CheckConstraint(
                condition=Q(rows_done__lte=F("rows_total")), name="import_batch_progress"
            ),
        ]
        indexes = [
            models.Index(fields=["created_by", "-created_at"], name="import_batch_by_user"),
            models.Index(fields=["status", "created_at"], name="import_batch_status"),
        ]

    def __str__(self) -> str:
        return f"import {self.pk} {self.kind} ({self.status})"


class ImportChunk(models.Model):
    """A queued batch's body, kept in pieces so that a 100,000-row upload streams in and out
    without being held whole in memory; deleted once the batch has finished."""

    batch = models.ForeignKey(ImportBatch, on_delete=models.CASCADE, related_name="chunks")
    seq = models.PositiveIntegerField()
    body = models.BinaryField()

    class Meta:
        ordering = ["batch", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["batch", "seq"], name="import_chunk_order"),
        ]

    def __str__(self) -> str:
        return f"chunk {self.seq} of import {self.batch_id}"
