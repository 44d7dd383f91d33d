"""domain.md §4, rule by rule and boundary by boundary, on the pure decision procedure."""

import datetime

import pytest

from schemes.routing import (
    Agreement,
    ClaimFacts,
    ClinicianFacts,
    FactsError,
    route,
)

D = datetime.date
MPS = Agreement("MPS", D(2019, 4, 1), D(2021, 4, 1))
MDDUS = Agreement("MDDUS", D(2019, 9, 1), D(2020, 4, 6))
AGREEMENTS = (MPS, MDDUS)


def gp(own=None, employer=None, current=None, role="gp_partner", **kw) -> ClinicianFacts:
    return ClinicianFacts(
        role=role,
        mdo_at_incident=own,
        employer_mdo_at_incident=employer,
        current_mdo=current if current is not None else own,
        **kw,
    )


INCIDENT = D(2018, 11, 12)
DECIDED = D(2024, 5, 1)


def facts(
    *clinicians,
    on=INCIDENT,
    decided=DECIDED,
    setting="general_practice",
    activity="nhs_primary_medical_services",
    **kw,
) -> ClaimFacts:
    dates = {"incident_date": on} if on is not None else {}
    dates.update({k: kw.pop(k) for k in list(kw) if k.startswith("incident_date")})
    if "incident_date_from" in dates:
        dates.pop("incident_date", None)
    return ClaimFacts(
        matter_type=kw.pop("matter_type", "claim"),
        care_setting=setting,
        activity=activity,
        decision_date=decided,
        clinicians=tuple(clinicians),
        **dates,
        **kw,
    )


def outcome(f: ClaimFacts, agreements=AGREEMENTS):
    decision = route(f, agreements)
    return decision.schemes, decision.lead_handler, decision.flags


# Step 1: medico-legal.


def test_gmc_matter_goes_to_the_clinicians_current_mdo_not_a_claim():
    assert outcome(facts(gp("MPS", current="MDU"), matter_type="medico_legal")) == (
        ("NOT_A_CLAIM",),
        "MDU",
        (),
    )


def test_medico_legal_matter_of_a_clinician_without_an_mdo_has_no_handler():
    assert outcome(facts(gp(None), matter_type="medico_legal")) == (("NOT_A_CLAIM",), None, ())


def test_medico_legal_beats_an_unknown_date():
    assert outcome(facts(gp("MPS"), on=None, matter_type="medico_legal"))[0] == ("NOT_A_CLAIM",)


# Step 2: unknown incident date.


def test_unknown_incident_date_is_undetermined_with_nhsr_and_no_dates():
    decision = route(facts(gp("MPS"), on=None), AGREEMENTS)
    assert (decision.schemes, decision.lead_handler) == (("UNDETERMINED",), "NHSR")
    assert [(s.start, s.end) for s in decision.segments] == [(None, None)]


# Step 3: ranges.


def test_range_across_2019_04_01_splits_with_apportionment():
    decision = route(
        facts(
            gp("MPS"),
            on=None,
            incident_date_from=D(2018, 9, 1),
            incident_date_to=D(2020, 2, 28),
            decided=D(2023, 6, 1),
        ),
        AGREEMENTS,
    )
    assert [(s.start, s.end, s.scheme, s.handler) for s in decision.segments] == [
        (D(2018, 9, 1), D(2019, 3, 31), "ELSGP", "NHSR"),
        (D(2019, 4, 1), D(2020, 2, 28), "CNSGP", "NHSR"),
    ]
    assert decision.flags == ("APPORTIONMENT_REQUIRED",)


def test_range_starting_on_2019_04_01_does_not_split():
    decision = route(
        facts(gp("MPS"), on=None, incident_date_from=D(2019, 4, 1), incident_date_to=D(2020, 1, 1)),
        AGREEMENTS,
    )
    assert len(decision.segments) == 1
    assert decision.flags == ()


