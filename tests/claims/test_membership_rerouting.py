"""A membership or employment created, changed or deleted re-routes the open claims that read
it (domain.md §4: membership on the incident date decides; the employing GP's MDO counts), as
moves with their audit rows; closed claims stay where they were (issue: routing)."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from audit.models import AuditEvent
from claims import routing_services
from claims.models import Claim, ClaimClinician, RoutingDecision
from claims.routing_services import claims_of_members_reroute, claims_route
from members.models import DefenceOrganisation, Member, Membership
from members.services import membership_create
from tests.factories import ClaimFactory, EmploymentFactory, MemberFactory, MembershipFactory

pytestmark = pytest.mark.django_db
D = datetime.date


def mdo(code: str) -> DefenceOrganisation:
    return DefenceOrganisation.objects.get(code=code)


def routed_claim_against(member: Member, **fields) -> Claim:
    """A pre-2019 NHS primary-care claim against `member`, routed on its way in."""
    claim = ClaimFactory(incident_date=D(2018, 11, 12), **fields)
    ClaimClinician.objects.create(claim=claim, member=member, position=0)
    claims_route(claim_ids=[claim.pk], actor=None, cause="Claim recorded")
    claim.refresh_from_db()
    return claim


def placement(claim: Claim) -> tuple[str, str, str]:
    claim.refresh_from_db()
    return claim.schemes, claim.lead_handler, claim.flags


def moves_of(claim: Claim) -> list[AuditEvent]:
    return list(
        AuditEvent.objects.filter(
            action="claim.route", subject_id=str(claim.pk), before__isnull=False
        )
    )


def test_a_membership_added_for_a_gp_on_the_incident_date_reroutes_their_open_claim(
    caseworker,
):
    gp = MemberFactory()
    open_claim = routed_claim_against(gp)
    closed_claim = routed_claim_against(gp)
    Claim.objects.filter(pk=closed_claim.pk).update(status="closed", outcome="not_a_claim")
    assert placement(open_claim) == ("NO_STATE_SCHEME", "", "MANUAL_REVIEW")

    membership_create(
        actor=caseworker, member=gp, organisation=mdo("MDU"), start_date=D(2010, 1, 1)
    )

    assert placement(open_claim) == ("NO_STATE_SCHEME", "MDU", "")
    [move] = moves_of(open_claim)
    assert (move.actor, move.before["lead_handler"], move.after["lead_handler"]) == (
        caseworker,
        None,
        "MDU",
    )
    assert "Membership added" in move.reason
    latest = RoutingDecision.objects.filter(claim=open_claim).first()
    assert latest.facts["clinicians"][0]["mdo_at_incident"] == "MDU"
    assert placement(closed_claim) == ("NO_STATE_SCHEME", "", "MANUAL_REVIEW")
    assert moves_of(closed_claim) == []


def test_a_membership_starting_after_the_incident_moves_nothing(caseworker):
    gp = MemberFactory()
    claim = routed_claim_against(gp)
    membership_create(
        actor=caseworker, member=gp, organisation=mdo("MDU"), start_date=D(2019, 1, 1)
    )
    assert placement(claim) == ("NO_STATE_SCHEME", "", "MANUAL_REVIEW")
    assert moves_of(claim) == []


def test_a_change_to_the_employing_gps_membership_reroutes_the_claims_of_those_they_employ():
    partner = MemberFactory()
    nurse = MemberFactory(role="nurse", registration_body="NMC", registration_number="12A3458E")
    job = EmploymentFactory(member=nurse, employer=partner, start_date=D(2010, 1, 1))
    claim = routed_claim_against(nurse, practice=job.practice)
    assert placement(claim) == ("NO_STATE_SCHEME", "", "MANUAL_REVIEW")
    MembershipFactory(member=partner, organisation=mdo("MDU"), start_date=D(2005, 1, 1))

    outcome = claims_of_members_reroute(
        member_ids=[partner.pk], actor=None, cause="Membership imported"
    )

    assert [move.claim_id for move in outcome.moves] == [claim.pk]
    assert placement(claim) == ("NO_STATE_SCHEME", "MDU", "")


def test_membership_added_in_the_admin_reroutes_the_gps_open_claim(client, caseworker):
    gp = MemberFactory()
    claim = routed_claim_against(gp)
    client.force_login(caseworker)
    response = client.post(
        reverse("admin:members_membership_add"),
        {"member": gp.pk, "organisation": mdo("MDU").pk, "start_date": "2010-01-01"},
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert placement(claim) == ("NO_STATE_SCHEME", "MDU", "")
    assert moves_of(claim)[0].actor == caseworker


def test_membership_deleted_in_the_admin_reroutes_the_gps_open_claim(client, caseworker):
    gp = MemberFactory()
    membership = MembershipFactory(member=gp, organisation=mdo("MDU"), start_date=D(2010, 1, 1))
    claim = routed_claim_against(gp)
    assert placement(claim) == ("NO_STATE_SCHEME", "MDU", "")
    client.force_login(caseworker)
    response = client.post(
        reverse("admin:members_membership_delete", args=[membership.pk]), {"post": "yes"}
    )
    assert response.status_code == 302
    assert not Membership.objects.filter(pk=membership.pk).exists()
    assert placement(claim) == ("NO_STATE_SCHEME", "", "MANUAL_REVIEW")


def test_employment_added_in_the_admin_gives_the_nurses_claim_her_employers_mdo(client, caseworker):
    partner = MemberFactory()
    MembershipFactory(member=partner, organisation=mdo("MDU"), start_date=D(2005, 1, 1))
    nurse = MemberFactory(role="nurse", registration_body="NMC", registration_number="12A3459E")
    claim = routed_claim_against(nurse)
    client.force_login(caseworker)
    response = client.post(
        reverse("admin:members_employment_add"),
        {
            "member": nurse.pk,
            "practice": claim.practice_id,
            "employer": partner.pk,
            "start_date": "2010-01-01",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert placement(claim) == ("NO_STATE_SCHEME", "MDU", "")


def _gps_without_cover(count: int) -> list[Member]:
    gps = [MemberFactory() for _ in range(count)]
    for gp in gps:
        routed_claim_against(gp)
    for gp in gps:
        MembershipFactory(member=gp, organisation=mdo("MDU"), start_date=D(2010, 1, 1))
    return gps


def test_rerouting_the_claims_of_members_takes_a_constant_number_of_queries_a_batch(monkeypatch):
    monkeypatch.setattr(routing_services, "BATCH_SIZE", 3)
    counts = []
    for batches in (1, 2, 3):
        gps = _gps_without_cover(3 * batches)
        with CaptureQueriesContext(connection) as queries:
            outcome = claims_of_members_reroute(
                member_ids=[gp.pk for gp in gps], actor=None, cause="test"
            )
        assert len(outcome.moves) == 3 * batches
        counts.append(len(queries))
    assert counts[2] - counts[1] == counts[1] - counts[0]


def test_membership_added_on_the_members_admin_page_reroutes_their_open_claim(client, caseworker):
    gp = MemberFactory()
    claim = routed_claim_against(gp)
    client.force_login(caseworker)
    url = reverse("admin:members_member_change", args=[gp.pk])
    context = client.get(url).context
    form = context["adminform"].form
    data = {
        name: ("" if value is None else value)
        for name, value in form.initial.items()
        if name in form.fields
    }
    for inline in context["inline_admin_formsets"]:
        management = inline.formset.management_form
        data.update({management.add_prefix(k): v for k, v in management.initial.items()})
        if inline.formset.model is Membership:
            prefix = inline.formset.prefix
            data.update(
                {
                    f"{prefix}-TOTAL_FORMS": 1,
                    f"{prefix}-0-organisation": mdo("MDU").pk,
                    f"{prefix}-0-start_date": "2010-01-01",
                    f"{prefix}-0-member": gp.pk,
                }
            )
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert Membership.objects.filter(member=gp).count() == 1
    assert placement(claim) == ("NO_STATE_SCHEME", "MDU", "")
    assert "edited in the admin" in moves_of(claim)[0].reason
