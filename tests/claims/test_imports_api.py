"""Bulk imports over HTTP (design.md §3.1): JSON and CSV alike, atomic and partial, every error
code, idempotent retries, 409, 413, large batches queued with progress, and who may import."""

import csv
import datetime
import io
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from audit.models import AuditEvent
from claims.models import Claim, Deadline, DeadlineChange, ImportBatch, ImportChunk, Notification
from members.models import Employment, Member, Membership, Practice
from tests.conftest import client_for
from tests.factories import (
    ClaimFactory,
    HandlerFactory,
    MemberFactory,
    MembershipFactory,
    PracticeFactory,
    UserFactory,
    valid_nhs_number,
)

pytestmark = pytest.mark.django_db


def post_json(api, kind, rows, *, mode=None, key=None):
    url = f"/api/v1/imports/{kind}/" + (f"?mode={mode}" if mode else "")
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return api.post(url, json.dumps(rows), content_type="application/json", **headers)


def post_csv(api, kind, text, *, mode=None, key=None):
    url = f"/api/v1/imports/{kind}/" + (f"?mode={mode}" if mode else "")
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return api.post(url, text, content_type="text/csv", **headers)


def claim_record(ref="EXT-1", **overrides):
    record = {
        "external_ref": ref,
        "matter_type": "claim",
        "claimant": {"name": "Ada Lovelace", "date_of_birth": "1970-05-01"},
        "practice": "Y01234",
        "clinicians": ["GMC:1234567"],
        "care_setting": "general_practice",
        "activity": "nhs_primary_medical_services",
        "incident_date": "2018-11-12",
        "notified_on": "2024-01-10",
        "letter_of_claim_on": "2024-01-08",
    }
    record.update(overrides)
    return record


# --- practices, JSON and CSV ---------------------------------------------------------------


def test_practices_import_as_json_creates_each_row_and_audits_it(api):
    response = post_json(
        api,
        "practices",
        [{"ods_code": "Y01234", "name": "Riverside"}, {"ods_code": "y05678", "name": "Hill"}],
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["status"], body["created"], body["updated"], body["errors"]) == (
        "done",
        2,
        0,
        [],
    )
    assert set(Practice.objects.values_list("ods_code", flat=True)) == {"Y01234", "Y05678"}
    assert AuditEvent.objects.filter(action="practice.create").count() == 2


def test_the_same_rows_as_csv_give_the_same_result(api):
    text = "ods_code,name,postcode\nY01234,Riverside,\nY05678,Hill,LS1 4AP\n"
    response = post_csv(api, "practices", text)
    assert response.status_code == 201
    assert response.json()["created"] == 2
    assert Practice.objects.get(ods_code="Y01234").postcode == ""
    assert Practice.objects.get(ods_code="Y05678").postcode == "LS1 4AP"


def test_a_second_import_updates_by_natural_key_and_counts_only_real_changes(api):
    post_json(api, "practices", [{"ods_code": "Y01234", "name": "Riverside"}])
    response = post_json(
        api,
        "practices",
        [{"ods_code": "Y01234", "name": "Riverside Surgery"}, {"ods_code": "Y05678", "name": "X"}],
    )
    assert (response.json()["created"], response.json()["updated"]) == (1, 1)
    again = post_json(api, "practices", [{"ods_code": "Y01234", "name": "Riverside Surgery"}])
    assert (again.json()["created"], again.json()["updated"]) == (0, 0)
    assert Practice.objects.get(ods_code="Y01234").name == "Riverside Surgery"


# --- atomic and partial --------------------------------------------------------------------


def test_an_atomic_batch_with_bad_rows_reports_them_all_and_writes_nothing(api):
    response = post_json(
        api,
        "practices",
        [
            {"ods_code": "Y01234", "name": "Good"},
            {"ods_code": "123", "name": "Bad code"},
            {"ods_code": "Y05678"},
        ],
    )
    assert response.status_code == 400
    body = response.json()
    assert body["status"] == "rejected"
    assert [(e["row"], e["field"], e["code"]) for e in body["errors"]] == [
        (1, "ods_code", "invalid_ods_code"),
        (2, "name", "required"),
    ]
    assert not Practice.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="practice").exists()


def test_a_partial_batch_keeps_the_good_rows_and_reports_the_bad(api):
    response = post_json(
        api,
        "practices",
        [{"ods_code": "Y01234", "name": "Good"}, {"ods_code": "123", "name": "Bad"}],
        mode="partial",
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["status"], body["created"]) == ("done", 1)
    assert [(e["row"], e["code"]) for e in body["errors"]] == [(1, "invalid_ods_code")]
    assert list(Practice.objects.values_list("ods_code", flat=True)) == ["Y01234"]


def test_an_unknown_mode_is_refused(api):
    response = post_json(api, "practices", [], mode="sometimes")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "mode"


# --- every error code ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "record", "field", "code"),
    [
        (
            "practices",
            {"ods_code": "Y01234", "name": "x", "colour": "red"},
            "colour",
            "unknown_field",
        ),
        ("practices", {"ods_code": "Y01234", "name": "x" * 201}, "name", "too_long"),
        ("practices", {"ods_code": "Y01234", "name": 7}, "name", "invalid"),
        ("practices", "Y01234", None, "not_an_object"),
        (
            "members",
            {
                "registration_body": "GMC",
                "registration_number": "12",
                "given_name": "A",
                "family_name": "B",
                "role": "gp_partner",
            },
            "registration_number",
            "invalid_gmc_number",
        ),
        (
            "members",
            {
                "registration_body": "GMC",
                "registration_number": "1234567",
                "given_name": "A",
                "family_name": "B",
                "role": "surgeon",
            },
            "role",
            "invalid_choice",
        ),
        (
            "memberships",
            {"member": "GMC1234567", "organisation": "MPS", "start_date": "2010-01-01"},
            "member",
            "invalid_member_key",
        ),
        (
            "memberships",
            {"member": "GMC:7654321", "organisation": "MPS", "start_date": "2010-01-01"},
            "member",
            "unknown_member",
        ),
        (
            "memberships",
            {"member": "GMC:1234567", "organisation": "ACME", "start_date": "2010-01-01"},
            "organisation",
            "unknown_organisation",
        ),
        (
            "memberships",
            {"member": "GMC:1234567", "organisation": "MPS", "start_date": "01/01/2010"},
            "start_date",
            "invalid_date",
        ),
        (
            "memberships",
            {
                "member": "GMC:1234567",
                "organisation": "MDU",
                "start_date": "2010-01-01",
                "end_date": "2009-01-01",
            },
            "end_date",
            "end_before_start",
        ),
        (
            "memberships",
            {"member": "GMC:1234567", "organisation": "MPS", "start_date": "2015-01-01"},
            "start_date",
            "overlapping_membership",
        ),
        (
            "employments",
            {"member": "GMC:1234567", "practice": "Y99999", "start_date": "2010-01-01"},
            "practice",
            "unknown_practice",
        ),
        (
            "employments",
            {
                "member": "GMC:1234567",
                "practice": "Y01234",
                "start_date": "2010-01-01",
                "employer": "GMC:1234567",
            },
            "employer",
            "self_employed",
        ),
        (
            "claims",
            claim_record(claimant={"name": "A", "nhs_number": "1234567890"}),
            "claimant.nhs_number",
            "invalid_nhs_number",
        ),
        (
            "claims",
            claim_record(
                claimant={"name": "A", "date_of_birth": "2000-01-01", "date_of_death": "1999-01-01"}
            ),
            "claimant.date_of_death",
            "death_before_birth",
        ),
        ("claims", claim_record(claimant="Ada"), "claimant", "not_an_object"),
        (
            "claims",
            claim_record(incident_date_from="2018-01-01", incident_date_to="2018-02-01"),
            "incident_date",
            "date_and_range",
        ),
        (
            "claims",
            claim_record(incident_date=None, incident_date_from="2018-01-01"),
            "incident_date_to",
            "range_incomplete",
        ),
        (
            "claims",
            claim_record(
                incident_date=None, incident_date_from="2018-02-01", incident_date_to="2018-01-01"
            ),
            "incident_date_to",
            "range_reversed",
        ),
        ("claims", claim_record(status="closed"), "outcome", "outcome_required"),
        (
            "claims",
            claim_record(letter_of_claim_acknowledged_on="2024-01-07"),
            "letter_of_claim_acknowledged_on",
            "done_before_trigger",
        ),
        ("claims", claim_record(outcome="not_a_claim"), "outcome", "outcome_not_allowed"),
        (
            "claims",
            claim_record(coronavirus_response="maybe"),
            "coronavirus_response",
            "invalid_boolean",
        ),
        (
            "claims",
            claim_record(clinicians=["GMC:1234567", "GMC:1234567"]),
            "clinicians[1]",
            "duplicate_clinician",
        ),
        ("claims", claim_record(clinicians=["GMC:7654321"]), "clinicians[0]", "unknown_member"),
        ("claims", claim_record(practice="Y99999"), "practice", "unknown_practice"),
        (
            "claims",
            {k: v for k, v in claim_record().items() if k != "external_ref"},
            "external_ref",
            "required",
        ),
    ],
)
def test_each_bad_row_gets_its_field_and_a_stable_code(
    api, practice_and_gp, kind, record, field, code
):
    response = post_json(api, kind, [record])
    assert response.status_code == 400, response.json()
    errors = response.json()["errors"]
    assert {"row": 0, "field": field, "code": code} in [
        {k: e[k] for k in ("row", "field", "code")} for e in errors
    ], errors
    assert all(e["message"] for e in errors)


