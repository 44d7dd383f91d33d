"""POST /api/v1/routing/preview/ and the agreement endpoints, from outside, as each role."""

import datetime
import json
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from claims.models import ClaimClinician, RoutingJob
from claims.routing_services import claims_route
from members.models import DefenceOrganisation
from schemes.models import ElsAgreement
from tests.factories import ClaimFactory, MemberFactory, MembershipFactory

pytestmark = pytest.mark.django_db

CASES = json.loads(
    (Path(__file__).resolve().parents[3] / "shared" / "routing-cases.json").read_text()
)
PREVIEW = "/api/v1/routing/preview/"
FACTS = {
    "matter_type": "claim",
    "incident_date": "2018-11-12",
    "care_setting": "general_practice",
    "activity": "nhs_primary_medical_services",
    "clinicians": [{"role": "gp_partner", "mdo_at_incident": "MPS", "current_mdo": "MPS"}],
    "decision_date": "2021-03-31",
}


def api_as(user) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_every_worked_routing_case(case, importer):
    response = api_as(importer).post(PREVIEW, case["facts"], format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    expected = case["expected"]
    assert body["schemes"] == expected["schemes"]
    assert body["lead_handler"] == expected["lead_handler"]
    assert body["handlers"] == expected["handlers"]
    for flag in expected["flags"]:
        assert flag in body["flags"]
    for flag in expected["flags_absent"]:
        assert flag not in body["flags"]
    assert body["reasons"] and body["rule_version"]


def test_preview_answers_the_contract_shape(importer):
    body = api_as(importer).post(PREVIEW, FACTS, format="json").json()
    assert body["segments"] == [
        {
            "clinician": 0,
            "from": "2018-11-12",
            "to": "2018-11-12",
            "scheme": "ELGP",
            "handler": "MPS",
        }
    ]
    assert body["reasons"][0].startswith("Incident before 2019-04-01")


def test_preview_uses_todays_date_when_no_decision_date_is_given(importer):
    facts = {k: v for k, v in FACTS.items() if k != "decision_date"}
    body = api_as(importer).post(PREVIEW, facts, format="json").json()
    assert body["schemes"] == ["ELSGP"]  # MPS handed over on 2021-04-01
    assert body["decision_date"] == datetime.date.today().isoformat()


def test_preview_stores_nothing(importer):
    from claims.models import RoutingDecision

    api_as(importer).post(PREVIEW, FACTS, format="json")
    assert not RoutingDecision.objects.exists()


def test_preview_needs_authentication():
    response = api_as(None).post(PREVIEW, FACTS, format="json")
    assert response.status_code in (401, 403)
    assert response.json()["errors"]


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        ({"care_setting": "hospital"}, "care_setting", "invalid_choice"),
        ({"activity": "nhs"}, "activity", "invalid_choice"),
        ({"matter_type": "complaint"}, "matter_type", "invalid_choice"),
        ({"incident_date": "2018-13-01"}, "incident_date", "invalid"),
        ({"decision_date": "tomorrow"}, "decision_date", "invalid"),
        (
            {"clinicians": [{"role": "surgeon"}]},
            "clinicians[0].role",
            "invalid_choice",
        ),
        ({"clinicians": [{"mdo_at_incident": "MPS"}]}, "clinicians[0].role", "required"),
        (
            {"clinicians": [{"role": "gp_partner", "mdo_at_incident": "XYZ"}]},
            "clinicians[0].mdo_at_incident",
            "unknown_code",
        ),
    ],
)
def test_bad_facts_answer_400_naming_the_field(importer, change, field, code):
    response = api_as(importer).post(PREVIEW, {**FACTS, **change}, format="json")
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert {"field": field, "code": code} in [
        {"field": e["field"], "code": e["code"]} for e in errors
    ]


def test_an_answer_quoting_half_an_escape_pair_back_is_still_json(importer):
    # The error message repeats the value sent; a lone surrogate cannot be written as UTF-8.
    body = json.dumps({**FACTS, "matter_type": "claim"}).replace('"claim"', '"claim\\ud800"')
    response = api_as(importer).post(PREVIEW, body.encode(), content_type="application/json")
    assert response.status_code == 400
    [error] = json.loads(response.content.decode("utf-8"))["errors"]
    assert (error["field"], error["code"]) == ("matter_type", "invalid_choice")
    assert "claim\ud800" in error["message"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (
            {
                "incident_date": None,
                "incident_date_from": "2019-05-01",
                "incident_date_to": "2019-04-30",
            },
            "incident_date_to",
        ),
        ({"incident_date_from": "2018-01-01", "incident_date_to": "2018-02-01"}, "incident_date"),
        ({"incident_date": None, "incident_date_from": "2018-01-01"}, "incident_date_to"),
        ({"incident_date": None, "incident_date_to": "2018-01-01"}, "incident_date_from"),
    ],
)
def test_inconsistent_incident_dates_answer_400_naming_the_field(importer, change, field):
    response = api_as(importer).post(PREVIEW, {**FACTS, **change}, format="json")
    assert response.status_code == 400
    assert field in [error["field"] for error in response.json()["errors"]]


