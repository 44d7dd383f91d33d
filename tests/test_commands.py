"""design.md §3.5: seed_demo and add_user."""

import datetime

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import CommandError, call_command
from rest_framework.authtoken.models import Token

from claims.models import Claim
from handlers.models import Handler
from members.models import Member, Membership, Practice
from members.validators import nhs_number_is_valid

pytestmark = pytest.mark.django_db


def seed(claims: int, **options) -> str:
    from io import StringIO

    out = StringIO()
    call_command("seed_demo", claims=claims, stdout=out, **options)
    return out.getvalue()


def test_seed_demo_refuses_to_run_with_debug_off_without_force(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="refuses to run with DEBUG off"):
        seed(5)
    assert not Claim.objects.exists()


def test_seed_demo_creates_people_claims_and_the_six_demo_logins(settings):
    settings.DEBUG = True
    out = seed(300)
    assert Practice.objects.count() == 120
    assert Member.objects.filter(registration_body="GMC").count() == 480
    assert Membership.objects.exists()
    assert Claim.objects.count() == 300
    for username in ("caseworker", "mps_handler", "mdu_handler", "mddus_handler", "importer"):
        assert authenticate(username=username, password="demo-pass-2019") is not None
        assert username in out
    assert "demo-pass-2019" in out


def test_seed_demo_is_idempotent_and_grows_only_by_the_new_claims(settings):
    settings.DEBUG = True
    seed(100)
    counts = (Practice.objects.count(), Member.objects.count(), Membership.objects.count())
    seed(100)
    assert Claim.objects.count() == 100
    assert (Practice.objects.count(), Member.objects.count(), Membership.objects.count()) == counts
    seed(150)
    assert Claim.objects.count() == 150


def test_every_third_demo_claim_has_a_damages_reserve_for_the_dashboard(settings):
    from decimal import Decimal

    from claims.models import Reserve

    settings.DEBUG = True
    seed(30)
    seed(30)
    reserves = list(Reserve.objects.all())
    assert len(reserves) == 10
    assert {r.head for r in reserves} == {"damages"}
    assert all(r.amount > Decimal("0") and r.amount % 1 == Decimal("0.50") for r in reserves)


def test_demo_claims_look_like_real_ones(settings):
    settings.DEBUG = True
    seed(400)
    claims = list(Claim.objects.all())
    assert all(nhs_number_is_valid(c.claimant_nhs_number) for c in claims)
    assert all(c.claimant_nhs_number.startswith("999") for c in claims)
    assert all(c.reference.startswith("CL-") for c in claims)
    assert any(c.incident_date and c.incident_date < datetime.date(2019, 4, 1) for c in claims)
    assert any(c.incident_date and c.incident_date >= datetime.date(2019, 4, 1) for c in claims)
    assert any(c.status == "closed" for c in claims)
    assert any(c.matter_type == "medico_legal" for c in claims)
    assert Claim.objects.filter(claim_clinicians__isnull=False).distinct().count() == 400


def test_seed_demo_force_runs_with_debug_off(settings):
    settings.DEBUG = False
    seed(3, force=True)
    assert Claim.objects.count() == 3


def test_add_user_creates_a_portal_handler_for_an_mdo():
    call_command("add_user", "jo", role="handler", organisation="mdu", password="s3cret-pass")
    user = get_user_model().objects.get(username="jo")
    assert (user.handler.role, user.handler.organisation.code, user.is_staff) == (
        "handler",
        "MDU",
        False,
    )
    assert user.check_password("s3cret-pass")


def test_add_user_caseworker_works_for_nhsr_in_the_admin():
    call_command("add_user", "cw", role="caseworker", password="s3cret-pass")
    user = get_user_model().objects.get(username="cw")
    assert (user.handler.organisation.code, user.is_staff) == ("NHSR", True)


def test_add_user_importer_gets_an_api_token_printed():
    from io import StringIO

    out = StringIO()
    call_command("add_user", "mps-system", role="importer", organisation="MPS", stdout=out)
    token = Token.objects.get(user__username="mps-system")
    assert f"API token: {token.key}" in out.getvalue()
    assert "Password: " in out.getvalue()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"role": "handler"}, "needs an organisation"),
        ({"role": "handler", "organisation": "NHSR"}, "caseworkers, not portal handlers"),
        ({"role": "handler", "organisation": "XYZ"}, "No handler organisation XYZ"),
        ({"role": "caseworker", "organisation": "MPS"}, "works for NHSR"),
    ],
)
def test_add_user_refuses_a_role_that_does_not_fit_the_organisation(options, message):
    with pytest.raises(CommandError, match=message):
        call_command("add_user", "someone", password="s3cret-pass", **options)
    assert not get_user_model().objects.filter(username="someone").exists()
    assert not Handler.objects.exists()


def test_add_user_refuses_an_existing_username():
    call_command("add_user", "dup", role="auditor", password="s3cret-pass")
    with pytest.raises(CommandError, match="already exists"):
        call_command("add_user", "dup", role="auditor", password="other-pass")
