"""The claim list's actions: each shows what will change and changes nothing until confirmed,
then writes through the services, audited, all the selected claims or none (issue 6)."""

import datetime

import pytest

from audit.models import AuditEvent
from audit.selectors import audit_events_for
from claims.models import Claim, ClaimClinician, Notification, RoutingDecision
from claims.routing_services import claims_route
from members.models import DefenceOrganisation
from schemes.models import ElsAgreement
from tests.admin.conftest import change_url, list_url
from tests.factories import ClaimFactory, MemberFactory, MembershipFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(client, caseworker):
    client.force_login(caseworker)
    return client


def _post(client, action: str, claims, **data):
    return client.post(
        list_url(), {"action": action, "_selected_action": [c.pk for c in claims], **data}
    )


def _confirm(client, action: str, claims, **data):
    """Post the confirmation page back as its button does: with each claim's version."""
    versions = {f"version-{c.pk}": Claim.objects.get(pk=c.pk).version for c in claims}
    return _post(client, action, claims, confirm="yes", **versions, **data)


@pytest.fixture
def mdu_member_claim(db):
    """An open pre-2019 claim against an MDU member: no state scheme, handled by MDU itself,
    until MDU has an ELS agreement (domain.md §3, §4 step 7c)."""
    gp = MemberFactory()
    MembershipFactory(
        member=gp,
        organisation=DefenceOrganisation.objects.get(code="MDU"),
        start_date=datetime.date(2005, 1, 1),
    )
    claim = ClaimFactory(claimant_name="Edith Cavell", incident_date=datetime.date(2017, 5, 5))
    ClaimClinician.objects.create(claim=claim, member=gp)
    claims_route(claim_ids=[claim.pk], actor=None, cause="Claim recorded")
    claim.refresh_from_db()
    return claim


def test_reroute_previews_the_move_without_writing_anything(signed_in, mdu_member_claim):
    ElsAgreement.objects.create(
        organisation=DefenceOrganisation.objects.get(code="MDU"),
        agreed_on=datetime.date(2020, 1, 1),
        handover_on=None,
    )
    decisions, events = RoutingDecision.objects.count(), AuditEvent.objects.count()
    page = _post(signed_in, "reroute_claims", [mdu_member_claim])
    assert page.status_code == 200
    table = page.content.decode()
    assert "Re-route these claims?" in table
    assert "NO_STATE_SCHEME, lead MDU" in table
    assert "moves to ELGP, lead MDU" in table
    assert "1 of 1 would move" in table
    mdu_member_claim.refresh_from_db()
    assert mdu_member_claim.schemes == "NO_STATE_SCHEME"
    assert RoutingDecision.objects.count() == decisions
    assert AuditEvent.objects.count() == events
    assert not Notification.objects.exists()


def test_reroute_applies_records_the_decision_and_audits_the_move(
    signed_in, caseworker, mdu_member_claim, django_capture_on_commit_callbacks
):
    ElsAgreement.objects.create(
        organisation=DefenceOrganisation.objects.get(code="MDU"),
        agreed_on=datetime.date(2020, 1, 1),
        handover_on=datetime.date(2021, 1, 1),
    )
    steady = ClaimFactory(incident_date=datetime.date(2021, 1, 1))
    claims_route(claim_ids=[steady.pk], actor=None, cause="Claim recorded")
    with django_capture_on_commit_callbacks(execute=True):
        response = _confirm(
            signed_in, "reroute_claims", [mdu_member_claim, steady], reason="MDU agreement"
        )
    assert response.status_code == 302
    mdu_member_claim.refresh_from_db()
    assert (mdu_member_claim.schemes, mdu_member_claim.lead_handler) == ("ELSGP", "NHSR")
    latest = RoutingDecision.objects.filter(claim=mdu_member_claim).order_by("-id").first()
    assert latest.cause == "Re-routed by a caseworker: MDU agreement"
    assert latest.decided_by == caseworker
    # The claim that stayed put has the caseworker's check in its history too.
    assert RoutingDecision.objects.filter(claim=steady).count() == 2
    move = audit_events_for(subject=mdu_member_claim).get(action="claim.route", actor=caseworker)
    assert move.before["lead_handler"] == "MDU" and move.after["lead_handler"] == "NHSR"
    messages = [str(m) for m in response.wsgi_request._messages]
    assert messages == [
        "Re-routed 2 claims: 1 moved, the rest stay where they were. Each has a new entry in "
        "its routing history."
    ]


