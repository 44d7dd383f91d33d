"""Reads of claims, always through who may see them (design.md §2): enforced here, on the
queryset, before any view code runs."""

import datetime
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import (
    Count,
    Exists,
    F,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
)
from django.db.models.functions import Coalesce, TruncMonth
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
    Stage,
)
from claims.routing_services import Placement
from config.postgres_copy import AnyOf, array_literal
from handlers.models import NHSR_CODE, Handler
from handlers.permissions import handler_for, is_caseworker, sees_every_claim
from members.models import Employment, Member, Membership, Practice
from members.validators import nhs_number_normalise
from schemes.selectors import period_covers


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
        # Ten digits are most likely an NHS number, but a sender's reference may be digits too.
        return claims.filter(Q(claimant_nhs_number=digits) | Q(external_ref=q))
    return claims.filter(Q(reference=q.upper()) | Q(external_ref=q) | Q(claimant_name__icontains=q))


def claims_overdue(claims: QuerySet[Claim], today: datetime.date | None = None) -> QuerySet[Claim]:
    """Claims with any unmet deadline past its day (open, or already marked missed)."""
    today = today or timezone.localdate()
    return claims.filter(
        pk__in=Deadline.objects.filter(status__in=UNMET_DEADLINE_STATUSES, due_on__lt=today).values(
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
    after, before = filters.get("incident_date_after"), filters.get("incident_date_before")
    if after and before:
        # Both ends as one condition per column, so each arm is one index range (the single
        # dates' and, through claim_incident_to, the ranges').
        claims = claims.filter(
            Q(incident_date__gte=after, incident_date__lte=before)
            | Q(incident_date_to__gte=after, incident_date_from__lte=before)
        )
    elif after:
        claims = claims.filter(Q(incident_date__gte=after) | Q(incident_date_to__gte=after))
    elif before:
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


def claims_current_reserves(claim_ids) -> dict[int, dict[str, Decimal]]:
    """The latest reserve of each head of each claim: one query. (A claim has a handful of
    revisions; DISTINCT ON would tie this to PostgreSQL, and the demo runs on SQLite.)"""
    current: dict[int, dict[str, Decimal]] = {}
    for claim_id, head, amount in (
        Reserve.objects.filter(AnyOf(F("claim_id"), list(claim_ids)))
        .order_by("claim_id", "head", "-created_at", "-id")
        .values_list("claim_id", "head", "amount")
    ):
        current.setdefault(claim_id, {}).setdefault(head, amount)
    return current


def claim_money(*, claim: Claim) -> MoneySummary:
    """Current reserve (the latest revision) and payments to date, per head and in total. Two
    queries whatever the history."""
    latest = claims_current_reserves([claim.pk]).get(claim.pk, {})
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
    was decided. None for a claim never routed. One query."""
    return routing_current_in(claim_routing_history(claim=claim, limit=1))


def routing_current_in(history: list[dict]) -> dict | None:
    """The current routing read off a claim's routing history (newest first), for a page that
    shows both without reading the latest decision twice."""
    if not history:
        return None
    return {**history[0]["outcome"], "decided_at": history[0]["decided_at"]}


def claim_routing_history(*, claim: Claim, limit: int | None = None) -> list[dict]:
    """Every routing decision taken on the claim (or the latest `limit`), newest first: when, on
    which decision date and rule version, who or what decided and why, the facts read, the
    outcome (the answer of design.md §3.2, reasons included), and where the claim was before and
    after. One query."""
    history = []
    decisions = (
        RoutingDecision.objects.filter(claim=claim)
        .select_related("ruling", "decided_by")
        .order_by("-decided_at", "-id")
    )
    for decision in decisions[:limit] if limit is not None else decisions:
        outcome = decision.ruling.outcome
        history.append(
            {
                "decided_at": decision.decided_at,
                "decision_date": decision.decision_date,
                "decided_by": decision.decided_by.get_username() if decision.decided_by else None,
                "decided_by_label": decision.decided_by_label,
                "cause": decision.cause,
                "rule_version": decision.rule_version,
                "facts": decision.ruling.facts,
                "outcome": outcome,
                "before": decision.previous,
                "after": {name: outcome.get(name) for name in Placement._fields},
            }
        )
    return history


def claims_next_deadlines(claim_ids) -> dict[int, Deadline]:
    """The soonest unmet, dated deadline of each claim (open, or already missed: a missed one is
    never hidden behind a later open one, as in claims_with_next_deadline): one query for a
    page of claims."""
    soonest: dict[int, Deadline] = {}
    for deadline in Deadline.objects.filter(
        AnyOf(F("claim_id"), list(claim_ids)),
        status__in=UNMET_DEADLINE_STATUSES,
        due_on__isnull=False,
    ).order_by("claim_id", "due_on", "pk"):
        soonest.setdefault(deadline.claim_id, deadline)
    return soonest


def claim_history(*, claim: Claim, limit: int = 200):
    """What happened to the claim, newest first, from the audit trail; views of it are in the
    access log, not here."""
    from audit.selectors import audit_events_for

    return audit_events_for(subject=claim).exclude(action="claim.view")[:limit]


def _with_next_deadline(claims: QuerySet[Claim], statuses) -> QuerySet[Claim]:
    """The claims with their practice and assignee, and their earliest dated deadline in one
    of `statuses` (`next_deadline_on`, `next_deadline_kind`): one query, one indexed lookup per
    row (deadline_once_per_kind starts with the claim)."""
    next_one = Deadline.objects.filter(
        claim_id=OuterRef("pk"), status__in=statuses, due_on__isnull=False
    ).order_by("due_on", "kind")
    return claims.select_related("practice", "assigned_to").annotate(
        next_deadline_on=Subquery(next_one.values("due_on")[:1]),
        next_deadline_kind=Subquery(next_one.values("kind")[:1]),
    )


def claim_for_page(*, user, reference: str) -> Claim | None:
    """One claim as its page shows it, if this person may see it (None otherwise, so a claim of
    another organisation and one that does not exist look the same). A fixed number of queries
    whatever the claim holds."""
    return claims_for_page(claims_visible_to(user=user).filter(reference=reference)).first()


def claims_for_page(claims: QuerySet[Claim]) -> QuerySet[Claim]:
    """Claims with everything their page shows read with them (claim_page_prefetches)."""
    return claims.select_related("practice", "assigned_to", "source_organisation").prefetch_related(
        *claim_page_prefetches()
    )


def claim_page_prefetches() -> list[Prefetch]:
    """What a claim's page shows beside the claim, a query for each kind of thing (clinicians,
    segments, deadlines and their history, notes, reserves, payments) whatever the claim holds:
    the portal's claim page and the admin's."""
    return [
        Prefetch(
            "claim_clinicians",
            queryset=ClaimClinician.objects.select_related("member").order_by("position", "pk"),
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
                    queryset=DeadlineChange.objects.select_related("actor").order_by("-at", "-id"),
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
    ]


def deadlines_open_for(
    *, user, until: datetime.date | None = None, overdue: bool = False
) -> QuerySet[Deadline]:
    """Unmet deadlines of the open claims this person sees: due from today up to `until`, or,
    with `overdue`, past their day (still open, or marked missed by the sweep)."""
    today = timezone.localdate()
    deadlines = deadlines_visible_to(user=user).filter(claim__status="open")
    if overdue:
        deadlines = deadlines.filter(status__in=UNMET_DEADLINE_STATUSES, due_on__lt=today)
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


# -- the caseworkers' workbench (the admin) ---------------------------------------------------

_REFERENCE = re.compile(r"^CL-\d{4}-\d{6}$", re.IGNORECASE)
_ODS_CODE = re.compile(r"^[A-Z]\d{5}$", re.IGNORECASE)
_GMC_NUMBER = re.compile(r"^\d{7}$")
UNMET_DEADLINE_STATUSES = ("open", "missed")


def claims_search_casework(claims: QuerySet[Claim], q: str) -> QuerySet[Claim]:
    """The caseworkers' search box: a claim reference, an NHS number (with or without spaces),
    a clinician's GMC number (7 digits), a practice's ODS code, the sender's reference, or words
    of the claimant's name or of the practice's name. Each shape is an indexed lookup; names
    match anywhere in the name (a trigram index on PostgreSQL). Practices and clinicians are
    looked up first, so the claims query is one scan over indexes, never a join per row."""
    q = " ".join(q.split())
    if not q:
        return claims
    digits = nhs_number_normalise(q)
    if digits.isdigit() and len(digits) == 10:
        # As claims_search: ten digits are most likely an NHS number, but a sender's reference
        # may be digits too.
        return claims.filter(Q(claimant_nhs_number=digits) | Q(external_ref=q))
    if _REFERENCE.match(q):
        return claims.filter(reference=q.upper())
    if _GMC_NUMBER.match(q):
        member_ids = Member.objects.filter(
            registration_body=Member.RegistrationBody.GMC, registration_number=q
        ).values("pk")
        return claims.filter(
            pk__in=ClaimClinician.objects.filter(member_id__in=member_ids).values("claim_id")
        )
    if _ODS_CODE.match(q):
        practice_ids = list(
            Practice.objects.filter(ods_code=q.upper()).values_list("pk", flat=True)
        )
        return claims.filter(Q(practice_id__in=practice_ids) | Q(external_ref=q))
    practice_ids = list(
        Practice.objects.filter(name__icontains=q).values_list("pk", flat=True)[:500]
    )
    matches = Q(claimant_name__icontains=q) | Q(external_ref=q)
    if practice_ids:
        matches |= Q(practice_id__in=practice_ids)
    return claims.filter(matches)


def claims_with_next_deadline(claims: QuerySet[Claim]) -> QuerySet[Claim]:
    """What the caseworkers' list, the export and the portal's list show: the claim's next
    unmet deadline, the earliest one still open or already missed, so a missed deadline is never
    hidden behind a later open one."""
    return _with_next_deadline(claims, UNMET_DEADLINE_STATUSES)


def claims_triage_queue(claims: QuerySet[Claim]) -> QuerySet[Claim]:
    """The caseworkers' triage queue: open claims routing could not place (UNDETERMINED, or
    flagged MANUAL_REVIEW: `needs_triage`) and open claims flagged as possible duplicates.
    Ordered by TRIAGE_ORDER, which the partial index claim_triage_open serves."""
    return claims.filter(
        Q(needs_triage=True) | Q(possible_duplicate_of__isnull=False), status="open"
    )


# Triage first (UNDETERMINED and MANUAL_REVIEW), then possible duplicates; oldest first in each.
TRIAGE_ORDER = ("-needs_triage", "created_at", "id")


@dataclass(frozen=True)
class MembershipOnDate:
    organisation: str
    start_date: datetime.date
    end_date: datetime.date | None


@dataclass(frozen=True)
class ClinicianCover:
    """A clinician of a claim with what routing reads of them (domain.md §4): their own MDO
    memberships on the incident date (the start of a range), the GP member employing them then
    and that employer's memberships, and their memberships today."""

    member: Member
    on: datetime.date | None
    own: tuple[MembershipOnDate, ...]
    employer: Member | None
    employer_own: tuple[MembershipOnDate, ...]
    current: tuple[MembershipOnDate, ...]