def test_the_same_key_twice_in_one_batch_is_reported_on_the_later_row(api):
    response = post_json(
        api, "practices", [{"ods_code": "Y01234", "name": "A"}, {"ods_code": "Y01234", "name": "B"}]
    )
    [error] = response.json()["errors"]
    assert (error["row"], error["code"]) == (1, "duplicate_in_batch")
    assert "Row 0" in error["message"]


@pytest.mark.parametrize(
    ("body", "content_type", "code"),
    [
        ('{"ods_code": "Y01234"}', "application/json", "not_an_array"),
        ('[{"ods_code": "Y01234",', "application/json", "invalid_json"),
        ("[] trailing", "application/json", "invalid_json"),
        ("<xml/>", "application/xml", "unsupported_media_type"),
        ("", "text/csv", "invalid_csv"),
        ('ods_code,name\n"Y01234,unterminated\n', "text/csv", "invalid_csv"),
        # A column that is a value and also the parent of another, given both in one row.
        ("ods_code,name,name__first\nY01234,Riverside,River\n", "text/csv", "invalid_csv"),
    ],
)
def test_a_body_that_cannot_be_read_is_a_400_naming_why(api, body, content_type, code):
    response = api.post("/api/v1/imports/practices/", body, content_type=content_type)
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == code
    assert not Practice.objects.exists()


def test_an_unknown_kind_is_404(api):
    response = post_json(api, "surgeons", [])
    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == "not_found"


# --- idempotency ------------------------------------------------------------------------------


def test_a_retry_with_the_same_key_and_body_replays_the_first_answer(api):
    rows = [{"ods_code": "Y01234", "name": "Riverside"}]
    first = post_json(api, "practices", rows, key="batch-1")
    Practice.objects.update(name="Changed since")
    second = post_json(api, "practices", rows, key="batch-1")
    assert second.status_code == first.status_code == 201
    assert second.json() == first.json()
    assert second["Idempotent-Replayed"] == "true"
    assert ImportBatch.objects.count() == 1
    assert Practice.objects.get().name == "Changed since"


def test_the_same_key_with_another_body_is_409_and_writes_nothing(api):
    post_json(api, "practices", [{"ods_code": "Y01234", "name": "Riverside"}], key="batch-1")
    response = post_json(api, "practices", [{"ods_code": "Y05678", "name": "Hill"}], key="batch-1")
    assert response.status_code == 409
    assert response.json()["errors"][0]["code"] == "idempotency_key_reused"
    assert not Practice.objects.filter(ods_code="Y05678").exists()


def test_a_rejected_batch_replays_its_rejection(api):
    rows = [{"ods_code": "bad", "name": "x"}]
    first = post_json(api, "practices", rows, key="k")
    second = post_json(api, "practices", rows, key="k")
    assert (first.status_code, second.status_code) == (400, 400)
    assert first.json() == second.json()


def test_keys_belong_to_their_sender(api, caseworker):
    rows = [{"ods_code": "Y01234", "name": "Riverside"}]
    post_json(api, "practices", rows, key="shared")
    other = post_json(client_for(caseworker), "practices", rows, key="shared")
    assert other.status_code == 201
    assert "Idempotent-Replayed" not in other
    assert ImportBatch.objects.count() == 2


# --- size limits and large batches -----------------------------------------------------------


def test_a_body_over_the_limit_is_413(api, settings):
    settings.IMPORT_MAX_BODY_BYTES = 2048
    rows = [{"ods_code": f"Y{n:05d}", "name": "x" * 50} for n in range(100)]
    response = post_json(api, "practices", rows)
    assert response.status_code == 413
    assert response.json()["errors"][0]["code"] == "payload_too_large"
    assert not ImportBatch.objects.exists() and not Practice.objects.exists()


def test_a_large_batch_is_queued_and_reports_progress_and_the_sender_is_told(
    api, importer, settings, django_capture_on_commit_callbacks
):
    settings.IMPORT_SYNC_MAX_ROWS = 10
    rows = [{"ods_code": f"Y{n:05d}", "name": f"Practice {n}"} for n in range(25)]
    with django_capture_on_commit_callbacks(execute=True):
        response = post_json(api, "practices", rows)
    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "queued"
    assert response["Location"] == body["url"] == f"/api/v1/imports/batches/{body['batch']}/"
    # Celery runs eagerly in this test: by now the batch has run.
    batch = api.get(body["url"]).json()
    assert (batch["status"], batch["rows_total"], batch["rows_done"], batch["created"]) == (
        "done",
        25,
        25,
        25,
    )
    assert not ImportChunk.objects.exists()
    notice = Notification.objects.get(recipient=importer)
    assert notice.kind == "import_finished"
    assert "25 created" in notice.message


