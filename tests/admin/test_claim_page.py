"""The claim page: everything about a claim at the top (facts, routing and why, clinicians and
their memberships on the incident date, deadlines with history, money with totals, notes, the
audit trail), and the form below it, whose saves go through the services (issue 6)."""

import datetime
from decimal import Decimal

import pytest

from audit.selectors import audit_events_for
from claims.models import Claim, ClaimClinician, Deadline, RoutingDecision
from claims.routing_services import claims_route
from claims.services import note_add, payment_record, reserve_set
from members.models import DefenceOrganisation
from tests.admin.conftest import change_url
from tests.factories import (
    ClaimFactory,
    EmploymentFactory,
    MemberFactory,
    MembershipFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(client, caseworker):
    client.force_login(caseworker)
    return client


def _form_data(response) -> dict:
    """What the browser would post back unchanged: the form's current values."""
    form = response.context["adminform"].form
    data = {}
    for name in form.fields:
        value = form[name].value()
        if value is None or value is False:
            continue
        data[name] = value.isoformat() if isinstance(value, datetime.date) else value
    return data


def test_the_facts_are_at_the_top(signed_in, mps_claim):
    page = signed_in.get(change_url(mps_claim)).content.decode()
    facts = page[page.index('id="facts"') : page.index('id="routing"')]
    for text in ("Ada Lovelace", "943 476 5919", "2018-11-12", "Letter of claim", "Open",
                 "ELGP", "lead handler MPS", mps_claim.practice.ods_code):  # fmt: skip
        assert text in facts, text
    assert page.index('id="facts"') < page.index('id="edit"')


def test_routing_shows_the_decision_its_reasons_and_its_history(signed_in, mps_claim):
    claims_route(claim_ids=[mps_claim.pk], actor=None, cause="Claim recorded")
    mps_claim.incident_date = datetime.date(2020, 2, 2)
    mps_claim.save()
    claims_route(claim_ids=[mps_claim.pk], actor=None, cause="Facts changed: incident_date")
    page = signed_in.get(change_url(mps_claim)).content.decode()
    routing = page[page.index('id="routing"') : page.index('id="clinicians"')]
    assert "CNSGP" in routing and "lead handler <strong>NHSR</strong>" in routing
    assert "on or after 2019-04-01" in routing  # the reason that fired
    assert "Routing history (2 decisions)" in routing
    assert "Facts changed: incident_date" in routing and "Claim recorded" in routing
    assert "ELSGP" in routing  # the earlier decision


def test_clinicians_show_their_memberships_on_the_incident_date(signed_in, mps_claim):
    nurse_employer = MemberFactory(given_name="Rhys", family_name="Evans")
    MembershipFactory(
        member=nurse_employer,
        organisation=DefenceOrganisation.objects.get(code="MDU"),
        start_date=datetime.date(2001, 1, 1),
    )
    nurse = MemberFactory(
        given_name="Nia",
        family_name="Jones",
        registration_body="NMC",
        registration_number="12A3456B",
    )
    EmploymentFactory(
        member=nurse,
        employer=nurse_employer,
        practice=mps_claim.practice,
        start_date=datetime.date(2015, 1, 1),
    )
    ClaimClinician.objects.create(claim=mps_claim, member=nurse, position=1)
    gp = mps_claim.claim_clinicians.get(position=0).member
    MembershipFactory(
        member=gp,
        organisation=DefenceOrganisation.objects.get(code="MDDUS"),
        start_date=datetime.date(2020, 1, 1),
    )
    gp.memberships.filter(organisation__code="MPS").update(end_date=datetime.date(2019, 12, 31))
    page = signed_in.get(change_url(mps_claim)).content.decode()
    section = page[page.index('id="clinicians"') : page.index('id="deadlines"')]
    assert "MDO on 2018-11-12" in section
    assert "Grace Kerr" in section and "MPS (from 2010-01-01 to 2019-12-31)" in section
    assert "Nia Jones" in section and "Rhys Evans" in section and ": MDU" in section
    # Today the GP is with MDDUS; the incident-date membership is what counts.
    gp_row = section[section.index("Grace Kerr") : section.index("Nia Jones")]
    assert "<td>MDDUS</td></tr>" in gp_row


def test_deadlines_show_their_history_and_the_actions_for_a_caseworker(signed_in, mps_claim):
    page = signed_in.get(change_url(mps_claim)).content.decode()
    section = page[page.index('id="deadlines"') : page.index('id="money"')]
    assert "Acknowledge the letter of claim" in section
    assert "Record as done" in section and "Waive" in section
    assert "History (1)" in section and "Claim recorded" in section


def test_money_shows_reserves_payments_and_totals(signed_in, caseworker, mps_claim):
    reserve_set(claim=mps_claim, actor=caseworker, head="damages", amount="10000.00")
    reserve_set(claim=mps_claim, actor=caseworker, head="damages", amount="12500.50")
    reserve_set(claim=mps_claim, actor=caseworker, head="defence_costs", amount="3000")
    payment_record(
        claim=mps_claim,
        actor=caseworker,
        head="defence_costs",
        amount="1234.56",
        paid_on=datetime.date(2024, 5, 1),
        payee_type="defence_solicitor",
        payee_name="Panel LLP",
    )
    response = signed_in.get(change_url(mps_claim))
    money = response.context["money"]
    assert money.reserve == Decimal("15500.50")
    assert money.paid == Decimal("1234.56")
    assert money.outstanding == Decimal("14265.94")
    page = response.content.decode()
    section = page[page.index('id="money"') : page.index('id="notes"')]
    for text in ("£12,500.50", "£15,500.50", "£1,234.56", "£14,265.94", "Panel LLP",
                 "Reserve history (3)", "£10,000.00"):  # fmt: skip
        assert text in section, text


def test_notes_and_the_audit_history_are_shown(signed_in, caseworker, mps_claim):
    note_add(claim=mps_claim, actor=caseworker, text="Spoke to the claimant's solicitor.")
    page = signed_in.get(change_url(mps_claim)).content.decode()
    notes = page[page.index('id="notes"') : page.index('id="history"')]
    assert "Spoke to the claimant&#x27;s solicitor." in notes
    history = page[page.index('id="history"') :]
    assert "Note added" in history


def test_opening_the_page_is_recorded_as_a_view(signed_in, caseworker, mps_claim):
    signed_in.get(change_url(mps_claim))
    event = audit_events_for(subject=mps_claim).get(action="claim.view")
    assert (event.actor, event.reason) == (caseworker, "admin")


def test_computed_fields_are_read_only(signed_in, mps_claim):
    response = signed_in.get(change_url(mps_claim))
    form = response.context["adminform"].form
    computed = ("reference", "schemes", "lead_handler", "handlers", "flags", "needs_triage",
                "status", "outcome", "assigned_to", "possible_duplicate_of", "version")  # fmt: skip
    for name in computed:
        assert name not in form.fields, name
    data = _form_data(response)
    data.update({"schemes": "CNST", "lead_handler": "NHSR", "status": "closed", "version": "9"})
    assert signed_in.post(change_url(mps_claim), data).status_code == 302
    claim = Claim.objects.get(pk=mps_claim.pk)
    assert (claim.schemes, claim.lead_handler, claim.status, claim.version) == (
        "ELGP",
        "MPS",
        "open",
        1,
    )


def test_changing_the_incident_date_reroutes_through_the_service(signed_in, caseworker, mps_claim):
    data = _form_data(signed_in.get(change_url(mps_claim)))
    data["incident_date"] = "2020-02-02"
    response = signed_in.post(change_url(mps_claim), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    claim = Claim.objects.get(pk=mps_claim.pk)
    assert (claim.schemes, claim.lead_handler) == ("CNSGP", "NHSR")
    decision = RoutingDecision.objects.get(claim=claim)
    assert decision.cause == "Facts changed: incident_date"
    update = audit_events_for(subject=claim).get(action="claim.update")
    assert update.actor == caseworker and update.after["incident_date"] == "2020-02-02"


def test_changing_a_trigger_date_recomputes_the_deadlines(signed_in, mps_claim):
    data = _form_data(signed_in.get(change_url(mps_claim)))
    data["records_requested_on"] = "2024-01-10"
    assert signed_in.post(change_url(mps_claim), data).status_code == 302
    records = Deadline.objects.get(claim=mps_claim, kind="records_disclosure")
    assert records.due_on == datetime.date(2024, 2, 19)  # domain.md §5 worked example


def test_changing_the_clinicians_reroutes_the_claim(signed_in, mps_claim):
    mdu_gp = MemberFactory(registration_number="7654321")
    MembershipFactory(
        member=mdu_gp,
        organisation=DefenceOrganisation.objects.get(code="MDU"),
        start_date=datetime.date(2005, 1, 1),
    )
    data = _form_data(signed_in.get(change_url(mps_claim)))
    assert data["clinicians"] == mps_claim.claim_clinicians.get().member.key
    data["clinicians"] = "GMC:7654321"
    assert signed_in.post(change_url(mps_claim), data).status_code == 302
    claim = Claim.objects.get(pk=mps_claim.pk)
    assert list(claim.claim_clinicians.values_list("member__registration_number", flat=True)) == [
        "7654321"
    ]
    assert claim.lead_handler == "MDU"
    event = audit_events_for(subject=claim).filter(action="claim.update").get()
    assert event.after == {"version": 2, "clinicians": ["GMC:7654321"]}


def test_an_unknown_clinician_key_is_refused(signed_in, mps_claim):
    data = _form_data(signed_in.get(change_url(mps_claim)))
    data["clinicians"] = "GMC:1111111"
    response = signed_in.post(change_url(mps_claim), data)
    assert response.status_code == 200
    assert "No member with the key GMC:1111111" in response.content.decode()


def test_a_save_over_someone_elses_change_is_refused(signed_in, caseworker, mps_claim):
    data = _form_data(signed_in.get(change_url(mps_claim)))
    note = "changed meanwhile"
    Claim.objects.filter(pk=mps_claim.pk).update(description=note, version=2)
    data["description"] = "mine"
    response = signed_in.post(change_url(mps_claim), data)
    assert response.status_code == 200
    assert "Someone changed this claim after you opened it" in response.content.decode()
    assert Claim.objects.get(pk=mps_claim.pk).description == note


def test_a_form_sent_back_with_errors_leaves_the_panels_showing_what_is_stored(
    signed_in, mps_claim
):
    Claim.objects.filter(pk=mps_claim.pk).update(description="As stored")
    data = _form_data(signed_in.get(change_url(mps_claim)))
    data["description"] = "Typed but never saved"
    data["claimant_nhs_number"] = "123"
    response = signed_in.post(change_url(mps_claim), data)
    assert response.status_code == 200
    page = response.content.decode()
    shown = page.split('class="claims-description">', 1)[1].split("</p>")[0]
    assert shown == "As stored"
    assert "Typed but never saved" in page  # the form keeps what was typed, to correct it
    assert Claim.objects.get(pk=mps_claim.pk).description == "As stored"


def test_a_caseworker_records_a_claim_which_is_routed_and_given_deadlines(signed_in, mps_claim):
    from django.urls import reverse

    gp = mps_claim.claim_clinicians.get().member
    response = signed_in.post(
        reverse("admin:claims_claim_add"),
        {
            "claimant_name": "Florence Nightingale",
            "claimant_nhs_number": "943 476 5919",
            "matter_type": "claim",
            "practice": mps_claim.practice.pk,
            "clinicians": gp.key,
            "care_setting": "general_practice",
            "activity": "nhs_primary_medical_services",
            "incident_date": "2018-06-01",
            "notified_on": "2024-01-01",
            "stage": "letter_of_claim",
            "letter_of_claim_on": "2024-01-02",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    claim = Claim.objects.get(claimant_name="Florence Nightingale")
    assert claim.claimant_nhs_number == "9434765919"
    assert claim.reference.startswith("CL-")
    # An MPS member before 2019, after MPS's handover on 2021-04-01 (domain.md §3).
    assert (claim.schemes, claim.lead_handler) == ("ELSGP", "NHSR")
    assert claim.deadlines.filter(kind="letter_of_response").exists()
    assert audit_events_for(subject=claim).filter(action="claim.create").exists()


def test_a_possible_duplicate_links_to_the_earlier_claim(signed_in, mps_claim):
    later = ClaimFactory(possible_duplicate_of=mps_claim)
    page = signed_in.get(change_url(later)).content.decode()
    assert "Possible duplicate" in page and mps_claim.reference in page
    assert "Not a duplicate" in page
    earlier = signed_in.get(change_url(mps_claim)).content.decode()
    assert later.reference in earlier