def claim_clinician_links(claim: Claim) -> list[ClaimClinician]:
    """The claim's clinician links with their members, in the order the sender gave: from what
    claims_for_page read with the claim, or one query."""
    if "claim_clinicians" in getattr(claim, "_prefetched_objects_cache", {}):
        return list(claim.claim_clinicians.all())
    return list(
        ClaimClinician.objects.filter(claim=claim)
        .select_related("member")
        .order_by("position", "pk")
    )


def claim_clinicians_cover(*, claim: Claim, today: datetime.date | None = None):
    """Each clinician of the claim with their memberships on the incident date, in the order
    the sender gave. Three queries whatever the number of clinicians (two if the claim was read
    with its clinicians, claims_for_page)."""
    today = today or timezone.localdate()
    on = claim.incident_date or claim.incident_date_from
    clinicians = [link.member for link in claim_clinician_links(claim)]
    ids = {member.pk for member in clinicians}
    employments: dict[int, list[Employment]] = {}
    for job in Employment.objects.filter(member_id__in=ids, employer__isnull=False).select_related(
        "employer"
    ):
        employments.setdefault(job.member_id, []).append(job)
    employer_ids = {job.employer_id for jobs in employments.values() for job in jobs}
    memberships: dict[int, list[MembershipOnDate]] = {}
    for member_id, code, start, end in Membership.objects.filter(
        member_id__in=ids | employer_ids
    ).values_list("member_id", "organisation__code", "start_date", "end_date"):
        memberships.setdefault(member_id, []).append(MembershipOnDate(code, start, end))

    def held(member_id: int, day: datetime.date | None) -> tuple[MembershipOnDate, ...]:
        if day is None:
            return ()
        return tuple(
            m
            for m in sorted(memberships.get(member_id, ()), key=lambda m: m.start_date)
            if period_covers(m.start_date, m.end_date, day)
        )

    covers = []
    for member in clinicians:
        employer = None
        if on is not None:
            jobs = [
                job
                for job in employments.get(member.pk, ())
                if period_covers(job.start_date, job.end_date, on)
            ]
            # As routing does (schemes.selectors.CoverBook.employer_on): the claim's practice
            # first, then the most recent engagement, then the lowest employer id.
            employer = min(
                jobs,
                key=lambda job: (
                    job.practice_id != claim.practice_id,
                    -job.start_date.toordinal(),
                    job.employer_id,
                ),
                default=None,
            )
            employer = employer.employer if employer else None
        covers.append(
            ClinicianCover(
                member=member,
                on=on,
                own=held(member.pk, on),
                employer=employer,
                employer_own=held(employer.pk, on) if employer else (),
                current=held(member.pk, today),
            )
        )
    return covers


