"""Deadlines on stored claims: computed on create, recomputed on change with history, met by
completion dates, waived by caseworkers, visible only with the claim (design.md §3.3-§3.4)."""

import datetime

import pytest
from rest_framework.test import APIClient

from claims.deadline_services import claims_deadlines_recompute, remind_on_for
from claims.models import Claim, ClaimHandling, Deadline
from claims.services import claim_create, claim_update
from handlers.models import HandlerOrganisation
from tests.factories import ClaimFactory

pytestmark = pytest.mark.django_db
D = datetime.date


def new_claim(actor, **dates):
    return claim_create(
        actor=actor,
        matter_type="claim",
        claimant_name="Ada Example",
        care_setting="general_practice",
        activity="nhs_primary_medical_services",
        incident_date=D(2022, 1, 10),
        claimant_date_of_birth=D(1980, 1, 1),
        **dates,
    )


def kinds(claim) -> dict[str, Deadline]:
    return {d.kind: d for d in claim.deadlines.all()}


def test_a_new_claim_gets_its_deadlines(caseworker):
    claim = new_claim(caseworker, letter_of_claim_on=D(2023, 10, 31))
    deadlines = kinds(claim)
    assert set(deadlines) == {"acknowledge_letter_of_claim", "letter_of_response", "limitation"}
    assert deadlines["letter_of_response"].due_on == D(2024, 2, 29)
    assert deadlines["limitation"].due_on == D(2025, 1, 10)
    assert deadlines["letter_of_response"].history.get().after["due_on"] == "2024-02-29"


def test_changing_a_trigger_date_recomputes_and_keeps_history(caseworker):
    claim = new_claim(caseworker, letter_of_claim_on=D(2023, 10, 31))
    claim_update(
        claim=claim,
        actor=caseworker,
        expected_version=None,
        reason="Letter re-dated",
        letter_of_claim_on=D(2023, 11, 30),
    )
    response = kinds(claim)["letter_of_response"]
    assert response.due_on == D(2024, 3, 30)
    changes = list(response.history.all())
    assert [c.before and c.before["due_on"] for c in changes] == [None, "2024-02-29"]
    assert changes[-1].actor == caseworker
    assert "Letter re-dated" in changes[-1].reason


def test_recording_the_completion_date_meets_the_deadline(caseworker):
    claim = new_claim(caseworker, letter_of_claim_on=D(2023, 10, 31))
    claim_update(
        claim=claim,
        actor=caseworker,
        expected_version=None,
        letter_of_claim_acknowledged_on=D(2023, 11, 6),
    )
    assert kinds(claim)["acknowledge_letter_of_claim"].status == "met"


def test_a_lacking_capacity_claimant_has_a_suspended_limitation(caseworker):
    claim = new_claim(caseworker, claimant_lacks_capacity=True)
    limitation = kinds(claim)["limitation"]
    assert (limitation.due_on, limitation.suspended) == (None, True)


def test_recompute_twice_changes_nothing_the_second_time(caseworker):
    claim = new_claim(caseworker, letter_of_claim_on=D(2023, 10, 31))
    assert claims_deadlines_recompute(claim_ids=[claim.pk], actor=None, reason="again") == 0


def test_a_waived_deadline_stays_waived_when_recomputed(caseworker):
    claim = new_claim(caseworker, letter_of_claim_on=D(2023, 10, 31))
    deadline = kinds(claim)["letter_of_response"]
    Deadline.objects.filter(pk=deadline.pk).update(status="waived", waived_reason="Discontinued")
    claims_deadlines_recompute(claim_ids=[claim.pk], actor=None, reason="again")
    assert Deadline.objects.get(pk=deadline.pk).status == "waived"


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (D(2024, 2, 1), D(2024, 2, 15)),
        (D(2024, 2, 15), D(2024, 2, 15)),
        (D(2024, 2, 16), D(2024, 2, 22)),
        (D(2024, 2, 28), D(2024, 2, 28)),
        (D(2024, 2, 29), None),
    ],
)
def test_the_next_reminder_is_14_7_then_1_day_before(today, expected):
    assert remind_on_for(D(2024, 2, 29), today) == expected


# The API, from outside, as each role.


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def mps_claim(caseworker):
    claim = new_claim(caseworker, letter_of_claim_on=D(2023, 10, 31))
    ClaimHandling.objects.get_or_create(
        claim=claim, organisation=HandlerOrganisation.objects.get(code="MPS")
    )
    return claim


def test_deadlines_list_shows_a_handler_only_their_organisations_claims(
    caseworker, mps_handler, mdu_handler
):
    claim = mps_claim(caseworker)
    ClaimFactory()  # a claim nobody in the MDOs handles
    mine = api(mps_handler).get("/api/v1/deadlines/").json()
    assert {d["claim"] for d in mine} == {claim.reference}
    assert api(mdu_handler).get("/api/v1/deadlines/").json() == []
    assert {d["claim"] for d in api(caseworker).get("/api/v1/deadlines/").json()} == {
        claim.reference
    }


