"""Internal service levels (domain.md §5, assumption): configurable data, not code. A level is a
deadline of its own kind, moved off a weekend or bank holiday to the next working day, kept by
caseworkers in the admin and applied to the open claims' deadlines when it changes."""

import datetime

import pytest
from django.core.exceptions import ValidationError

from claims.deadline_services import claims_deadlines_recompute, deadline_meet
from claims.models import Claim, Deadline, ServiceLevel
from tests.factories import ClaimFactory

pytestmark = pytest.mark.django_db
D = datetime.date


def acknowledge_new_claim(**fields) -> ServiceLevel:
    values = {
        "kind": "acknowledge_new_claim",
        "name": "Acknowledge a new claim",
        "trigger": "notified_on",
        "period": 2,
        "unit": "working_days",
        "met_by": "letter_of_claim_acknowledged_on",
        **fields,
    }
    return ServiceLevel.objects.create(**values)


def internal(claim: Claim, kind: str = "acknowledge_new_claim") -> Deadline | None:
    return Deadline.objects.filter(claim=claim, kind=kind).first()


TODAY = D(2024, 3, 22)


def recomputed(claim: Claim) -> Claim:
    claims_deadlines_recompute(claim_ids=[claim.pk], actor=None, reason="test", today=TODAY)
    return claim


def test_a_level_is_a_deadline_of_its_own_kind_counted_in_working_days():
    acknowledge_new_claim()
    # Notified on Friday 22 March 2024: two working days are Monday and Tuesday.
    claim = recomputed(ClaimFactory(notified_on=D(2024, 3, 22)))
    deadline = internal(claim)
    assert (deadline.due_on, deadline.category, deadline.status) == (
        D(2024, 3, 26),
        "internal",
        "open",
    )
    assert deadline.source == "Internal service level: Acknowledge a new claim"


@pytest.mark.parametrize(
    ("notified", "due"),
    [
        # Seven days after Monday 25 March 2024 is Easter Monday, a bank holiday: moved to
        # Tuesday 2 April.
        (D(2024, 3, 25), D(2024, 4, 2)),
        # Seven days after Saturday 16 March is Saturday 23 March: moved to Monday 25 March.
        (D(2024, 3, 16), D(2024, 3, 25)),
        # Seven days after Wednesday 20 March is Wednesday 27 March, a working day: kept.
        (D(2024, 3, 20), D(2024, 3, 27)),
    ],
)
def test_only_an_internal_level_moves_off_a_non_working_day(notified, due):
    acknowledge_new_claim(period=7, unit="days")
    claim = recomputed(ClaimFactory(notified_on=notified))
    assert internal(claim).due_on == due


def test_an_inactive_level_makes_no_deadline_and_another_kind_is_refused():
    acknowledge_new_claim(active=False)
    assert internal(recomputed(ClaimFactory(notified_on=D(2024, 3, 22)))) is None
    level = ServiceLevel(
        kind="letter_of_response",
        name="Faster response",
        trigger="letter_of_claim_on",
        period=2,
        unit="months",
        met_by="letter_of_response_sent_on",
    )
    with pytest.raises(ValidationError) as refused:
        level.full_clean()
    assert "kind" in refused.value.message_dict


def test_a_level_is_met_by_its_completion_date(caseworker):
    acknowledge_new_claim()
    claim = recomputed(ClaimFactory(notified_on=D(2024, 3, 22)))
    deadline_meet(deadline=internal(claim), actor=caseworker, on=D(2024, 3, 25))
    claim.refresh_from_db()
    assert claim.letter_of_claim_acknowledged_on == D(2024, 3, 25)
    assert (internal(claim).status, internal(claim).met_on) == ("met", D(2024, 3, 25))


def test_changing_the_notification_date_moves_the_level():
    from claims.services import claim_update

    acknowledge_new_claim()
    claim = recomputed(ClaimFactory(notified_on=D(2024, 3, 22)))
    claim_update(claim=claim, actor=None, expected_version=None, notified_on=D(2024, 3, 25))
    assert internal(claim).due_on == D(2024, 3, 27)


def test_a_caseworker_adds_a_level_in_the_admin_and_open_claims_get_it(
    client, caseworker, django_capture_on_commit_callbacks
):
    open_claim = recomputed(ClaimFactory(notified_on=D(2024, 3, 22)))
    closed = recomputed(
        ClaimFactory(notified_on=D(2024, 3, 22), status="closed", outcome="not_a_claim")
    )
    client.force_login(caseworker)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/admin/claims/servicelevel/add/",
            {
                "kind": "acknowledge_new_claim",
                "name": "Acknowledge a new claim",
                "trigger": "notified_on",
                "period": "2",
                "unit": "working_days",
                "met_by": "letter_of_claim_acknowledged_on",
                "active": "on",
            },
        )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert internal(open_claim).due_on == D(2024, 3, 26)
    assert internal(closed) is None  # a closed claim keeps the deadlines it had
    level = ServiceLevel.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/admin/claims/servicelevel/{level.pk}/delete/", {"post": "yes"})
    assert internal(open_claim) is None


def test_an_auditor_sees_the_levels_and_changes_none(client, auditor, mps_handler):
    level = acknowledge_new_claim()
    client.force_login(auditor)
    assert client.get("/admin/claims/servicelevel/").status_code == 200
    refused = client.post(f"/admin/claims/servicelevel/{level.pk}/change/", {"period": "9"})
    assert refused.status_code == 403
    client.force_login(mps_handler)
    assert client.get("/admin/claims/servicelevel/").status_code in (302, 403)
    level.refresh_from_db()
    assert level.period == 2


def test_imported_claims_get_the_levels_in_force(api, practice_and_gp):
    import json

    acknowledge_new_claim()
    record = {
        "external_ref": "EXT-1",
        "matter_type": "claim",
        "claimant": {"name": "Ada Lovelace"},
        "practice": "Y01234",
        "clinicians": ["GMC:1234567"],
        "care_setting": "general_practice",
        "activity": "nhs_primary_medical_services",
        "incident_date": "2018-11-12",
        "notified_on": "2024-03-22",
    }
    response = api.post(
        "/api/v1/imports/claims/", json.dumps([record]), content_type="application/json"
    )
    assert response.status_code == 201, response.json()
    assert internal(Claim.objects.get(external_ref="EXT-1")).due_on == D(2024, 3, 26)


def test_a_deadline_whose_level_was_switched_off_cannot_be_met_and_says_why(client, caseworker):
    from tests.conftest import client_for

    level = acknowledge_new_claim()
    claim = recomputed(ClaimFactory(notified_on=D(2024, 3, 22)))
    deadline = internal(claim)
    ServiceLevel.objects.filter(pk=level.pk).update(active=False)  # not yet applied to claims
    response = client_for(caseworker).patch(
        f"/api/v1/claims/{claim.reference}/deadlines/{deadline.pk}/",
        {"status": "met"},
        format="json",
    )
    assert response.status_code == 409
    assert response.json()["errors"][0]["code"] == "deadline_not_open"
    client.force_login(caseworker)
    page = client.get(
        f"/admin/claims/claim/{claim.pk}/deadlines/{deadline.pk}/met/", follow=True
    ).content.decode()
    assert "cannot be met: its service level no longer applies" in page
    claim.refresh_from_db()
    assert claim.letter_of_claim_acknowledged_on is None
