"""What handlers see: home, the claims list with its filters, search and pages, the claim page,
notifications; and that another organisation's claims never appear anywhere."""

import datetime

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from claims.models import ClaimHandling, Notification, RoutingDecision
from claims.services import claim_assign, note_add, payment_record, reserve_set
from handlers.models import HandlerOrganisation
from handlers.templatetags.portal import day
from tests.factories import ClaimClinicianFactory, RoutingRulingFactory
from tests.portal.conftest import handled_claim

pytestmark = pytest.mark.django_db


def page(client, url, **params) -> str:
    response = client.get(url, params)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


# -- home ----------


def test_home_counts_open_claims_and_lists_deadlines_due_and_missed(client, mps_handler, mdu_claim):
    today = timezone.localdate()
    due = handled_claim("MPS", letter_of_claim_on=today - datetime.timedelta(days=5))
    late = handled_claim("MPS", letter_of_claim_on=today - datetime.timedelta(days=30))
    handled_claim("MPS", status="closed", outcome="closed_without_damages")
    client.force_login(mps_handler)
    body = page(client, "/portal/")
    assert '<p class="nhsuk-card__description nhsuk-heading-l" data-testid="open-count">2</p>' in (
        body
    )
    missed, soon = body.split('id="due-soon"')
    assert late.reference in missed and due.reference not in missed
    assert due.reference in soon
    assert mdu_claim.reference not in body


def test_home_shows_unread_notifications(client, mps_handler, mps_claim):
    Notification.objects.create(
        recipient=mps_handler,
        claim=mps_claim,
        kind="deadline_reminder",
        message="CL-X: acknowledge letter of claim is due soon.",
        dedupe_key="a",
    )
    client.force_login(mps_handler)
    body = page(client, "/portal/")
    assert "CL-X: acknowledge letter of claim is due soon." in body
    assert 'data-testid="unread-count">1<' in body


# -- the claims list ----------


def test_list_shows_only_claims_the_organisation_handles(client, mps_handler, mps_claim, mdu_claim):
    client.force_login(mps_handler)
    body = page(client, "/portal/claims/")
    assert mps_claim.reference in body
    assert mps_claim.practice.name in body
    assert mdu_claim.reference not in body
    assert mdu_claim.practice.name not in body


def test_a_claim_handled_by_two_organisations_shows_to_both(client, mps_handler, mdu_handler):
    shared = handled_claim("MPS")
    ClaimHandling.objects.create(
        claim=shared, organisation=HandlerOrganisation.objects.get(code="MDU")
    )
    for user in (mps_handler, mdu_handler):
        client.force_login(user)
        assert shared.reference in page(client, "/portal/claims/")


def test_list_shows_a_missed_deadline_before_a_later_open_one(client, mps_handler):
    today = timezone.localdate()
    late = handled_claim("MPS", letter_of_claim_on=today - datetime.timedelta(days=30))
    missed = late.deadlines.get(kind="acknowledge_letter_of_claim")
    later = late.deadlines.filter(due_on__gt=today).order_by("due_on").first()
    assert missed.due_on < today and later is not None
    client.force_login(mps_handler)
    body = page(client, "/portal/claims/", deadline="overdue")
    row = body.split('data-testid="claim-row"')[1].split("</tr>")[0]
    assert late.reference in row
    assert day(missed.due_on) in row and "Missed" in row
    assert day(later.due_on) not in row


@pytest.mark.parametrize("query", ["9434765919", "943 476 5919", "lovelace", "CL-2099"])
def test_search_finds_own_claims(client, mps_handler, mps_claim, query):
    client.force_login(mps_handler)
    if query == "CL-2099":
        query = mps_claim.reference
    assert mps_claim.reference in page(client, "/portal/claims/", q=query)


def test_search_never_finds_another_organisations_claim(client, mps_handler, mdu_claim):
    client.force_login(mps_handler)
    for query in (mdu_claim.reference, mdu_claim.claimant_nhs_number, mdu_claim.claimant_name):
        body = page(client, "/portal/claims/", q=query)
        # The search box repeats what was typed; no result row does.
        assert 'data-testid="claim-row"' not in body
        assert f"/portal/claims/{mdu_claim.reference}/" not in body
        assert mdu_claim.practice.name not in body
        assert "No claims found" in body


