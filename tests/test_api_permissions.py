"""Every API endpoint as every role, from outside (HTTP through the test client): the right
answer for the right user, 401 for nobody, 403 for a role that may not act, and 404 for an
object of another organisation, exactly as for one that does not exist."""

import datetime
import functools
import json
import re

import pytest

from claims.models import ClaimHandling, Deadline, ImportBatch, Notification, RoutingJob
from handlers.models import HandlerOrganisation
from schemes.models import ElsAgreement
from tests.conftest import client_for
from tests.factories import recorded_claim

pytestmark = pytest.mark.django_db

ROLES = ("anonymous", "caseworker", "auditor", "mps_handler", "mdu_handler", "importer")


@pytest.fixture
def world(request):
    """An MPS-handled claim with an open deadline, a batch the importer sent, a routing job, a
    notification for the MPS handler, and a user per role."""
    users = {role: request.getfixturevalue(role) for role in ROLES if role != "anonymous"}
    claim = recorded_claim(
        "MPS",
        activity="private",  # not state-indemnified: stays with MPS
        letter_of_claim_on=datetime.date.today(),
    )
    assert list(claim.handlings.values_list("organisation__code", flat=True)) == ["MPS"]
    batch = ImportBatch.objects.create(
        kind="practices",
        created_by=users["importer"],
        organisation=HandlerOrganisation.objects.get(code="MPS"),
        body_hash="x",
        content_type="application/json",
        status="done",
    )
    notification = Notification.objects.create(
        recipient=users["mps_handler"],
        claim=claim,
        kind="claim_assigned",
        message="m",
        dedupe_key="k",
    )
    return {
        "users": users,
        "claim": claim,
        "deadline": Deadline.objects.filter(claim=claim, status="open").first(),
        "batch": batch,
        "job": RoutingJob.objects.create(kind="handover", decision_date=datetime.date.today()),
        "agreement": ElsAgreement.objects.first(),
        "notification": notification,
    }


def call(world, role, method, url, body=None, **headers):
    client = client_for(None if role == "anonymous" else world["users"][role])
    url = url.format(
        ref=world["claim"].reference,
        deadline=world["deadline"].pk,
        batch=world["batch"].pk,
        job=world["job"].pk,
        agreement=world["agreement"].pk,
        notification=world["notification"].pk,
    )
    if isinstance(body, str):
        return client.generic(method, url, body, content_type="text/csv", **headers)
    return client.generic(
        method, url, json.dumps(body or {}), content_type="application/json", **headers
    )


PREVIEW = {
    "matter_type": "claim",
    "care_setting": "general_practice",
    "activity": "nhs_primary_medical_services",
    "incident_date": "2019-05-01",
}

