"""Who gets into the workbench (design.md §2, issue 6): caseworkers use every page and action,
auditors see every page and can change nothing, MDO handlers (and everyone else who is not a
caseworker or an auditor) are refused everywhere, whatever their `is_staff` flag says."""

import pytest
from django.contrib import admin
from django.test import RequestFactory
from django.urls import reverse

from claims.models import Claim, Deadline
from tests.admin.conftest import change_url, list_url

pytestmark = pytest.mark.django_db


def _pages(claim) -> list[str]:
    deadline = claim.deadlines.get(kind="acknowledge_letter_of_claim")
    return [
        reverse("admin:index"),
        list_url(),
        list_url() + "?triage=queue",
        list_url() + "?deadline=overdue&scheme=ELGP&lead_handler=MPS&flag=POSSIBLE_DUPLICATE",
        list_url() + "?incident_date_after=2018-01-01&notified_before=2030-01-01&q=Ada",
        change_url(claim),
        reverse("admin:claims_claim_export"),
        reverse("admin:claims_claim_deadline", args=[claim.pk, deadline.pk, "met"]),
        reverse("admin:claims_claim_deadline", args=[claim.pk, deadline.pk, "waive"]),
        reverse("admin:claims_claim_reserve", args=[claim.pk]),
        reverse("admin:claims_claim_payment", args=[claim.pk]),
        reverse("admin:claims_claim_note", args=[claim.pk]),
        reverse("admin:claims_claim_add"),
        reverse("admin:claims_deadline_changelist"),
        reverse("admin:schemes_elsagreement_changelist"),
    ]


# The pages that change something: an auditor is refused them (403), a caseworker gets them.
_CHANGING = ("/deadlines/", "/reserve/", "/payment/", "/note/", "/add/")


def test_caseworker_opens_every_workbench_page(client, caseworker, mps_claim):
    client.force_login(caseworker)
    for url in _pages(mps_claim):
        response = client.get(url)
        assert response.status_code == 200, url


def test_nhsr_team_lead_works_as_a_caseworker(client, nhsr_team_lead, mps_claim):
    client.force_login(nhsr_team_lead)
    for url in _pages(mps_claim):
        assert client.get(url).status_code == 200, url


def test_auditor_sees_every_page_and_is_refused_every_page_that_changes(client, auditor, mps_claim):
    client.force_login(auditor)
    for url in _pages(mps_claim):
        expected = 403 if any(part in url for part in _CHANGING) else 200
        assert client.get(url).status_code == expected, url


@pytest.mark.parametrize("staff", [False, True], ids=["plain", "with-is_staff"])
def test_mdo_handler_is_sent_to_sign_in_from_every_page(client, mps_handler, mps_claim, staff):
    mps_handler.is_staff = staff
    mps_handler.save()
    client.force_login(mps_handler)
    for url in _pages(mps_claim):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.url.startswith("/admin/login/"), url


def test_anonymous_visitor_is_sent_to_sign_in(client, mps_claim):
    for url in _pages(mps_claim):
        response = client.get(url)
        assert response.status_code == 302 and response.url.startswith("/admin/login/"), url


def test_importer_is_refused_like_an_mdo_handler(client, importer, mps_claim):
    client.force_login(importer)
    response = client.get(change_url(mps_claim))
    assert response.status_code == 302 and response.url.startswith("/admin/login/")


def test_mdo_handler_cannot_sign_in_to_the_admin_with_the_right_password(client, mps_handler):
    from tests.conftest import PASSWORD

    page = client.post(
        reverse("admin:login"), {"username": "mps_handler", "password": PASSWORD}
    ).content.decode()
    assert "caseworker or auditor" in page
    assert "MDO claim handlers sign in to the portal" in page
    assert "_auth_user_id" not in client.session


def test_caseworker_signs_in_to_the_admin(client, caseworker):
    from tests.conftest import PASSWORD

    response = client.post(
        reverse("admin:login") + "?next=/admin/",
        {"username": "caseworker", "password": PASSWORD},
    )
    assert response.status_code == 302 and response.url == "/admin/"