def test_filters_by_stage_scheme_and_assignment(client, mps_handler, mps_team_lead):
    negotiating = handled_claim("MPS", stage="negotiation")
    other = handled_claim("MPS", stage="investigation", schemes="NO_STATE_SCHEME")
    claim_assign(claim=negotiating, actor=mps_team_lead, assignee=mps_handler)
    client.force_login(mps_handler)
    by_stage = page(client, "/portal/claims/", stage="negotiation")
    assert negotiating.reference in by_stage and other.reference not in by_stage
    by_scheme = page(client, "/portal/claims/", scheme="NO_STATE_SCHEME")
    assert other.reference in by_scheme and negotiating.reference not in by_scheme
    mine = page(client, "/portal/claims/", mine="on")
    assert negotiating.reference in mine and other.reference not in mine


def test_filters_by_deadline_due(client, mps_handler):
    today = timezone.localdate()
    # Acknowledge within 14 days: due in 4 days, in 12 days, and 10 days ago.
    soon = handled_claim("MPS", letter_of_claim_on=today - datetime.timedelta(days=10))
    later = handled_claim("MPS", letter_of_claim_on=today - datetime.timedelta(days=2))
    late = handled_claim("MPS", letter_of_claim_on=today - datetime.timedelta(days=24))
    client.force_login(mps_handler)
    week = page(client, "/portal/claims/", deadline="7")
    assert soon.reference in week
    assert later.reference not in week and late.reference not in week
    fortnight = page(client, "/portal/claims/", deadline="14")
    assert soon.reference in fortnight and later.reference in fortnight
    overdue = page(client, "/portal/claims/", deadline="overdue")
    assert late.reference in overdue and soon.reference not in overdue


def test_closed_claims_are_shown_on_request(client, mps_handler):
    closed = handled_claim("MPS", status="closed", outcome="closed_with_damages")
    client.force_login(mps_handler)
    assert closed.reference not in page(client, "/portal/claims/")
    assert closed.reference in page(client, "/portal/claims/", status="closed")
    assert closed.reference in page(client, "/portal/claims/", status="all")


def test_a_bad_filter_value_is_reported_not_a_server_error(client, mps_handler, mps_claim):
    client.force_login(mps_handler)
    response = client.get("/portal/claims/", {"stage": "nonsense", "page": "x"})
    assert response.status_code == 400
    body = response.content.decode()
    assert "There is a problem" in body
    assert mps_claim.reference in body


def test_pages_of_25_with_next_and_previous(client, mps_handler):
    claims = [handled_claim("MPS") for _ in range(27)]
    client.force_login(mps_handler)
    first = page(client, "/portal/claims/")
    assert first.count('data-testid="claim-row"') == 25
    assert "Showing claims 1 to 25" in first
    assert 'rel="next"' in first and 'rel="prev"' not in first
    second = page(client, "/portal/claims/", page=2)
    assert second.count('data-testid="claim-row"') == 2
    assert 'rel="prev"' in second and 'rel="next"' not in second
    # Newest first: the two oldest are on page 2.
    assert claims[0].reference in second and claims[0].reference not in first


def test_filters_survive_paging(client, mps_handler):
    for _ in range(26):
        handled_claim("MPS", stage="served")
    client.force_login(mps_handler)
    body = page(client, "/portal/claims/", stage="served")
    assert (
        "?stage=served&amp;status=open&amp;page=2" in body
        or "stage=served" in body.split('rel="next"')[0].rsplit("href=", 1)[1]
    )


# -- the claim page ----------


def test_claim_page_shows_facts_deadlines_money_notes_and_history(client, mps_handler, mps_claim):
    ClaimClinicianFactory(claim=mps_claim, member__given_name="Jane", member__family_name="Doe")
    reserve_set(claim=mps_claim, actor=mps_handler, head="damages", amount="25000.00")
    payment_record(
        claim=mps_claim,
        actor=mps_handler,
        head="defence_costs",
        amount="1200.50",
        paid_on=datetime.date(2024, 3, 1),
        payee_type="expert",
    )
    note_add(claim=mps_claim, actor=mps_handler, text="Spoke to the practice manager.")
    client.force_login(mps_handler)
    body = page(client, f"/portal/claims/{mps_claim.reference}/")
    assert "Ada Lovelace" in body
    assert "943 476 5919" in body
    assert "Jane Doe" in body
    assert "Acknowledge the letter of claim" in body
    assert "Send the letter of response" in body
    assert "£25,000.00" in body and "£1,200.50" in body and "£23,800.00" not in body
    assert "Spoke to the practice manager." in body
    assert "Reserve set" in body and "Payment recorded" in body