# The columns claim_duplicate_key reads.
DUPLICATE_KEY_FIELDS = ("claimant_nhs_number", "practice_id", "incident_date", "incident_date_from")


def claim_duplicate_key(values: Mapping[str, Any]) -> tuple[str, int, datetime.date] | None:
    """What makes two claims possible duplicates, from a claim's values by column (a record's,
    or a claim's own __dict__): NHS number, practice and incident date (or the start of the
    incident's range). None if any is unknown."""
    incident = values.get("incident_date") or values.get("incident_date_from")
    number, practice_id = values.get("claimant_nhs_number"), values.get("practice_id")
    if not number or practice_id is None or incident is None:
        return None
    return number, practice_id, incident


def claims_earliest_by_duplicate_key(keys) -> dict[tuple[str, int, datetime.date], int]:
    """The earliest stored claim (lowest id) for each key claim_duplicate_key gave (NHS number,
    practice id, incident date, where the incident date is a claim's date or the start of its
    range; None, for a claim without one, is skipped): what marks a new claim as a possible
    duplicate. One query, through the claim_duplicate_key index."""
    keys = set(keys) - {None}
    if not keys:
        return {}
    if connection.vendor == "postgresql":
        # One probe of the index per key, whatever the planner believes of the table. Asked as
        # `number = ANY(...) AND practice = ANY(...)`, or as a plain join, a planner without
        # fresh statistics (a first large import, autovacuum behind or off) read and sorted
        # every claim of those practices instead, the batch's own uncommitted rows included:
        # 100-300 ms a 2,000-claim slice at 460,000-700,000 claims, against 4 ms this way.
        numbers, practices, dates = zip(*keys, strict=True)
        with connection.cursor() as cursor:
            cursor.execute(
                """
                SELECT key.number, key.practice_id, key.incident_on, earliest.id
                  FROM unnest(%s::varchar[], %s::bigint[], %s::date[])
                       AS key(number, practice_id, incident_on)
                 CROSS JOIN LATERAL (
                       SELECT claim.id FROM claims_claim AS claim
                        WHERE claim.claimant_nhs_number = key.number
                          AND claim.practice_id = key.practice_id
                          AND COALESCE(claim.incident_date, claim.incident_date_from)
                              = key.incident_on
                        ORDER BY claim.id
                        LIMIT 1) AS earliest
                """,
                [
                    array_literal(numbers),
                    array_literal(practices),
                    array_literal([d.isoformat() for d in dates]),
                ],
            )
            return {(number, practice_id, on): pk for number, practice_id, on, pk in cursor}
    found = (
        Claim.objects.filter(AnyOf(F("claimant_nhs_number"), list({k[0] for k in keys})))
        .filter(AnyOf(F("practice_id"), list({k[1] for k in keys})))
        .annotate(incident_on=Coalesce("incident_date", "incident_date_from"))
        .order_by("-pk")
        .values_list("claimant_nhs_number", "practice_id", "incident_on", "pk")
    )
    # Highest id first, so the earliest claim of each key is the one left standing.
    return {key: pk for *fields, pk in found if (key := tuple(fields)) in keys}


