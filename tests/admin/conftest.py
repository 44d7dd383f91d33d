"""The caseworkers' admin: people, claims and helpers shared by its tests."""

import datetime

import pytest

from tests.conftest import _persona
from tests.portal.conftest import handled_claim


@pytest.fixture(autouse=True)
def _fresh_dashboard():
    """The dashboard's figures are cached for a minute; each test starts from none."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def nhsr_team_lead(db):
    return _persona("nhsr_lead", "team_lead", "NHSR", staff=True)


@pytest.fixture
def mps_claim(db):
    """An open ELGP claim handled by MPS, with a letter of claim five days ago (so its
    acknowledgement is due soon) and one clinician who was an MPS member on the incident."""
    from members.models import DefenceOrganisation
    from tests.factories import ClaimClinicianFactory, MembershipFactory

    claim = handled_claim(
        "MPS",
        claimant_name="Ada Lovelace",
        claimant_nhs_number="9434765919",
        incident_date=datetime.date(2018, 11, 12),
    )
    link = ClaimClinicianFactory(
        claim=claim, member__given_name="Grace", member__family_name="Kerr"
    )
    MembershipFactory(
        member=link.member,
        organisation=DefenceOrganisation.objects.get(code="MPS"),
        start_date=datetime.date(2010, 1, 1),
    )
    return claim


@pytest.fixture
def mdu_claim(db):
    return handled_claim("MDU", claimant_name="Mary Seacole")


def change_url(claim) -> str:
    from django.urls import reverse

    return reverse("admin:claims_claim_change", args=[claim.pk])


def list_url() -> str:
    from django.urls import reverse

    return reverse("admin:claims_claim_changelist")


def references_in(response) -> set[str]:
    """The claim references the list shows (each claim is one row)."""
    return {row.reference for row in response.context["cl"].result_list}