def test_range_ending_on_2019_04_01_splits_into_a_one_day_second_part():
    decision = route(
        facts(gp("MPS"), on=None, incident_date_from=D(2019, 3, 1), incident_date_to=D(2019, 4, 1)),
        AGREEMENTS,
    )
    assert [(s.start, s.end) for s in decision.segments] == [
        (D(2019, 3, 1), D(2019, 3, 31)),
        (D(2019, 4, 1), D(2019, 4, 1)),
    ]


def test_range_ending_on_2019_03_31_is_one_pre_2019_segment():
    decision = route(
        facts(
            gp("MPS"), on=None, incident_date_from=D(2019, 1, 1), incident_date_to=D(2019, 3, 31)
        ),
        AGREEMENTS,
    )
    assert [s.scheme for s in decision.segments] == ["ELSGP"]


def test_trust_range_across_1995_04_01_splits_into_els_and_cnst():
    decision = route(
        facts(
            on=None,
            setting="trust",
            activity="nhs_other",
            incident_date_from=D(1994, 6, 1),
            incident_date_to=D(1995, 6, 1),
        ),
        AGREEMENTS,
    )
    assert [s.scheme for s in decision.segments] == ["ELS", "CNST"]
    assert "APPORTIONMENT_REQUIRED" in decision.flags


def test_range_across_2020_03_25_is_not_split_and_is_routed_by_its_start():
    decision = route(
        facts(
            on=None,
            setting="independent_sector",
            activity="nhs_other",
            coronavirus_response=True,
            incident_date_from=D(2020, 3, 1),
            incident_date_to=D(2020, 5, 1),
        ),
        AGREEMENTS,
    )
    assert len(decision.segments) == 1
    assert decision.flags == ()
    # Routed by its start, before the coronavirus scheme began: the provider's, not CNSC.
    assert (decision.schemes, decision.lead_handler) == (("NO_STATE_SCHEME",), "PROVIDER")


@pytest.mark.parametrize(
    ("activity", "flags"), [("private", ()), ("nhs_other", ("MANUAL_REVIEW",))]
)
def test_a_practice_range_across_2019_04_01_in_another_activity_is_one_segment(activity, flags):
    decision = route(
        facts(
            gp("MDU"),
            on=None,
            activity=activity,
            incident_date_from=D(2018, 9, 1),
            incident_date_to=D(2020, 2, 28),
        ),
        AGREEMENTS,
    )
    assert [(s.start, s.end, s.scheme, s.handler) for s in decision.segments] == [
        (D(2018, 9, 1), D(2020, 2, 28), "NO_STATE_SCHEME", "MDU")
    ]
    assert decision.flags == flags


def test_split_range_uses_the_membership_on_each_segment_start():
    clinician = gp(
        "MDU",
        mdos_on=((D(2018, 9, 1), "MDU", None), (D(2019, 4, 1), "MPS", None)),
    )
    decision = route(
        facts(clinician, on=None, incident_date_from=D(2018, 9, 1), incident_date_to=D(2019, 6, 1)),
        AGREEMENTS,
    )
    assert [(s.scheme, s.handler) for s in decision.segments] == [
        ("NO_STATE_SCHEME", "MDU"),
        ("CNSGP", "NHSR"),
    ]


# Step 4: trusts.


def test_trust_incident_on_1995_04_01_is_cnst():
    assert outcome(facts(on=D(1995, 4, 1), setting="trust", activity="nhs_other"))[0] == ("CNST",)


def test_trust_incident_on_1995_03_31_is_els():
    assert outcome(facts(on=D(1995, 3, 31), setting="trust", activity="nhs_other"))[:2] == (
        ("ELS",),
        "NHSR",
    )


# Step 5: independent sector.


def test_independent_sector_cnst_member_doing_nhs_work_is_cnst():
    f = facts(setting="independent_sector", activity="nhs_other", provider_cnst_member=True)
    assert outcome(f)[:2] == (("CNST",), "NHSR")


