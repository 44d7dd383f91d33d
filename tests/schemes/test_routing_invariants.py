"""Properties of the decision procedure over the whole space of facts (Hypothesis)."""

import datetime
import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from schemes.routing import (
    ACTIVITIES,
    CARE_SETTINGS,
    CLINICIAN_ROLES,
    NHS_PRIMARY_CARE_START,
    Agreement,
    ClaimFacts,
    ClinicianFacts,
    route,
)

D = datetime.date
MDOS = st.sampled_from([None, "MPS", "MDU", "MDDUS", "INS1"])
DATES = st.dates(min_value=D(1985, 1, 1), max_value=D(2035, 12, 31))
AGREEMENTS = (
    Agreement("MPS", D(2019, 4, 1), D(2021, 4, 1)),
    Agreement("MDDUS", D(2019, 9, 1), D(2020, 4, 6)),
)

clinicians = st.builds(
    ClinicianFacts,
    role=st.sampled_from(CLINICIAN_ROLES),
    mdo_at_incident=MDOS,
    employer_mdo_at_incident=MDOS,
    current_mdo=MDOS,
)


@st.composite
def claim_facts(draw, setting=None, activity=None, matter_type=None):
    kind = draw(st.sampled_from(["date", "range", "unknown"]))
    dates = {}
    if kind == "date":
        dates["incident_date"] = draw(DATES)
    elif kind == "range":
        start = draw(DATES)
        dates["incident_date_from"] = start
        dates["incident_date_to"] = start + datetime.timedelta(days=draw(st.integers(0, 3000)))
    return ClaimFacts(
        matter_type=matter_type or draw(st.sampled_from(["claim", "claim", "medico_legal"])),
        care_setting=setting or draw(st.sampled_from(CARE_SETTINGS)),
        activity=activity or draw(st.sampled_from(ACTIVITIES)),
        decision_date=draw(DATES),
        coronavirus_response=draw(st.booleans()),
        other_indemnity=draw(st.booleans()),
        provider_cnst_member=draw(st.booleans()),
        clinicians=tuple(draw(st.lists(clinicians, max_size=3))),
        **dates,
    )


@settings(max_examples=300)
@given(
    on=st.dates(min_value=NHS_PRIMARY_CARE_START, max_value=D(2035, 12, 31)),
    decided=DATES,
    people=st.lists(clinicians, max_size=3),
)
def test_nhs_primary_care_on_or_after_2019_04_01_is_cnsgp_whatever_the_memberships(
    on, decided, people
):
    facts = ClaimFacts(
        matter_type="claim",
        care_setting="general_practice",
        activity="nhs_primary_medical_services",
        decision_date=decided,
        incident_date=on,
        clinicians=tuple(people),
    )
    decision = route(facts, AGREEMENTS)
    assert decision.schemes == ("CNSGP",)
    assert decision.lead_handler == "NHSR"


@settings(max_examples=300)
@given(claim_facts(matter_type="claim"))
def test_segments_cover_an_incident_range_exactly_with_no_gap_or_overlap(facts):
    if facts.incident_date_from is None:
        return
    decision = route(facts, AGREEMENTS)
    people = [None] if not facts.clinicians else list(range(len(facts.clinicians)))
    for person in people:
        parts = sorted((s.start, s.end) for s in decision.segments if s.clinician == person)
        assert parts[0][0] == facts.incident_date_from
        assert parts[-1][1] == facts.incident_date_to
        for (_, end), (next_start, _) in itertools.pairwise(parts):
            assert next_start == end + datetime.timedelta(days=1)
        assert all(start <= end for start, end in parts)


@settings(max_examples=300)
@given(claim_facts())
def test_routing_is_deterministic(facts):
    assert route(facts, AGREEMENTS) == route(facts, AGREEMENTS)


@settings(max_examples=300)
@given(claim_facts(), st.integers(1, 4000))
def test_as_the_decision_date_moves_on_a_claim_never_goes_back_from_nhsr_to_an_mdo(facts, days):
    earlier = route(facts, AGREEMENTS)
    later_facts = ClaimFacts(
        **{name: getattr(facts, name) for name in facts.__slots__ if name != "decision_date"},
        decision_date=facts.decision_date + datetime.timedelta(days=days),
    )
    later = route(later_facts, AGREEMENTS)
    if earlier.lead_handler == "NHSR" and facts.matter_type == "claim":
        assert later.lead_handler == "NHSR"


@settings(max_examples=300)
@given(claim_facts(matter_type="claim"), MDOS)
def test_only_membership_at_the_incident_matters_not_the_current_one(facts, new_current):
    moved_on = ClaimFacts(
        **{name: getattr(facts, name) for name in facts.__slots__ if name != "clinicians"},
        clinicians=tuple(
            ClinicianFacts(
                role=c.role,
                mdo_at_incident=c.mdo_at_incident,
                employer_mdo_at_incident=c.employer_mdo_at_incident,
                current_mdo=new_current,
            )
            for c in facts.clinicians
        ),
    )
    assert route(facts, AGREEMENTS).segments == route(moved_on, AGREEMENTS).segments


@settings(max_examples=300)
@given(claim_facts())
def test_schemes_and_handlers_are_the_sorted_distinct_segment_values(facts):
    decision = route(facts, AGREEMENTS)
    assert list(decision.schemes) == sorted({s.scheme for s in decision.segments})
    assert list(decision.handlers) == sorted(
        {s.handler for s in decision.segments if s.handler is not None}
    )
    assert decision.segments
    if decision.lead_handler is not None:
        assert decision.lead_handler in decision.handlers