def test_a_large_atomic_batch_with_one_bad_row_is_rejected_whole(
    api, settings, django_capture_on_commit_callbacks
):
    settings.IMPORT_SYNC_MAX_ROWS = 10
    rows = [{"ods_code": f"Y{n:05d}", "name": "x"} for n in range(25)]
    rows[20]["ods_code"] = "bad"
    with django_capture_on_commit_callbacks(execute=True):
        response = post_json(api, "practices", rows)
    batch = api.get(response.json()["url"]).json()
    assert batch["status"] == "rejected"
    assert [(e["row"], e["code"]) for e in batch["errors"]] == [(20, "invalid_ods_code")]
    assert not Practice.objects.exists()


# --- who may import and read batches ---------------------------------------------------------


def test_handlers_and_auditors_may_not_import_and_anonymous_is_401(mps_handler, auditor):
    rows = [{"ods_code": "Y01234", "name": "x"}]
    assert post_json(client_for(mps_handler), "practices", rows).status_code == 403
    assert post_json(client_for(auditor), "practices", rows).status_code == 403
    assert post_json(APIClient(), "practices", rows).status_code == 401
    assert not Practice.objects.exists()


def test_a_caseworker_imports_as_nhsr(caseworker):
    response = post_json(client_for(caseworker), "practices", [{"ods_code": "Y01234", "name": "x"}])
    assert response.status_code == 201
    assert ImportBatch.objects.get().organisation.code == "NHSR"


def test_another_senders_batch_is_404_and_absent_from_the_list(api, caseworker):
    batch_id = post_json(api, "practices", [{"ods_code": "Y01234", "name": "x"}]).json()["batch"]
    other = HandlerFactory(user=UserFactory(username="mdu_importer"), role="importer").user
    assert client_for(other).get(f"/api/v1/imports/batches/{batch_id}/").status_code == 404
    assert client_for(other).get("/api/v1/imports/batches/").json() == []
    assert client_for(caseworker).get(f"/api/v1/imports/batches/{batch_id}/").status_code == 200
    assert [b["batch"] for b in api.get("/api/v1/imports/batches/").json()] == [batch_id]


# --- members, memberships, employments --------------------------------------------------------


def test_members_memberships_and_employments_import_with_member_keys(api):
    post_json(api, "practices", [{"ods_code": "Y01234", "name": "Riverside"}])
    members = (
        "registration_body,registration_number,given_name,family_name,role\n"
        "GMC,1234567,Grace,Hopper,gp_partner\n"
        "NMC,12A3456B,Florence,Nightingale,nurse\n"
    )
    assert post_csv(api, "members", members).json()["created"] == 2
    memberships = (
        "member,organisation,start_date,end_date\n"
        "GMC:1234567,mps,2010-01-01,2018-12-31\n"
        "GMC:1234567,MDU,2019-01-01,\n"
    )
    response = post_csv(api, "memberships", memberships)
    assert response.json()["created"] == 2, response.json()
    employments = [
        {
            "member": {"registration_body": "NMC", "registration_number": "12A3456B"},
            "practice": "Y01234",
            "start_date": "2012-01-01",
            "employer": "GMC:1234567",
        }
    ]
    assert post_json(api, "employments", employments).json()["created"] == 1
    nurse = Member.objects.get(registration_number="12A3456B")
    assert Employment.objects.get(member=nurse).employer.registration_number == "1234567"
    assert list(
        Membership.objects.order_by("start_date").values_list("organisation__code", "end_date")
    ) == [("MPS", datetime.date(2018, 12, 31)), ("MDU", None)]


def test_a_registration_number_is_one_member_whatever_its_case(api, practice_and_gp):
    members = "registration_body,registration_number,given_name,family_name,role\n"
    assert (
        post_csv(api, "members", members + "NMC,12A3456B,Florence,Nightingale,nurse\n").json()[
            "created"
        ]
        == 1
    )
    again = post_csv(api, "members", members + "nmc,12a3456b,Florence,Nightingale,nurse\n")
    assert (again.json()["created"], again.json()["updated"]) == (0, 0)
    assert Member.objects.filter(registration_body="NMC").count() == 1
    employment = [{"member": "nmc:12a3456b", "practice": "Y01234", "start_date": "2012-01-01"}]
    assert post_json(api, "employments", employment).json()["created"] == 1
    assert Employment.objects.get().member.registration_number == "12A3456B"


def test_two_rows_of_one_batch_cannot_overlap(api, practice_and_gp):
    response = post_json(
        api,
        "memberships",
        [
            {"member": "GMC:1234567", "organisation": "MDU", "start_date": "2001-01-01"},
            {"member": "GMC:1234567", "organisation": "MDU", "start_date": "2003-01-01"},
        ],
    )
    [error] = response.json()["errors"]
    assert (error["row"], error["code"]) == (1, "overlapping_membership")
    assert "row 0" in error["message"]


def test_one_batch_may_close_the_open_membership_and_add_the_next(api, practice_and_gp):
    # practice_and_gp: GMC:1234567 with MPS since 2010, open.
    rows = [
        {
            "member": "GMC:1234567",
            "organisation": "MPS",
            "start_date": "2010-01-01",
            "end_date": "2019-12-31",
        },
        {"member": "GMC:1234567", "organisation": "MPS", "start_date": "2020-01-01"},
    ]
    response = post_json(api, "memberships", rows)
    assert response.status_code == 201, response.json()
    assert (response.json()["created"], response.json()["updated"]) == (1, 1)
    assert list(
        Membership.objects.order_by("start_date").values_list("start_date", "end_date")
    ) == [
        (datetime.date(2010, 1, 1), datetime.date(2019, 12, 31)),
        (datetime.date(2020, 1, 1), None),
    ]
    # The same rows the other way round: the closing row may come second.
    Membership.objects.filter(start_date=datetime.date(2020, 1, 1)).delete()
    Membership.objects.update(end_date=None)
    response = post_json(api, "memberships", rows[::-1])
    assert response.status_code == 201, response.json()
    assert Membership.objects.filter(end_date=None).get().start_date == datetime.date(2020, 1, 1)
    # Still refused: a new period overlapping what the batch leaves of the stored one.
    rows[1]["start_date"] = "2019-06-01"
    response = post_json(api, "memberships", rows)
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert (error["row"], error["code"]) == (1, "overlapping_membership")


def test_re_sending_a_membership_with_its_end_date_updates_it(api, practice_and_gp):
    response = post_json(
        api,
        "memberships",
        [
            {
                "member": "GMC:1234567",
                "organisation": "MPS",
                "start_date": "2010-01-01",
                "end_date": "2020-06-30",
            }
        ],
    )
    assert (response.json()["created"], response.json()["updated"]) == (0, 1)
    assert Membership.objects.get().end_date == datetime.date(2020, 6, 30)


# --- claims -----------------------------------------------------------------------------------


def test_imported_claims_are_routed_given_deadlines_and_audited(api, importer, practice_and_gp):
    response = post_json(api, "claims", [claim_record("EXT-1"), claim_record("EXT-2")])
    assert response.status_code == 201, response.json()
    assert response.json()["created"] == 2
    claim = Claim.objects.get(external_ref="EXT-1")
    assert claim.reference.startswith("CL-")
    assert claim.source_organisation.code == "MPS"
    # Pre-2019 NHS primary care, an MPS member at the incident, decided today: ELSGP with NHSR
    # (MPS handed over on 2021-04-01).
    assert (claim.schemes, claim.lead_handler) == ("ELSGP", "NHSR")
    assert claim.routing_decisions.count() == 1
    kinds = set(Deadline.objects.filter(claim=claim).values_list("kind", flat=True))
    assert {"acknowledge_letter_of_claim", "letter_of_response", "limitation"} <= kinds
    event = AuditEvent.objects.get(action="claim.create", subject_id=str(claim.pk))
    assert (event.actor, event.after["clinicians"]) == (importer, [practice_and_gp[1].pk])