def test_reroute_refuses_more_claims_than_one_request_should_route(signed_in, monkeypatch):
    from claims import admin_actions

    monkeypatch.setattr(admin_actions, "REROUTE_SELECTION_LIMIT", 2)
    claims = [ClaimFactory() for _ in range(3)]
    response = _post(signed_in, "reroute_claims", claims)
    assert response.status_code == 302
    assert "Select at most 2 claims" in str(next(iter(response.wsgi_request._messages)))
    assert not RoutingDecision.objects.exists()


def test_assign_offers_only_people_who_can_see_every_claim(
    signed_in, caseworker, mps_claim, mdu_claim, mps_team_lead, mdu_handler
):
    page = _post(signed_in, "assign_claims", [mps_claim])
    offered = set(page.context["form"].fields["assignee"].queryset)
    assert mps_team_lead in offered and caseworker in offered and mdu_handler not in offered
    both = _post(signed_in, "assign_claims", [mps_claim, mdu_claim])
    offered = set(both.context["form"].fields["assignee"].queryset)
    assert mps_team_lead not in offered and caseworker in offered


def test_assign_to_an_organisations_team_lead_tells_them_and_is_audited(
    signed_in, caseworker, mps_claim, mps_team_lead
):
    page = _post(signed_in, "assign_claims", [mps_claim]).content.decode()
    assert "Assign these claims?" in page and "nobody" in page
    assert "mps_lead (MPS team lead)" in page
    response = _confirm(
        signed_in, "assign_claims", [mps_claim], assignee=mps_team_lead.pk, reason="Their case"
    )
    assert response.status_code == 302
    mps_claim.refresh_from_db()
    assert mps_claim.assigned_to == mps_team_lead
    event = audit_events_for(subject=mps_claim).get(action="claim.assign")
    assert (event.actor, event.reason) == (caseworker, "Their case")
    assert Notification.objects.filter(recipient=mps_team_lead, kind="claim_assigned").exists()


def test_assign_to_someone_who_cannot_see_the_claim_is_refused(signed_in, mdu_claim, mps_team_lead):
    response = _confirm(signed_in, "assign_claims", [mdu_claim], assignee=mps_team_lead.pk)
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    mdu_claim.refresh_from_db()
    assert mdu_claim.assigned_to is None


def test_close_confirms_what_will_change_then_closes_with_the_outcome(
    signed_in, caseworker, mps_claim
):
    already = ClaimFactory(status="closed", outcome="not_a_claim")
    page = _post(signed_in, "close_claims", [mps_claim, already]).content.decode()
    assert "Close these claims?" in page
    assert "Open: Letter of claim" in page and "Closed, as you choose" in page
    assert "unmet deadline(s) stay in its history" in page
    assert "No change: already closed" in page
    assert "1</strong> of 2 claims will change" in page
    mps_claim.refresh_from_db()
    assert mps_claim.status == "open"
    response = _confirm(
        signed_in,
        "close_claims",
        [mps_claim, already],
        outcome="closed_without_damages",
        reason="Discontinued",
    )
    assert response.status_code == 302
    mps_claim.refresh_from_db()
    assert (mps_claim.status, mps_claim.outcome) == ("closed", "closed_without_damages")
    event = audit_events_for(subject=mps_claim).get(action="claim.update")
    assert event.after["status"] == "closed" and event.reason == "Discontinued"
    assert Claim.objects.get(pk=already.pk).outcome == "not_a_claim"


def test_close_needs_an_outcome(signed_in, mps_claim):
    response = _confirm(signed_in, "close_claims", [mps_claim], reason="No outcome")
    assert response.status_code == 200
    assert "This field is required" in response.content.decode()
    assert Claim.objects.get(pk=mps_claim.pk).status == "open"


