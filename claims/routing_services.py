"""Routing stored claims: facts from the database, the pure decision of schemes.routing, and the
writes that follow (current routing on the claim, its segments, who handles it, the decision
history, the audit trail). Everything here works on batches with a fixed number of queries per
batch, so re-routing 100,000 claims is a few hundred queries, not a few hundred thousand."""

import dataclasses
import datetime
import functools
import hashlib
import json
import logging
import threading
import uuid
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from audit.models import AuditEvent
from audit.services import (
    Actor,
    AuditSubject,
    actor_user,
    actor_user_id,
    audit_lines,
    audit_lines_write,
)
from claims.models import (
    ROUTING_FACT_FIELDS,
    Activity,
    CareSetting,
    Claim,
    ClaimClinician,
    ClaimHandling,
    ClaimSegment,
    RoutingDecision,
    RoutingRuling,
    Status,
)
from config.postgres_copy import (
    AnyOf,
    array_literal,
    copy_lines,
    copy_text,
    json_text,
    values_of,
)
from handlers.models import Handler, HandlerOrganisation
from members.models import Employment
from schemes import routing
from schemes.selectors import CoverBook, agreements_as_facts, cover_book_for

logger = logging.getLogger(__name__)

# Claims per batch (and per transaction). Larger batches spread each batch's dozen statements
# and its commit over more claims; 5,000 locks a batch's claims for well under a second.
BATCH_SIZE = 5000
# Boundaries where domain.md §4 step 3 splits a range; a clinician's MDOs are looked up on each.
_SPLIT_BOUNDARIES = (routing.NHS_PRIMARY_CARE_START, routing.CNST_START)


class Placement(NamedTuple):
    """Where a claim sits: what a move changes, and what the portal's visibility follows. A
    tuple, because a re-route builds and compares one for every claim it reads."""

    schemes: str
    lead_handler: str
    handlers: str
    flags: str

    @classmethod
    def of_claim(cls, claim: Claim) -> "Placement":
        return cls(claim.schemes, claim.lead_handler, claim.handlers, claim.flags)

    @classmethod
    def of_decision(cls, decision: routing.Decision) -> "Placement":
        return cls(
            ",".join(decision.schemes),
            decision.lead_handler or "",
            ",".join(decision.handlers),
            ",".join(decision.flags),
        )

    def as_dict(self) -> dict:
        return {
            "schemes": [s for s in self.schemes.split(",") if s],
            "lead_handler": self.lead_handler or None,
            "handlers": [h for h in self.handlers.split(",") if h],
            "flags": [f for f in self.flags.split(",") if f],
        }


@dataclass(frozen=True)
class Move:
    claim_id: int
    reference: str
    before: Placement
    after: Placement
    # When it was decided: a claim may move the same way twice (MPS to NHSR, back, and again),
    # and each move is told.
    at: datetime.datetime


@dataclass
class RouteOutcome:
    routed: int = 0
    moves: list[Move] = dataclasses.field(default_factory=list)
    # Claims routed for the first time: no organisation had them before.
    arrivals: list[Move] = dataclasses.field(default_factory=list)


# ClaimRow's fields but its clinicians, in order, as a claim's columns (a bulk import takes a new
# claim's from its row about to be inserted, which has "pk" too).
CLAIM_ROW_COLUMNS = (
    "pk",
    "reference",
    "practice_id",
    *ROUTING_FACT_FIELDS,
    "schemes",
    "lead_handler",
    "handlers",
    "flags",
)


@dataclass(slots=True)
class ClaimRow:
    """What routing reads of a stored claim, loaded as plain values: building model instances
    for 100,000 claims would cost more than deciding where they go."""

    pk: int
    reference: str
    practice_id: int | None
    matter_type: str
    care_setting: str
    activity: str
    coronavirus_response: bool
    other_indemnity: bool
    provider_cnst_member: bool
    incident_date: datetime.date | None
    incident_date_from: datetime.date | None
    incident_date_to: datetime.date | None
    schemes: str
    lead_handler: str
    handlers: str
    flags: str
    # (member id, role), in the order the sender gave.
    clinicians: list[tuple[int, str]] = dataclasses.field(default_factory=list)

    @property
    def placement(self) -> Placement:
        return Placement(self.schemes, self.lead_handler, self.handlers, self.flags)