def test_claim_page_says_why_the_claim_is_with_the_organisation(client, mps_handler, mps_claim):
    RoutingDecision.objects.create(
        claim=mps_claim,
        decision_date=datetime.date(2020, 6, 1),
        cause="Claim recorded",
        rule_version="2024.1",
        ruling=RoutingRulingFactory(
            facts={},
            outcome={
                "reasons": ["Incident before 2019-04-01: an existing liability", "MPS agreed"]
            },
        ),
        schemes="ELGP",
        lead_handler="MPS",
    )
    client.force_login(mps_handler)
    body = page(client, f"/portal/claims/{mps_claim.reference}/")
    reasons = body.split('data-testid="routing-reasons"')[1].split("</ol>")[0]
    assert "<li>Incident before 2019-04-01: an existing liability</li>" in reasons
    assert "<li>MPS agreed</li>" in reasons


def test_opening_a_claim_is_recorded(client, mps_handler, mps_claim):
    client.force_login(mps_handler)
    page(client, f"/portal/claims/{mps_claim.reference}/")
    event = AuditEvent.objects.get(action="claim.view")
    assert (event.actor, event.subject_id) == (mps_handler, str(mps_claim.pk))


def test_a_refused_look_at_another_organisations_claim_records_no_view(
    client, mdu_handler, mps_claim
):
    client.force_login(mdu_handler)
    client.get(f"/portal/claims/{mps_claim.reference}/")
    assert not AuditEvent.objects.filter(action="claim.view").exists()


def test_a_claim_that_moves_away_vanishes_at_once(client, mps_handler, mps_claim):
    client.force_login(mps_handler)
    assert mps_claim.reference in page(client, "/portal/claims/")
    # A handover: NHSR takes the claim over (routing rewrites ClaimHandling).
    ClaimHandling.objects.filter(claim=mps_claim).update(
        organisation=HandlerOrganisation.objects.get(code="NHSR")
    )
    assert mps_claim.reference not in page(client, "/portal/claims/")
    assert 'data-testid="claim-row"' not in page(client, "/portal/claims/", q=mps_claim.reference)
    assert client.get(f"/portal/claims/{mps_claim.reference}/").status_code == 404
    assert mps_claim.reference not in page(client, "/portal/")


# -- notifications ----------


def test_notifications_unread_and_all(client, mps_handler, mps_claim, mdu_handler):
    unread = Notification.objects.create(
        recipient=mps_handler,
        claim=mps_claim,
        kind="claim_assigned",
        message="Unread one",
        dedupe_key="u",
    )
    Notification.objects.create(
        recipient=mps_handler,
        kind="import_finished",
        message="Read one",
        dedupe_key="r",
        read_at=timezone.now(),
    )
    Notification.objects.create(
        recipient=mdu_handler, kind="import_finished", message="Someone else's", dedupe_key="m"
    )
    client.force_login(mps_handler)
    body = page(client, "/portal/notifications/")
    assert "Unread one" in body and "Read one" not in body and "Someone else" not in body
    assert f"/portal/claims/{mps_claim.reference}/" in body
    everything = page(client, "/portal/notifications/", show="all")
    assert "Unread one" in everything and "Read one" in everything
    client.post(f"/portal/notifications/{unread.pk}/read/")
    assert "You have no unread notifications." in page(client, "/portal/notifications/")


def test_notifications_stop_at_the_last_page_and_say_so(client, mps_handler, monkeypatch):
    monkeypatch.setattr("handlers.portal.views.LAST_PAGE", 1)
    Notification.objects.bulk_create(
        Notification(
            recipient=mps_handler, kind="import_finished", message=f"n{n}", dedupe_key=f"k{n}"
        )
        for n in range(26)
    )
    client.force_login(mps_handler)
    body = page(client, "/portal/notifications/")
    assert 'rel="next"' not in body
    assert "The list stops at 25 notifications; older ones are not shown until these" in body
    client.post("/portal/notifications/read/")
    assert 'data-testid="list-limit"' not in page(client, "/portal/notifications/")