def test_a_claim_changed_since_the_page_was_drawn_stops_the_whole_action(signed_in, mps_claim):
    other = ClaimFactory()
    versions = {f"version-{mps_claim.pk}": 1, f"version-{other.pk}": 1}
    Claim.objects.filter(pk=other.pk).update(version=2)
    response = _post(
        signed_in,
        "close_claims",
        [mps_claim, other],
        confirm="yes",
        outcome="closed_with_damages",
        reason="Settled",
        **versions,
    )
    assert response.status_code == 200
    assert "was changed by someone else after this page was drawn" in response.content.decode()
    assert set(Claim.objects.values_list("status", flat=True)) == {"open"}


def test_reopen_needs_a_reason_and_reopens(signed_in, caseworker):
    closed = ClaimFactory(status="closed", outcome="closed_with_damages")
    open_claim = ClaimFactory()
    page = _post(signed_in, "reopen_claims", [closed, open_claim]).content.decode()
    assert "Closed: Closed with damages" in page and "No change: not closed" in page
    refused = _confirm(signed_in, "reopen_claims", [closed, open_claim], reason="")
    assert refused.status_code == 200
    assert Claim.objects.get(pk=closed.pk).status == "closed"
    response = _confirm(signed_in, "reopen_claims", [closed, open_claim], reason="Appeal lodged")
    assert response.status_code == 302
    closed.refresh_from_db()
    assert (closed.status, closed.outcome) == ("open", "")
    event = audit_events_for(subject=closed).get(action="claim.update")
    assert (event.actor, event.reason) == (caseworker, "Appeal lodged")


def test_not_a_duplicate_clears_the_flag_with_a_reason(signed_in, caseworker, mps_claim):
    later = ClaimFactory(possible_duplicate_of=mps_claim)
    page = _post(signed_in, "dismiss_duplicates", [later]).content.decode()
    assert f"Possible duplicate of {mps_claim.reference}" in page
    response = _confirm(
        signed_in, "dismiss_duplicates", [later], reason="Second incident, a year later"
    )
    assert response.status_code == 302
    later.refresh_from_db()
    assert later.possible_duplicate_of is None
    event = audit_events_for(subject=later).get(action="claim.update")
    assert event.before == {"possible_duplicate_of": mps_claim.reference}
    assert event.actor == caseworker


def test_an_action_started_on_the_claim_page_returns_to_it(signed_in, mps_claim):
    page = signed_in.get(change_url(mps_claim)).content.decode()
    assert 'value="close_claims"' in page and 'value="reroute_claims"' in page
    confirm = _post(signed_in, "close_claims", [mps_claim], next=change_url(mps_claim))
    assert f'name="next" value="{change_url(mps_claim)}"' in confirm.content.decode()
    response = _confirm(
        signed_in,
        "close_claims",
        [mps_claim],
        outcome="closed_with_damages",
        reason="Settled",
        next=change_url(mps_claim),
    )
    assert response.status_code == 302 and response.url == change_url(mps_claim)


def test_an_outside_address_as_next_is_ignored(signed_in, mps_claim):
    response = _confirm(
        signed_in,
        "close_claims",
        [mps_claim],
        outcome="closed_with_damages",
        reason="Settled",
        next="https://elsewhere.example/",
    )
    assert response.status_code == 302 and "elsewhere" not in response.url


def test_agreement_preview_shows_counts_from_and_to_before_anything_moves(
    signed_in, mdu_member_claim
):
    agreement = ElsAgreement.objects.create(
        organisation=DefenceOrganisation.objects.get(code="MDU"),
        agreed_on=datetime.date(2020, 1, 1),
        handover_on=datetime.date(2021, 1, 1),
    )
    page = signed_in.post(
        "/admin/schemes/elsagreement/",
        {"action": "reroute_claims", "_selected_action": [agreement.pk]},
    ).content.decode()
    assert "Nothing has moved yet" in page
    row = page[page.index("<tbody>") : page.index("</tbody>")]
    assert [cell.split("</td>")[0] for cell in row.split("<td>")[1:]] == [
        "NO_STATE_SCHEME",
        "MDU",
        "ELSGP",
        "NHSR",
        "1",
    ]
    mdu_member_claim.refresh_from_db()
    assert mdu_member_claim.lead_handler == "MDU"