def claim_rows(ids: Iterable[int], *, lock: bool = False) -> list[ClaimRow]:
    """Two queries for any number of claims: the claims, then their clinicians. With `lock`, the
    claims are locked by the first (a person editing one meanwhile waits rather than racing the
    re-route)."""
    ids = list(ids)
    claims = (
        Claim.objects.filter(AnyOf(F("pk"), ids)).order_by("pk").values_list(*CLAIM_ROW_COLUMNS)
    )
    if lock:
        claims = claims.select_for_update(of=("self",))
    rows = {values[0]: ClaimRow(*values) for values in values_of(claims)}
    for claim_id, member_id, role in values_of(
        ClaimClinician.objects.filter(AnyOf(F("claim_id"), ids))
        .order_by("claim_id", "position", "pk")
        .values_list("claim_id", "member_id", "member__role")
    ):
        rows[claim_id].clinicians.append((member_id, role))
    return list(rows.values())


def _segment_start_dates(claim: ClaimRow) -> list[datetime.date]:
    if claim.incident_date is not None:
        return [claim.incident_date]
    if claim.incident_date_from is None:
        return []
    dates = [claim.incident_date_from]
    dates += [
        boundary
        for boundary in _SPLIT_BOUNDARIES
        if claim.incident_date_from < boundary <= claim.incident_date_to
    ]
    return dates


def _facts_key(claim: ClaimRow, book: CoverBook, decision_date: datetime.date) -> tuple:
    """The facts of domain.md §4 for a stored claim as a plain tuple: ClaimFacts' fields in
    order, each clinician's ClinicianFacts' fields in order. A tuple is built, hashed and
    compared in C; doing so with the dataclasses for each of 100,000 claims costs more than
    routing the few thousand distinct sets of facts among them."""
    starts = _segment_start_dates(claim)
    practice_id = claim.practice_id
    mdos_on, own_mdo_on = book.mdos_on, book.own_mdo_on
    clinicians = []
    for member_id, role in claim.clinicians:
        if len(starts) == 1:  # one incident date: most claims
            own, employer = mdos_on(member_id, starts[0], practice_id)
            on_each = ((starts[0], own, employer),)
        else:
            on_each = tuple((day, *mdos_on(member_id, day, practice_id)) for day in starts)
            own, employer = on_each[0][1:] if on_each else (None, None)
        clinicians.append((role, own, employer, own_mdo_on(member_id, decision_date), on_each))
    return (
        claim.matter_type,
        claim.care_setting,
        claim.activity,
        decision_date,
        claim.incident_date,
        claim.incident_date_from,
        claim.incident_date_to,
        claim.coronavirus_response,
        claim.other_indemnity,
        claim.provider_cnst_member,
        tuple(clinicians),
    )


def _facts_of(key: tuple) -> routing.ClaimFacts:
    (
        matter_type,
        care_setting,
        activity,
        decision_date,
        incident_date,
        incident_date_from,
        incident_date_to,
        coronavirus_response,
        other_indemnity,
        provider_cnst_member,
        clinicians,
    ) = key
    return routing.ClaimFacts(
        matter_type=matter_type,
        care_setting=care_setting,
        activity=activity,
        decision_date=decision_date,
        incident_date=incident_date,
        incident_date_from=incident_date_from,
        incident_date_to=incident_date_to,
        coronavirus_response=coronavirus_response,
        other_indemnity=other_indemnity,
        provider_cnst_member=provider_cnst_member,
        clinicians=tuple(
            routing.ClinicianFacts(
                role=role,
                mdo_at_incident=own,
                employer_mdo_at_incident=employer,
                current_mdo=current,
                mdos_on=on_each,
            )
            for role, own, employer, current, on_each in clinicians
        ),
    )


def claim_facts(
    claim: ClaimRow, *, book: CoverBook, decision_date: datetime.date
) -> routing.ClaimFacts:
    """The facts of domain.md §4 for a stored claim."""
    return _facts_of(_facts_key(claim, book, decision_date))


def _facts_json_default(value):
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, routing.ClinicianFacts):
        return {name: getattr(value, name) for name in value.__slots__}
    raise TypeError(f"{type(value).__name__} is not a routing fact")


def facts_snapshot_text(facts: routing.ClaimFacts) -> str:
    """The facts as read, as JSON text for the decision history: dates as ISO dates, tuples as
    lists, each clinician as an object, in the facts' field order. The encoder walks the
    structure itself and calls back only for dates and clinicians (a tenth of the cost of
    converting it in Python first, measured by make bench)."""
    return json.dumps(
        {name: getattr(facts, name) for name in facts.__slots__},
        separators=(",", ":"),
        default=_facts_json_default,
    )