def test_mdo_handler_is_refused_the_actions_and_the_posts(client, mps_handler, mps_claim):
    client.force_login(mps_handler)
    deadline = mps_claim.deadlines.get(kind="acknowledge_letter_of_claim")
    posts = [
        (list_url(), {"action": "close_claims", "_selected_action": [mps_claim.pk],
                      "confirm": "yes", "outcome": "closed_without_damages", "reason": "x"}),
        (reverse("admin:claims_claim_deadline", args=[mps_claim.pk, deadline.pk, "waive"]),
         {"reason": "x", "version": mps_claim.version}),
        (reverse("admin:claims_claim_note", args=[mps_claim.pk]), {"text": "x"}),
    ]  # fmt: skip
    for url, data in posts:
        response = client.post(url, data)
        assert response.status_code == 302 and response.url.startswith("/admin/login/"), url
    mps_claim.refresh_from_db()
    assert mps_claim.status == "open"
    assert not mps_claim.notes.exists()
    assert Deadline.objects.get(pk=deadline.pk).status == "open"


def test_auditor_is_not_offered_the_actions_and_cannot_run_them(client, auditor, mps_claim):
    client.force_login(auditor)
    page = client.get(list_url())
    assert page.context["action_form"] is None or not [
        name for name, _ in page.context["action_form"].fields["action"].choices if name
    ]
    for action in ("reroute_claims", "assign_claims", "close_claims", "reopen_claims",
                   "dismiss_duplicates"):  # fmt: skip
        client.post(
            list_url(),
            {"action": action, "_selected_action": [mps_claim.pk], "confirm": "yes",
             "outcome": "closed_without_damages", "reason": "auditor tries"},
        )  # fmt: skip
    mps_claim.refresh_from_db()
    assert (mps_claim.status, mps_claim.version) == ("open", 1)
    assert not mps_claim.routing_decisions.exists()


def test_auditor_sees_the_claim_page_without_any_button_that_changes(client, auditor, mps_claim):
    client.force_login(auditor)
    page = client.get(change_url(mps_claim)).content.decode()
    assert "Ada Lovelace" in page
    for words in ("Record as done", "Waive", "Set a reserve", "Record a payment",
                  "Add the note", 'name="stage"', "Close with an outcome"):  # fmt: skip
        assert words not in page, words


def test_auditor_posting_the_claim_form_changes_nothing(client, auditor, mps_claim):
    client.force_login(auditor)
    response = client.post(change_url(mps_claim), {"stage": "settled", "description": "x"})
    assert response.status_code == 403
    assert Claim.objects.get(pk=mps_claim.pk).stage == mps_claim.stage


def test_nobody_deletes_a_claim_in_the_admin(client, caseworker, mps_claim):
    client.force_login(caseworker)
    assert client.get(reverse("admin:claims_claim_delete", args=[mps_claim.pk])).status_code == 403
    assert "delete_selected" not in client.get(list_url()).content.decode()
    assert Claim.objects.filter(pk=mps_claim.pk).exists()


@pytest.mark.parametrize(
    "model", sorted(admin.site._registry, key=lambda m: m._meta.label), ids=lambda m: m._meta.label
)
def test_a_nul_character_in_a_list_address_is_refused_not_a_server_error(client, caseworker, model):
    """PostgreSQL can hold no NUL: every filter, the search, the ordering and the page of every
    list, given one, answer 400 rather than failing in the query."""
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    request = RequestFactory().get(url)
    request.user = caseworker
    parameters = {"q", "o", "p"}
    for spec in admin.site._registry[model].get_changelist_instance(request).filter_specs:
        parameters.update(spec.expected_parameters())
    client.force_login(caseworker)
    for parameter in sorted(parameters):
        for value in ("%00", "open%00"):
            response = client.get(f"{url}?{parameter}={value}")
            assert response.status_code == 400, (parameter, value, response.status_code)
    assert client.get(url).status_code == 200
