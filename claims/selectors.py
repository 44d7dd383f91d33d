"""Reads of claims, always through who may see them (design.md §2): enforced here, on the
queryset, before any view code runs."""

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import OuterRef, Prefetch, Q, QuerySet, Subquery, Sum
from django.utils import timezone

from claims.models import (
    COMPLETION_DATE_FIELDS,
    TRIGGER_DATE_FIELDS,
    Claim,
    ClaimClinician,
    ClaimHandling,
    ClaimNote,
    ClaimSegment,
    Deadline,
    DeadlineChange,
    MoneyHead,
    Notification,
    Payment,
    Reserve,
    RoutingDecision,
)
from handlers.models import Handler
from handlers.permissions import handler_for, is_caseworker, sees_every_claim
from members.validators import nhs_number_normalise


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
    return _handled_by(handler.organisation_id)


def _handled_by(organisation_id: int) -> QuerySet[Claim]:
    return Claim.objects.filter(
        pk__in=ClaimHandling.objects.filter(organisation_id=organisation_id).values("claim_id")
    )


# Roles that work claims their organisation handles (design.md §2): MDO handlers and team leads.
_CLAIM_WORKERS = (Handler.Role.HANDLER, Handler.Role.TEAM_LEAD)


def claims_editable_by(*, user) -> QuerySet[Claim]:
    """Caseworkers change any claim; MDO handlers and team leads those their organisation
    handles; auditors and importers none (importers write only through imports)."""
    if is_caseworker(user):
        return Claim.objects.all()
    handler = handler_for(user)
    if handler is None or handler.role not in _CLAIM_WORKERS:
        return Claim.objects.none()
    return _handled_by(handler.organisation_id)


# Claim fields an MDO handler may change (design.md §2: stage, notes, reserves, payments, the
# dates that meet deadlines). Routing facts, status and outcome stay with NHSR caseworkers.
HANDLER_EDITABLE_FIELDS = frozenset(
    {"stage", "description", *TRIGGER_DATE_FIELDS, *COMPLETION_DATE_FIELDS}
)


def claim_fields_editable_by(*, user, all_fields: frozenset[str]) -> frozenset[str]:
    """Which of a claim's editable fields this person may change."""
    if user is None or is_caseworker(user):
        return all_fields
    handler = handler_for(user)
    if handler is None or handler.role not in _CLAIM_WORKERS:
        return frozenset()
    return all_fields & HANDLER_EDITABLE_FIELDS


POSSIBLE_DUPLICATE = "POSSIBLE_DUPLICATE"


def claims_search(claims: QuerySet[Claim], q: str) -> QuerySet[Claim]:
    """design.md §3.3 `q`: reference, external reference, claimant name, or NHS number with or
    without spaces. A reference or NHS number is an exact, indexed match; anything else also
    matches part of the claimant's name."""
    q = " ".join(q.split())
    if not q:
        return claims
    digits = nhs_number_normalise(q)
    if digits.isdigit() and len(digits) == 10:
        return claims.filter(claimant_nhs_number=digits)
    return claims.filter(Q(reference=q.upper()) | Q(external_ref=q) | Q(claimant_name__icontains=q))


def claims_overdue(claims: QuerySet[Claim], today: datetime.date | None = None) -> QuerySet[Claim]:
    """Claims with any unmet deadline past its day (open, or already marked missed)."""
    today = today or timezone.localdate()
    return claims.filter(
        pk__in=Deadline.objects.filter(status__in=["open", "missed"], due_on__lt=today).values(
            "claim_id"
        )
    )


def claims_deadline_due(
    claims: QuerySet[Claim], *, until: datetime.date, today: datetime.date | None = None
) -> QuerySet[Claim]:
    """Claims with an open deadline falling due between today and `until`, both included."""
    today = today or timezone.localdate()
    return claims.filter(
        pk__in=Deadline.objects.filter(status="open", due_on__gte=today, due_on__lte=until).values(
            "claim_id"
        )
    )