@dataclass(eq=False, slots=True)
class Ruling:
    """What routing decides on one set of facts, with what storing it takes, worked out once for
    every claim whose facts are identical. routing.route is pure (facts and agreements in, the
    same decision out, every time), so sharing its answer is exact."""

    facts: routing.ClaimFacts
    decision: routing.Decision
    placement: Placement
    triage: bool
    # The claim's segments: each clinician's index (None: no clinician) and the rest of its
    # ClaimSegment row as COPY fields (position, start, end, scheme, handler).
    segments: tuple[tuple[int | None, str], ...]
    # Made on first write: the stored RoutingRuling (key, facts and outcome as JSON text), and
    # the fields a RoutingDecision row takes from it (ruling, rule version, schemes, lead).
    stored: tuple[uuid.UUID, str, str] | None = None
    decision_fields: str = ""

    def stored_form(self) -> tuple[uuid.UUID, str, str]:
        if self.stored is None:
            facts_text = facts_snapshot_text(self.facts)
            outcome_text = json_text(self.decision.as_dict())
            key = ruling_key(facts_text, outcome_text)
            self.decision_fields = "\t".join(
                map(
                    copy_text,
                    (
                        key,
                        self.decision.rule_version,
                        self.placement.schemes,
                        self.placement.lead_handler,
                    ),
                )
            )
            # Set last: a job's other thread that finds it set finds decision_fields set too.
            self.stored = (key, facts_text, outcome_text)
        return self.stored


def ruling_key(facts_text: str, outcome_text: str) -> uuid.UUID:
    """The RoutingRuling key of this content: the same facts and outcome, the same key."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(facts_text.encode())
    digest.update(b"\n")
    digest.update(outcome_text.encode())
    return uuid.UUID(bytes=digest.digest())


def _ruling(facts_key: tuple, agreements: tuple[routing.Agreement, ...]) -> Ruling:
    facts = _facts_of(facts_key)
    decision = routing.route(facts, agreements)
    return Ruling(
        facts=facts,
        decision=decision,
        placement=Placement.of_decision(decision),
        triage=routing.UNDETERMINED in decision.schemes or routing.MANUAL_REVIEW in decision.flags,
        segments=tuple(
            (
                s.clinician,
                "\t".join(map(copy_text, (position, s.start, s.end, s.scheme, s.handler or ""))),
            )
            for position, s in enumerate(decision.segments)
        ),
    )


class _Rulings:
    """Rulings already made, by facts, under one set of agreements: a re-route of 100,000 claims
    meets the same facts (incident date, roles, MDOs, decision date) thousands of times, and
    routing.route is pure, so its answer is reused exactly. Kept across batches and jobs of a
    worker; emptied when the agreements change, and when it reaches `limit` (a few tens of
    megabytes)."""

    limit = 20_000

    def __init__(self) -> None:
        # The agreements and the rulings made under them, replaced together in one assignment:
        # threads share this (an import's preparer, a routing job's workers), and one must never
        # see new agreements beside the old rulings.
        self.state: tuple[tuple[routing.Agreement, ...] | None, dict[tuple, Ruling]] = (None, {})

    def under(self, agreements: tuple[routing.Agreement, ...]) -> dict[tuple, Ruling]:
        known, by_facts = self.state
        if agreements != known or len(by_facts) >= self.limit:
            by_facts = {}
            self.state = (agreements, by_facts)
        return by_facts


_rulings = _Rulings()


@functools.lru_cache(maxsize=1024)
def _placement_dict(placement: Placement) -> dict:
    """One dict per distinct placement, shared by every audit row that shows it (the audit writer
    serialises a shared mapping once). Never modified."""
    return placement.as_dict()


@functools.lru_cache(maxsize=1024)
def _previous_field(placement: Placement) -> str:
    """A RoutingDecision's `previous` as a COPY field: null for a claim never routed."""
    return copy_text(json_text(placement.as_dict()) if placement.schemes else None)


@dataclass
class DecisionWrites:
    """What recording a batch of decisions writes, worked out without touching the database, so
    that a bulk import can prepare one slice on another thread while the previous one is
    written (claims.import_services)."""

    outcome: RouteOutcome
    changed_ids: list[int]
    placements: list[tuple]
    segments: list[str]
    rehandled_ids: list[int]
    handlings: list[str]
    rulings: dict[uuid.UUID, tuple[uuid.UUID, str, str]]
    decisions: list[str]
    audits: list[str]
    # Moves whose organisations are told once the transaction commits.
    told: tuple[Move, ...]


def organisation_ids() -> dict[str, int]:
    """Handling organisations' ids by code, for ClaimHandling rows."""
    return dict(HandlerOrganisation.objects.values_list("code", "id"))