def claims_by_sender_reference(*, organisation_id: int, references) -> dict[str, Claim]:
    """The stored claims a sender gave these references (external_ref), by reference: what an
    import updates rather than creates. One query."""
    references = list(dict.fromkeys(r for r in references if r))
    if not references:
        return {}
    if connection.vendor == "postgresql":
        # One probe of the unique (sender, reference) index each. LIMIT 1 (the index allows no
        # more) keeps a planner without fresh statistics from reading every claim of the
        # sender instead: 160 ms a 2,000-claim slice at 460,000 claims, against 7 ms.
        claims = Claim.objects.raw(
            """
            SELECT claim.*
              FROM unnest(%s::varchar[]) AS given(reference)
             CROSS JOIN LATERAL (
                   SELECT * FROM claims_claim
                    WHERE source_organisation_id = %s
                      AND external_ref = given.reference
                      AND external_ref <> ''
                    LIMIT 1) AS claim
            """,
            [array_literal(references), organisation_id],
        )
    else:
        claims = Claim.objects.filter(
            source_organisation_id=organisation_id, external_ref__in=references
        ).order_by()
    return {claim.external_ref: claim for claim in claims}


def claim_possible_duplicates(*, claim: Claim) -> list[tuple[int, str]]:
    """Later claims flagged as possible duplicates of this one: (id, reference)."""
    return list(
        Claim.objects.filter(possible_duplicate_of=claim)
        .order_by("created_at", "id")
        .values_list("pk", "reference")[:50]
    )


