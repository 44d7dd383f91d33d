"""design.md §3: base URL, token and session auth, the error shape, the schema and local docs."""

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def api():
    return APIClient()


def test_token_for_good_credentials(api, importer):
    response = api.post(
        "/api/v1/auth/token/", {"username": "importer", "password": PASSWORD}, format="json"
    )
    assert response.status_code == 200
    assert response.json() == {"token": Token.objects.get(user=importer).key}


def test_bad_credentials_answer_400_in_the_error_shape(api, importer):
    response = api.post(
        "/api/v1/auth/token/", {"username": "importer", "password": "wrong"}, format="json"
    )
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["code"] == "authorization"
    assert error["field"] is None
    assert "credentials" in error["message"]


def test_missing_password_names_the_field(api):
    response = api.post("/api/v1/auth/token/", {"username": "x"}, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "errors": [{"field": "password", "code": "required", "message": "This field is required."}]
    }


def test_malformed_json_is_a_400_not_a_500(api):
    response = api.post("/api/v1/auth/token/", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "parse_error"


def test_the_token_authenticates_api_requests(api, importer):
    token = Token.objects.create(user=importer)
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    you = api.get("/api/v1/").json()["you"]
    assert you == {"username": "importer", "organisation": "MPS", "role": "importer"}


def test_a_wrong_token_is_401_in_the_error_shape(api):
    api.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    response = api.get("/api/v1/")
    assert response.status_code == 401
    assert response.json()["errors"][0]["code"] == "authentication_failed"


def test_session_auth_works_and_needs_csrf_for_writes(caseworker):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(caseworker)
    assert client.get("/api/v1/").json()["you"]["role"] == "caseworker"
    response = client.post("/api/v1/auth/token/", {"username": "a", "password": "b"})
    assert response.status_code == 403
    assert "CSRF" in response.json()["errors"][0]["message"]


@pytest.mark.parametrize("method", ["get", "post", "patch", "delete"])
def test_an_unknown_api_url_is_a_json_404_whatever_the_method(caseworker, method):
    # Signed in by session, as a browser is: a POST is not refused by the CSRF check first.
    api = APIClient(enforce_csrf_checks=True)
    api.force_login(caseworker)
    response = getattr(api, method)("/api/v1/notifications/null,null/read/")
    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == "not_found"


def test_the_openapi_schema_describes_the_token_endpoint(api):
    response = api.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert "/api/v1/auth/token/" in schema["paths"]


def test_the_docs_page_loads_its_scripts_from_this_server_not_a_cdn(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui" in html
    assert "cdn" not in html.lower()
    assert "/static/drf_spectacular_sidecar/" in html


def test_healthz_answers_with_database_and_broker_checks(client, settings):
    response = client.get("/healthz")
    assert response.status_code == 200
    checks = response.json()["checks"]
    assert checks["database"] is True
    # The suite runs with the real Redis broker configured.
    assert settings.CELERY_BROKER_URL
    assert checks["broker"] is True


def test_healthz_is_503_when_the_broker_does_not_answer(client, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["broker"] is False
