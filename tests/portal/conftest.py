"""Claims of two organisations, and the people of the portal."""

import datetime

import pytest

from tests.conftest import _persona


@pytest.fixture
def mps_colleague(db):
    return _persona("mps_colleague", "handler", "MPS", staff=False)


def handled_claim(organisation: str, **fields):
    """A claim handled by one organisation, with its deadlines worked out from its dates."""
    from claims.deadline_services import claims_deadlines_recompute
    from claims.models import ClaimSegment
    from handlers.models import HandlerOrganisation
    from tests.factories import ClaimFactory, ClaimHandlingFactory

    today = datetime.date.today()
    defaults = {
        # Recent enough that limitation is years away, so only the dates a test sets fall due.
        "incident_date": today - datetime.timedelta(days=400),
        "letter_of_claim_on": today - datetime.timedelta(days=5),
        "schemes": "ELGP" if organisation != "MDU" else "NO_STATE_SCHEME",
        "lead_handler": organisation,
        "handlers": organisation,
    }
    claim = ClaimFactory(**{**defaults, **fields})
    ClaimHandlingFactory(
        claim=claim, organisation=HandlerOrganisation.objects.get(code=organisation)
    )
    for scheme in claim.schemes.split(","):
        ClaimSegment.objects.create(
            claim=claim,
            position=ClaimSegment.objects.filter(claim=claim).count(),
            start_date=claim.incident_date,
            end_date=claim.incident_date,
            scheme=scheme,
            handler=organisation,
        )
    claims_deadlines_recompute(claim_ids=[claim.pk], actor=None, reason="Claim recorded")
    claim.refresh_from_db()
    return claim


@pytest.fixture
def mps_claim(db):
    return handled_claim("MPS", claimant_name="Ada Lovelace", claimant_nhs_number="9434765919")


@pytest.fixture
def mdu_claim(db):
    return handled_claim("MDU", claimant_name="Mary Seacole")
