"""The workbench in a real browser: Playwright driving Debian's Chromium against a live server.
A caseworker signs in, filters the claim list, opens a claim, waives a deadline, re-routes the
claim after an agreement, and looks at the dashboard. Each step leaves a screenshot in
test-output/admin/ (CI keeps that folder). As in tests/portal/test_browser.py, every row is
made by fixtures before the browser starts, and the test body never touches the ORM."""

import datetime
from pathlib import Path

import pytest

from tests.conftest import PASSWORD, new_page
from tests.portal.conftest import handled_claim

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "admin"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


@pytest.fixture
def mdu_claim_before_an_agreement(caseworker):
    """An open claim against a GP who was an MDU member on the incident date (2017): MDU's own
    until MDU has an ELS agreement. The agreement is then added, so re-routing moves it."""
    from claims.models import ClaimClinician
    from claims.routing_services import claims_route
    from claims.services import reserve_set
    from members.models import DefenceOrganisation
    from schemes.models import ElsAgreement
    from tests.factories import MemberFactory, MembershipFactory

    mdu = DefenceOrganisation.objects.get(code="MDU")
    gp = MemberFactory(given_name="Rhys", family_name="Evans")
    MembershipFactory(member=gp, organisation=mdu, start_date=datetime.date(2005, 1, 1))
    claim = handled_claim(
        "MDU", claimant_name="Edith Cavell", incident_date=datetime.date(2017, 5, 5)
    )
    ClaimClinician.objects.create(claim=claim, member=gp)
    claims_route(claim_ids=[claim.pk], actor=None, cause="Claim recorded")
    reserve_set(claim=claim, actor=caseworker, head="damages", amount="40000.00")
    for name in ("Ada Lovelace", "Mary Seacole"):
        reserve_set(
            claim=handled_claim("MPS", claimant_name=name),
            actor=caseworker,
            head="defence_costs",
            amount="7500.00",
        )
    ElsAgreement.objects.create(
        organisation=mdu, agreed_on=datetime.date(2020, 1, 1), handover_on=datetime.date(2021, 1, 1)
    )
    claim.refresh_from_db()
    return claim


def test_a_caseworkers_morning(live_server, mdu_claim_before_an_agreement, browser):
    claim = mdu_claim_before_an_agreement
    page = new_page(browser, width=1400)
    page.goto(f"{live_server.url}/admin/login/?next=/admin/claims/claim/")
    page.get_by_label("Username").fill("caseworker")
    page.get_by_label("Password").fill(PASSWORD)
    shot(page, "01-sign-in")
    with page.expect_navigation():
        page.get_by_role("button", name="Log in").click()

    page.locator("#result_list").wait_for()
    assert page.locator("#result_list tbody tr").count() == 3
    shot(page, "02-claim-list")

    with page.expect_navigation():
        page.locator('details[data-filter-title="lead handler"]').get_by_role(
            "link", name="MDU", exact=True
        ).click()
    rows = page.locator("#result_list tbody tr")
    assert rows.count() == 1
    assert "Edith Cavell" in rows.first.inner_text()
    assert "1 claim" in page.get_by_test_id("result-count").inner_text()
    shot(page, "03-list-filtered-by-lead-handler-mdu")

    with page.expect_navigation():
        rows.first.get_by_role("link", name=claim.reference).click()
    page.locator("#facts").wait_for()
    assert "NO_STATE_SCHEME, lead handler MDU" in page.locator("#facts").inner_text()
    assert "Evans" in page.locator("#clinicians").inner_text()
    shot(page, "04-claim-page")

    row = page.get_by_test_id("deadline-acknowledge_letter_of_claim")
    assert "Open" in row.inner_text()
    with page.expect_navigation():
        row.get_by_role("link", name="Waive").click()
    assert "will become waived" in page.locator("#content-main").inner_text()
    page.get_by_label("Reason").fill("Acknowledged by telephone; solicitor agreed")
    shot(page, "05-waive-a-deadline")
    with page.expect_navigation():
        page.get_by_role("button", name="Waive it").click()
    assert "is waived" in page.locator(".messagelist").inner_text()
    row = page.get_by_test_id("deadline-acknowledge_letter_of_claim")
    assert "Waived" in row.inner_text()
    assert "Acknowledged by telephone" in row.inner_text()
    shot(page, "06-deadline-waived")

    with page.expect_navigation():
        page.locator("#facts").get_by_role("button", name="Re-route").click()
    table = page.get_by_test_id("what-will-change")
    assert "NO_STATE_SCHEME, lead MDU" in table.inner_text()
    assert "moves to ELSGP, lead NHSR" in table.inner_text()
    shot(page, "07-reroute-confirmation")
    page.get_by_label("Reason").fill("MDU agreement recorded")
    with page.expect_navigation():
        page.get_by_role("button", name="Yes, re-route them").click()
    assert "Re-routed 1 claim: 1 moved" in page.locator(".messagelist").inner_text()
    assert "ELSGP, lead handler NHSR" in page.locator("#facts").inner_text()
    assert (
        "Re-routed by a caseworker: MDU agreement recorded" in page.locator("#routing").inner_text()
    )
    shot(page, "08-claim-rerouted")

    page.goto(f"{live_server.url}/admin/")
    page.locator('canvas[data-drawn="true"]').first.wait_for()
    assert page.locator('canvas[data-drawn="true"]').count() == 6
    assert "ELSGP" in page.locator("#figures-scheme").inner_text()
    assert "£40,000.00" in page.locator("#figures-reserves").inner_text()
    shot(page, "09-dashboard")
    page.context.close()