def test_an_import_escalates_no_deadline_one_by_one(
    api, practice_and_gp, django_capture_on_commit_callbacks
):
    from handlers.models import HandlerOrganisation
    from tests.factories import HandlerFactory, UserFactory

    lead = HandlerFactory(
        user=UserFactory(username="nhsr_lead"),
        role="team_lead",
        organisation=HandlerOrganisation.objects.get(code="NHSR"),
    ).user
    today = datetime.date.today().isoformat()
    with django_capture_on_commit_callbacks(execute=True):
        # A 2018 incident: limitation long past, missed as the claims are stored.
        post_json(
            api, "claims", [claim_record(f"EXT-{n}", letter_of_claim_on=today) for n in (1, 2)]
        )
        # Re-sent with the letter of claim it really had: its acknowledgement and response missed.
        post_json(api, "claims", [claim_record("EXT-1", letter_of_claim_on="2024-01-08")])
    missed = set(
        Deadline.objects.filter(status="missed").values_list("claim__external_ref", "kind")
    )
    assert {
        ("EXT-1", "limitation"),
        ("EXT-2", "limitation"),
        ("EXT-1", "acknowledge_letter_of_claim"),
        ("EXT-1", "letter_of_response"),
    } <= missed
    told = set(Notification.objects.filter(recipient=lead).values_list("kind", flat=True))
    assert told == {"claim_routed"}


def test_a_claim_stored_with_dates_out_of_order_may_be_sent_again_as_it_is(api, practice_and_gp):
    """Dates stored before done_before_trigger was checked stay; a batch re-sending them
    unchanged is not refused, but a change to either date of the pair is checked."""
    post_json(api, "claims", [claim_record("EXT-1"), claim_record("EXT-2")])
    Claim.objects.filter(external_ref="EXT-1").update(
        letter_of_claim_acknowledged_on=datetime.date(2024, 1, 7)  # the letter came on the 8th
    )
    again = [
        claim_record("EXT-1", letter_of_claim_acknowledged_on="2024-01-07"),
        claim_record("EXT-2", stage="investigation"),
    ]
    response = post_json(api, "claims", again)
    assert (response.status_code, response.json()["errors"]) == (201, []), response.json()
    assert Claim.objects.get(external_ref="EXT-2").stage == "investigation"
    changed = post_json(
        api, "claims", [claim_record("EXT-1", letter_of_claim_acknowledged_on="2024-01-06")]
    )
    assert changed.status_code == 400
    assert changed.json()["errors"][0]["code"] == "done_before_trigger"


def test_a_claim_csv_with_nested_fields_and_lists_matches_the_json(api, practice_and_gp):
    MemberFactory(registration_number="7654321")
    text = (
        "external_ref,matter_type,claimant__name,claimant__nhs_number,claimant__lacks_capacity,"
        "practice,clinicians,care_setting,activity,incident_date,coronavirus_response\n"
        "CSV-1,claim,Ada Lovelace,943 476 5919,true,Y01234,GMC:1234567;GMC:7654321,"
        "general_practice,nhs_primary_medical_services,2018-11-12,false\n"
    )
    assert post_csv(api, "claims", text).status_code == 201
    claim = Claim.objects.get(external_ref="CSV-1")
    assert claim.claimant_nhs_number == "9434765919"
    assert claim.claimant_lacks_capacity is True
    assert list(
        claim.claim_clinicians.order_by("position").values_list(
            "member__registration_number", flat=True
        )
    ) == ["1234567", "7654321"]


def test_re_sending_a_claim_changes_only_what_it_gives_and_moves_the_version(
    api, practice_and_gp, caseworker
):
    post_json(api, "claims", [claim_record("EXT-1", description="First")])
    claim = Claim.objects.get()
    claim.letter_of_claim_acknowledged_on = datetime.date(2024, 1, 12)  # recorded since
    claim.save()
    version = claim.version
    response = post_json(api, "claims", [{**claim_record("EXT-1"), "stage": "investigation"}])
    assert (response.json()["created"], response.json()["updated"]) == (0, 1)
    claim.refresh_from_db()
    assert (claim.stage, claim.description, claim.version) == (
        "investigation",
        "First",
        version + 1,
    )
    assert claim.letter_of_claim_acknowledged_on == datetime.date(2024, 1, 12)
    event = AuditEvent.objects.get(action="claim.update")
    assert event.before == {"stage": "letter_of_claim"} and event.after == {
        "stage": "investigation"
    }


def test_a_resent_claim_with_new_facts_is_rerouted(api, practice_and_gp):
    post_json(api, "claims", [claim_record("EXT-1")])
    post_json(api, "claims", [claim_record("EXT-1", incident_date="2019-05-01")])
    claim = Claim.objects.get()
    assert claim.schemes == "CNSGP"
    assert claim.routing_decisions.count() == 2


def test_a_possible_duplicate_is_flagged_not_merged_or_dropped(api, practice_and_gp, caseworker):
    number = valid_nhs_number(5)
    earlier = ClaimFactory(
        claimant_nhs_number=number,
        practice=practice_and_gp[0],
        incident_date=datetime.date(2018, 11, 12),
    )
    claimant = {"name": "Ada Lovelace", "nhs_number": number}
    response = post_json(
        api,
        "claims",
        [
            claim_record("DUP-1", claimant=claimant),
            claim_record("DUP-2", claimant=claimant, incident_date="2018-11-13"),
        ],
    )
    assert response.json()["created"] == 2
    duplicate = Claim.objects.get(external_ref="DUP-1")
    assert duplicate.possible_duplicate_of == earlier
    assert Claim.objects.get(external_ref="DUP-2").possible_duplicate_of is None
    listed = client_for(caseworker).get("/api/v1/claims/?flag=POSSIBLE_DUPLICATE").json()
    assert [c["reference"] for c in listed["results"]] == [duplicate.reference]


def test_an_update_that_changes_a_duplicate_key_checks_the_flags_again(api, practice_and_gp):
    claimant = {"name": "Ada Lovelace", "nhs_number": valid_nhs_number(7)}
    post_json(
        api,
        "claims",
        [
            claim_record("E-1", claimant=claimant),
            claim_record("E-2", claimant=claimant, incident_date="2021-01-01"),
            claim_record("E-3", claimant=claimant, incident_date="2022-02-02"),
            claim_record("E-4", claimant=claimant),
        ],
    )

    def flags():
        by_id = dict(Claim.objects.values_list("pk", "external_ref"))
        return {
            ref: by_id.get(earlier)
            for ref, earlier in Claim.objects.values_list("external_ref", "possible_duplicate_of")
        }

    assert flags() == {"E-1": None, "E-2": None, "E-3": None, "E-4": "E-1"}
    # E-1 moves to another incident date: E-4 no longer repeats it, and E-2 now repeats E-1.
    moved = post_json(api, "claims", [{"external_ref": "E-1", "incident_date": "2021-01-01"}])
    assert moved.json()["updated"] == 1, moved.json()
    assert flags() == {"E-1": None, "E-2": "E-1", "E-3": None, "E-4": None}
    # E-3 takes E-4's key: it is the earlier of the two, so E-4 now repeats E-3.
    post_json(api, "claims", [{"external_ref": "E-3", "incident_date": "2018-11-12"}])
    assert flags() == {"E-1": None, "E-2": "E-1", "E-3": None, "E-4": "E-3"}
    e4 = Claim.objects.get(external_ref="E-4")
    event = AuditEvent.objects.filter(subject_id=str(e4.pk), action="claim.update").latest("id")
    assert event.after == {"possible_duplicate_of": Claim.objects.get(external_ref="E-3").reference}