def claim_assignees(*, claims: QuerySet[Claim]):
    """Who may be given all of these claims (design.md §2): active NHS Resolution caseworkers and
    team leads, and the claim handlers and team leads of an organisation that handles a part of
    every one of them. Ordered by organisation, then name."""
    claim_ids = list(claims.values_list("pk", flat=True))
    # The organisations that handle a part of every one of them.
    organisation_ids = set(
        ClaimHandling.objects.filter(AnyOf(F("claim_id"), claim_ids))
        .values("organisation_id")
        .annotate(claims=Count("claim_id", distinct=True))
        .filter(claims=len(claim_ids))
        .values_list("organisation_id", flat=True)
    )
    return (
        get_user_model()
        .objects.filter(is_active=True)
        .filter(
            Q(
                handler__organisation__code=NHSR_CODE,
                handler__role__in=[Handler.Role.CASEWORKER, Handler.Role.TEAM_LEAD],
            )
            | Q(
                handler__organisation_id__in=organisation_ids,
                handler__role__in=[Handler.Role.HANDLER, Handler.Role.TEAM_LEAD],
            )
        )
        .select_related("handler__organisation")
        .order_by("handler__organisation__code", "first_name", "last_name", "username")
    )


@dataclass(frozen=True)
class Dashboard:
    """The figures of the caseworkers' dashboard (the admin index), all over open claims but
    the monthly intake, which counts every claim by the month it reached its handler."""

    today: datetime.date
    open_total: int
    triage: int
    open_by_scheme: list[tuple[str, int]]
    open_by_stage: list[tuple[str, str, int]]
    new_per_month: list[tuple[datetime.date, int]]
    due_this_week: list[tuple[datetime.date, int]]
    missed: int
    by_handler: list[tuple[str, int]]
    reserves_by_scheme: list[tuple[str, Decimal]]


DASHBOARD_MONTHS = 24
DASHBOARD_WEEK_DAYS = 7


