"""Query counts are pinned: the list and the claim page cost the same however much they show
(no N+1), and the list never counts the whole table."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from claims.services import claim_assign, note_add, payment_record, reserve_set
from tests.factories import ClaimClinicianFactory
from tests.portal.conftest import handled_claim

pytestmark = pytest.mark.django_db


def queries(client, url) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return [q["sql"] for q in captured.captured_queries]


def test_claims_list_costs_the_same_for_3_claims_or_25(client, mps_handler, mps_team_lead):
    for _ in range(3):
        claim_assign(claim=handled_claim("MPS"), actor=mps_team_lead, assignee=mps_handler)
    client.force_login(mps_handler)
    few = queries(client, "/portal/claims/?deadline=14&stage=letter_of_claim")
    for _ in range(22):
        claim_assign(claim=handled_claim("MPS"), actor=mps_team_lead, assignee=mps_handler)
    many = queries(client, "/portal/claims/?deadline=14&stage=letter_of_claim")
    assert len(many) == len(few) <= 8
    assert not any("COUNT(" in sql.upper() and "claims_claim" in sql for sql in many)


def busy(claim, actor, n):
    for i in range(n):
        ClaimClinicianFactory(claim=claim, position=i)
        note_add(claim=claim, actor=actor, text=f"note {i}")
        reserve_set(claim=claim, actor=actor, head="damages", amount=f"{1000 + i}")
        payment_record(
            claim=claim,
            actor=actor,
            head="defence_costs",
            amount="10",
            paid_on=datetime.date(2024, 1, 1),
            payee_type="expert",
        )


def test_claim_page_costs_the_same_however_much_the_claim_holds(client, mps_handler):
    small, large = (
        handled_claim("MPS"),
        handled_claim("MPS", records_requested_on=datetime.date.today()),
    )
    busy(small, mps_handler, 1)
    busy(large, mps_handler, 8)
    client.force_login(mps_handler)
    few = queries(client, f"/portal/claims/{small.reference}/")
    many = queries(client, f"/portal/claims/{large.reference}/")
    assert len(many) == len(few) <= 22


def test_home_costs_a_fixed_number_of_queries(client, mps_handler):
    client.force_login(mps_handler)
    handled_claim("MPS")
    few = queries(client, "/portal/")
    for _ in range(12):
        handled_claim("MPS")
    assert len(queries(client, "/portal/")) == len(few) <= 12
