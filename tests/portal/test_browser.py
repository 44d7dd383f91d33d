"""The portal in a real browser: Playwright driving Debian's Chromium against a live server.

Each step leaves a screenshot in test-output/portal/ (CI keeps that folder). Playwright's sync
API runs an event loop in this thread while the browser is open, and Django then keeps its
database connections per async context instead of per thread: so every row a test needs is made
by fixtures before the browser starts (`browser` comes last), the browser is closed before the
test database is flushed, and the test body itself never touches the ORM."""

import datetime
import re
from pathlib import Path

import pytest

from tests.conftest import PASSWORD, new_page
from tests.portal.conftest import handled_claim

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "portal"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


# The elements sticking out past the right edge, to name them when the page is too wide.
WIDER_THAN_SCREEN = """
[...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
  .filter(e => !e.parentElement.closest('.app-table-wrapper'))
  .slice(0, 5)
  .map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))
"""


def shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def sign_in(page, base_url: str, username: str, password: str = PASSWORD) -> None:
    page.goto(f"{base_url}/portal/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()


@pytest.fixture
def two_claims(mps_handler, mdu_handler):
    return (
        handled_claim("MPS", claimant_name="Ada Lovelace"),
        handled_claim("MDU", claimant_name="Mary Seacole"),
    )


@pytest.fixture
def one_claim(mps_handler, mps_colleague):
    return handled_claim("MPS", claimant_name="Grace Hopper")


def test_each_organisation_sees_only_its_own_claims(live_server, two_claims, browser):
    mps, mdu = two_claims

    page = new_page(browser)
    sign_in(page, live_server.url, "mps_handler")
    page.get_by_role("heading", level=1).wait_for()
    assert "mps_handler (MPS)" in page.get_by_test_id("signed-in-as").inner_text()
    shot(page, "01-mps-handler-home")

    page.get_by_role("navigation", name="Menu").get_by_role("link", name="Claims").click()
    rows = page.get_by_test_id("claim-row")
    assert rows.count() == 1
    assert mps.reference in rows.first.inner_text()
    assert mdu.reference not in page.content()
    shot(page, "02-mps-handler-claims")

    page.get_by_label("Search").fill(mdu.claimant_name)
    page.get_by_role("button", name="Show claims").click()
    assert page.get_by_role("heading", name="No claims found").is_visible()
    shot(page, "03-mps-handler-searches-for-an-mdu-claimant")

    response = page.goto(f"{live_server.url}/portal/claims/{mdu.reference}/")
    assert response.status == 404
    assert page.get_by_role("heading", level=1).inner_text() == "Page not found"
    shot(page, "04-mps-handler-guesses-an-mdu-claim-url")
    page.context.close()

    page = new_page(browser)
    sign_in(page, live_server.url, "mdu_handler")
    page.goto(f"{live_server.url}/portal/claims/")
    rows = page.get_by_test_id("claim-row")
    assert rows.count() == 1
    assert mdu.reference in rows.first.inner_text()
    assert mps.reference not in page.content()
    shot(page, "05-mdu-handler-claims")

    response = page.goto(f"{live_server.url}/portal/claims/{mps.reference}/")
    assert response.status == 404
    assert page.get_by_role("heading", level=1).inner_text() == "Page not found"
    assert "Ada Lovelace" not in page.content()
    shot(page, "06-mdu-handler-guesses-an-mps-claim-url")
    page.context.close()


def test_a_deadline_is_met_through_the_form(live_server, one_claim, browser):
    claim = one_claim
    page = new_page(browser)
    sign_in(page, live_server.url, "mps_handler")
    page.goto(f"{live_server.url}/portal/claims/{claim.reference}/")
    row = page.get_by_test_id("deadline-acknowledge_letter_of_claim")
    assert "Open" in row.get_by_role("strong").inner_text()
    shot(page, "07-claim-page-deadline-open")

    row.get_by_role("link", name=re.compile("Record as done")).click()
    page.get_by_role("heading", level=1).wait_for()
    # Submitting an empty date shows the design system's error summary.
    for part in ("Day", "Month", "Year"):
        page.get_by_label(part).fill("")
    page.get_by_role("button", name="Record as done").click()
    summary = page.locator(".nhsuk-error-summary")
    assert "Enter the date" in summary.inner_text()
    shot(page, "08-deadline-form-error-summary")

    done_on = datetime.date.today() - datetime.timedelta(days=1)
    page.get_by_label("Day").fill(str(done_on.day))
    page.get_by_label("Month").fill(str(done_on.month))
    page.get_by_label("Year").fill(str(done_on.year))
    page.get_by_label("Note (optional)").fill("Acknowledged by e-mail")
    page.get_by_role("button", name="Record as done").click()

    assert (
        "Recorded: acknowledge the letter of claim"
        in page.locator(".nhsuk-notification-banner").inner_text()
    )
    row = page.get_by_test_id("deadline-acknowledge_letter_of_claim")
    assert row.get_by_role("strong").inner_text() == "Met"
    assert f"Done {done_on.day} {done_on:%B %Y}" in row.inner_text()
    assert row.get_by_role("link", name=re.compile("Record as done")).count() == 0
    shot(page, "09-claim-page-deadline-met")
    page.context.close()


def test_two_handlers_editing_one_claim_get_the_conflict_message(live_server, one_claim, browser):
    claim = one_claim
    stage_url = f"{live_server.url}/portal/claims/{claim.reference}/stage/"
    first, second = new_page(browser), new_page(browser)
    sign_in(first, live_server.url, "mps_handler")
    sign_in(second, live_server.url, "mps_colleague")
    first.goto(stage_url)
    second.goto(stage_url)
    shot(first, "10-two-handlers-open-the-stage-form")

    second.get_by_label("Stage").select_option(label="Investigation")
    second.get_by_role("button", name="Save stage").click()
    assert "Stage changed to Investigation." in second.content()
    shot(second, "11-second-handler-saves-first")

    first.get_by_label("Stage").select_option(label="Negotiation / ADR")
    first.get_by_role("button", name="Save stage").click()
    conflict = first.get_by_test_id("conflict")
    assert "Someone else changed this claim" in conflict.inner_text()
    assert "nothing was overwritten" in conflict.inner_text()
    # The form shows the claim as it now is: the other handler's stage.
    assert first.get_by_label("Stage").input_value() == "investigation"
    shot(first, "12-first-handler-gets-the-conflict-message")

    first.goto(f"{live_server.url}/portal/claims/{claim.reference}/")
    assert first.get_by_test_id("stage").inner_text() == "Investigation"
    first.context.close()
    second.context.close()


def test_repeated_wrong_passwords_lock_the_username(live_server, mps_handler, browser):
    page = new_page(browser)
    for _ in range(5):
        sign_in(page, live_server.url, "mps_handler", "not-the-password")
    assert page.get_by_role("heading", level=1).inner_text() == "Too many failed sign-ins"
    shot(page, "13-locked-out")
    sign_in(page, live_server.url, "mps_handler")
    assert page.get_by_role("heading", level=1).inner_text() == "Too many failed sign-ins"
    page.context.close()


def test_the_claim_page_fits_a_320_pixel_screen(live_server, one_claim, browser):
    claim = one_claim
    page = new_page(browser, width=320, height=640)
    sign_in(page, live_server.url, "mps_handler")
    for url, name in (
        (f"/portal/claims/{claim.reference}/", "14-claim-page-at-320px"),
        ("/portal/claims/", "15-claims-list-at-320px"),
    ):
        page.goto(f"{live_server.url}{url}")
        page.get_by_role("heading", level=1).wait_for()
        width = page.evaluate("document.documentElement.scrollWidth")
        wide = page.evaluate(WIDER_THAN_SCREEN)
        assert width <= 320, f"{url} is {width}px wide: {wide}"
        shot(page, name)
    # Keyboard users see where they are: the skip link takes focus and shows.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent").strip() == "Skip to main content"
    page.context.close()