def claims_filter(claims: QuerySet[Claim], **filters) -> QuerySet[Claim]:
    """The filters of design.md §3.3, each optional (None or absent: not applied). `scheme` and
    `handler` match any segment of the current decision; the incident filters match a date or
    any part of a range, inclusive."""
    if filters.get("scheme"):
        claims = claims.filter(
            pk__in=ClaimSegment.objects.filter(scheme=filters["scheme"]).values("claim_id")
        )
    if filters.get("handler"):
        claims = claims.filter(
            pk__in=ClaimSegment.objects.filter(handler=filters["handler"]).values("claim_id")
        )
    for name in ("lead_handler", "stage", "status"):
        if filters.get(name):
            claims = claims.filter(**{name: filters[name]})
    if filters.get("practice"):
        claims = claims.filter(practice__ods_code=filters["practice"])
    if filters.get("incident_date_after"):
        after = filters["incident_date_after"]
        claims = claims.filter(Q(incident_date__gte=after) | Q(incident_date_to__gte=after))
    if filters.get("incident_date_before"):
        before = filters["incident_date_before"]
        claims = claims.filter(Q(incident_date__lte=before) | Q(incident_date_from__lte=before))
    if filters.get("notified_after"):
        claims = claims.filter(notified_on__gte=filters["notified_after"])
    if filters.get("notified_before"):
        claims = claims.filter(notified_on__lte=filters["notified_before"])
    if filters.get("overdue"):
        claims = claims_overdue(claims)
    if filters.get("deadline_due_before"):
        claims = claims_deadline_due(claims, until=filters["deadline_due_before"])
    if filters.get("flag") == POSSIBLE_DUPLICATE:
        claims = claims.filter(possible_duplicate_of__isnull=False)
    elif filters.get("flag"):
        claims = claims.filter(flags__contains=filters["flag"])
    if filters.get("triage"):
        claims = claims.filter(needs_triage=True)
    if filters.get("assigned_to"):
        claims = claims.filter(assigned_to=filters["assigned_to"])
    if filters.get("q"):
        claims = claims_search(claims, filters["q"])
    return claims


def deadlines_visible_to(*, user) -> QuerySet[Deadline]:
    return Deadline.objects.filter(claim__in=claims_visible_to(user=user))


@dataclass(frozen=True)
class MoneyLine:
    head: str
    label: str
    reserve: Decimal
    paid: Decimal

    @property
    def outstanding(self) -> Decimal:
        return max(self.reserve - self.paid, Decimal("0.00"))


@dataclass(frozen=True)
class MoneySummary:
    lines: tuple[MoneyLine, ...]

    @property
    def reserve(self) -> Decimal:
        return sum((line.reserve for line in self.lines), Decimal("0.00"))

    @property
    def paid(self) -> Decimal:
        return sum((line.paid for line in self.lines), Decimal("0.00"))

    @property
    def outstanding(self) -> Decimal:
        return sum((line.outstanding for line in self.lines), Decimal("0.00"))


def claim_money(*, claim: Claim) -> MoneySummary:
    """Current reserve (the latest revision) and payments to date, per head and in total. Two
    queries whatever the history."""
    latest: dict[str, Decimal] = {}
    # A claim has a handful of revisions; DISTINCT ON would tie this to PostgreSQL (the demo
    # runs on SQLite).
    for head, amount in (
        Reserve.objects.filter(claim=claim)
        .order_by("-created_at", "-id")
        .values_list("head", "amount")
    ):
        latest.setdefault(head, amount)
    paid = dict(
        Payment.objects.filter(claim=claim)
        .values("head")
        .annotate(total=Sum("amount"))
        .values_list("head", "total")
    )
    zero = Decimal("0.00")
    return MoneySummary(
        tuple(
            MoneyLine(head, label, latest.get(head, zero), paid.get(head) or zero)
            for head, label in MoneyHead.choices
        )
    )


def claim_routing_current(*, claim: Claim) -> dict | None:
    """The claim's current routing as design.md §3.3 shows it: the answer of §3.2 (schemes,
    lead handler, handlers, flags, segments, reasons, rule version, decision date) and when it
    was decided. None for a claim never routed."""
    decision = (
        RoutingDecision.objects.filter(claim=claim)
        .order_by("-decided_at", "-id")
        .values("outcome", "decided_at")
        .first()
    )
    if decision is None:
        return None
    return {**decision["outcome"], "decided_at": decision["decided_at"]}


def claim_routing_history(*, claim: Claim) -> QuerySet[RoutingDecision]:
    """Every routing decision taken on the claim, newest first, with who or what decided."""
    return (
        RoutingDecision.objects.filter(claim=claim)
        .select_related("decided_by")
        .order_by("-decided_at", "-id")
    )