@pytest.mark.parametrize("slice_rows", [1, 1000])
def test_a_stored_claim_taking_a_new_claims_key_in_a_later_slice_is_its_earlier_claim(
    api, practice_and_gp, settings, slice_rows
):
    claimant = {"name": "Ada Lovelace", "nhs_number": valid_nhs_number(8)}
    post_json(api, "claims", [claim_record("OLD", claimant=claimant, incident_date="2017-01-01")])
    settings.IMPORT_SLICE_ROWS = slice_rows
    response = post_json(
        api,
        "claims",
        [
            claim_record("NEW", claimant=claimant),
            {"external_ref": "OLD", "incident_date": "2018-11-12"},
        ],
    )
    assert (response.json()["created"], response.json()["updated"]) == (1, 1), response.json()
    old = Claim.objects.get(external_ref="OLD")
    assert Claim.objects.get(external_ref="NEW").possible_duplicate_of == old


@pytest.mark.parametrize("slice_rows", [2, 1000])
def test_repeats_within_one_batch_point_at_its_first_claim(
    api, practice_and_gp, settings, slice_rows
):
    # Slices of 2 put the three repeats in different slices; of 1,000 all in one.
    settings.IMPORT_SLICE_ROWS = slice_rows
    claimant = {"name": "Ada Lovelace", "nhs_number": valid_nhs_number(6)}
    ranged = {"incident_date": None, "incident_date_from": "2018-11-12"}
    response = post_json(
        api,
        "claims",
        [
            claim_record("REP-1", claimant=claimant),
            claim_record("OTHER", claimant={"name": "Alan Turing"}),
            claim_record("REP-2", claimant=claimant),
            # A range starting on the same day is the same incident date for this purpose.
            claim_record("REP-3", claimant=claimant, **ranged, incident_date_to="2018-12-01"),
            claim_record("ELSEWHERE", claimant=claimant, incident_date="2018-11-13"),
            # In slices of 2, read after the first slice is stored.
            claim_record("REP-4", claimant=claimant),
        ],
    )
    assert response.json()["created"] == 6
    first = Claim.objects.get(external_ref="REP-1")
    flagged = dict(Claim.objects.values_list("external_ref", "possible_duplicate_of"))
    assert flagged == {
        "REP-1": None,
        "OTHER": None,
        "REP-2": first.pk,
        "REP-3": first.pk,
        "ELSEWHERE": None,
        "REP-4": first.pk,
    }


def test_an_atomic_claims_batch_with_one_bad_row_writes_no_claim_and_no_audit(api, practice_and_gp):
    response = post_json(
        api, "claims", [claim_record("EXT-1"), claim_record("EXT-2", practice="Y99999")]
    )
    assert response.status_code == 400
    assert not Claim.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="claim").exists()
    assert not Deadline.objects.exists()


def _claims_csv(count: int, first: int = 0) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "external_ref",
            "matter_type",
            "claimant__name",
            "claimant__nhs_number",
            "practice",
            "clinicians",
            "care_setting",
            "activity",
            "incident_date",
            "letter_of_claim_on",
        ]
    )
    for n in range(first, first + count):
        writer.writerow(
            [
                f"Q-{n}",
                "claim",
                f"Claimant {n}",
                valid_nhs_number(n),
                "Y01234",
                "GMC:1234567",
                "general_practice",
                "nhs_primary_medical_services",
                "2018-11-12",
                "2024-01-08",
            ]
        )
    return out.getvalue()


def _rows_counted_by_statistics(table: str) -> float:
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = %s", [table])
        return cursor.fetchone()[0]


def test_a_large_batch_leaves_the_planner_statistics_of_what_it_wrote(
    api, practice_and_gp, settings, django_capture_on_commit_callbacks
):
    """Statistics lag a bulk load, and the admin's and the portal's lists are planned from
    them: a queued batch that changed a tenth or more of a table analyses it."""
    settings.IMPORT_SYNC_MAX_ROWS = 10
    with django_capture_on_commit_callbacks(execute=True):
        response = post_csv(api, "claims", _claims_csv(40))
    assert response.status_code == 202
    # Celery runs eagerly in this test: the batch and then its statistics task have run.
    assert _rows_counted_by_statistics("claims_claim") == 40
    assert _rows_counted_by_statistics("claims_deadline") == Deadline.objects.count() > 40
    assert _rows_counted_by_statistics("audit_auditevent") == AuditEvent.objects.count()
    # A later batch under a tenth of what was counted leaves it to autovacuum.
    settings.IMPORT_SYNC_MAX_ROWS = 2
    with django_capture_on_commit_callbacks(execute=True):
        assert post_csv(api, "claims", _claims_csv(3, first=100)).status_code == 202
    assert Claim.objects.count() == 43
    assert _rows_counted_by_statistics("claims_claim") == 40


def test_a_batch_is_done_even_if_its_statistics_refresh_cannot_be_queued(
    api, practice_and_gp, settings, monkeypatch, django_capture_on_commit_callbacks
):
    from claims import tasks

    def broker_gone(*args, **kwargs):
        raise ConnectionError("broker gone")

    monkeypatch.setattr(tasks.statistics_refresh_task, "delay", broker_gone)
    settings.IMPORT_SYNC_MAX_ROWS = 10
    with django_capture_on_commit_callbacks(execute=True):
        response = post_csv(api, "claims", _claims_csv(20))
    batch = api.get(response.json()["url"]).json()
    assert (batch["status"], batch["created"]) == ("done", 20)
    assert Claim.objects.count() == 20


def test_a_batch_answered_in_the_request_leaves_statistics_alone(api, practice_and_gp):
    before = _rows_counted_by_statistics("claims_claim")
    assert post_csv(api, "claims", _claims_csv(5)).status_code == 201
    assert _rows_counted_by_statistics("claims_claim") == before


def test_the_queries_for_a_batch_of_claims_do_not_grow_with_its_rows(
    api, practice_and_gp, settings
):
    settings.IMPORT_SYNC_MAX_ROWS = 5000
    post_csv(api, "claims", _claims_csv(3, first=90_000))  # warm the reference counter
    counts = []
    for size, first in ((10, 0), (1000, 1000)):
        with CaptureQueriesContext(connection) as queries:
            response = post_csv(api, "claims", _claims_csv(size, first=first))
        assert response.json()["created"] == size
        counts.append(len(queries))
    assert counts[0] == counts[1], counts