def test_mark_all_read(client, mps_handler):
    for key in "abc":
        Notification.objects.create(
            recipient=mps_handler, kind="import_finished", message=key, dedupe_key=key
        )
    client.force_login(mps_handler)
    response = client.post("/portal/notifications/read/")
    assert response.status_code == 302
    assert not Notification.objects.filter(recipient=mps_handler, read_at__isnull=True).exists()


def test_a_notification_about_a_claim_that_moved_away_has_no_link(client, mps_handler, mps_claim):
    Notification.objects.create(
        recipient=mps_handler,
        claim=mps_claim,
        kind="claim_moved_out",
        message="Moved to NHSR",
        dedupe_key="m",
    )
    ClaimHandling.objects.filter(claim=mps_claim).delete()
    client.force_login(mps_handler)
    body = page(client, "/portal/notifications/")
    assert "Moved to NHSR" in body
    assert f"/portal/claims/{mps_claim.reference}/" not in body


def test_the_list_stops_at_its_last_page_and_says_how_to_find_the_rest(
    client, mps_handler, monkeypatch
):
    # A deep page is an OFFSET of every row before it; the list stops where the admin's count
    # does (400 pages of 25), here shrunk to 2 pages so that 51 claims go past it.
    monkeypatch.setattr("handlers.portal.views.LAST_PAGE", 2)
    claims = [handled_claim("MPS") for _ in range(51)]
    client.force_login(mps_handler)
    first = page(client, "/portal/claims/")
    assert 'rel="next"' in first and 'data-testid="list-limit"' not in first
    last = page(client, "/portal/claims/", page=2)
    assert last.count('data-testid="claim-row"') == 25
    assert 'rel="next"' not in last and 'rel="prev"' in last
    assert "The list stops at 50 claims and more match" in last
    # A page past the last shows the last, not an empty or slow one.
    beyond = page(client, "/portal/claims/", page=9999)
    assert "Showing claims 26 to 50" in beyond
    # The oldest claim is past the limit; a search still finds it.
    found = page(client, "/portal/claims/", q=claims[0].reference)
    assert claims[0].reference in found and 'data-testid="list-limit"' not in found


def test_a_list_that_ends_on_the_last_page_says_nothing_of_a_limit(
    client, mps_handler, monkeypatch
):
    monkeypatch.setattr("handlers.portal.views.LAST_PAGE", 2)
    for _ in range(50):
        handled_claim("MPS")
    client.force_login(mps_handler)
    last = page(client, "/portal/claims/", page=2)
    assert last.count('data-testid="claim-row"') == 25
    assert 'rel="next"' not in last and 'data-testid="list-limit"' not in last


@pytest.mark.parametrize(
    "utc, shown",
    [
        # 23:30 UTC on 30 June is 00:30 on 1 July in London (BST), the day the time beside it shows.
        (datetime.datetime(2024, 6, 30, 23, 30, tzinfo=datetime.UTC), "1 July 2024, "),
        (datetime.datetime(2024, 6, 30, 22, 59, tzinfo=datetime.UTC), "30 June 2024, "),
        # In winter London is on UTC.
        (datetime.datetime(2024, 1, 31, 23, 30, tzinfo=datetime.UTC), "31 January 2024, "),
    ],
)
def test_notes_and_history_show_the_day_in_london(client, mps_handler, mps_claim, utc, shown):
    note_add(claim=mps_claim, actor=mps_handler, text="Late call with the practice.")
    mps_claim.notes.update(created_at=utc)
    AuditEvent.objects.filter(action="claim.note").update(at=utc)
    client.force_login(mps_handler)
    body = page(client, f"/portal/claims/{mps_claim.reference}/")
    notes = body.split('data-testid="notes"')[1].split("</ul>")[0]
    history = body.split('data-testid="history"')[1].split("</ul>")[0]
    assert shown in notes
    london = timezone.localtime(utc)
    assert f"{shown[:-2]} {london:%H:%M}" in history
