"""The admin as each role: caseworkers do everything, auditors only look, MDO handlers never
get in (design.md §2)."""

import pytest
from django.contrib import admin
from django.urls import reverse
from rest_framework.authtoken.models import TokenProxy

from claims.models import Claim
from tests.factories import ClaimFactory

pytestmark = pytest.mark.django_db

ADMIN_MODELS = [model for model in admin.site._registry]


def changelist(model) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")


@pytest.mark.parametrize("model", ADMIN_MODELS, ids=lambda m: m._meta.label)
def test_caseworker_opens_every_changelist(client, caseworker, model):
    client.force_login(caseworker)
    assert client.get(changelist(model)).status_code == 200


@pytest.mark.parametrize(
    "model",
    [m for m in ADMIN_MODELS if m is not TokenProxy],
    ids=lambda m: m._meta.label,
)
def test_auditor_opens_every_changelist_but_api_tokens(client, auditor, model):
    client.force_login(auditor)
    assert client.get(changelist(model)).status_code == 200


def test_auditor_cannot_read_api_tokens(client, auditor):
    client.force_login(auditor)
    assert client.get(changelist(TokenProxy)).status_code == 403


@pytest.mark.parametrize("model", ADMIN_MODELS, ids=lambda m: m._meta.label)
def test_mdo_handler_is_sent_to_the_login_page_from_every_changelist(client, mps_handler, model):
    client.force_login(mps_handler)
    response = client.get(changelist(model))
    assert response.status_code == 302
    assert response.url.startswith("/admin/login/")


def test_caseworker_sees_demo_claims_in_the_claim_list(client, caseworker):
    claim = ClaimFactory(claimant_name="Grace Hopper")
    client.force_login(caseworker)
    page = client.get(changelist(Claim)).content.decode()
    assert claim.reference in page
    assert "Grace Hopper" in page


def test_search_by_nhs_number_with_or_without_spaces(client, caseworker):
    claim = ClaimFactory(claimant_nhs_number="9434765919")
    other = ClaimFactory()
    client.force_login(caseworker)
    for query in ("9434765919", "943 476 5919"):
        page = client.get(changelist(Claim), {"q": query}).content.decode()
        assert claim.reference in page
        assert other.reference not in page


def test_auditor_sees_a_claim_read_only_and_cannot_change_it(client, auditor):
    claim = ClaimFactory(stage="letter_of_claim")
    client.force_login(auditor)
    url = reverse("admin:claims_claim_change", args=[claim.pk])
    page = client.get(url)
    assert page.status_code == 200
    assert b'name="stage"' not in page.content
    response = client.post(url, {"stage": "settled"})
    assert response.status_code == 403
    claim.refresh_from_db()
    assert claim.stage == "letter_of_claim"


def test_auditor_cannot_add_or_delete(client, auditor):
    claim = ClaimFactory()
    client.force_login(auditor)
    assert client.get(reverse("admin:claims_claim_add")).status_code == 403
    assert client.post(reverse("admin:claims_claim_delete", args=[claim.pk])).status_code == 403
    assert Claim.objects.filter(pk=claim.pk).exists()


def test_caseworker_edit_in_the_admin_bumps_the_version_and_is_audited(client, caseworker):
    from audit.selectors import audit_events_for

    practice = ClaimFactory().practice
    client.force_login(caseworker)
    claim = ClaimFactory(practice=practice, description="old")
    url = reverse("admin:claims_claim_change", args=[claim.pk])
    context = client.get(url).context
    form = context["adminform"].form
    data = {
        name: ("" if value is None else value)
        for name, value in form.initial.items()
        if name in form.fields
    }
    data.update({"description": "new", "practice": practice.pk})
    for inline in context["inline_admin_formsets"]:
        management = inline.formset.management_form
        data.update({management.add_prefix(k): v for k, v in management.initial.items()})
    data = {k: v for k, v in data.items() if v is not False}
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    claim.refresh_from_db()
    assert (claim.description, claim.version) == ("new", 2)
    event = audit_events_for(subject=claim).get(action="claim.update")
    assert event.actor == caseworker
    assert event.after == {"description": "new", "version": 2}