# (method, url, body, {role: status}); roles not listed answer as `others`.
MATRIX = [
    ("GET", "/api/v1/", None, {"anonymous": 200}, 200),
    ("POST", "/api/v1/routing/preview/", PREVIEW, {"anonymous": 401}, 200),
    ("GET", "/api/v1/agreements/", None, {"anonymous": 401, "caseworker": 200}, 403),
    ("GET", "/api/v1/agreements/{agreement}/", None, {"anonymous": 401, "caseworker": 200}, 403),
    (
        "POST",
        "/api/v1/agreements/{agreement}/preview/",
        None,
        {"anonymous": 401, "caseworker": 200},
        403,
    ),
    ("POST", "/api/v1/agreements/", {}, {"anonymous": 401, "caseworker": 400}, 403),
    (
        "PATCH",
        "/api/v1/agreements/{agreement}/",
        {"notes": "Checked against the signed copy."},
        {"anonymous": 401, "caseworker": 200},
        403,
    ),
    ("PATCH", "/api/v1/agreements/0/", {}, {"anonymous": 401, "caseworker": 404}, 403),
    (
        "POST",
        "/api/v1/agreements/{agreement}/apply/",
        None,
        {"anonymous": 401, "caseworker": 202},
        403,
    ),
    ("GET", "/api/v1/routing/jobs/{job}/", None, {"anonymous": 401, "caseworker": 200}, 403),
    ("GET", "/api/v1/deadlines/", None, {"anonymous": 401}, 200),
    ("GET", "/api/v1/notifications/", None, {"anonymous": 401}, 200),
    (
        "POST",
        "/api/v1/notifications/{notification}/read/",
        None,
        {"anonymous": 401, "mps_handler": 200},
        404,
    ),
    (
        "POST",
        "/api/v1/imports/practices/",
        "ods_code,name\nY01234,Riverside\n",
        {"anonymous": 401, "caseworker": 201, "importer": 201},
        403,
    ),
    ("GET", "/api/v1/imports/batches/", None, {"anonymous": 401}, 200),
    (
        "GET",
        "/api/v1/imports/batches/{batch}/",
        None,
        {"anonymous": 401, "caseworker": 200, "importer": 200},
        404,
    ),
    ("GET", "/api/v1/claims/", None, {"anonymous": 401}, 200),
    (
        "GET",
        "/api/v1/claims/{ref}/",
        None,
        {"anonymous": 401, "caseworker": 200, "auditor": 200, "mps_handler": 200},
        404,
    ),
    (
        "PATCH",
        "/api/v1/claims/{ref}/",
        {"stage": "investigation"},
        {"anonymous": 401, "caseworker": 200, "auditor": 403, "mps_handler": 200},
        404,
    ),
    (
        "PATCH",
        "/api/v1/claims/{ref}/deadlines/{deadline}/",
        {"status": "met"},
        {"anonymous": 401, "caseworker": 200, "auditor": 403, "mps_handler": 200},
        404,
    ),
]


_ERROR_CODES = {
    400: "required",  # an agreement sent with nothing in it
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    ("method", "url", "body", "answers", "others"),
    MATRIX,
    ids=[f"{m} {u}" for m, u, *_ in MATRIX],
)
def test_each_endpoint_answers_each_role_as_the_rules_say(
    world, role, method, url, body, answers, others
):
    headers = {}
    if method == "PATCH" and "deadlines" not in url:
        headers["HTTP_IF_MATCH"] = f'"{world["claim"].version}"'
    response = call(world, role, method, url, body, **headers)
    expected = answers.get(role, others)
    assert response.status_code == expected, (role, response.content[:300])
    if expected >= 400:
        assert set(response.json()) == {"errors"}
        errors = response.json()["errors"]
        assert {error["code"] for error in errors} == {_ERROR_CODES[expected]}, errors
        assert not any(
            "ErrorDetail" in error["message"] or "matches the given" in error["message"]
            for error in errors
        )
    # The OpenAPI schema tells clients every answer each operation can give.
    assert str(expected) in _documented_answers(method, url), (method, url, expected)


@functools.cache
def _schema() -> dict:
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)


def _documented_answers(method: str, url: str) -> set[str]:
    template = re.sub(r"\{(deadline|batch|job|agreement|notification)\}|/0/", "{id}", url)
    template = template.replace("{ref}", "{reference}").replace("{id}", "/{id}/").replace("//", "/")
    return set(_schema()["paths"][template][method.lower()]["responses"])


def test_a_deadline_list_never_shows_another_organisations_deadline(world):
    for role, sees in (("mps_handler", True), ("mdu_handler", False), ("importer", False)):
        listed = call(world, role, "GET", "/api/v1/deadlines/").json()
        assert bool(listed) is sees, role
        assert all(d["claim"] == world["claim"].reference for d in listed)


def test_a_claim_moving_away_vanishes_from_the_old_organisation_at_once(world):
    assert call(world, "mps_handler", "GET", "/api/v1/claims/{ref}/").status_code == 200
    ClaimHandling.objects.filter(claim=world["claim"]).update(
        organisation=HandlerOrganisation.objects.get(code="NHSR")
    )
    assert call(world, "mps_handler", "GET", "/api/v1/claims/{ref}/").status_code == 404
    assert call(world, "mps_handler", "GET", "/api/v1/claims/").json()["results"] == []