def test_independent_sector_coronavirus_work_on_2020_03_25_is_cnsc():
    f = facts(
        on=D(2020, 3, 25),
        setting="independent_sector",
        activity="nhs_other",
        coronavirus_response=True,
    )
    assert outcome(f)[:2] == (("CNSC",), "NHSR")


def test_independent_sector_coronavirus_work_on_2020_03_24_is_the_providers():
    f = facts(
        on=D(2020, 3, 24),
        setting="independent_sector",
        activity="nhs_other",
        coronavirus_response=True,
    )
    assert outcome(f)[:2] == (("NO_STATE_SCHEME",), "PROVIDER")


def test_independent_sector_coronavirus_work_with_other_indemnity_is_the_providers():
    f = facts(
        on=D(2020, 5, 1),
        setting="independent_sector",
        activity="nhs_other",
        coronavirus_response=True,
        other_indemnity=True,
    )
    assert outcome(f)[:2] == (("NO_STATE_SCHEME",), "PROVIDER")


@pytest.mark.parametrize(
    "kw",
    [
        # A CNST member, but private work.
        {"on": D(2021, 1, 1), "activity": "private", "provider_cnst_member": True},
        # NHS work after 2020-03-25, but not for the coronavirus response.
        {"on": D(2020, 5, 10), "activity": "nhs_other"},
        # For the coronavirus response, but private work.
        {"on": D(2020, 5, 10), "activity": "private", "coronavirus_response": True},
    ],
)
def test_independent_sector_work_outside_cnst_and_cnsc_is_the_providers(kw):
    assert outcome(facts(setting="independent_sector", **kw)) == (
        ("NO_STATE_SCHEME",),
        "PROVIDER",
        (),
    )


# Step 6: non-NHS work in a practice.


@pytest.mark.parametrize("activity", ["private", "fee_paying", "voluntary"])
def test_non_nhs_work_stays_with_the_mdo_even_after_2019(activity):
    assert outcome(facts(gp("MDU"), on=D(2022, 9, 14), activity=activity)) == (
        ("NO_STATE_SCHEME",),
        "MDU",
        (),
    )


def test_non_nhs_work_without_an_mdo_needs_manual_review():
    assert outcome(facts(gp(None), activity="private")) == (
        ("NO_STATE_SCHEME",),
        None,
        ("MANUAL_REVIEW",),
    )


# Step 7: NHS primary medical services.


def test_incident_on_2019_04_01_goes_to_cnsgp():
    assert outcome(facts(gp("MDU"), on=D(2019, 4, 1)))[:2] == (("CNSGP",), "NHSR")


def test_incident_on_2019_03_31_with_mdu_and_no_agreement_stays_with_mdu():
    assert outcome(facts(gp("MDU"), on=D(2019, 3, 31)))[:2] == (("NO_STATE_SCHEME",), "MDU")


def test_cnsgp_needs_no_membership_at_all():
    assert outcome(facts(gp(None), on=D(2020, 4, 20)))[:2] == (("CNSGP",), "NHSR")


def test_mps_claim_decided_the_day_before_mps_agreed_is_not_yet_state_indemnified():
    assert outcome(facts(gp("MPS"), decided=D(2019, 3, 31)))[:2] == (("NO_STATE_SCHEME",), "MPS")


def test_mps_claim_decided_on_the_day_mps_agreed_is_elgp_with_mps():
    assert outcome(facts(gp("MPS"), decided=D(2019, 4, 1)))[:2] == (("ELGP",), "MPS")


def test_mps_claim_decided_the_day_before_handover_is_elgp_with_mps():
    assert outcome(facts(gp("MPS"), decided=D(2021, 3, 31)))[:2] == (("ELGP",), "MPS")


def test_mps_claim_decided_on_handover_day_is_elsgp_with_nhsr():
    assert outcome(facts(gp("MPS"), decided=D(2021, 4, 1)))[:2] == (("ELSGP",), "NHSR")


def test_mddus_claim_decided_the_day_before_mddus_agreed_stays_with_mddus():
    assert outcome(facts(gp("MDDUS"), decided=D(2019, 8, 31)))[:2] == (
        ("NO_STATE_SCHEME",),
        "MDDUS",
    )


