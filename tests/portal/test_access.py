"""Every portal URL from outside, as the right organisation's handler, the wrong organisation's
handler, a caseworker, an auditor, an importer and an anonymous visitor (design.md §2, §3.6)."""

import re

import pytest
from django.urls import reverse

from claims.models import Notification

pytestmark = pytest.mark.django_db

# (url name, needs the claim, needs a deadline, method)
CLAIM_PAGES = [
    "claim",
    "claim_stage",
    "claim_description",
    "claim_dates",
    "claim_note",
    "claim_reserve",
    "claim_payment",
    "claim_assign",
]
PLAIN_PAGES = ["home", "claims", "notifications", "password_change"]
POST_ONLY = ["logout", "notifications_read_all"]


def claim_url(name, claim):
    return reverse(f"portal:{name}", args=[claim.reference])


def deadline_url(claim):
    deadline = claim.deadlines.get(kind="acknowledge_letter_of_claim")
    return reverse("portal:deadline_met", args=[claim.reference, deadline.pk])


def every_get_url(claim):
    return (
        [reverse(f"portal:{name}") for name in PLAIN_PAGES]
        + [claim_url(name, claim) for name in CLAIM_PAGES]
        + [deadline_url(claim)]
    )


def without_tokens(html: bytes) -> str:
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html.decode())


# -- the right organisation ----------


@pytest.mark.parametrize("name", PLAIN_PAGES)
def test_mps_handler_opens_every_page(client, mps_handler, mps_claim, name):
    client.force_login(mps_handler)
    assert client.get(reverse(f"portal:{name}")).status_code == 200


@pytest.mark.parametrize("name", [n for n in CLAIM_PAGES if n != "claim_assign"])
def test_mps_handler_opens_every_page_of_an_mps_claim(client, mps_handler, mps_claim, name):
    client.force_login(mps_handler)
    response = client.get(claim_url(name, mps_claim))
    assert response.status_code == 200
    assert mps_claim.reference in response.content.decode()


def test_mps_handler_opens_the_deadline_form_of_an_mps_claim(client, mps_handler, mps_claim):
    client.force_login(mps_handler)
    assert client.get(deadline_url(mps_claim)).status_code == 200


def test_only_a_team_lead_opens_the_assign_form(client, mps_handler, mps_team_lead, mps_claim):
    client.force_login(mps_handler)
    refused = client.get(claim_url("claim_assign", mps_claim))
    assert refused.status_code == 403
    assert "Only a team lead assigns claims" in refused.content.decode()
    client.force_login(mps_team_lead)
    page = client.get(claim_url("claim_assign", mps_claim))
    assert page.status_code == 200
    assert 'name="assignee"' in page.content.decode()


@pytest.mark.parametrize("name", POST_ONLY)
def test_mps_handler_posts_to_every_action(client, mps_handler, name):
    client.force_login(mps_handler)
    assert client.post(reverse(f"portal:{name}")).status_code == 302


def test_mps_handler_marks_own_notification_read(client, mps_handler, mps_claim):
    notification = Notification.objects.create(
        recipient=mps_handler, claim=mps_claim, kind="claim_assigned", message="x", dedupe_key="k"
    )
    client.force_login(mps_handler)
    response = client.post(reverse("portal:notification_read", args=[notification.pk]))
    assert response.status_code == 302
    notification.refresh_from_db()
    assert notification.read_at is not None


# -- the wrong organisation ----------


def test_mdu_handler_gets_not_found_from_every_page_of_an_mps_claim(client, mdu_handler, mps_claim):
    client.force_login(mdu_handler)
    missing = without_tokens(client.get("/portal/claims/CL-2099-999999/").content)
    for url in [claim_url(name, mps_claim) for name in CLAIM_PAGES] + [deadline_url(mps_claim)]:
        response = client.get(url)
        assert response.status_code == 404, url
        body = response.content.decode()
        assert mps_claim.reference not in body
        assert mps_claim.claimant_name not in body
        assert "Page not found" in body
    # The same page as a claim that does not exist: nothing tells them it is there.
    assert without_tokens(client.get(claim_url("claim", mps_claim)).content) == missing


@pytest.mark.parametrize("name", [n for n in CLAIM_PAGES if n != "claim"])
def test_mdu_handler_cannot_post_to_an_mps_claim(client, mdu_handler, mps_claim, name):
    client.force_login(mdu_handler)
    response = client.post(
        claim_url(name, mps_claim),
        {"version": mps_claim.version, "stage": "negotiation", "text": "x", "description": "x"},
    )
    assert response.status_code == 404
    mps_claim.refresh_from_db()
    assert (mps_claim.version, mps_claim.stage) == (1, "letter_of_claim")
    assert not mps_claim.notes.exists()