def decision_writes(
    *,
    decided: list[tuple[ClaimRow, Ruling]],
    record_all: bool,
    actor: Actor,
    actor_label: str,
    cause: str,
    decision_date: datetime.date,
    organisations: Callable[[], dict[str, int]],
    announce_arrivals: bool = True,
) -> DecisionWrites | None:
    """The rows recording these decisions, or None when nothing changed. Pure but for
    `organisations`, called only when some claim's handlers change (a re-route where nothing
    changes hands reads nothing more)."""
    outcome = RouteOutcome(routed=len(decided))
    decided_at = timezone.now()
    changed: list[tuple[ClaimRow, Ruling, Placement]] = []
    for claim, ruling in decided:
        # A plain tuple equals the Placement it matches, and costs less to build.
        if (claim.schemes, claim.lead_handler, claim.handlers, claim.flags) == ruling.placement:
            if record_all:
                changed.append((claim, ruling, ruling.placement))
            continue
        before = claim.placement
        changed.append((claim, ruling, before))
        move = Move(claim.pk, claim.reference, before, ruling.placement, decided_at)
        (outcome.moves if before.schemes else outcome.arrivals).append(move)
    if not changed:
        return None

    user_id = actor_user_id(actor)
    cause = cause[:200]
    # The fields every decision row of the batch shares, formatted once (copy_lines).
    batch_fields = "\t".join(
        map(copy_text, (decided_at, decision_date, user_id, actor_label, cause))
    )
    decisions, segments, audits, placements = [], [], [], []
    rehandled_ids, handlings = [], []
    rulings: dict[uuid.UUID, tuple[uuid.UUID, str, str]] = {}
    organisation_ids: dict[str, int] | None = None
    for claim, ruling, before in changed:
        after = ruling.placement
        placements.append(
            (
                claim.pk,
                after.schemes,
                after.lead_handler,
                after.handlers,
                after.flags,
                ruling.triage,
            )
        )
        stored = ruling.stored_form()
        rulings[stored[0]] = stored
        decisions.append(
            f"{claim.pk}\t{ruling.decision_fields}\t{_previous_field(before)}\t{batch_fields}\n"
        )
        for clinician, fields in ruling.segments:
            clinician_id = _NULL if clinician is None else claim.clinicians[clinician][0]
            segments.append(f"{claim.pk}\t{clinician_id}\t{fields}\n")
        # Who can see the claim changes only when the set of handlers does.
        if before.handlers != after.handlers or record_all:
            if organisation_ids is None:
                organisation_ids = organisations()
            rehandled_ids.append(claim.pk)
            handlings.extend(
                f"{claim.pk}\t{organisation_ids[code]}\n"
                for code in ruling.decision.handlers
                if code in organisation_ids
            )
        if before != after:
            audits.append(
                (
                    AuditSubject("claims.claim", claim.pk, claim.reference),
                    _placement_dict(before) if before.schemes else None,
                    _placement_dict(after),
                )
            )
        claim.schemes, claim.lead_handler = after.schemes, after.lead_handler
        claim.handlers, claim.flags = after.handlers, after.flags

    return DecisionWrites(
        outcome=outcome,
        changed_ids=[claim.pk for claim, _, _ in changed],
        placements=placements,
        segments=segments,
        rehandled_ids=rehandled_ids,
        handlings=handlings,
        rulings=rulings,
        decisions=decisions,
        audits=audit_lines(
            actor=actor,
            actor_label=actor_label,
            action="claim.route",
            changes=audits,
            reason=cause,
        ),
        told=tuple(outcome.moves + (outcome.arrivals if announce_arrivals else [])),
    )


def decision_writes_store(writes: DecisionWrites, *, new_claims: bool = False) -> RouteOutcome:
    """Write what decision_writes made. `new_claims`: claims inserted in this transaction
    already placed, with nothing stored yet to replace (a bulk import)."""
    if not new_claims:
        _store_placements(writes.placements)
        ClaimSegment.objects.filter(AnyOf(F("claim_id"), writes.changed_ids)).delete()
    copy_lines(ClaimSegment, _SEGMENT_COLUMNS, writes.segments)
    if writes.rehandled_ids:
        if not new_claims:
            ClaimHandling.objects.filter(AnyOf(F("claim_id"), writes.rehandled_ids)).delete()
        copy_lines(ClaimHandling, ("claim_id", "organisation_id"), writes.handlings)
    _store_rulings(writes.rulings)
    copy_lines(RoutingDecision, _DECISION_COLUMNS, writes.decisions)
    audit_lines_write(writes.audits)
    if writes.told:
        transaction.on_commit(lambda moves=writes.told: claims_moved(moves=moves))
    return writes.outcome