# Agreements: caseworkers only.


def test_caseworker_lists_the_agreements(caseworker):
    body = api_as(caseworker).get("/api/v1/agreements/").json()
    assert {(a["organisation"], a["agreed_on"], a["handover_on"]) for a in body} == {
        ("MPS", "2019-04-01", "2021-04-01"),
        ("MDDUS", "2019-09-01", "2020-04-06"),
    }


@pytest.mark.parametrize("persona", ["mps_handler", "importer", "auditor"])
def test_only_caseworkers_reach_agreements(request, persona):
    user = request.getfixturevalue(persona)
    agreement = ElsAgreement.objects.get(organisation__code="MPS")
    client = api_as(user)
    for method, url in [
        ("get", "/api/v1/agreements/"),
        ("post", "/api/v1/agreements/"),
        ("get", f"/api/v1/agreements/{agreement.pk}/"),
        ("patch", f"/api/v1/agreements/{agreement.pk}/"),
        ("post", f"/api/v1/agreements/{agreement.pk}/preview/"),
        ("post", f"/api/v1/agreements/{agreement.pk}/apply/"),
    ]:
        response = getattr(client, method)(url, {}, format="json")
        assert response.status_code == 403, (method, url)
        assert response.json()["errors"][0]["code"] == "permission_denied"
    assert not RoutingJob.objects.exists()


def test_caseworker_adds_an_agreement_for_mdu_and_it_is_audited(caseworker):
    from audit.models import AuditEvent

    response = api_as(caseworker).post(
        "/api/v1/agreements/",
        {"organisation": "MDU", "agreed_on": "2027-01-01", "handover_on": None, "notes": "Talks"},
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["organisation"] == "MDU"
    assert AuditEvent.objects.filter(action="agreement.create", actor=caseworker).exists()


def test_an_agreement_with_handover_before_it_is_refused(caseworker):
    response = api_as(caseworker).post(
        "/api/v1/agreements/",
        {"organisation": "MDU", "agreed_on": "2027-01-01", "handover_on": "2026-12-31"},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "handover_on"
    assert not ElsAgreement.objects.filter(organisation__code="MDU").exists()


def test_an_unknown_organisation_is_refused(caseworker):
    response = api_as(caseworker).post(
        "/api/v1/agreements/", {"organisation": "ZZZ", "agreed_on": "2027-01-01"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "organisation"


def test_patch_moves_the_handover_date(caseworker):
    agreement = ElsAgreement.objects.get(organisation__code="MPS")
    response = api_as(caseworker).patch(
        f"/api/v1/agreements/{agreement.pk}/", {"handover_on": "2021-05-01"}, format="json"
    )
    assert response.status_code == 200
    agreement.refresh_from_db()
    assert agreement.handover_on == datetime.date(2021, 5, 1)


def _mdu_claim() -> str:
    gp = MemberFactory()
    MembershipFactory(
        member=gp,
        organisation=DefenceOrganisation.objects.get(code="MDU"),
        start_date=datetime.date(2005, 1, 1),
    )
    claim = ClaimFactory(incident_date=datetime.date(2017, 5, 5))
    ClaimClinician.objects.create(claim=claim, member=gp, position=0)
    claims_route(claim_ids=[claim.pk], actor=None, cause="test")
    return claim.reference


def test_preview_then_apply_an_mdu_agreement(caseworker, django_capture_on_commit_callbacks):
    reference = _mdu_claim()
    agreement = ElsAgreement.objects.create(
        organisation=DefenceOrganisation.objects.get(code="MDU"),
        agreed_on=datetime.date(2020, 1, 1),
        handover_on=datetime.date(2099, 1, 1),
    )
    client = api_as(caseworker)
    preview = client.post(f"/api/v1/agreements/{agreement.pk}/preview/").json()
    assert preview == {
        "moves": 1,
        "by_change": [
            {
                "from": {"schemes": ["NO_STATE_SCHEME"], "lead_handler": "MDU"},
                "to": {"schemes": ["ELGP"], "lead_handler": "MDU"},
                "count": 1,
            }
        ],
        "sample": [reference],
    }
    with django_capture_on_commit_callbacks(execute=True):
        applied = client.post(f"/api/v1/agreements/{agreement.pk}/apply/")
    assert applied.status_code == 202
    assert applied["Location"] == applied.json()["url"]
    job = client.get(applied.json()["url"]).json()
    assert (job["status"], job["rows_total"], job["rows_done"], job["moved"]) == ("done", 1, 1, 1)
    again = client.post(f"/api/v1/agreements/{agreement.pk}/preview/").json()
    assert again["moves"] == 0
