"""GET /api/v1/claims/, GET and PATCH /api/v1/claims/{reference}/ (design.md §3.3), over HTTP as
each role, including the wrong organisation."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from audit.models import AuditEvent
from claims.models import ClaimHandling, Deadline, RoutingDecision
from handlers.models import HandlerOrganisation
from members.models import DefenceOrganisation
from tests.conftest import client_for
from tests.factories import (
    ClaimFactory,
    MemberFactory,
    MembershipFactory,
    PracticeFactory,
    recorded_claim,
    valid_nhs_number,
)

pytestmark = pytest.mark.django_db
D = datetime.date


def recorded(mdo: str = "MDU", **fields):
    """A claim recorded through the service, so it is routed and has deadlines. A pre-2019
    incident for a member of an MDO without an agreement stays with that MDO."""
    defaults = {
        "claimant_nhs_number": valid_nhs_number(fields.pop("n", 1)),
        "notified_on": D(2024, 1, 10),
        "letter_of_claim_on": D(2024, 1, 8),
    }
    return recorded_claim(mdo, **{**defaults, **fields})


def references(response) -> list[str]:
    assert response.status_code == 200, response.json()
    return [item["reference"] for item in response.json()["results"]]


# --- who sees which claims ---------------------------------------------------------------------


def test_each_role_lists_exactly_the_claims_it_may_see(
    caseworker, auditor, mdu_handler, mps_handler, importer
):
    mdu_claim = recorded("MDU", n=1)
    mps_claim = recorded("MPS", n=2, activity="private")
    nhsr_claim = recorded("MDU", n=3, incident_date=D(2020, 5, 1))
    assert (mdu_claim.lead_handler, mps_claim.lead_handler, nhsr_claim.lead_handler) == (
        "MDU",
        "MPS",
        "NHSR",
    )
    everyone = {mdu_claim.reference, mps_claim.reference, nhsr_claim.reference}
    assert set(references(client_for(caseworker).get("/api/v1/claims/"))) == everyone
    assert set(references(client_for(auditor).get("/api/v1/claims/"))) == everyone
    assert references(client_for(mdu_handler).get("/api/v1/claims/")) == [mdu_claim.reference]
    assert references(client_for(mps_handler).get("/api/v1/claims/")) == [mps_claim.reference]
    # The importer (MPS's system) sent none of these.
    assert references(client_for(importer).get("/api/v1/claims/")) == []
    assert client_for(None).get("/api/v1/claims/").status_code == 401


def test_list_items_carry_the_contract_fields(caseworker):
    claim = recorded("MDU", letter_of_claim_on=datetime.date.today() - datetime.timedelta(days=3))
    [item] = client_for(caseworker).get("/api/v1/claims/").json()["results"]
    assert item["reference"] == claim.reference
    assert item["schemes"] == ["NO_STATE_SCHEME"]
    assert item["lead_handler"] == "MDU"
    assert (item["stage"], item["status"], item["external_ref"]) == ("letter_of_claim", "open", "")
    # The soonest unmet deadline: the limitation date, missed in 2021, before any open one.
    soonest = (
        Deadline.objects.filter(claim=claim, status__in=["open", "missed"])
        .order_by("due_on")
        .first()
    )
    assert soonest.kind == "limitation"
    assert item["next_deadline"] == {
        "id": soonest.pk,
        "kind": soonest.kind,
        "due_on": soonest.due_on.isoformat(),
    }


def test_cursor_pagination_walks_every_claim_once(caseworker):
    made = {ClaimFactory().reference for _ in range(7)}
    api, seen, url = client_for(caseworker), [], "/api/v1/claims/?page_size=3"
    while url:
        body = api.get(url).json()
        assert set(body) == {"results", "next", "previous"}
        seen += [item["reference"] for item in body["results"]]
        url = body["next"]
    assert sorted(seen) == sorted(made)


def test_a_cursor_this_api_did_not_give_is_a_400_naming_it(caseworker):
    ClaimFactory()
    response = client_for(caseworker).get("/api/v1/claims/?cursor=page-2")
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert (error["field"], error["code"]) == ("cursor", "invalid_cursor")


# --- filters --------------------------------------------------------------------------------


def test_filters_match_what_they_say(caseworker):
    api = client_for(caseworker)
    mdu = recorded("MDU", n=1, stage="investigation")
    split = recorded(
        "MDU",
        n=2,
        incident_date=None,
        incident_date_from=D(2019, 1, 1),
        incident_date_to=D(2019, 6, 30),
        notified_on=D(2025, 3, 1),
    )
    later = recorded("MDU", n=3, incident_date=D(2021, 2, 2))
    assert references(api.get("/api/v1/claims/?scheme=CNSGP")) == [later.reference, split.reference]
    assert references(api.get("/api/v1/claims/?handler=MDU")) == [split.reference, mdu.reference]
    assert references(api.get("/api/v1/claims/?lead_handler=mdu")) == [mdu.reference]
    assert references(api.get("/api/v1/claims/?stage=investigation")) == [mdu.reference]
    assert references(api.get(f"/api/v1/claims/?practice={mdu.practice.ods_code}")) == [
        mdu.reference
    ]
    assert references(api.get("/api/v1/claims/?flag=APPORTIONMENT_REQUIRED")) == [split.reference]
    # A range counts on any of its days.
    assert references(api.get("/api/v1/claims/?incident_date_after=2019-06-30")) == [
        later.reference,
        split.reference,
    ]
    assert references(api.get("/api/v1/claims/?incident_date_before=2018-11-12")) == [mdu.reference]
    assert references(
        api.get("/api/v1/claims/?notified_after=2025-01-01&notified_before=2025-03-01")
    ) == [split.reference]
    assert references(api.get("/api/v1/claims/?status=closed")) == []


def test_overdue_means_an_unmet_deadline_past_its_day(caseworker):
    late = recorded("MDU", n=1)  # letter of claim in January 2024: long overdue
    on_time = recorded("MDU", n=2, letter_of_claim_on=None, notified_on=None)
    Deadline.objects.filter(claim=on_time).update(due_on=D(2099, 1, 1))
    assert references(client_for(caseworker).get("/api/v1/claims/?overdue=true")) == [
        late.reference
    ]


def test_q_finds_a_claim_by_reference_external_ref_name_or_nhs_number(caseworker):
    api = client_for(caseworker)
    number = valid_nhs_number(42)
    claim = ClaimFactory(
        claimant_name="Grace Hopper", claimant_nhs_number=number, external_ref="MPS-77"
    )
    ClaimFactory(claimant_name="Someone Else")
    spaced = f"{number[:3]} {number[3:6]} {number[6:]}"
    for q in (claim.reference.lower(), "MPS-77", "hopper", number, spaced):
        assert references(api.get("/api/v1/claims/", {"q": q})) == [claim.reference], q


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("scheme=NOPE", "scheme"),
        ("incident_date_after=yesterday", "incident_date_after"),
        ("overdue=perhaps", "overdue"),
        ("flag=SHINY", "flag"),
    ],
)
def test_a_bad_filter_is_a_400_naming_it(caseworker, query, field):
    response = client_for(caseworker).get(f"/api/v1/claims/?{query}")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == field


def test_the_list_costs_the_same_queries_for_5_claims_as_for_50(caseworker):
    api = client_for(caseworker)
    counts = []
    for count in (5, 45):
        for n in range(count):
            recorded("MDU", n=1000 + len(counts) * 100 + n)
        with CaptureQueriesContext(connection) as queries:
            assert api.get("/api/v1/claims/").status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1], counts


# --- the claim -------------------------------------------------------------------------------


def test_history_naming_an_account_that_no_longer_exists_still_reads(
    client, caseworker, mdu_handler
):
    """The trail's actor column has no database constraint (docs/decisions.md): an id naming no
    account (only a shell deleting an account that was acting at that moment could leave one)
    reads as the process label, in the API, the portal and the admin alike."""
    claim = recorded("MDU")
    event = AuditEvent.objects.create(
        actor_id=987_654,
        actor_label="import 7",
        action="claim.update",
        subject_type="claims.claim",
        subject_id=str(claim.pk),
        reason="Changed by a batch",
    )
    response = client_for(caseworker).get(f"/api/v1/claims/{claim.reference}/")
    assert response.status_code == 200
    assert response.json()["history"][0]["actor"] == "import 7"
    for user, url in (
        (caseworker, f"/admin/claims/claim/{claim.pk}/change/"),
        (mdu_handler, reverse("portal:claim", args=[claim.reference])),
        (caseworker, f"/admin/audit/auditevent/{event.pk}/change/"),
    ):
        client.force_login(user)
        page = client.get(url)
        assert page.status_code == 200, url
        assert "import 7" in page.content.decode(), url


def test_a_claim_shows_its_routing_deadlines_and_history_with_its_version(caseworker):
    claim = recorded("MDU")
    response = client_for(caseworker).get(f"/api/v1/claims/{claim.reference}/")
    assert response.status_code == 200
    assert response["ETag"] == f'"{claim.version}"'
    body = response.json()
    assert body["routing"]["schemes"] == ["NO_STATE_SCHEME"]
    assert body["routing"]["lead_handler"] == "MDU"
    assert body["routing"]["segments"][0]["from"] == "2018-11-12"
    assert any("step 7c" in reason for reason in body["routing"]["reasons"])
    assert body["routing"]["decided_at"]
    response_deadline = next(d for d in body["deadlines"] if d["kind"] == "letter_of_response")
    assert response_deadline["due_on"] == "2024-05-08"
    assert response_deadline["status"] in ("open", "missed")
    assert response_deadline["history"][0]["after"]["due_on"] == "2024-05-08"
    assert [event["action"] for event in body["history"]][-1] == "claim.create"
    assert body["claimant"]["name"] == "Ada Lovelace"
    assert body["money"]["reserve"] == "0.00"


def test_opening_a_claim_is_recorded_in_the_access_log(caseworker):
    claim = recorded("MDU")
    client_for(caseworker).get(f"/api/v1/claims/{claim.reference}/")
    view = AuditEvent.objects.get(action="claim.view")
    assert (view.actor, view.subject_id) == (caseworker, str(claim.pk))


def test_another_organisations_claim_is_404_like_a_missing_one(mps_handler):
    claim = recorded("MDU")
    api = client_for(mps_handler)
    hidden = api.get(f"/api/v1/claims/{claim.reference}/")
    missing = api.get("/api/v1/claims/CL-2000-999999/")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json() == missing.json()
    assert (
        api.patch(
            f"/api/v1/claims/{claim.reference}/",
            {"stage": "negotiation"},
            format="json",
            HTTP_IF_MATCH=f'"{claim.version}"',
        ).status_code
        == 404
    )
    assert not AuditEvent.objects.filter(action="claim.view").exists()


def test_the_claim_page_costs_the_same_queries_whatever_it_holds(caseworker):
    api = client_for(caseworker)
    small = recorded("MDU", n=1, letter_of_claim_on=None)
    big = recorded(
        "MDU",
        n=2,
        records_requested_on=D(2024, 1, 1),
        claim_form_issued_on=D(2024, 2, 1),
        particulars_served_on=D(2024, 2, 3),
    )
    assert big.deadlines.count() > small.deadlines.count() + 2
    counts = []
    for claim in (small, big):
        with CaptureQueriesContext(connection) as queries:
            assert api.get(f"/api/v1/claims/{claim.reference}/").status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1], counts


# --- changing a claim --------------------------------------------------------------------------


def patch(api, claim, body, etag=None):
    headers = {"HTTP_IF_MATCH": etag} if etag is not None else {}
    return api.patch(f"/api/v1/claims/{claim.reference}/", body, format="json", **headers)


def test_a_patch_without_if_match_is_428_and_changes_nothing(caseworker):
    claim = recorded("MDU")
    response = patch(client_for(caseworker), claim, {"stage": "negotiation"})
    assert response.status_code == 428
    assert response.json()["errors"][0]["code"] == "precondition_required"
    claim.refresh_from_db()
    assert claim.stage == "letter_of_claim"


def test_a_stale_if_match_is_412_and_changes_nothing(caseworker):
    claim = recorded("MDU")
    api = client_for(caseworker)
    stale = f'"{claim.version}"'
    assert patch(api, claim, {"stage": "investigation"}, stale).status_code == 200
    response = patch(api, claim, {"stage": "negotiation"}, stale)
    assert response.status_code == 412
    assert response.json()["errors"][0]["code"] == "precondition_failed"
    assert response["ETag"] == f'"{claim.version + 1}"'
    claim.refresh_from_db()
    assert claim.stage == "investigation"


def test_an_empty_patch_checks_its_if_match_and_changes_nothing(caseworker, auditor):
    claim = recorded("MDU")
    api = client_for(caseworker)
    current, stale = f'"{claim.version}"', f'"{claim.version - 1}"'
    assert patch(api, claim, {}, stale).status_code == 412
    assert patch(client_for(auditor), claim, {}, current).status_code == 403
    answer = patch(api, claim, {}, current)
    assert answer.status_code == 200 and answer["ETag"] == current
    claim.refresh_from_db()
    assert claim.version == int(current.strip('"'))


def test_a_patch_with_the_current_version_changes_and_answers_the_new_etag(caseworker):
    claim = recorded("MDU")
    response = patch(
        client_for(caseworker),
        claim,
        {"stage": "investigation", "letter_of_claim_acknowledged_on": "2024-01-12"},
        f'"{claim.version}"',
    )
    assert response.status_code == 200, response.json()
    assert response["ETag"] == f'"{claim.version + 1}"'
    body = response.json()
    assert body["stage"] == "investigation"
    acknowledge = next(d for d in body["deadlines"] if d["kind"] == "acknowledge_letter_of_claim")
    assert acknowledge["status"] == "met"


def test_changing_a_routing_fact_reroutes_the_claim(caseworker):
    claim = recorded("MDU")
    response = patch(
        client_for(caseworker), claim, {"incident_date": "2019-05-01"}, f'"{claim.version}"'
    )
    assert response.status_code == 200, response.json()
    assert response.json()["routing"]["schemes"] == ["CNSGP"]


def test_the_handler_moves_the_stage_but_may_not_change_facts_or_close(mdu_handler):
    claim = recorded("MDU")
    api = client_for(mdu_handler)
    ok = patch(api, claim, {"stage": "investigation"}, f'"{claim.version}"')
    assert ok.status_code == 200
    etag = ok["ETag"]
    refused = patch(api, claim, {"care_setting": "trust"}, etag)
    assert refused.status_code == 403
    assert "care_setting" in refused.json()["errors"][0]["message"]
    closing = patch(api, claim, {"status": "closed", "outcome": "not_a_claim"}, etag)
    assert closing.status_code == 403
    claim.refresh_from_db()
    assert (claim.care_setting, claim.status) == ("general_practice", "open")


def test_a_closed_claim_is_a_409_for_the_handler_and_nothing_changes(mdu_handler, caseworker):
    claim = recorded("MDU")
    closed = patch(
        client_for(caseworker),
        claim,
        {"status": "closed", "outcome": "closed_without_damages"},
        f'"{claim.version}"',
    )
    assert closed.status_code == 200, closed.json()
    deadlines = Deadline.objects.filter(claim=claim).count()
    refused = patch(
        client_for(mdu_handler),
        claim,
        {"stage": "served", "particulars_served_on": "2026-11-25"},
        closed["ETag"],
    )
    assert refused.status_code == 409
    [error] = refused.json()["errors"]
    assert error["code"] == "claim_closed" and "NHS Resolution reopens" in error["message"]
    claim.refresh_from_db()
    assert (claim.stage, claim.particulars_served_on, claim.version) == (
        "letter_of_claim",
        None,
        int(closed["ETag"].strip('"')),
    )
    assert Deadline.objects.filter(claim=claim).count() == deadlines
    # NHS Resolution reopens it.
    reopened = patch(client_for(caseworker), claim, {"status": "open"}, closed["ETag"])
    assert reopened.status_code == 200 and reopened.json()["status"] == "open"


def test_auditors_and_importers_may_not_patch(auditor, importer):
    claim = recorded("MDU")
    assert patch(client_for(auditor), claim, {"stage": "negotiation"}, '"1"').status_code == 403
    # The importer's organisation (MPS) sent this claim, so the importer can read it...
    claim.source_organisation = HandlerOrganisation.objects.get(code="MPS")
    claim.save()
    importer_api = client_for(importer)
    assert importer_api.get(f"/api/v1/claims/{claim.reference}/").status_code == 200
    # ... but changes it only through imports.
    assert (
        patch(importer_api, claim, {"stage": "negotiation"}, f'"{claim.version}"').status_code
        == 403
    )
    claim.refresh_from_db()
    assert claim.stage == "letter_of_claim"


def test_q_of_ten_digits_also_finds_a_senders_reference(caseworker):
    claim = ClaimFactory(external_ref="2024001234")
    assert references(client_for(caseworker).get("/api/v1/claims/?q=2024001234")) == [
        claim.reference
    ]


def test_a_possible_duplicate_is_shown_to_caseworkers_only(caseworker, mdu_handler):
    earlier = ClaimFactory()
    later = ClaimFactory(possible_duplicate_of=earlier)
    ClaimHandling.objects.create(
        claim=later, organisation=HandlerOrganisation.objects.get(code="MDU")
    )
    seen = client_for(caseworker).get(f"/api/v1/claims/{later.reference}/").json()
    assert seen["possible_duplicate_of"] == earlier.reference
    # The earlier claim may be another organisation's: its reference must not leak.
    handler_api = client_for(mdu_handler)
    hidden = handler_api.get(f"/api/v1/claims/{later.reference}/").json()
    assert hidden["possible_duplicate_of"] is None
    listed = handler_api.get("/api/v1/claims/").json()["results"]
    assert [(c["possible_duplicate_of"], c["flags"]) for c in listed] == [(None, [])]
    assert handler_api.get("/api/v1/claims/?flag=POSSIBLE_DUPLICATE").json()["results"] == []


@pytest.mark.parametrize("url", ["/api/v1/claims/%00/", "/api/v1/claims/CL-2024-0001x/"])
def test_a_malformed_reference_is_404_not_a_server_error(caseworker, url):
    response = client_for(caseworker).get(url)
    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == "not_found"


def test_an_if_match_too_long_to_be_a_version_is_400(caseworker):
    claim = recorded("MDU")
    response = patch(
        client_for(caseworker), claim, {"stage": "investigation"}, '"' + "9" * 50 + '"'
    )
    assert response.status_code == 400


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({"colour": "red"}, "colour", "unknown_field"),
        ({"stage": "finished"}, "stage", "invalid_choice"),
        ({"letter_of_claim_on": "soon"}, "letter_of_claim_on", "invalid"),
        # The rules across fields, in the import's codes (never a database constraint's name).
        ({"status": "closed"}, "outcome", "outcome_required"),
        ({"outcome": "not_a_claim"}, "outcome", "outcome_not_allowed"),
        ({"status": "open", "outcome": "not_a_claim"}, "outcome", "outcome_not_allowed"),
        ({"incident_date_from": "2018-01-01"}, "incident_date_to", "range_incomplete"),
        (
            {"incident_date_from": "2018-06-01", "incident_date_to": "2018-01-01"},
            "incident_date_to",
            "range_reversed",
        ),
        (
            {"incident_date": "2018-06-01", "incident_date_from": "2018-01-01"},
            "incident_date",
            "date_and_range",
        ),
        # The letter of claim was received on 2024-01-08 (recorded): nothing answers it before.
        (
            {"letter_of_response_sent_on": "2024-01-07"},
            "letter_of_response_sent_on",
            "done_before_trigger",
        ),
        (
            {"claim_form_issued_on": "2024-06-01", "claim_form_served_on": "2024-05-31"},
            "claim_form_served_on",
            "done_before_trigger",
        ),
    ],
)
def test_a_bad_patch_is_a_400_naming_the_field_and_changes_nothing(caseworker, body, field, code):
    claim = recorded("MDU")
    version = claim.version
    response = patch(client_for(caseworker), claim, body, f'"{version}"')
    assert response.status_code == 400, response.json()
    errors = response.json()["errors"]
    assert {"field": field, "code": code} in [
        {"field": error["field"], "code": error["code"]} for error in errors
    ], errors
    assert not any("onstraint" in error["message"] for error in errors)
    claim.refresh_from_db()
    assert claim.status == "open" and claim.stage == "letter_of_claim"
    assert claim.incident_date == D(2018, 11, 12) and claim.version == version


def test_a_completion_on_the_day_its_deadline_started_is_accepted(caseworker):
    # The other side of done_before_trigger: the letter of claim came on 2024-01-08 (recorded).
    claim = recorded("MDU")
    response = patch(
        client_for(caseworker),
        claim,
        {"letter_of_claim_acknowledged_on": "2024-01-08"},
        f'"{claim.version}"',
    )
    assert response.status_code == 200, response.json()
    assert Deadline.objects.get(claim=claim, kind="acknowledge_letter_of_claim").status == "met"


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_patch_and_a_deadline_met_hold_their_locks_in_a_transaction_of_their_own(caseworker):
    """Outside the test's own transaction, as a server runs them: each service opens its own
    transaction for the row locks it takes (select_for_update needs one)."""
    claim = recorded("MDU")
    api = client_for(caseworker)
    changed = patch(api, claim, {"stage": "investigation"}, f'"{claim.version}"')
    assert changed.status_code == 200, changed.json()
    deadline = Deadline.objects.filter(claim=claim, status__in=["open", "missed"]).first()
    met = api.patch(
        f"/api/v1/claims/{claim.reference}/deadlines/{deadline.pk}/",
        {"status": "met"},
        format="json",
    )
    assert met.status_code == 200, met.json()


def test_a_patch_giving_a_claim_an_earlier_claims_key_flags_it(caseworker):
    earlier = recorded("MDU", n=3)
    later = recorded("MDU", n=3, incident_date=D(2018, 12, 1), practice=earlier.practice)
    assert later.possible_duplicate_of_id is None
    response = patch(
        client_for(caseworker), later, {"incident_date": "2018-11-12"}, f'"{later.version}"'
    )
    assert response.status_code == 200, response.json()
    assert response.json()["possible_duplicate_of"] == earlier.reference
    later.refresh_from_db()
    assert later.possible_duplicate_of_id == earlier.pk
    assert response["ETag"] == f'"{later.version}"'


def test_a_cleared_flag_stays_clear_when_an_edit_keeps_the_duplicate_key(caseworker):
    from claims.services import claim_duplicate_dismiss

    earlier = recorded("MDU", n=4)
    later = recorded("MDU", n=4, practice=earlier.practice)
    assert later.possible_duplicate_of_id == earlier.pk
    later = claim_duplicate_dismiss(claim=later, actor=caseworker, reason="Another incident")
    # A range starting on the same day is the same incident date for this purpose.
    response = patch(
        client_for(caseworker),
        later,
        {"incident_date_from": "2018-11-12", "incident_date_to": "2018-11-13"},
        f'"{later.version}"',
    )
    assert response.status_code == 200, response.json()
    later.refresh_from_db()
    assert later.possible_duplicate_of_id is None


def test_a_range_given_by_patch_replaces_the_incident_date_as_an_import_does(caseworker):
    claim = recorded("MDU")
    response = patch(
        client_for(caseworker),
        claim,
        {"incident_date_from": "2018-01-01", "incident_date_to": "2018-12-31"},
        f'"{claim.version}"',
    )
    assert response.status_code == 200, response.json()
    claim.refresh_from_db()
    assert (claim.incident_date, claim.incident_date_from, claim.incident_date_to) == (
        None,
        D(2018, 1, 1),
        D(2018, 12, 31),
    )


def test_a_claim_handled_by_two_organisations_is_visible_to_both(mps_handler, mdu_handler):
    claim = ClaimFactory()
    for code in ("MPS", "MDU"):
        ClaimHandling.objects.create(
            claim=claim, organisation=HandlerOrganisation.objects.get(code=code)
        )
    for user in (mps_handler, mdu_handler):
        assert client_for(user).get(f"/api/v1/claims/{claim.reference}/").status_code == 200


def test_a_caseworker_changes_the_practice_and_clinicians_and_the_claim_is_rerouted(caseworker):
    claim = recorded("MDU")
    mps_gp = MemberFactory(registration_number="5555555")
    MembershipFactory(
        member=mps_gp,
        organisation=DefenceOrganisation.objects.get(code="MPS"),
        start_date=D(2000, 1, 1),
    )
    practice = PracticeFactory(ods_code="Y05555")
    response = patch(
        client_for(caseworker),
        claim,
        {"practice": "y05555", "clinicians": ["gmc:5555555"]},
        f'"{claim.version}"',
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["practice"]["ods_code"] == practice.ods_code
    assert [c["registration_number"] for c in body["clinicians"]] == ["5555555"]
    # MPS handed its pre-2019 claims to NHS Resolution: ELSGP now.
    assert (body["routing"]["schemes"], body["routing"]["lead_handler"]) == (["ELSGP"], "NHSR")
    # One edit: one version for the edit and one for the move it caused, one audit entry naming
    # both changes, one new routing decision.
    assert body["version"] == claim.version + 2
    update = AuditEvent.objects.get(subject_id=str(claim.pk), action="claim.update")
    assert set(update.after) == {"practice_id", "clinicians", "version"}
    decisions = RoutingDecision.objects.filter(claim=claim).order_by("decided_at", "pk")
    assert [d.cause for d in decisions][1:] == ["Facts changed: clinicians, practice_id"]


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({"practice": "Y99999"}, "practice", "unknown_practice"),
        ({"clinicians": ["GMC:7777777"]}, "clinicians[0]", "unknown_member"),
        ({"clinicians": ["nobody"]}, "clinicians[0]", "invalid_member_key"),
    ],
)
def test_an_unknown_practice_or_clinician_is_a_400_naming_it(caseworker, body, field, code):
    claim = recorded("MDU")
    response = patch(client_for(caseworker), claim, body, f'"{claim.version}"')
    assert response.status_code == 400
    assert (response.json()["errors"][0]["field"], response.json()["errors"][0]["code"]) == (
        field,
        code,
    )


def test_a_handler_may_not_change_the_clinicians(mdu_handler):
    claim = recorded("MDU")
    before = list(claim.claim_clinicians.values_list("member_id", flat=True))
    other = MemberFactory()
    response = patch(
        client_for(mdu_handler), claim, {"clinicians": [other.key]}, f'"{claim.version}"'
    )
    assert response.status_code == 403
    assert list(claim.claim_clinicians.values_list("member_id", flat=True)) == before