def _write(
    *,
    decided: list[tuple[ClaimRow, Ruling]],
    record_all: bool,
    actor: Actor,
    actor_label: str,
    cause: str,
    decision_date: datetime.date,
    announce_arrivals: bool = True,
) -> RouteOutcome:
    writes = decision_writes(
        decided=decided,
        record_all=record_all,
        actor=actor,
        actor_label=actor_label,
        cause=cause,
        decision_date=decision_date,
        organisations=organisation_ids,
        announce_arrivals=announce_arrivals,
    )
    if writes is None:
        return RouteOutcome(routed=len(decided))
    return decision_writes_store(writes)


# What moving claims rewrites, the claims first (statistics_refresh compares with their count).
ROUTING_WRITES = (Claim, ClaimSegment, ClaimHandling, RoutingDecision, AuditEvent)
_PLACEMENT_FIELDS = ["schemes", "lead_handler", "handlers", "flags", "needs_triage"]
_SEGMENT_COLUMNS = (
    "claim_id",
    "clinician_id",
    "position",
    "start_date",
    "end_date",
    "scheme",
    "handler",
)
# In the order _write formats them: the claim, the ruling's fields, the placement before, then
# the fields the batch shares.
_DECISION_COLUMNS = (
    "claim_id",
    "ruling_id",
    "rule_version",
    "schemes",
    "lead_handler",
    "previous",
    "decided_at",
    "decision_date",
    "decided_by_id",
    "decided_by_label",
    "cause",
)
_NULL = copy_text(None)


def _store_rulings(rulings: dict[uuid.UUID, tuple[uuid.UUID, str, str]]) -> None:
    """Store the rulings of a batch that are not stored yet: first which keys exist (keys only,
    so the kilobytes of reasons travel and are parsed once per ruling, not once per batch), then
    the new ones, skipping any a concurrent re-route has just written. The insert is sent even
    when nothing is new, so every batch costs the same statements; in key order, so that two
    batches writing the same new rulings at once wait for each other rather than deadlock."""
    stored = set(
        RoutingRuling.objects.filter(AnyOf(F("key"), list(rulings))).values_list("key", flat=True)
    )
    new = [ruling for key, ruling in rulings.items() if key not in stored]
    if connection.vendor != "postgresql":
        RoutingRuling.objects.bulk_create(
            [RoutingRuling(key=k, facts=json.loads(f), outcome=json.loads(o)) for k, f, o in new],
            ignore_conflicts=True,
        )
        return
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO claims_routingruling (key, facts, outcome)
            SELECT * FROM unnest(%s::uuid[], %s::jsonb[], %s::jsonb[]) ORDER BY 1
            ON CONFLICT (key) DO NOTHING
            """,
            [
                array_literal([key for key, _, _ in new]),
                array_literal([facts for _, facts, _ in new]),
                array_literal([outcome for _, _, outcome in new]),
            ],
        )


def _store_placements(placements: list[tuple]) -> None:
    """Write the new routing of many claims and bump their versions. On PostgreSQL one
    UPDATE ... FROM unnest(...) statement; Django's bulk_update builds a CASE per row and column,
    which costs more than the whole decision (measured by make bench)."""
    if connection.vendor != "postgresql":
        updates = [
            Claim(pk=p[0], **dict(zip(_PLACEMENT_FIELDS, p[1:], strict=True))) for p in placements
        ]
        Claim.objects.bulk_update(updates, _PLACEMENT_FIELDS, batch_size=BATCH_SIZE)
        Claim.objects.filter(pk__in=[c.pk for c in updates]).update(version=F("version") + 1)
        return
    # Each distinct placement is sent once, and each claim by number: a batch holds a handful of
    # placements, and quoting thousands of copies of the same codes cost more than the update.
    distinct: dict[tuple, int] = {}
    ids = [placement[0] for placement in placements]
    numbers = [distinct.setdefault(placement[1:], len(distinct) + 1) for placement in placements]
    values = [array_literal(list(column)) for column in zip(*distinct, strict=True)]
    with connection.cursor() as cursor:
        # The id range lets PostgreSQL walk the primary key to the batch's rows instead of
        # hashing the whole table to join a few thousand of them.
        cursor.execute(
            """
            UPDATE claims_claim AS claim
               SET schemes = placement.schemes, lead_handler = placement.lead_handler,
                   handlers = placement.handlers, flags = placement.flags,
                   needs_triage = placement.needs_triage, version = claim.version + 1
              FROM unnest(%s::bigint[], %s::int[]) AS new(id, number)
              JOIN unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::boolean[])
                   WITH ORDINALITY
                   AS placement(schemes, lead_handler, handlers, flags, needs_triage, number)
                   USING (number)
             WHERE claim.id = new.id AND claim.id BETWEEN %s AND %s
            """,
            [array_literal(ids), array_literal(numbers), *values, min(ids), max(ids)],
        )


def new_claims_decision_writes(
    *,
    decided: list[tuple[ClaimRow, Ruling]],
    actor: Actor,
    cause: str,
    decision_date: datetime.date,
    organisations: dict[str, int],
    actor_label: str = "",
) -> DecisionWrites | None:
    """The records of the decisions of new claims inserted already placed where `decided` puts
    them (a bulk import decides before it inserts, so that no claim row is written twice): their
    history, segments, who handles them and the audit rows, for decision_writes_store(...,
    new_claims=True). The ClaimRows carry the new ids and an empty placement (never routed
    before). Pure: the import prepares them on another thread. Arrivals are in the outcome, for
    the import to announce once per batch."""
    return decision_writes(
        decided=decided,
        record_all=True,
        actor=actor,
        actor_label=actor_label,
        cause=cause,
        decision_date=decision_date,
        organisations=lambda: organisations,
        announce_arrivals=False,
    )


def claims_decide(
    claims: Sequence[ClaimRow],
    *,
    decision_date: datetime.date,
    agreements: Sequence[routing.Agreement] | None = None,
    book: CoverBook | None = None,
) -> list[tuple[ClaimRow, Ruling]]:
    """Decide, without writing: each claim with the ruling on its facts. Given the agreements
    and the clinicians' cover book (cover_book_for), it reads nothing."""
    agreements = agreements_as_facts() if agreements is None else tuple(agreements)
    if book is None:
        book = cover_book_for(
            (member_id for claim in claims for member_id, _ in claim.clinicians),
            agreements=agreements,
        )
    known = _rulings.under(agreements)
    decided = []
    for claim in claims:
        key = _facts_key(claim, book, decision_date)
        ruling = known.get(key)
        if ruling is None:
            ruling = known[key] = _ruling(key, agreements)
        decided.append((claim, ruling))
    return decided