def test_mddus_claim_decided_on_the_day_mddus_agreed_is_elgp_with_mddus():
    assert outcome(facts(gp("MDDUS"), decided=D(2019, 9, 1)))[:2] == (("ELGP",), "MDDUS")


def test_mddus_claim_decided_the_day_before_handover_is_elgp():
    assert outcome(facts(gp("MDDUS"), decided=D(2020, 4, 5)))[:2] == (("ELGP",), "MDDUS")


def test_mddus_claim_decided_on_handover_day_is_elsgp():
    assert outcome(facts(gp("MDDUS"), decided=D(2020, 4, 6)))[:2] == (("ELSGP",), "NHSR")


def test_agreement_without_a_handover_date_keeps_interim_handling():
    mdu = Agreement("MDU", D(2026, 1, 1), None)
    assert outcome(facts(gp("MDU"), decided=D(2030, 1, 1)), (*AGREEMENTS, mdu))[:2] == (
        ("ELGP",),
        "MDU",
    )


def test_a_new_agreement_for_mdu_is_data_not_code():
    mdu = Agreement("MDU", D(2026, 1, 1), D(2027, 1, 1))
    assert outcome(facts(gp("MDU"), decided=D(2027, 1, 1)), (*AGREEMENTS, mdu))[:2] == (
        ("ELSGP",),
        "NHSR",
    )


def test_staff_without_cover_take_the_employing_gps_mdo():
    nurse = gp(None, employer="MPS", role="nurse")
    assert outcome(facts(nurse, decided=D(2020, 6, 1)))[:2] == (("ELGP",), "MPS")


def test_own_mdo_with_agreement_wins_over_employers_with_agreement():
    nurse = gp("MDDUS", employer="MPS", role="nurse")
    assert outcome(facts(nurse, decided=D(2020, 6, 1)))[:2] == (("ELSGP",), "NHSR")


def test_employers_agreement_wins_over_own_mdo_without_one():
    salaried = gp("MDU", employer="MPS", role="salaried_gp")
    assert outcome(facts(salaried, decided=D(2020, 6, 1)))[:2] == (("ELGP",), "MPS")


def test_employers_mdo_without_agreement_is_used_when_there_is_no_own():
    nurse = gp(None, employer="MDU", role="nurse")
    assert outcome(facts(nurse))[:2] == (("NO_STATE_SCHEME",), "MDU")


def test_without_agreements_the_own_mdo_comes_before_the_employers():
    nurse = gp("MDU", employer="MPS", role="nurse")
    assert outcome(facts(nurse), agreements=())[:2] == (("NO_STATE_SCHEME",), "MDU")


def test_no_effective_mdo_needs_manual_review():
    assert outcome(facts(gp(None))) == (("NO_STATE_SCHEME",), None, ("MANUAL_REVIEW",))


def test_a_later_change_of_mdo_never_matters():
    assert outcome(facts(gp("MDU", current="MPS"), decided=D(2024, 1, 1)))[:2] == (
        ("NO_STATE_SCHEME",),
        "MDU",
    )


def test_other_nhs_work_in_a_practice_for_coronavirus_from_2020_03_25_is_cnsc():
    f = facts(gp("MPS"), on=D(2020, 3, 25), activity="nhs_other", coronavirus_response=True)
    assert outcome(f)[:2] == (("CNSC",), "NHSR")


def test_other_nhs_work_in_a_practice_on_2020_03_24_is_manual_review_with_the_mdo():
    f = facts(gp("MPS"), on=D(2020, 3, 24), activity="nhs_other", coronavirus_response=True)
    assert outcome(f) == (("NO_STATE_SCHEME",), "MPS", ("MANUAL_REVIEW",))


def test_other_nhs_work_in_a_practice_not_for_the_coronavirus_is_manual_review_with_the_mdo():
    f = facts(gp("MPS"), on=D(2020, 5, 10), activity="nhs_other")
    assert outcome(f) == (("NO_STATE_SCHEME",), "MPS", ("MANUAL_REVIEW",))