def test_reserves_import_as_revisions_and_a_changed_figure_is_a_new_one(api, practice_and_gp):
    from decimal import Decimal

    from claims.models import Reserve

    post_json(
        api,
        "claims",
        [claim_record("EXT-1", reserves={"damages": "25000.00", "defence_costs": 4000})],
    )
    claim = Claim.objects.get()
    assert dict(Reserve.objects.values_list("head", "amount")) == {
        "damages": Decimal("25000.00"),
        "defence_costs": Decimal("4000.00"),
    }
    text = "external_ref,reserves__damages,reserves__defence_costs\nEXT-1,30000.50,4000\n"
    response = post_csv(api, "claims", text)
    assert response.json()["updated"] == 1, response.json()
    assert Reserve.objects.filter(claim=claim, head="damages").count() == 2
    assert Reserve.objects.filter(claim=claim, head="defence_costs").count() == 1
    event = AuditEvent.objects.get(action="claim.update")
    assert event.after == {"reserves": {"damages": "30000.50"}}


@pytest.mark.parametrize("amount", ["12.345", "-5", "ten pounds", True, 12.345])
def test_a_reserve_must_be_pounds_and_pence(api, practice_and_gp, amount):
    body = json.dumps([claim_record(reserves={"damages": "0"})]).replace('"0"', json.dumps(amount))
    response = api.post("/api/v1/imports/claims/", body, content_type="application/json")
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert (error["field"], error["code"]) == ("reserves.damages", "invalid_amount")


def test_a_row_for_a_stored_record_needs_only_its_key_and_what_changes(api):
    post_json(api, "practices", [{"ods_code": "Y01234", "name": "Riverside"}])
    response = post_csv(api, "practices", "ods_code,postcode\nY01234,LS1 4AP\n")
    assert (response.status_code, response.json()["updated"]) == (201, 1)
    assert Practice.objects.values_list("name", "postcode").get() == ("Riverside", "LS1 4AP")


def test_a_new_record_without_its_required_fields_names_each_of_them(api, practice_and_gp):
    response = post_json(api, "claims", [{"external_ref": "NEW-1", "claimant": {}}])
    assert response.status_code == 400
    assert sorted(e["field"] for e in response.json()["errors"]) == [
        "activity",
        "care_setting",
        "claimant.name",
        "matter_type",
    ]
    assert {e["code"] for e in response.json()["errors"]} == {"required"}


def test_importing_a_membership_reroutes_the_open_claims_that_read_it(api, practice_and_gp):
    from claims.models import RoutingDecision

    gp = MemberFactory(registration_number="2345678")
    post_json(api, "claims", [claim_record("EXT-1", clinicians=["GMC:2345678"])])
    claim = Claim.objects.get()
    # No MDO on the incident date: no state scheme, manual review (domain.md §4 step 7d).
    assert (claim.schemes, claim.lead_handler, claim.needs_triage) == ("NO_STATE_SCHEME", "", True)
    response = post_json(
        api,
        "memberships",
        [{"member": "GMC:2345678", "organisation": "MDU", "start_date": "2015-01-01"}],
    )
    assert response.json()["created"] == 1
    claim.refresh_from_db()
    assert (claim.schemes, claim.lead_handler) == ("NO_STATE_SCHEME", "MDU")
    latest = RoutingDecision.objects.filter(claim=claim).order_by("-decided_at", "-id").first()
    assert "batch" in latest.cause
    assert gp.pk in {c.member_id for c in claim.claim_clinicians.all()}


def test_an_organisation_is_told_once_per_batch_of_the_new_claims_routed_to_it(
    api, practice_and_gp, django_capture_on_commit_callbacks
):
    mdu_lead = HandlerFactory(
        user=UserFactory(username="mdu_lead"),
        role="team_lead",
        organisation=__import__("handlers.models").models.HandlerOrganisation.objects.get(
            code="MDU"
        ),
    ).user
    MembershipFactory(
        member=MemberFactory(registration_number="3456789"),
        organisation=__import__("members.models").models.DefenceOrganisation.objects.get(
            code="MDU"
        ),
        start_date=datetime.date(2000, 1, 1),
    )
    rows = [claim_record(f"MDU-{n}", clinicians=["GMC:3456789"]) for n in range(3)]
    with django_capture_on_commit_callbacks(execute=True):
        assert post_json(api, "claims", rows).json()["created"] == 3
    [notice] = Notification.objects.filter(recipient=mdu_lead)
    assert notice.kind == "claim_routed"
    assert "3 new claims to MDU" in notice.message


def test_a_csv_row_with_more_cells_than_the_header_is_refused(api):
    response = post_csv(api, "practices", "ods_code,name\nY01234,Riverside,surplus\n")
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert (error["row"], error["field"], error["code"]) == (0, None, "extra_cells")


def test_a_nul_character_is_refused_not_stored(api):
    response = post_json(api, "practices", [{"ods_code": "Y01234", "name": "River\u0000side"}])
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert (error["field"], error["code"]) == ("name", "invalid_character")


def _raw_json(api, kind, text, *, mode=None, key=None):
    """A JSON body as written, escapes and all (json.dumps would not write a lone surrogate)."""
    url = f"/api/v1/imports/{kind}/" + (f"?mode={mode}" if mode else "")
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return api.post(url, text.encode(), content_type="application/json", **headers)


def test_half_an_escape_pair_is_refused_with_its_field_and_nothing_is_written(api):
    # "\ud800" alone is valid JSON text but no character: PostgreSQL could not store it.
    body = '[{"ods_code": "Y01234", "name": "River"}, {"ods_code": "Y01235", "name": "A\\ud800"}]'
    response = _raw_json(api, "practices", body)
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert (error["row"], error["field"], error["code"]) == (1, "name", "invalid_character")
    assert "both halves" in error["message"]
    assert not Practice.objects.exists()


def test_a_field_name_with_half_an_escape_pair_is_reported_as_its_escape(api):
    body = '[{"ods_code": "Y01234", "name": "River", "colo\\udc00r": "red"}]'
    response = _raw_json(api, "practices", body, mode="partial")
    assert response.status_code == 201
    [error] = response.json()["errors"]
    assert (error["field"], error["code"]) == ("colo\\udc00r", "unknown_field")
    batch = api.get(f"/api/v1/imports/batches/{response.json()['batch']}/").json()
    assert batch["errors"] == response.json()["errors"]


def test_a_character_sent_as_both_halves_of_its_escape_is_stored_as_itself(api):
    body = '[{"ods_code": "Y01234", "name": "Riverside \\ud83c\\udfe5"}]'
    assert _raw_json(api, "practices", body).status_code == 201
    assert Practice.objects.get().name == "Riverside \U0001f3e5"


def test_an_idempotency_key_with_a_control_character_is_refused(api):
    response = post_json(api, "practices", [{"ods_code": "Y01234"}], key="retry\x00one")
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert (error["field"], error["code"]) == ("Idempotency-Key", "invalid_character")
    assert not ImportBatch.objects.exists()
    assert not Practice.objects.exists()