def test_deadlines_list_filters(caseworker):
    mps_claim(caseworker)
    client = api(caseworker)
    kinds_due = {d["kind"] for d in client.get("/api/v1/deadlines/?due_before=2024-01-01").json()}
    assert kinds_due == {"acknowledge_letter_of_claim"}
    overdue = client.get("/api/v1/deadlines/?overdue=true").json()
    assert {d["kind"] for d in overdue} == {
        "acknowledge_letter_of_claim",
        "letter_of_response",
        "limitation",
    }
    by_kind = client.get("/api/v1/deadlines/?kind=limitation").json()
    assert [d["kind"] for d in by_kind] == ["limitation"]
    bad = client.get("/api/v1/deadlines/?due_before=soon")
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["field"] == "due_before"


def test_caseworker_waives_a_deadline_with_a_reason(caseworker):
    claim = mps_claim(caseworker)
    deadline = kinds(claim)["letter_of_response"]
    url = f"/api/v1/claims/{claim.reference}/deadlines/{deadline.pk}/"
    missing = api(caseworker).patch(url, {"status": "waived"}, format="json")
    assert missing.status_code == 400
    assert (missing.json()["errors"][0]["field"], missing.json()["errors"][0]["code"]) == (
        "note",
        "required",
    )
    response = api(caseworker).patch(
        url, {"status": "waived", "note": "Claim discontinued"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["status"] == "waived"
    assert "Waived: Claim discontinued" in response.json()["history"][-1]["reason"]


def test_a_handler_may_not_waive(caseworker, mps_handler):
    claim = mps_claim(caseworker)
    deadline = kinds(claim)["letter_of_response"]
    response = api(mps_handler).patch(
        f"/api/v1/claims/{claim.reference}/deadlines/{deadline.pk}/",
        {"status": "waived", "note": "Mine"},
        format="json",
    )
    assert response.status_code == 403
    assert Deadline.objects.get(pk=deadline.pk).status != "waived"


def test_a_handler_meets_a_deadline_of_their_claim(caseworker, mps_handler):
    claim = mps_claim(caseworker)
    deadline = kinds(claim)["letter_of_response"]
    response = api(mps_handler).patch(
        f"/api/v1/claims/{claim.reference}/deadlines/{deadline.pk}/",
        {"status": "met", "note": "Response sent"},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["status"] == "met"
    claim.refresh_from_db()
    assert claim.letter_of_response_sent_on == datetime.date.today()


def test_another_organisations_deadline_is_a_404(caseworker, mdu_handler):
    claim = mps_claim(caseworker)
    deadline = kinds(claim)["letter_of_response"]
    response = api(mdu_handler).patch(
        f"/api/v1/claims/{claim.reference}/deadlines/{deadline.pk}/",
        {"status": "met"},
        format="json",
    )
    assert response.status_code == 404
    assert Deadline.objects.get(pk=deadline.pk).status == "missed"


def _deadline_patch(user, claim, deadline, body):
    return api(user).patch(
        f"/api/v1/claims/{claim.reference}/deadlines/{deadline.pk}/", body, format="json"
    )


def test_a_deadline_already_met_or_waived_is_a_409_and_its_date_stays(caseworker, mps_handler):
    claim = mps_claim(caseworker)
    deadline = kinds(claim)["letter_of_response"]
    Claim.objects.filter(pk=claim.pk).update(letter_of_response_sent_on=D(2024, 2, 20))
    Deadline.objects.filter(pk=deadline.pk).update(status="met")
    for user, body in (
        (mps_handler, {"status": "met"}),
        (caseworker, {"status": "met"}),
        (caseworker, {"status": "waived", "note": "No longer needed"}),
    ):
        response = _deadline_patch(user, claim, deadline, body)
        assert response.status_code == 409, response.json()
        [error] = response.json()["errors"]
        assert error["code"] == "deadline_not_open"
        assert "already met" in error["message"]
    claim.refresh_from_db()
    assert claim.letter_of_response_sent_on == D(2024, 2, 20)
    assert Deadline.objects.get(pk=deadline.pk).status == "met"
    Deadline.objects.filter(pk=deadline.pk).update(status="waived", waived_reason="Not needed")
    response = _deadline_patch(mps_handler, claim, deadline, {"status": "met"})
    assert (response.status_code, claim.version) == (409, Claim.objects.get(pk=claim.pk).version)


def test_a_closed_claims_deadlines_are_a_409_for_everyone(caseworker, mps_handler):
    claim = mps_claim(caseworker)
    deadline = kinds(claim)["letter_of_response"]
    Claim.objects.filter(pk=claim.pk).update(status="closed", outcome="not_a_claim")
    count = Deadline.objects.filter(claim=claim).count()
    for user, body in (
        (mps_handler, {"status": "met"}),
        (caseworker, {"status": "waived", "note": "Closed"}),
    ):
        response = _deadline_patch(user, claim, deadline, body)
        assert response.status_code == 409
        assert "the claim is closed" in response.json()["errors"][0]["message"]
    claim.refresh_from_db()
    assert claim.letter_of_response_sent_on is None
    assert Deadline.objects.filter(claim=claim).count() == count
    assert Deadline.objects.get(pk=deadline.pk).status == "missed"