def test_mdu_handler_cannot_meet_an_mps_deadline(client, mdu_handler, mps_claim):
    client.force_login(mdu_handler)
    response = client.post(
        deadline_url(mps_claim),
        {"version": 1, "met_on_day": "1", "met_on_month": "1", "met_on_year": "2024"},
    )
    assert response.status_code == 404
    mps_claim.refresh_from_db()
    assert mps_claim.letter_of_claim_acknowledged_on is None


@pytest.mark.parametrize("name", PLAIN_PAGES)
def test_mdu_handler_pages_never_show_an_mps_claim(client, mdu_handler, mps_claim, mdu_claim, name):
    client.force_login(mdu_handler)
    response = client.get(reverse(f"portal:{name}"))
    assert response.status_code == 200
    body = response.content.decode()
    assert mps_claim.reference not in body
    assert mps_claim.claimant_name not in body
    assert mps_claim.practice.name not in body


def test_mdu_handler_cannot_read_an_mps_handlers_notification(
    client, mdu_handler, mps_handler, mps_claim
):
    notification = Notification.objects.create(
        recipient=mps_handler, claim=mps_claim, kind="claim_assigned", message="x", dedupe_key="k"
    )
    client.force_login(mdu_handler)
    response = client.post(reverse("portal:notification_read", args=[notification.pk]))
    assert response.status_code == 404
    notification.refresh_from_db()
    assert notification.read_at is None


# -- people who belong elsewhere ----------


@pytest.mark.parametrize(
    ("persona", "where"),
    [
        ("caseworker", "caseworkers' workbench"),
        ("auditor", "caseworkers' workbench"),
        ("importer", "claims API"),
    ],
)
def test_staff_who_belong_elsewhere_are_told_where(client, request, mps_claim, persona, where):
    user = request.getfixturevalue(persona)
    client.force_login(user)
    for url in every_get_url(mps_claim):
        response = client.get(url)
        assert response.status_code == 403, url
        body = response.content.decode()
        assert "This portal is for MDO claim handlers" in body
        assert where in body
        assert mps_claim.claimant_name not in body


def test_an_nhsr_team_lead_is_sent_to_the_admin(client, mps_claim):
    from tests.conftest import _persona

    lead = _persona("nhsr_lead", "team_lead", "NHSR", staff=True)
    client.force_login(lead)
    response = client.get(claim_url("claim", mps_claim))
    assert response.status_code == 403
    assert "caseworkers' workbench" in response.content.decode()


def test_caseworker_cannot_write_through_the_portal(client, caseworker, mps_claim):
    client.force_login(caseworker)
    response = client.post(claim_url("claim_note", mps_claim), {"version": 1, "text": "x"})
    assert response.status_code == 403
    assert not mps_claim.notes.exists()


def test_anonymous_visitors_are_sent_to_sign_in_from_every_page(client, mps_claim):
    for url in every_get_url(mps_claim):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.url.startswith("/portal/login/?next=")


@pytest.mark.parametrize("name", POST_ONLY)
def test_anonymous_posts_are_sent_to_sign_in(client, name):
    response = client.post(reverse(f"portal:{name}"))
    if name == "logout":
        assert response.url == reverse("portal:login")
    else:
        assert response.url.startswith("/portal/login/")


def test_anonymous_cannot_mark_a_notification_read(client, mps_handler, mps_claim):
    notification = Notification.objects.create(
        recipient=mps_handler, claim=mps_claim, kind="claim_assigned", message="x", dedupe_key="k"
    )
    response = client.post(reverse("portal:notification_read", args=[notification.pk]))
    assert response.url.startswith("/portal/login/")
    notification.refresh_from_db()
    assert notification.read_at is None


def test_anonymous_post_to_a_claim_changes_nothing(client, mps_claim):
    response = client.post(claim_url("claim_stage", mps_claim), {"version": 1, "stage": "served"})
    assert response.status_code == 302
    mps_claim.refresh_from_db()
    assert mps_claim.stage == "letter_of_claim"


def test_login_page_is_open_to_everyone(client):
    response = client.get(reverse("portal:login"))
    assert response.status_code == 200
    assert '<label class="nhsuk-label" for="id_username">Username</label>' in (
        response.content.decode()
    )