def test_a_body_that_is_not_utf8_is_refused(api):
    response = api.post(
        "/api/v1/imports/practices/",
        "ods_code,name\nY01234,Caf\xe9\n".encode("latin-1"),
        content_type="text/csv",
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "invalid_encoding"


def test_the_same_claims_as_json_and_as_csv_are_stored_alike(api, practice_and_gp):
    MemberFactory(registration_number="7654321")
    records = [
        claim_record(
            f"J-{n}",
            claimant={
                "name": f"Claimant {n}",
                "nhs_number": valid_nhs_number(n),
                "date_of_birth": "1970-05-01",
                "lacks_capacity": n == 1,
            },
            clinicians=["GMC:1234567", "GMC:7654321"][: n + 1],
            coronavirus_response=n == 2,
            reserves={"damages": "1250.50"},
        )
        for n in range(3)
    ]
    assert post_json(api, "claims", records).json()["created"] == 3
    out = io.StringIO()
    columns = [
        "external_ref",
        "matter_type",
        "claimant__name",
        "claimant__nhs_number",
        "claimant__date_of_birth",
        "claimant__lacks_capacity",
        "practice",
        "clinicians",
        "care_setting",
        "activity",
        "coronavirus_response",
        "incident_date",
        "notified_on",
        "letter_of_claim_on",
        "reserves__damages",
    ]
    writer = csv.writer(out)
    writer.writerow(columns)
    for r in records:
        writer.writerow(
            [
                r["external_ref"].replace("J-", "C-"),
                r["matter_type"],
                r["claimant"]["name"],
                r["claimant"]["nhs_number"],
                r["claimant"]["date_of_birth"],
                str(r["claimant"]["lacks_capacity"]).lower(),
                r["practice"],
                ";".join(r["clinicians"]),
                r["care_setting"],
                r["activity"],
                str(r["coronavirus_response"]).lower(),
                r["incident_date"],
                r["notified_on"],
                r["letter_of_claim_on"],
                r["reserves"]["damages"],
            ]
        )
    assert post_csv(api, "claims", out.getvalue()).json()["created"] == 3

    def stored(prefix):
        fields = [
            f.attname
            for f in Claim._meta.concrete_fields
            if f.attname
            not in (
                "id",
                "reference",
                "external_ref",
                "created_at",
                "updated_at",
                "possible_duplicate_of_id",
            )
        ]
        claims = Claim.objects.filter(external_ref__startswith=prefix).order_by("external_ref")
        return [
            (
                [getattr(c, name) for name in fields],
                list(c.claim_clinicians.order_by("position").values_list("member_id", flat=True)),
                list(c.reserves.values_list("head", "amount")),
                sorted(c.deadlines.values_list("kind", "due_on")),
                c.schemes,
            )
            for c in claims
        ]

    assert stored("J-") == stored("C-")


def test_an_atomic_batch_rolls_back_slices_it_had_written_and_still_reports_later_rows(
    api, practice_and_gp, settings
):
    settings.IMPORT_SLICE_ROWS = 10
    rows = [claim_record(f"S-{n}") for n in range(40)]
    rows[25]["practice"] = "Y99999"
    rows[37]["clinicians"] = ["GMC:7654321"]
    response = post_json(api, "claims", rows)
    assert response.status_code == 400
    assert [(e["row"], e["code"]) for e in response.json()["errors"]] == [
        (25, "unknown_practice"),
        (37, "unknown_member"),
    ]
    # Slices 0-9 and 10-19 were written before row 25 was met; all of it is gone.
    assert not Claim.objects.exists()
    assert not Deadline.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="claim").exists()


def test_a_changed_status_alone_is_checked_against_the_stored_claim(api, practice_and_gp):
    post_json(api, "claims", [claim_record("EXT-1", status="closed", outcome="not_a_claim")])
    # Only the outcome changes: the claim is closed already, so this is allowed.
    response = post_json(
        api, "claims", [{"external_ref": "EXT-1", "outcome": "closed_with_damages"}]
    )
    assert (response.status_code, response.json()["updated"]) == (201, 1)
    # Re-opening clears the outcome.
    assert (
        post_json(api, "claims", [{"external_ref": "EXT-1", "status": "open"}]).status_code == 201
    )
    assert Claim.objects.values_list("status", "outcome").get() == ("open", "")
    response = post_json(api, "claims", [{"external_ref": "EXT-1", "status": "closed"}])
    assert [e["code"] for e in response.json()["errors"]] == ["outcome_required"]


def test_an_empty_clinician_between_two_is_named_by_its_place(api, practice_and_gp):
    text = (
        "external_ref,matter_type,claimant__name,care_setting,activity,clinicians\n"
        "E-1,claim,A,general_practice,nhs_primary_medical_services,GMC:1234567;;GMC:7654321\n"
    )
    errors = post_csv(api, "claims", text).json()["errors"]
    assert [(e["field"], e["code"]) for e in errors] == [("clinicians[1]", "invalid_member_key")]