@transaction.atomic
def claims_route(
    *,
    claim_ids: Sequence[int],
    actor: Actor,
    cause: str,
    actor_label: str = "",
    decision_date: datetime.date | None = None,
    record_all: bool = True,
    announce_arrivals: bool = True,
) -> RouteOutcome:
    """Route these claims now and store the outcome.

    `record_all` writes a decision row even when nothing moved (a claim recorded, its facts
    changed); re-routes pass False so only moves leave a trace and a second run writes nothing.
    Each organisation a claim moves to or from is told; so is each one a new claim is first
    routed to, unless `announce_arrivals` is False (a bulk import tells them once per batch).
    """
    decision_date = decision_date or timezone.localdate()
    decided = claims_decide(claim_rows(claim_ids, lock=True), decision_date=decision_date)
    return _write(
        decided=decided,
        record_all=record_all,
        actor=actor,
        actor_label=actor_label,
        cause=cause,
        decision_date=decision_date,
        announce_arrivals=announce_arrivals,
    )


def reroute_candidates() -> QuerySet[Claim]:
    """Open claims whose routing can change with agreements or with the passing of an agreement
    date (domain.md §4 steps 1, 6 and 7: those that read an MDO). An NHS primary-care incident
    on or after 2019-04-01 is CNSGP whatever happens, so it is left out; closed claims stay
    where they were."""
    after_cnsgp_start = Q(activity=Activity.NHS_PRIMARY_MEDICAL_SERVICES) & (
        Q(incident_date__gte=routing.NHS_PRIMARY_CARE_START)
        | Q(incident_date_from__gte=routing.NHS_PRIMARY_CARE_START)
    )
    return (
        Claim.objects.filter(status=Status.OPEN)
        .filter(Q(care_setting=CareSetting.GENERAL_PRACTICE) | Q(matter_type="medico_legal"))
        .exclude(after_cnsgp_start)
    )


