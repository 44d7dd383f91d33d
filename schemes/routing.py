"""Which scheme covers a claim and who handles it: domain.md §4 as pure Python.

Facts in (frozen dataclasses), a decision out. No ORM and no clock: the decision date and the
agreements are inputs, so a new agreement (for MDU, or any insurer) needs no code change and a
past decision can be replayed exactly.
"""

import datetime
from collections.abc import Iterable
from dataclasses import dataclass

RULE_VERSION = "2026-11-23.1"

NHS_PRIMARY_CARE_START = datetime.date(2019, 4, 1)  # CNSGP: SI 2019/334
CNST_START = datetime.date(1995, 4, 1)  # CNST; ELS before it (NHSR)
CORONAVIRUS_ACT_START = datetime.date(2020, 3, 25)  # Coronavirus Act 2020 s.11

CNSGP, ELSGP, ELGP = "CNSGP", "ELSGP", "ELGP"
CNST, ELS, CNSC = "CNST", "ELS", "CNSC"
NO_STATE_SCHEME, NOT_A_CLAIM, UNDETERMINED = "NO_STATE_SCHEME", "NOT_A_CLAIM", "UNDETERMINED"
NHSR, PROVIDER = "NHSR", "PROVIDER"
APPORTIONMENT_REQUIRED, MANUAL_REVIEW = "APPORTIONMENT_REQUIRED", "MANUAL_REVIEW"

MATTER_TYPES = ("claim", "medico_legal")
CARE_SETTINGS = ("general_practice", "trust", "independent_sector", "other")
ACTIVITIES = ("nhs_primary_medical_services", "nhs_other", "private", "fee_paying", "voluntary")
NHS_ACTIVITIES = ("nhs_primary_medical_services", "nhs_other")
NON_NHS_ACTIVITIES = ("private", "fee_paying", "voluntary")
CLINICIAN_ROLES = (
    "gp_partner",
    "salaried_gp",
    "locum_gp",
    "gp_trainee",
    "nurse",
    "pharmacist",
    "staff",
    "student",
    "returning_retiree",
)


@dataclass(frozen=True, slots=True)
class Agreement:
    """An MDO's ELS agreement with DHSC (domain.md §3). No handover date: interim handling
    has not ended."""

    organisation: str
    agreed_on: datetime.date
    handover_on: datetime.date | None


@dataclass(frozen=True, slots=True)
class ClinicianFacts:
    role: str
    mdo_at_incident: str | None = None
    employer_mdo_at_incident: str | None = None
    current_mdo: str | None = None
    # For a stored claim whose range is split, the own and employer MDO on each segment start:
    # ((segment_start, own_mdo, employer_mdo), ...). A start not listed uses the *_at_incident
    # fields, which is all the API preview has.
    mdos_on: tuple[tuple[datetime.date, str | None, str | None], ...] = ()

    def mdos_at(self, start: datetime.date | None) -> tuple[str | None, str | None]:
        for day, own, employer in self.mdos_on:
            if day == start:
                return own, employer
        return self.mdo_at_incident, self.employer_mdo_at_incident


@dataclass(frozen=True, slots=True)
class ClaimFacts:
    matter_type: str
    care_setting: str
    activity: str
    decision_date: datetime.date
    incident_date: datetime.date | None = None
    incident_date_from: datetime.date | None = None
    incident_date_to: datetime.date | None = None
    coronavirus_response: bool = False
    other_indemnity: bool = False
    provider_cnst_member: bool = False
    clinicians: tuple[ClinicianFacts, ...] = ()


@dataclass(frozen=True, slots=True)
class Segment:
    clinician: int | None
    start: datetime.date | None
    end: datetime.date | None
    scheme: str
    handler: str | None


@dataclass(frozen=True, slots=True)
class Decision:
    segments: tuple[Segment, ...]
    schemes: tuple[str, ...]
    lead_handler: str | None
    handlers: tuple[str, ...]
    flags: tuple[str, ...]
    reasons: tuple[str, ...]
    rule_version: str
    decision_date: datetime.date

    def as_dict(self) -> dict:
        """The answer of design.md §3.2."""
        return {
            "schemes": list(self.schemes),
            "lead_handler": self.lead_handler,
            "handlers": list(self.handlers),
            "flags": list(self.flags),
            "segments": [
                {
                    "clinician": s.clinician,
                    "from": s.start.isoformat() if s.start else None,
                    "to": s.end.isoformat() if s.end else None,
                    "scheme": s.scheme,
                    "handler": s.handler,
                }
                for s in self.segments
            ],
            "reasons": list(self.reasons),
            "rule_version": self.rule_version,
            "decision_date": self.decision_date.isoformat(),
        }


