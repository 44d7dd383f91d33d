"""Signing in and out, the lockout after repeated failures, and changing one's password."""

import pytest
from django.test import override_settings
from django.urls import reverse

from audit.models import AuditEvent
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

LOGIN = "/portal/login/"


def sign_in(client, username, password, next_url=""):
    data = {"username": username, "password": password}
    if next_url:
        data["next"] = next_url
    return client.post(LOGIN, data)


def test_a_handler_signs_in_and_lands_on_home(client, mps_handler):
    response = sign_in(client, "mps_handler", PASSWORD)
    assert response.status_code == 302
    assert response.url == "/portal/"
    home = client.get("/portal/").content.decode()
    assert "mps_handler (MPS)" in home


def test_signing_in_returns_to_the_page_asked_for(client, mps_handler, mps_claim):
    wanted = f"/portal/claims/{mps_claim.reference}/"
    assert sign_in(client, "mps_handler", PASSWORD, next_url=wanted).url == wanted


def test_signing_in_never_redirects_off_site(client, mps_handler):
    assert sign_in(client, "mps_handler", PASSWORD, next_url="https://evil.example/").url == (
        "/portal/"
    )


def test_a_wrong_password_shows_the_error_summary(client, mps_handler):
    response = sign_in(client, "mps_handler", "nope")
    assert response.status_code == 200
    body = response.content.decode()
    assert "There is a problem" in body
    assert "Enter a correct username and password" in body
    assert "<title>Error: Sign in" in body


def test_empty_fields_are_named_in_the_error_summary(client):
    body = client.post(LOGIN, {"username": "", "password": ""}).content.decode()
    assert '<a href="#id_username">Enter your username</a>' in body
    assert '<a href="#id_password">Enter your password</a>' in body


@override_settings(AXES_FAILURE_LIMIT=3)
def test_repeated_failures_lock_the_username_even_with_the_right_password(client, mps_handler):
    for _ in range(2):
        assert sign_in(client, "mps_handler", "wrong").status_code == 200
    locked = sign_in(client, "mps_handler", "wrong")
    assert locked.status_code == 429
    assert "Too many failed sign-ins" in locked.content.decode()
    # The right password no longer gets in while the lock lasts.
    again = sign_in(client, "mps_handler", PASSWORD)
    assert again.status_code == 429
    assert client.get("/portal/").status_code == 302


@override_settings(AXES_FAILURE_LIMIT=3)
def test_the_lock_is_on_the_username_not_the_office(client, mps_handler, mdu_handler):
    for _ in range(3):
        sign_in(client, "mps_handler", "wrong")
    assert sign_in(client, "mdu_handler", PASSWORD).url == "/portal/"


@override_settings(AXES_FAILURE_LIMIT=3)
def test_a_success_before_the_limit_starts_the_count_again(client, mps_handler):
    for _ in range(2):
        sign_in(client, "mps_handler", "wrong")
    assert sign_in(client, "mps_handler", PASSWORD).status_code == 302
    client.post("/portal/logout/")
    for _ in range(2):
        sign_in(client, "mps_handler", "wrong")
    assert sign_in(client, "mps_handler", PASSWORD).status_code == 302


def test_the_default_limit_is_five(client, mps_handler):
    for _ in range(4):
        assert sign_in(client, "mps_handler", "wrong").status_code == 200
    assert sign_in(client, "mps_handler", "wrong").status_code == 429


@override_settings(AXES_FAILURE_LIMIT=2)
def test_the_api_token_endpoint_is_locked_too_and_answers_in_the_api_format(client, importer):
    url = reverse("api-token")
    for _ in range(2):
        client.post(url, {"username": "importer", "password": "wrong"})
    response = client.post(url, {"username": "importer", "password": PASSWORD})
    assert response.status_code == 403
    assert response.json()["errors"][0]["code"] == "locked_out"


@override_settings(AXES_FAILURE_LIMIT=2)
def test_a_caseworker_unlocks_a_username_in_the_admin(client, caseworker, mps_handler):
    from axes.models import AccessAttempt

    for _ in range(2):
        sign_in(client, "mps_handler", "wrong")
    attempt = AccessAttempt.objects.get(username="mps_handler")
    client.force_login(caseworker)
    url = reverse("admin:axes_accessattempt_delete", args=[attempt.pk])
    assert client.post(url, {"post": "yes"}).status_code == 302
    client.logout()
    assert sign_in(client, "mps_handler", PASSWORD).status_code == 302
    assert AuditEvent.objects.filter(action="accessattempt.delete").exists()


def test_signing_out_ends_the_session(client, mps_handler):
    client.force_login(mps_handler)
    response = client.post("/portal/logout/")
    assert response.url == LOGIN
    assert "You have signed out" in client.get(LOGIN).content.decode()
    assert client.get("/portal/").status_code == 302


def test_signing_out_needs_a_post(client, mps_handler):
    client.force_login(mps_handler)
    assert client.get("/portal/logout/").status_code == 405
    assert client.get("/portal/").status_code == 200


def test_csrf_is_checked_on_sign_in(mps_handler):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    response = strict.post(LOGIN, {"username": "mps_handler", "password": PASSWORD})
    assert response.status_code == 403


def test_password_change(client, mps_handler):
    client.force_login(mps_handler)
    response = client.post(
        "/portal/password/",
        {
            "old_password": PASSWORD,
            "new_password1": "a-much-longer-passphrase-2026",
            "new_password2": "a-much-longer-passphrase-2026",
        },
    )
    assert response.status_code == 302
    # Still signed in, and the new password works from now on.
    assert client.get("/portal/").status_code == 200
    mps_handler.refresh_from_db()
    assert mps_handler.check_password("a-much-longer-passphrase-2026")
    event = AuditEvent.objects.get(action="account.password_change")
    assert event.actor == mps_handler
    assert "passphrase" not in str(event.after)


def test_password_change_checks_the_old_password_and_the_rules(client, mps_handler):
    client.force_login(mps_handler)
    response = client.post(
        "/portal/password/",
        {"old_password": "wrong", "new_password1": "short", "new_password2": "short"},
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "There is a problem" in body
    assert 'href="#id_old_password"' in body
    assert 'href="#id_new_password2"' in body
    mps_handler.refresh_from_db()
    assert mps_handler.check_password(PASSWORD)