def test_audit_trail_is_read_only_even_for_caseworkers(client, caseworker):
    from audit.models import AuditEvent

    client.force_login(caseworker)
    assert client.get(reverse("admin:audit_auditevent_add")).status_code == 403
    assert AuditEvent.objects.count() == 0


def test_agreement_action_previews_then_applies_the_reroute(
    client, caseworker, django_capture_on_commit_callbacks
):
    import datetime

    from claims.models import ClaimClinician, RoutingJob
    from claims.routing_services import claims_route
    from members.models import DefenceOrganisation
    from schemes.models import ElsAgreement
    from tests.factories import MemberFactory, MembershipFactory

    mdu = DefenceOrganisation.objects.get(code="MDU")
    gp = MemberFactory()
    MembershipFactory(member=gp, organisation=mdu, start_date=datetime.date(2005, 1, 1))
    claim = ClaimFactory(incident_date=datetime.date(2017, 5, 5))
    ClaimClinician.objects.create(claim=claim, member=gp)
    claims_route(claim_ids=[claim.pk], actor=None, cause="test")
    agreement = ElsAgreement.objects.create(
        organisation=mdu, agreed_on=datetime.date(2020, 1, 1), handover_on=None
    )
    client.force_login(caseworker)
    url = reverse("admin:schemes_elsagreement_changelist")
    preview = client.post(url, {"action": "reroute_claims", "_selected_action": [agreement.pk]})
    page = preview.content.decode()
    assert preview.status_code == 200
    assert "1</strong> open claim would move" in page
    assert claim.reference in page
    claim.refresh_from_db()
    assert claim.schemes == "NO_STATE_SCHEME"
    with django_capture_on_commit_callbacks(execute=True):
        applied = client.post(
            url,
            {"action": "reroute_claims", "_selected_action": [agreement.pk], "confirm": "apply"},
        )
    assert applied.status_code == 302
    job = RoutingJob.objects.get(agreement=agreement)
    assert (job.status, job.moved) == ("done", 1)
    claim.refresh_from_db()
    assert (claim.schemes, claim.lead_handler) == ("ELGP", "MDU")
    detail = client.get(reverse("admin:claims_claim_change", args=[claim.pk])).content.decode()
    assert "Routing history" in detail
    assert "interim" in detail


def test_auditor_cannot_run_the_reroute_action(client, auditor):
    from claims.models import RoutingJob
    from schemes.models import ElsAgreement

    agreement = ElsAgreement.objects.get(organisation__code="MPS")
    client.force_login(auditor)
    response = client.post(
        reverse("admin:schemes_elsagreement_changelist"),
        {"action": "reroute_claims", "_selected_action": [agreement.pk], "confirm": "apply"},
    )
    assert response.status_code in (200, 302, 403)
    assert not RoutingJob.objects.exists()


def test_accounts_are_deactivated_never_deleted_in_the_admin(client, caseworker, mps_handler):
    client.force_login(caseworker)
    delete_page = reverse("admin:auth_user_delete", args=[mps_handler.pk])
    assert client.get(delete_page).status_code == 403
    assert client.post(delete_page, {"post": "yes"}).status_code == 403
    response = client.get(changelist(type(mps_handler)))
    assert "delete_selected" not in response.content.decode()
    assert type(mps_handler).objects.filter(pk=mps_handler.pk).exists()


def test_a_deactivated_account_is_shut_out_of_the_api_and_sign_in(client, importer, mps_handler):
    from tests.conftest import client_for

    api = client_for(importer)
    assert api.get("/api/v1/imports/batches/").status_code == 200
    assert client.login(username=mps_handler.username, password="correct-horse-battery")
    client.logout()
    for account in (importer, mps_handler):
        account.is_active = False
        account.save(update_fields=["is_active"])
    assert api.get("/api/v1/imports/batches/").status_code == 401
    assert not client.login(username=mps_handler.username, password="correct-horse-battery")