def claims_next_deadlines(claim_ids) -> dict[int, Deadline]:
    """The soonest open, dated deadline of each claim: one query for a page of claims."""
    soonest: dict[int, Deadline] = {}
    for deadline in Deadline.objects.filter(
        claim_id__in=list(claim_ids), status=Deadline.DeadlineStatus.OPEN, due_on__isnull=False
    ).order_by("claim_id", "due_on", "pk"):
        soonest.setdefault(deadline.claim_id, deadline)
    return soonest


def claim_history(*, claim: Claim, limit: int = 200):
    """What happened to the claim, newest first, from the audit trail; views of it are in the
    access log, not here."""
    from audit.selectors import audit_events_for

    return audit_events_for(subject=claim).exclude(action="claim.view")[:limit]


def claims_for_list(claims: QuerySet[Claim]) -> QuerySet[Claim]:
    """What a list of claims shows in one query: the practice, the assignee and the next open
    deadline (`next_deadline_on`, `next_deadline_kind`)."""
    next_open = Deadline.objects.filter(
        claim_id=OuterRef("pk"), status="open", due_on__isnull=False
    ).order_by("due_on", "kind")
    return claims.select_related("practice", "assigned_to").annotate(
        next_deadline_on=Subquery(next_open.values("due_on")[:1]),
        next_deadline_kind=Subquery(next_open.values("kind")[:1]),
    )


def claim_for_page(*, user, reference: str) -> Claim | None:
    """One claim as its page shows it, if this person may see it (None otherwise, so a claim of
    another organisation and one that does not exist look the same). A fixed number of queries
    whatever the claim holds."""
    return (
        claims_visible_to(user=user)
        .filter(reference=reference)
        .select_related("practice", "assigned_to", "source_organisation")
        .prefetch_related(
            Prefetch(
                "claim_clinicians",
                queryset=ClaimClinician.objects.select_related("member").order_by("position"),
            ),
            Prefetch(
                "segments",
                queryset=ClaimSegment.objects.select_related("clinician").order_by("position"),
            ),
            Prefetch(
                "deadlines",
                queryset=Deadline.objects.order_by("due_on", "kind").prefetch_related(
                    Prefetch(
                        "history",
                        queryset=DeadlineChange.objects.select_related("actor").order_by(
                            "-at", "-id"
                        ),
                    )
                ),
            ),
            Prefetch(
                "notes",
                queryset=ClaimNote.objects.select_related("author").order_by("-created_at", "-id"),
            ),
            Prefetch(
                "reserves",
                queryset=Reserve.objects.select_related("set_by").order_by("-created_at", "-id"),
            ),
            Prefetch(
                "payments",
                queryset=Payment.objects.select_related("recorded_by").order_by("-paid_on", "-id"),
            ),
        )
        .first()
    )


def deadlines_open_for(
    *, user, until: datetime.date | None = None, overdue: bool = False
) -> QuerySet[Deadline]:
    """Unmet deadlines of the open claims this person sees: due from today up to `until`, or,
    with `overdue`, past their day (still open, or marked missed by the sweep)."""
    today = timezone.localdate()
    deadlines = deadlines_visible_to(user=user).filter(claim__status="open")
    if overdue:
        deadlines = deadlines.filter(status__in=["open", "missed"], due_on__lt=today)
    else:
        deadlines = deadlines.filter(status="open", due_on__gte=today)
        if until is not None:
            deadlines = deadlines.filter(due_on__lte=until)
    return deadlines.select_related("claim").order_by("due_on", "claim__reference", "kind")


def notifications_for(*, user, unread: bool = False) -> QuerySet[Notification]:
    """A person's own notifications, newest first; never anyone else's."""
    notifications = Notification.objects.filter(recipient=user)
    if unread:
        notifications = notifications.filter(read_at__isnull=True)
    return notifications.select_related("claim").order_by("-created_at", "-id")


def claims_visible_among(*, user, claim_ids) -> set[int]:
    """Which of these claims this person may still see (a claim can move away after a
    notification about it was sent)."""
    return set(
        claims_visible_to(user=user).filter(pk__in=list(claim_ids)).values_list("pk", flat=True)
    )
