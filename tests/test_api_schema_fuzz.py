"""A property-based run over the OpenAPI schema (Schemathesis): every operation, fed inputs the
schema allows and inputs it does not, never answers with a 5xx, and answers only with a status
the schema documents for it. Bounded (a few examples per operation, derandomised) so it finishes
in CI in the same time every run."""

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error, status_code_conformance

# The schema /api/schema/ serves, built in-process; requests go through the WSGI application, so
# each one runs the whole middleware, authentication and view stack.
schema = schemathesis.openapi.from_dict(SchemaGenerator().get_schema(request=None, public=True))
schema.app = get_wsgi_application()


@pytest.fixture
def wsgi_keeps_the_test_transaction():
    """Requests come through the WSGI application, which closes the database connection after
    each one; in a test that would end the test's transaction, so, as Django's test client
    does, keep the connection for the test's length."""
    from django.core import signals
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def token(caseworker, wsgi_keeps_the_test_transaction) -> str:
    from tests.factories import ClaimFactory

    ClaimFactory()  # something to find
    return Token.objects.get_or_create(user=caseworker)[0].key


@pytest.mark.django_db
@schema.parametrize()
@settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_input_makes_the_api_answer_5xx_or_undocumented(case, token):
    case.call_and_validate(
        headers={"Authorization": f"Token {token}", "X-Forwarded-Proto": "https"},
        checks=[not_a_server_error, status_code_conformance],
    )