def claims_of_members_reroute(
    *, member_ids: Collection[int], actor: Actor, cause: str, actor_label: str = ""
) -> RouteOutcome:
    """Re-route, as of today, the open claims whose routing reads these members' memberships or
    employments: those with one of them as a clinician, and those with a clinician employed by
    one of them (domain.md §4: the employing GP's MDO counts towards the effective MDO). Call it
    in the transaction that changed the memberships or employments, once for all the members a
    change touched. One query finds the claims; then a constant number per batch.
    Like every re-route it writes only moves, each with its decision, audit row and notices,
    and leaves closed claims where they were."""
    member_ids = sorted(set(member_ids))
    if not member_ids:
        return RouteOutcome()
    employees = Employment.objects.filter(AnyOf(F("employer_id"), member_ids)).values("member_id")
    reading = ClaimClinician.objects.filter(
        AnyOf(F("member_id"), member_ids)
    ) | ClaimClinician.objects.filter(member_id__in=employees)
    ids = list(
        reroute_candidates()
        .filter(pk__in=reading.values("claim_id"))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    total = RouteOutcome()
    for start in range(0, len(ids), BATCH_SIZE):
        outcome = claims_route(
            claim_ids=ids[start : start + BATCH_SIZE],
            actor=actor,
            actor_label=actor_label,
            cause=cause,
            record_all=False,
        )
        total.routed += outcome.routed
        total.moves += outcome.moves
    return total


def claims_preview_moves(
    *, decision_date: datetime.date, agreements: Sequence[routing.Agreement] | None = None
) -> list[Move]:
    """Which open claims would move if they were re-routed now, without writing anything."""
    moves = []
    ids = list(reroute_candidates().order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(ids), BATCH_SIZE):
        claims = claim_rows(ids[start : start + BATCH_SIZE])
        for claim, ruling in claims_decide(
            claims, decision_date=decision_date, agreements=agreements
        ):
            before, after = claim.placement, ruling.placement
            if before != after:
                moves.append(Move(claim.pk, claim.reference, before, after, timezone.now()))
    return moves


def claims_moved(*, moves: Sequence[Move]) -> None:
    """Tell both organisations of each move: the team leads of the organisations a claim moved
    to, and of those it left (by reference only: they may no longer see the claim). A claim
    routed for the first time is announced to the team leads of each organisation handling it."""
    from claims.notification_services import Message, notifications_create

    leads: dict[str, list[int]] = {}
    for user_id, code in Handler.objects.filter(
        role=Handler.Role.TEAM_LEAD, user__is_active=True
    ).values_list("user_id", "organisation__code"):
        leads.setdefault(code, []).append(user_id)
    messages = []
    for move in moves:
        before = set(filter(None, move.before.handlers.split(",")))
        after = set(filter(None, move.after.handlers.split(",")))
        to = move.after.lead_handler or "nobody"
        arrived = not move.before.schemes
        kind = "claim_routed" if arrived else "claim_moved_in"
        for code in after - before:
            text = (
                f"{move.reference} has been routed to {code} ({move.after.schemes})."
                if arrived
                else f"{move.reference} now has {code} handling it ({', '.join(sorted(after))})."
            )
            messages += [
                Message(
                    user,
                    move.claim_id,
                    kind,
                    text,
                    f"claim_routed:{move.claim_id}:{user}"
                    if arrived
                    else f"claim_moved_in:{move.claim_id}:{move.at.isoformat()}:{user}",
                )
                for user in leads.get(code, [])
            ]
        for code in before - after:
            messages += [
                Message(
                    user,
                    None,
                    "claim_moved_out",
                    f"{move.reference} has moved from {code} to {to}.",
                    f"claim_moved_out:{move.claim_id}:{move.at.isoformat()}:{user}",
                )
                for user in leads.get(code, [])
            ]
    notifications_create(messages)
    logger.info("%d claims moved", len(moves))


def routing_job_start(
    *, kind: str, actor: Actor, decision_date: datetime.date | None = None, agreement=None
):
    """Create a re-route job and queue it after the transaction commits."""
    from claims.models import RoutingJob
    from claims.tasks import routing_job_run_task

    job = RoutingJob.objects.create(
        kind=kind,
        agreement=agreement,
        decision_date=decision_date or timezone.localdate(),
        created_by=actor_user(actor),
    )
    transaction.on_commit(lambda: routing_job_run_task.delay(job.pk))
    return job


def routing_job_run(*, job_id: int) -> None:
    """Re-route every candidate claim in batches, one transaction per batch, saving progress as
    it goes. Safe to run twice, or to resume after a crash: a claim already moved is where the
    decision puts it, so it does not move again."""
    from claims.models import RoutingJob

    job = RoutingJob.objects.filter(pk=job_id).first()
    if job is None or job.status == RoutingJob.JobStatus.DONE:
        return
    ids = list(reroute_candidates().order_by("pk").values_list("pk", flat=True))
    job.status, job.rows_total, job.rows_done, job.moved = (
        RoutingJob.JobStatus.RUNNING,
        len(ids),
        0,
        0,
    )
    job.save(update_fields=["status", "rows_total", "rows_done", "moved"])
    cause = (
        f"Agreement applied: {job.agreement}"
        if job.kind == RoutingJob.Kind.AGREEMENT
        else f"Daily re-route for handovers and agreement dates on {job.decision_date}"
    )
    actor, actor_label = job.created_by, f"routing job {job.pk}"

    def route_batch(claim_ids: list[int]) -> None:
        outcome = claims_route(
            claim_ids=claim_ids,
            actor=actor,
            actor_label=actor_label,
            cause=cause,
            decision_date=job.decision_date,
            record_all=False,
        )
        RoutingJob.objects.filter(pk=job.pk).update(
            rows_done=F("rows_done") + outcome.routed, moved=F("moved") + len(outcome.moves)
        )

    try:
        _each_batch(route_batch, [ids[i : i + BATCH_SIZE] for i in range(0, len(ids), BATCH_SIZE)])
    except Exception as exc:
        RoutingJob.objects.filter(pk=job.pk).update(
            status=RoutingJob.JobStatus.FAILED, error=str(exc)[:2000], finished_at=timezone.now()
        )
        raise
    RoutingJob.objects.filter(pk=job.pk).update(
        status=RoutingJob.JobStatus.DONE, finished_at=timezone.now()
    )
    from claims.tasks import statistics_refresh_later

    statistics_refresh_later(
        ROUTING_WRITES,
        changed=RoutingJob.objects.values_list("moved", flat=True).get(pk=job.pk),
        after=f"routing job {job.pk}",
    )


def _each_batch(route_batch: Callable[[list[int]], None], batches: list[list[int]]) -> None:
    """Route the batches on settings.ROUTING_JOB_THREADS threads, each with its own database
    connection and one transaction per batch: while one thread decides a batch in Python,
    PostgreSQL writes another's on the second core, and the two together route about 1.7 times
    as many claims a second as one (measured by make bench). Batches hold disjoint claims, and
    new rulings are inserted in key order, so two batches never wait on each other in a cycle.
    Inside a transaction (a caller's atomic block, a test) the batches run one after another
    on its connection, since another connection could not see its rows; so they do on SQLite
    (the demo), which takes one writer at a time."""
    workers = min(settings.ROUTING_JOB_THREADS, len(batches))
    if workers <= 1 or connection.in_atomic_block or connection.vendor != "postgresql":
        for batch in batches:
            route_batch(batch)
        return
    pending = iter(batches)
    taking = threading.Lock()
    failures: list[BaseException] = []
    # The caller's own connection: when it is logging queries (a query-count test, the
    # benchmark), the threads' queries are logged there too, so that they are counted.
    caller = connections[DEFAULT_DB_ALIAS]
    logging_queries = caller.queries_logged

    def work() -> None:
        connection.force_debug_cursor = logging_queries
        try:
            while not failures:
                with taking:
                    batch = next(pending, None)
                if batch is None:
                    return
                route_batch(batch)
        except BaseException as exc:
            failures.append(exc)
        finally:
            if logging_queries:
                caller.queries_log.extend(connection.queries_log)
            connection.close()  # this thread's own connection

    threads = [threading.Thread(target=work, name=f"routing-{n}") for n in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]


def agreement_moves_preview(*, agreement, decision_date: datetime.date, sample_size: int = 20):
    """design.md §3.3 preview: the open claims that re-routing now would move to or from the
    agreement's organisation, counted by (from, to), with a sample of references."""
    code = agreement.organisation.code
    moves = [
        move
        for move in claims_preview_moves(decision_date=decision_date)
        if code in move.before.handlers.split(",") + move.after.handlers.split(",")
        or code in (move.before.lead_handler, move.after.lead_handler)
    ]
    counts: dict[tuple, int] = {}
    for move in moves:
        key = (
            move.before.schemes,
            move.before.lead_handler,
            move.after.schemes,
            move.after.lead_handler,
        )
        counts[key] = counts.get(key, 0) + 1
    by_change = [
        {
            "from": {"schemes": [s for s in b_s.split(",") if s], "lead_handler": b_l or None},
            "to": {"schemes": [s for s in a_s.split(",") if s], "lead_handler": a_l or None},
            "count": count,
        }
        for (b_s, b_l, a_s, a_l), count in sorted(counts.items(), key=lambda kv: -kv[1])
    ]
    return {
        "moves": len(moves),
        "by_change": by_change,
        "sample": [move.reference for move in moves[:sample_size]],
    }