@pytest.mark.parametrize(
    "body",
    [
        '[{"external_ref": 1' + "1" * 5000 + "}]",
        "[" * 100_000,
    ],
)
def test_json_no_parser_can_read_is_a_400(api, body):
    response = api.post("/api/v1/imports/claims/", body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "invalid_json"


def test_an_amount_too_large_for_any_claim_is_a_row_error(api, practice_and_gp):
    response = post_json(api, "claims", [claim_record(reserves={"damages": "1e30"})])
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "invalid_amount"


def test_an_idempotency_key_longer_than_200_characters_is_refused(api):
    response = post_json(api, "practices", [{"ods_code": "Y01234", "name": "x"}], key="k" * 201)
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "Idempotency-Key"
    assert not ImportBatch.objects.exists()


def test_changing_a_claims_practice_reroutes_it(api, practice_and_gp):
    from claims.models import RoutingDecision

    PracticeFactory(ods_code="Y05678")
    post_json(api, "claims", [claim_record("EXT-1")])
    before = RoutingDecision.objects.count()
    post_json(api, "claims", [{"external_ref": "EXT-1", "practice": "Y05678"}])
    assert RoutingDecision.objects.count() == before + 1


def test_a_batch_that_fails_in_the_request_says_why_writes_nothing_and_frees_its_key(
    api, monkeypatch
):
    from django.db import IntegrityError

    from claims import import_services

    def clash(self, resolved, run):
        import_services._upsert(Practice, resolved, run, action="practice")
        raise IntegrityError("duplicate key value violates unique constraint")

    monkeypatch.setattr(import_services.PracticeImporter, "apply", clash)
    rows = [{"ods_code": "Y01234", "name": "Riverside"}]
    response = post_json(api, "practices", rows, key="retry-me")
    assert response.status_code == 409
    body = response.json()
    assert body["status"] == "failed"
    assert [e["code"] for e in body["errors"]] == ["import_failed"]
    assert "no row was applied" in body["errors"][0]["message"]
    assert not Practice.objects.exists()
    monkeypatch.undo()
    retried = post_json(api, "practices", rows, key="retry-me")
    assert (retried.status_code, retried.json()["created"]) == (201, 1)


# --- slices prepared on another thread while the one before is written -----------------------


def _as_stored(claim: Claim) -> dict:
    """Everything a claim's creation writes that does not name the claim itself."""
    own = {"id", "reference", "external_ref", "source_organisation_id", "created_at"}
    own |= {"updated_at", "version"}
    decision = claim.routing_decisions.select_related("ruling").get()
    return {
        "claim": {
            f.attname: getattr(claim, f.attname)
            for f in Claim._meta.concrete_fields
            if f.attname not in own
        },
        "clinicians": list(claim.claim_clinicians.values_list("member_id", "position")),
        "segments": list(
            claim.segments.order_by("position").values_list(
                "clinician_id", "position", "start_date", "end_date", "scheme", "handler"
            )
        ),
        "handled_by": sorted(claim.handlings.values_list("organisation_id", flat=True)),
        "decision": (
            decision.ruling.facts,
            decision.ruling.outcome,
            decision.schemes,
            decision.lead_handler,
            decision.previous,
        ),
        "deadlines": sorted(
            claim.deadlines.values_list(
                "kind",
                "due_on",
                "suspended",
                "status",
                "met_on",
                "non_working_day",
                "source",
                "category",
                "remind_on",
                "waived_reason",
            )
        ),
        "deadline_history": sorted(
            (change.deadline.kind, change.before, change.after)
            for change in DeadlineChange.objects.filter(deadline__claim=claim).select_related(
                "deadline"
            )
        ),
        "routing_audit": list(
            AuditEvent.objects.filter(subject_id=str(claim.pk), action="claim.route").values_list(
                "before", "after"
            )
        ),
    }


def records_on(prefix: str, days: list[str | None]) -> list[dict]:
    """claim_record with a date of birth, one per incident day, referenced prefix-0, prefix-1..."""
    return [
        claim_record(
            f"{prefix}-{n}",
            claimant={"name": "Ada Lovelace", "date_of_birth": "1970-05-01"},
            incident_date=day,
        )
        for n, day in enumerate(days)
    ]


def recorded_by_hand(actor, practice_and_gp, incident_day: str | None) -> Claim:
    """The claim claim_record describes (with a date of birth), recorded through claim_create."""
    from claims.services import claim_create

    practice, gp = practice_and_gp
    return claim_create(
        actor=actor,
        clinicians=[gp],
        matter_type="claim",
        claimant_name="Ada Lovelace",
        claimant_date_of_birth=datetime.date(1970, 5, 1),
        practice=practice,
        care_setting="general_practice",
        activity="nhs_primary_medical_services",
        incident_date=datetime.date.fromisoformat(incident_day) if incident_day else None,
        notified_on=datetime.date(2024, 1, 10),
        letter_of_claim_on=datetime.date(2024, 1, 8),
    )


def fail_on_call(monkeypatch, name: str, call: int) -> None:
    """claims.import_services.<name> raises ValueError("<name> failed") on its `call`-th call."""
    from claims import import_services

    real = getattr(import_services, name)
    calls = []

    def failing(*args):
        calls.append(args)
        if len(calls) == call:
            raise ValueError(f"{name} failed")
        return real(*args)

    monkeypatch.setattr(import_services, name, failing)


def test_an_imported_claim_is_stored_as_one_recorded_by_hand(
    api, practice_and_gp, settings, caseworker
):
    """Slices of 1, so each claim's rows are prepared on the other thread while the claim
    before is written; each must equal the same claim recorded through claim_create."""
    settings.IMPORT_SLICE_ROWS = 1
    # The last one unknown: undetermined, so it waits in the triage queue.
    dates = ["2018-11-12", "2019-04-01", "2016-02-29", None]
    assert post_json(api, "claims", records_on("HAND", dates)).json()["created"] == 4
    for n, day in enumerate(dates):
        by_hand = recorded_by_hand(caseworker, practice_and_gp, day)
        imported = Claim.objects.get(external_ref=f"HAND-{n}")
        assert _as_stored(imported) == _as_stored(by_hand), day


def test_a_failure_while_preparing_a_slice_rolls_the_whole_batch_back(
    api, practice_and_gp, settings, monkeypatch
):
    settings.IMPORT_SLICE_ROWS = 2
    fail_on_call(monkeypatch, "_claim_writes", 3)
    with pytest.raises(ValueError, match="_claim_writes failed"):
        post_json(api, "claims", [claim_record(f"F-{n}") for n in range(8)])
    assert not Claim.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="claim").exists()


def test_a_queued_batch_whose_slice_fails_to_prepare_says_failed_and_wrote_nothing(
    api, practice_and_gp, settings, monkeypatch
):
    from claims.import_services import import_batch_run

    settings.IMPORT_SLICE_ROWS = 2
    settings.IMPORT_SYNC_MAX_ROWS = 2
    # Queued: its task is run below, by hand, as a worker would.
    response = post_json(api, "claims", [claim_record(f"Q-{n}") for n in range(8)])
    assert response.status_code == 202
    fail_on_call(monkeypatch, "_claim_writes", 3)
    with pytest.raises(ValueError, match="_claim_writes failed"):
        import_batch_run(batch_id=response.json()["batch"])
    batch = api.get(response.json()["url"]).json()
    assert batch["status"] == "failed"
    assert "_claim_writes failed" in batch["failure"] and "no row" in batch["failure"].lower()
    assert not Claim.objects.exists() and not Deadline.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="claim").exists()


def test_preparing_a_slice_may_not_touch_the_database():
    from claims.import_services import _Preparer

    class Querying:
        def prepare(self):
            Claim.objects.count()

    with _Preparer() as preparer:
        prepared = preparer.submit(Querying())
        with pytest.raises(RuntimeError, match="must not use the database"):
            prepared.future.result()


@pytest.mark.parametrize("slice_rows", [1, 1000])
def test_changes_to_stored_claims_count_for_the_duplicate_check_of_new_ones(
    api, practice_and_gp, settings, slice_rows
):
    """In the same slice or the next: NEW takes OLD's new incident date, so it is a possible
    duplicate of OLD; GONE takes AWAY's old one after AWAY moved off it, so it is not."""
    settings.IMPORT_SLICE_ROWS = slice_rows
    claimant = {"name": "Ada Lovelace", "nhs_number": valid_nhs_number(7)}
    other = {"name": "Alan Turing", "nhs_number": valid_nhs_number(8)}
    post_json(
        api,
        "claims",
        [claim_record("OLD", claimant=claimant), claim_record("AWAY", claimant=other)],
    )
    response = post_json(
        api,
        "claims",
        [
            claim_record("OLD", claimant=claimant, incident_date="2017-06-01"),
            claim_record("AWAY", claimant=other, incident_date="2016-01-01"),
            claim_record("NEW", claimant=claimant, incident_date="2017-06-01"),
            claim_record("GONE", claimant=other),
        ],
    )
    assert (response.json()["created"], response.json()["updated"]) == (2, 2)
    old = Claim.objects.get(external_ref="OLD")
    assert Claim.objects.get(external_ref="NEW").possible_duplicate_of == old
    assert Claim.objects.get(external_ref="GONE").possible_duplicate_of is None


def test_a_claim_recorded_meanwhile_with_a_later_id_is_not_an_earlier_duplicate(
    api, practice_and_gp, monkeypatch
):
    from claims import import_services

    claimant = {"name": "Ada Lovelace", "nhs_number": valid_nhs_number(9)}
    allocate = import_services.ids_allocate

    def allocate_then_someone_records_the_same(model, count):
        ids = allocate(model, count)
        if model is Claim:
            ClaimFactory(
                claimant_nhs_number=claimant["nhs_number"],
                practice=practice_and_gp[0],
                incident_date=datetime.date(2018, 11, 12),
            )
        return ids

    monkeypatch.setattr(import_services, "ids_allocate", allocate_then_someone_records_the_same)
    post_json(api, "claims", [claim_record("MINE", claimant=claimant)])
    assert Claim.objects.get(external_ref="MINE").possible_duplicate_of is None