class FactsError(ValueError):
    """Facts that cannot be routed; `field` names the offending fact for a 400 answer."""

    def __init__(self, field: str, code: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.code = code


def validate_facts(facts: ClaimFacts) -> None:
    for field, value, allowed in (
        ("matter_type", facts.matter_type, MATTER_TYPES),
        ("care_setting", facts.care_setting, CARE_SETTINGS),
        ("activity", facts.activity, ACTIVITIES),
    ):
        if value not in allowed:
            raise FactsError(
                field, "invalid_choice", f"{value!r} is not one of {', '.join(allowed)}."
            )
    for index, clinician in enumerate(facts.clinicians):
        if clinician.role not in CLINICIAN_ROLES:
            raise FactsError(
                f"clinicians[{index}].role",
                "invalid_choice",
                f"{clinician.role!r} is not one of {', '.join(CLINICIAN_ROLES)}.",
            )
    has_range = facts.incident_date_from is not None or facts.incident_date_to is not None
    if facts.incident_date is not None and has_range:
        raise FactsError(
            "incident_date",
            "date_and_range",
            "Give either incident_date or incident_date_from and incident_date_to, not both.",
        )
    if facts.incident_date_from is None and facts.incident_date_to is not None:
        raise FactsError(
            "incident_date_from", "required", "A range needs its start as well as its end."
        )
    if facts.incident_date_to is None and facts.incident_date_from is not None:
        raise FactsError(
            "incident_date_to", "required", "A range needs its end as well as its start."
        )
    if (
        facts.incident_date_from is not None
        and facts.incident_date_to is not None
        and facts.incident_date_to < facts.incident_date_from
    ):
        raise FactsError(
            "incident_date_to", "range_reversed", "The incident range ends before it starts."
        )


class _Reasons:
    """Reasons in the order the rules fired, each once."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, text: str) -> None:
        if text not in self.items:
            self.items.append(text)


def _agreement_for(
    organisation: str | None, agreements: tuple[Agreement, ...], on: datetime.date
) -> Agreement | None:
    """The organisation's agreement in force on the decision date: the latest agreed on or
    before it, else (all in the future) the earliest (an assumption: several agreements for one
    organisation are not expected)."""
    if organisation is None:
        return None
    own = sorted(
        (a for a in agreements if a.organisation == organisation), key=lambda a: a.agreed_on
    )
    if not own:
        return None
    started = [a for a in own if a.agreed_on <= on]
    return started[-1] if started else own[0]


def _effective_mdo(
    clinician: ClinicianFacts,
    start: datetime.date | None,
    agreements: tuple[Agreement, ...],
    reasons: _Reasons,
) -> str | None:
    """domain.md §4, effective MDO (an assumption): own and employer's MDO on the segment's
    start; one with an agreement wins (own first); otherwise own, else employer's, else none."""
    own, employer = clinician.mdos_at(start)
    with_agreement = {a.organisation for a in agreements}
    if own in with_agreement:
        reasons.add(f"Effective MDO {own}: the clinician's own, with an ELS agreement")
        return own
    if employer in with_agreement:
        reasons.add(
            f"Effective MDO {employer}: the employing GP's, which has an ELS agreement"
            + (f" ({own} has none)" if own else "")
        )
        return employer
    if own is not None:
        reasons.add(f"Effective MDO {own}: the clinician's own on the incident date")
        return own
    if employer is not None:
        reasons.add(f"Effective MDO {employer}: the employing GP's on the incident date")
        return employer
    reasons.add("No MDO membership on the incident date, own or employer's")
    return None


def _route_segment(
    facts: ClaimFacts,
    clinician: ClinicianFacts | None,
    start: datetime.date,
    agreements: tuple[Agreement, ...],
    reasons: _Reasons,
    flags: set[str],
) -> tuple[str, str | None]:
    """Steps 4 to 8 for one segment starting on `start`."""
    setting, activity = facts.care_setting, facts.activity
    if setting == "trust":
        if start >= CNST_START:
            reasons.add("Trust incident on or after 1995-04-01: CNST (domain.md §4 step 4)")
            return CNST, NHSR
        reasons.add("Trust incident before 1995-04-01: ELS (domain.md §4 step 4)")
        return ELS, NHSR

    if setting == "independent_sector":
        if facts.provider_cnst_member and activity in NHS_ACTIVITIES:
            reasons.add(
                "Independent-sector provider, a CNST member doing NHS work: CNST "
                "(domain.md §4 step 5)"
            )
            return CNST, NHSR
        if _coronavirus_cover(facts, start):
            reasons.add(
                "Coronavirus-response NHS work on or after 2020-03-25 with no other indemnity: "
                "CNSC (Coronavirus Act 2020 s.11; domain.md §4 step 5)"
            )
            return CNSC, NHSR
        reasons.add(
            "Independent-sector provider outside CNST and CNSC: its own indemnifier "
            "(domain.md §4 step 5)"
        )
        return NO_STATE_SCHEME, PROVIDER

    if setting != "general_practice":
        reasons.add("Care setting not known to the schemes: a caseworker decides (step 8)")
        return UNDETERMINED, NHSR

    if activity in NON_NHS_ACTIVITIES:
        reasons.add(
            f"{activity.replace('_', '-').capitalize()} work is not state-indemnified: "
            "it stays with the MDO (domain.md §2, §4 step 6)"
        )
        mdo = _effective_mdo(clinician, start, agreements, reasons) if clinician else None
        if mdo is None:
            flags.add(MANUAL_REVIEW)
            reasons.add("No MDO to hand it to: manual review (domain.md §4 step 6, assumption)")
        return NO_STATE_SCHEME, mdo

    if activity == "nhs_other":
        if _coronavirus_cover(facts, start):
            reasons.add(
                "Coronavirus-response NHS work on or after 2020-03-25 with no other indemnity: "
                "CNSC (Coronavirus Act 2020 s.11; domain.md §4 step 7e)"
            )
            return CNSC, NHSR
        reasons.add(
            "Other NHS activity in a practice outside CNSC: with the MDO, for manual review "
            "(domain.md §4 step 7e, assumption)"
        )
        flags.add(MANUAL_REVIEW)
        mdo = _effective_mdo(clinician, start, agreements, reasons) if clinician else None
        return NO_STATE_SCHEME, mdo

    # NHS primary medical services (ancillary services of a primary-care provider included).
    if start >= NHS_PRIMARY_CARE_START:
        reasons.add(
            "NHS primary medical services on or after 2019-04-01: CNSGP, whatever the "
            "membership (SI 2019/334; domain.md §4 step 7a)"
        )
        return CNSGP, NHSR
    reasons.add(
        "Incident before 2019-04-01: an existing liability, covered only through the MDO "
        "the clinician belonged to on the incident date (SI 2020/296; domain.md §4 step 7b)"
    )
    mdo = _effective_mdo(clinician, start, agreements, reasons) if clinician else None
    if mdo is None:
        flags.add(MANUAL_REVIEW)
        reasons.add("No effective MDO: manual review (domain.md §4 step 7d)")
        return NO_STATE_SCHEME, None
    agreement = _agreement_for(mdo, agreements, facts.decision_date)
    if agreement is None:
        reasons.add(
            f"{mdo} has no ELS agreement: the claim stays with {mdo} (domain.md §4 step 7c)"
        )
        return NO_STATE_SCHEME, mdo
    if agreement.handover_on is not None and facts.decision_date >= agreement.handover_on:
        reasons.add(
            f"{mdo}'s ELS agreement handed its claims to NHS Resolution on "
            f"{agreement.handover_on.isoformat()}: ELSGP (domain.md §3, §4 step 7b)"
        )
        return ELSGP, NHSR
    if facts.decision_date >= agreement.agreed_on:
        until = (
            f"until {agreement.handover_on.isoformat()}"
            if agreement.handover_on
            else "until a handover date is set"
        )
        reasons.add(
            f"{mdo} agreed ELS terms on {agreement.agreed_on.isoformat()} and handles its "
            f"claims in the interim {until}: ELGP (domain.md §3, §4 step 7b)"
        )
        return ELGP, mdo
    reasons.add(
        f"{mdo}'s ELS agreement starts on {agreement.agreed_on.isoformat()}, after the "
        "decision date: not yet a state liability (domain.md §4 step 7b)"
    )
    return NO_STATE_SCHEME, mdo


def _coronavirus_cover(facts: ClaimFacts, start: datetime.date) -> bool:
    return (
        facts.coronavirus_response
        and not facts.other_indemnity
        and facts.activity in NHS_ACTIVITIES
        and start >= CORONAVIRUS_ACT_START
    )


def _split_boundary(facts: ClaimFacts) -> datetime.date | None:
    """domain.md §4 step 3: the boundary a range may cross, by setting and activity."""
    if (
        facts.care_setting == "general_practice"
        and facts.activity == "nhs_primary_medical_services"
    ):
        return NHS_PRIMARY_CARE_START
    if facts.care_setting == "trust":
        return CNST_START
    return None


def _periods(
    facts: ClaimFacts, reasons: _Reasons, flags: set[str]
) -> list[tuple[datetime.date, datetime.date]]:
    if facts.incident_date is not None:
        return [(facts.incident_date, facts.incident_date)]
    start, end = facts.incident_date_from, facts.incident_date_to
    assert start is not None and end is not None
    boundary = _split_boundary(facts)
    if boundary is not None and start < boundary <= end:
        flags.add(APPORTIONMENT_REQUIRED)
        reasons.add(
            f"The incident range {start.isoformat()} to {end.isoformat()} crosses "
            f"{boundary.isoformat()}: split in two, each part routed on its own, and the "
            "liability must be apportioned (domain.md §4 step 3)"
        )
        return [(start, boundary - datetime.timedelta(days=1)), (boundary, end)]
    reasons.add(
        f"The incident range {start.isoformat()} to {end.isoformat()} is routed by its start "
        "(domain.md §4 step 3, assumption)"
    )
    return [(start, end)]


def _lead_handler(segments: list[Segment]) -> str | None:
    """domain.md §4 (assumption): NHSR if it handles any segment; else the first handler in
    segment order, skipping nobody."""
    handlers = [s.handler for s in segments]
    if NHSR in handlers:
        return NHSR
    return next((h for h in handlers if h is not None), None)


def route(facts: ClaimFacts, agreements: Iterable[Agreement]) -> Decision:
    validate_facts(facts)
    agreements = tuple(agreements)
    reasons = _Reasons()
    flags: set[str] = set()
    clinicians: list[tuple[int | None, ClinicianFacts | None]] = (
        list(enumerate(facts.clinicians)) if facts.clinicians else [(None, None)]
    )
    segments: list[Segment] = []

    if facts.matter_type == "medico_legal":
        reasons.add(
            "A medico-legal matter (GMC, inquest, complaint) is not a claim in tort: no state "
            "scheme; the clinician's current MDO handles it (domain.md §2, §4 step 1)"
        )
        start = facts.incident_date or facts.incident_date_from
        end = facts.incident_date or facts.incident_date_to
        for index, clinician in clinicians:
            handler = clinician.current_mdo if clinician else None
            segments.append(Segment(index, start, end, NOT_A_CLAIM, handler))
    elif facts.incident_date is None and facts.incident_date_from is None:
        reasons.add(
            "Incident date unknown: a caseworker must establish it before any scheme can be "
            "chosen (domain.md §4 step 2)"
        )
        segments = [Segment(index, None, None, UNDETERMINED, NHSR) for index, _ in clinicians]
    else:
        periods = _periods(facts, reasons, flags)
        for index, clinician in clinicians:
            for start, end in periods:
                scheme, handler = _route_segment(
                    facts, clinician, start, agreements, reasons, flags
                )
                segments.append(Segment(index, start, end, scheme, handler))

    segments.sort(
        key=lambda s: (-1 if s.clinician is None else s.clinician, s.start or datetime.date.min)
    )
    lead = _lead_handler(segments)
    reasons.add(
        f"Lead handler {lead}" + (" (NHS Resolution handles a part)" if lead == NHSR else "")
        if lead
        else "No lead handler: nobody handles any part"
    )
    return Decision(
        segments=tuple(segments),
        schemes=tuple(sorted({s.scheme for s in segments})),
        lead_handler=lead,
        handlers=tuple(sorted({s.handler for s in segments if s.handler is not None})),
        flags=tuple(sorted(flags)),
        reasons=tuple(reasons.items),
        rule_version=RULE_VERSION,
        decision_date=facts.decision_date,
    )