def _month_starts(today: datetime.date, months: int) -> list[datetime.date]:
    first = today.replace(day=1)
    starts = []
    for back in range(months - 1, -1, -1):
        index = first.year * 12 + first.month - 1 - back
        starts.append(datetime.date(index // 12, index % 12 + 1, 1))
    return starts


def dashboard_figures(*, today: datetime.date | None = None) -> Dashboard:
    """Seven queries whatever the number of claims: open claims grouped once by (schemes,
    stage, handlers) and split in Python, the intake by month over the notified_on index, the
    week's deadlines over the open-deadline index, missed deadlines, current reserves (the
    latest revision of each head) by the claim's schemes, and the triage queue's length."""

    today = today or timezone.localdate()
    by_scheme: dict[str, int] = {}
    by_stage: dict[str, int] = {}
    by_handler: dict[str, int] = {}
    open_total = 0
    for row in (
        Claim.objects.filter(status="open")
        .values("schemes", "stage", "handlers")
        .annotate(n=Count("id"))
        .order_by()
    ):
        open_total += row["n"]
        by_stage[row["stage"]] = by_stage.get(row["stage"], 0) + row["n"]
        for scheme in row["schemes"].split(",") if row["schemes"] else ["(not routed)"]:
            by_scheme[scheme] = by_scheme.get(scheme, 0) + row["n"]
        for code in row["handlers"].split(",") if row["handlers"] else ["(nobody)"]:
            by_handler[code] = by_handler.get(code, 0) + row["n"]

    months = _month_starts(today, DASHBOARD_MONTHS)
    per_month = {
        row["month"]: row["n"]
        for row in Claim.objects.filter(notified_on__gte=months[0], notified_on__lte=today)
        .annotate(month=TruncMonth("notified_on"))
        .values("month")
        .annotate(n=Count("id"))
        .order_by()
    }
    # TruncMonth of a date is a date on PostgreSQL and SQLite alike; normalise all the same.
    per_month = {
        (m.date() if isinstance(m, datetime.datetime) else m): n for m, n in per_month.items()
    }

    week_end = today + datetime.timedelta(days=DASHBOARD_WEEK_DAYS - 1)
    per_day = dict(
        Deadline.objects.filter(
            status="open", due_on__gte=today, due_on__lte=week_end, claim__status="open"
        )
        .values("due_on")
        .annotate(n=Count("id"))
        .order_by()
        .values_list("due_on", "n")
    )
    missed = Deadline.objects.filter(
        status__in=UNMET_DEADLINE_STATUSES, due_on__lt=today, claim__status="open"
    ).count()

    newer = Reserve.objects.filter(claim_id=OuterRef("claim_id"), head=OuterRef("head")).filter(
        Q(created_at__gt=OuterRef("created_at"))
        | Q(created_at=OuterRef("created_at"), id__gt=OuterRef("id"))
    )
    reserves = sorted(
        (
            (schemes.replace(",", " + ") if schemes else "(not routed)", total)
            for schemes, total in Reserve.objects.filter(claim__status="open")
            .filter(~Exists(newer))
            .values("claim__schemes")
            .annotate(total=Sum("amount"))
            .order_by()
            .values_list("claim__schemes", "total")
        ),
        key=lambda item: (-item[1], item[0]),
    )
    return Dashboard(
        today=today,
        open_total=open_total,
        triage=claims_triage_queue(Claim.objects.all()).count(),
        open_by_scheme=sorted(by_scheme.items(), key=lambda item: (-item[1], item[0])),
        open_by_stage=[(code, label, by_stage.get(code, 0)) for code, label in Stage.choices],
        new_per_month=[(month, per_month.get(month, 0)) for month in months],
        due_this_week=[
            (day, per_day.get(day, 0))
            for day in (today + datetime.timedelta(days=n) for n in range(DASHBOARD_WEEK_DAYS))
        ],
        missed=missed,
        by_handler=sorted(by_handler.items(), key=lambda item: (-item[1], item[0])),
        reserves_by_scheme=reserves,
    )


# The columns of the caseworkers' CSV export: (heading, value path).
EXPORT_COLUMNS = (
    ("Reference", "reference"),
    ("Sender's reference", "external_ref"),
    ("Claimant", "claimant_name"),
    ("NHS number", "claimant_nhs_number"),
    ("Date of birth", "claimant_date_of_birth"),
    ("Practice ODS code", "practice__ods_code"),
    ("Practice", "practice__name"),
    ("Incident date", "incident_date"),
    ("Incident from", "incident_date_from"),
    ("Incident to", "incident_date_to"),
    ("Notified on", "notified_on"),
    ("Schemes", "schemes"),
    ("Lead handler", "lead_handler"),
    ("Handlers", "handlers"),
    ("Flags", "flags"),
    ("Possible duplicate of", "possible_duplicate_of__reference"),
    ("Stage", "stage"),
    ("Status", "status"),
    ("Outcome", "outcome"),
    ("Assigned to", "assigned_to__username"),
    ("Next deadline", "next_deadline_kind"),
    ("Next deadline due", "next_deadline_on"),
    ("Recorded at", "created_at"),
)


def claims_export_rows(claims: QuerySet[Claim], *, chunk_size: int = 2000):
    """The export's rows as plain tuples in EXPORT_COLUMNS order, read through a server-side
    cursor `chunk_size` rows at a time: memory stays flat however many claims match."""
    rows = claims_with_next_deadline(claims).values_list(*(path for _, path in EXPORT_COLUMNS))
    return rows.iterator(chunk_size=chunk_size)
