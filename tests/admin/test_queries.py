"""Query counts of the claim list and the claim page are pinned: they must not grow with the
number of claims on the page, nor with what a claim holds (an N+1 fails here)."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from claims.routing_services import claims_route
from claims.services import note_add, payment_record, reserve_set
from members.models import DefenceOrganisation
from tests.admin.conftest import change_url, list_url
from tests.factories import (
    ClaimClinicianFactory,
    MembershipFactory,
    UserFactory,
)
from tests.portal.conftest import handled_claim

pytestmark = pytest.mark.django_db

LIST_QUERIES = 8
CLAIM_PAGE_QUERIES = 20


def _count(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


def _claims(count: int) -> None:
    for n in range(count):
        claim = handled_claim(
            "MPS" if n % 2 else "MDU",
            assigned_to=UserFactory(),
            possible_duplicate_of=None,
        )
        ClaimClinicianFactory(claim=claim)


def test_the_list_costs_the_same_for_3_claims_or_30(client, caseworker):
    client.force_login(caseworker)
    _claims(3)
    few = _count(client, list_url())
    _claims(27)
    many = _count(client, list_url())
    assert few == many == LIST_QUERIES


def test_filtered_and_searched_lists_cost_the_same_too(client, caseworker):
    client.force_login(caseworker)
    _claims(3)
    urls = [list_url() + "?deadline=overdue&scheme=ELGP", list_url() + "?q=999&triage=queue"]
    few = [_count(client, url) for url in urls]
    _claims(12)
    assert [_count(client, url) for url in urls] == few


def _full_claim(caseworker, clinicians: int, revisions: int):
    claim = handled_claim(
        "MPS",
        records_requested_on=datetime.date(2024, 1, 10),
        letter_of_notification_on=datetime.date(2024, 1, 3),
        claim_form_issued_on=datetime.date(2024, 6, 1),
    )
    mps = DefenceOrganisation.objects.get(code="MPS")
    for position in range(clinicians):
        link = ClaimClinicianFactory(claim=claim, position=position)
        MembershipFactory(member=link.member, organisation=mps)
    for n in range(revisions):
        claims_route(claim_ids=[claim.pk], actor=caseworker, cause=f"check {n}")
        reserve_set(claim=claim, actor=caseworker, head="damages", amount=f"{1000 + n}.00")
        payment_record(
            claim=claim,
            actor=caseworker,
            head="defence_costs",
            amount="10.00",
            paid_on=datetime.date(2025, 1, 1),
            payee_type="counsel",
        )
        note_add(claim=claim, actor=caseworker, text=f"note {n}")
    claim.refresh_from_db()
    return claim


def test_the_claim_page_costs_the_same_however_much_the_claim_holds(client, caseworker):
    client.force_login(caseworker)
    small = _full_claim(caseworker, clinicians=1, revisions=1)
    large = _full_claim(caseworker, clinicians=6, revisions=6)
    client.get(change_url(small))  # Django looks up the claim's content type once per process
    assert _count(client, change_url(small)) == _count(client, change_url(large))
    assert _count(client, change_url(large)) == CLAIM_PAGE_QUERIES
