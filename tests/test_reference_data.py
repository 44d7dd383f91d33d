"""domain.md §2-§3 reference data exists in every database, created by migrations."""

import datetime

import pytest

from handlers.models import HandlerOrganisation
from members.models import DefenceOrganisation
from schemes.models import ElsAgreement, Scheme

pytestmark = pytest.mark.django_db


def test_every_scheme_and_routing_outcome_of_the_contract_exists():
    assert set(Scheme.objects.values_list("code", flat=True)) == {
        "CNSGP",
        "ELSGP",
        "ELGP",
        "CNST",
        "ELS",
        "CNSC",
        "NO_STATE_SCHEME",
        "NOT_A_CLAIM",
        "UNDETERMINED",
    }


def test_only_real_schemes_are_marked_state_schemes():
    assert set(Scheme.objects.filter(is_state_scheme=False).values_list("code", flat=True)) == {
        "NO_STATE_SCHEME",
        "NOT_A_CLAIM",
        "UNDETERMINED",
    }


def test_the_three_mdos_are_defence_organisations():
    assert set(DefenceOrganisation.objects.values_list("code", flat=True)) == {
        "MPS",
        "MDU",
        "MDDUS",
    }


def test_nhsr_and_the_mdos_are_handler_organisations_linked_to_their_mdo():
    organisations = {o.code: o for o in HandlerOrganisation.objects.all()}
    assert set(organisations) == {"NHSR", "MPS", "MDU", "MDDUS"}
    assert organisations["NHSR"].defence_organisation is None
    for code in ("MPS", "MDU", "MDDUS"):
        assert organisations[code].defence_organisation.code == code


def test_mps_agreement_dates_are_those_of_the_domain_brief():
    mps = ElsAgreement.objects.get(organisation__code="MPS")
    assert (mps.agreed_on, mps.handover_on) == (
        datetime.date(2019, 4, 1),
        datetime.date(2021, 4, 1),
    )


def test_mddus_agreement_dates_are_those_of_the_domain_brief():
    mddus = ElsAgreement.objects.get(organisation__code="MDDUS")
    assert (mddus.agreed_on, mddus.handover_on) == (
        datetime.date(2019, 9, 1),
        datetime.date(2020, 4, 6),
    )


def test_mdu_has_no_agreement():
    assert not ElsAgreement.objects.filter(organisation__code="MDU").exists()