# Step 8 and the lead handler.


def test_other_setting_is_undetermined_with_nhsr():
    assert outcome(facts(gp("MPS"), setting="other", activity="nhs_other"))[:2] == (
        ("UNDETERMINED",),
        "NHSR",
    )


def test_a_claim_against_a_provider_with_no_clinicians_has_one_clinicianless_segment():
    decision = route(facts(setting="trust", activity="nhs_other"), AGREEMENTS)
    assert [s.clinician for s in decision.segments] == [None]


def test_lead_handler_is_nhsr_when_it_handles_any_part():
    decision = route(facts(gp("MDU"), gp("MPS"), decided=D(2024, 1, 1)), AGREEMENTS)
    assert decision.handlers == ("MDU", "NHSR")
    assert decision.lead_handler == "NHSR"


def test_lead_handler_otherwise_is_the_first_clinicians_handler():
    decision = route(facts(gp(None), gp("MDU"), gp("MPS"), decided=D(2020, 1, 1)), AGREEMENTS)
    assert [s.handler for s in decision.segments] == [None, "MDU", "MPS"]
    assert decision.lead_handler == "MDU"


def test_schemes_and_handlers_are_sorted_and_distinct():
    decision = route(facts(gp("MPS"), gp("MPS"), decided=D(2020, 6, 1)), AGREEMENTS)
    assert decision.schemes == ("ELGP",)
    assert decision.handlers == ("MPS",)


def test_reasons_cite_the_rule_and_the_version_is_recorded():
    decision = route(facts(gp("MPS"), decided=D(2021, 3, 31)), AGREEMENTS)
    assert decision.reasons[0].startswith("Incident before 2019-04-01: an existing liability")
    assert any("step 7b" in reason for reason in decision.reasons)
    assert decision.rule_version
    assert decision.decision_date == D(2021, 3, 31)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"matter_type": "complaint"}, "matter_type"),
        ({"care_setting": "hospital"}, "care_setting"),
        ({"activity": "nhs"}, "activity"),
    ],
)
def test_unknown_codes_are_refused_naming_the_field(changes, field):
    base = facts(gp("MPS"))
    bad = ClaimFacts(**{**{f: getattr(base, f) for f in base.__slots__}, **changes})
    with pytest.raises(FactsError) as error:
        route(bad, AGREEMENTS)
    assert error.value.field == field


def test_unknown_role_is_refused_naming_the_clinician():
    with pytest.raises(FactsError) as error:
        route(facts(gp("MPS", role="surgeon")), AGREEMENTS)
    assert error.value.field == "clinicians[0].role"


@pytest.mark.parametrize(
    ("dates", "field"),
    [
        (
            {"incident_date_from": D(2019, 5, 1), "incident_date_to": D(2019, 4, 30)},
            "incident_date_to",
        ),
        ({"incident_date_from": D(2019, 5, 1)}, "incident_date_to"),
        ({"incident_date_to": D(2019, 5, 1)}, "incident_date_from"),
    ],
)
def test_inconsistent_ranges_are_refused_naming_the_field(dates, field):
    bad = ClaimFacts(
        matter_type="claim",
        care_setting="general_practice",
        activity="nhs_primary_medical_services",
        decision_date=D(2024, 1, 1),
        **dates,
    )
    with pytest.raises(FactsError) as error:
        route(bad, AGREEMENTS)
    assert error.value.field == field


def test_a_date_and_a_range_together_are_refused():
    bad = ClaimFacts(
        matter_type="claim",
        care_setting="general_practice",
        activity="nhs_primary_medical_services",
        decision_date=D(2024, 1, 1),
        incident_date=D(2018, 1, 1),
        incident_date_from=D(2018, 1, 1),
        incident_date_to=D(2018, 2, 1),
    )
    with pytest.raises(FactsError) as error:
        route(bad, AGREEMENTS)
    assert error.value.field == "incident_date"
