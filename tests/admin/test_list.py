"""The claim list: its columns, every filter, the search box, ordering and the count that never
counts past a cap (issue 6)."""

import datetime

import pytest
from django.utils import timezone

from claims.models import Claim, ClaimSegment, Deadline
from tests.admin.conftest import list_url, references_in
from tests.conftest import client_for
from tests.factories import (
    ClaimClinicianFactory,
    ClaimFactory,
    MemberFactory,
    PracticeFactory,
)
from tests.portal.conftest import handled_claim

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(client, caseworker):
    client.force_login(caseworker)
    return client


def _deadline(claim, kind: str, due_on: datetime.date, status: str = "open") -> Deadline:
    return Deadline.objects.create(
        claim=claim, kind=kind, category="protocol", due_on=due_on, status=status, source="test"
    )


def test_list_shows_the_columns_a_caseworker_works_from(signed_in):
    practice = PracticeFactory(ods_code="Y01234", name="Leeds Road Surgery")
    claim = handled_claim(
        "MPS",
        claimant_name="Ada Lovelace",
        claimant_nhs_number="9434765919",
        practice=practice,
        flags="APPORTIONMENT_REQUIRED",
    )
    page = signed_in.get(list_url()).content.decode()
    for text in (claim.reference, "Ada Lovelace", "943 476 5919", "Y01234", "Leeds Road Surgery",
                 "ELGP", "MPS", "Letter of claim", "apportionment required",
                 "Acknowledge the letter of claim"):  # fmt: skip
        assert text in page, text


def test_next_deadline_is_the_earliest_unmet_and_says_missed_or_near(signed_in):
    today = timezone.localdate()
    missed = ClaimFactory(letter_of_claim_on=None)
    _deadline(missed, "acknowledge_letter_of_claim", today - datetime.timedelta(days=3), "missed")
    _deadline(missed, "letter_of_response", today + datetime.timedelta(days=2))
    near = ClaimFactory()
    _deadline(near, "letter_of_response", today + datetime.timedelta(days=2))
    _deadline(near, "records_disclosure", today - datetime.timedelta(days=9), "met")
    later = ClaimFactory()
    _deadline(later, "limitation", today + datetime.timedelta(days=400))
    rows = {c.reference: c for c in signed_in.get(list_url()).context["cl"].result_list}
    assert rows[missed.reference].next_deadline_kind == "acknowledge_letter_of_claim"
    assert rows[near.reference].next_deadline_kind == "letter_of_response"
    page = signed_in.get(list_url()).content.decode()
    assert "claims-deadline-missed" in page and "MISSED 3 days ago" in page
    assert "claims-deadline-near" in page and "due in 2 days" in page
    assert "in 400 days" in page


def test_a_closed_claim_shows_no_next_deadline(signed_in):
    claim = ClaimFactory(status="closed", outcome="closed_with_damages")
    _deadline(claim, "letter_of_response", timezone.localdate() - datetime.timedelta(days=30))
    page = signed_in.get(list_url()).content.decode()
    assert "MISSED" not in page
    assert "Closed: closed with damages" in page


def _segment(claim, scheme: str, handler: str) -> None:
    ClaimSegment.objects.create(
        claim=claim,
        position=ClaimSegment.objects.filter(claim=claim).count(),
        scheme=scheme,
        handler=handler,
    )


@pytest.mark.parametrize(
    "query, wanted",
    [
        ("scheme=ELSGP", {"split"}),
        ("scheme=CNSGP", {"split", "cnsgp"}),
        ("lead_handler=MDU", {"mdu"}),
        ("lead_handler=-", {"nobody"}),
        ("handler=MDU", {"mdu", "split"}),
        ("stage__exact=investigation", {"mdu"}),
        ("status__exact=closed", {"closed"}),
        ("flag=APPORTIONMENT_REQUIRED", {"split"}),
        ("flag=MANUAL_REVIEW", {"nobody"}),
        ("flag=POSSIBLE_DUPLICATE", {"duplicate"}),
    ],
)
def test_each_filter_narrows_the_list(signed_in, query, wanted):
    claims = {
        "cnsgp": ClaimFactory(schemes="CNSGP", lead_handler="NHSR", handlers="NHSR"),
        "split": ClaimFactory(
            schemes="CNSGP,ELSGP",
            lead_handler="NHSR",
            handlers="MDU,NHSR",
            flags="APPORTIONMENT_REQUIRED",
        ),
        "mdu": ClaimFactory(
            schemes="NO_STATE_SCHEME", lead_handler="MDU", handlers="MDU", stage="investigation"
        ),
        "nobody": ClaimFactory(
            schemes="NO_STATE_SCHEME", lead_handler="", flags="MANUAL_REVIEW", needs_triage=True
        ),
        "closed": ClaimFactory(
            status="closed", outcome="not_a_claim", schemes="NOT_A_CLAIM", lead_handler="MPS"
        ),
    }
    claims["duplicate"] = ClaimFactory(possible_duplicate_of=claims["cnsgp"], lead_handler="NHSR")
    _segment(claims["cnsgp"], "CNSGP", "NHSR")
    _segment(claims["split"], "CNSGP", "NHSR")
    _segment(claims["split"], "ELSGP", "MDU")
    _segment(claims["mdu"], "NO_STATE_SCHEME", "MDU")
    response = signed_in.get(f"{list_url()}?{query}")
    assert response.status_code == 200
    assert references_in(response) == {claims[name].reference for name in wanted}


def test_overdue_and_due_soon_filters(signed_in):
    today = timezone.localdate()
    overdue = ClaimFactory()
    _deadline(overdue, "letter_of_response", today - datetime.timedelta(days=1), "missed")
    soon = ClaimFactory()
    _deadline(soon, "letter_of_response", today + datetime.timedelta(days=5))
    later = ClaimFactory()
    _deadline(later, "letter_of_response", today + datetime.timedelta(days=20))
    met = ClaimFactory()
    _deadline(met, "letter_of_response", today - datetime.timedelta(days=20), "met")
    assert references_in(signed_in.get(list_url() + "?deadline=overdue")) == {overdue.reference}
    assert references_in(signed_in.get(list_url() + "?deadline=7")) == {soon.reference}
    assert references_in(signed_in.get(list_url() + "?deadline=30")) == {
        soon.reference,
        later.reference,
    }


def test_triage_queue_puts_undetermined_and_manual_review_first_then_duplicates_oldest_first(
    signed_in,
):
    now = timezone.now()
    ordinary = ClaimFactory()
    original = ClaimFactory()
    new_duplicate = ClaimFactory(possible_duplicate_of=original)
    old_duplicate = ClaimFactory(possible_duplicate_of=original)
    new_undetermined = ClaimFactory(schemes="UNDETERMINED", needs_triage=True)
    old_review = ClaimFactory(flags="MANUAL_REVIEW", needs_triage=True)
    closed_undetermined = ClaimFactory(
        schemes="UNDETERMINED", needs_triage=True, status="closed", outcome="not_a_claim"
    )
    ages = {new_undetermined: 1, old_review: 9, new_duplicate: 2, old_duplicate: 20}
    for claim, days in ages.items():
        Claim.objects.filter(pk=claim.pk).update(created_at=now - datetime.timedelta(days=days))
    response = signed_in.get(list_url() + "?triage=queue")
    order = [claim.reference for claim in response.context["cl"].result_list]
    assert order == [
        old_review.reference,
        new_undetermined.reference,
        old_duplicate.reference,
        new_duplicate.reference,
    ]
    assert ordinary.reference not in order and closed_undetermined.reference not in order
    assert "Triage queue" in response.content.decode()


def test_incident_and_notified_date_filters_take_a_range(signed_in):
    single = ClaimFactory(
        incident_date=datetime.date(2016, 3, 1), notified_on=datetime.date(2020, 1, 5)
    )
    spanning = ClaimFactory(
        incident_date=None,
        incident_date_from=datetime.date(2015, 1, 1),
        incident_date_to=datetime.date(2016, 2, 1),
        notified_on=datetime.date(2021, 6, 1),
    )
    outside = ClaimFactory(
        incident_date=datetime.date(2019, 5, 5), notified_on=datetime.date(2023, 1, 1)
    )
    incident = signed_in.get(
        list_url() + "?incident_date_after=2016-01-01&incident_date_before=2016-12-31"
    )
    assert references_in(incident) == {single.reference, spanning.reference}
    notified = signed_in.get(list_url() + "?notified_after=2021-01-01&notified_before=2022-12-31")
    assert references_in(notified) == {spanning.reference}
    assert outside.reference not in references_in(
        signed_in.get(list_url() + "?notified_before=2022-01-01")
    )


def test_a_date_that_is_not_a_date_is_refused_without_an_error_page(signed_in):
    response = signed_in.get(list_url() + "?incident_date_after=12/03/2016")
    assert response.status_code == 302
    assert response.url.endswith("?e=1")


def test_assigned_filter(signed_in, caseworker):
    mine = ClaimFactory(assigned_to=caseworker)
    nobodys = ClaimFactory()
    assert references_in(signed_in.get(list_url() + "?assigned=me")) == {mine.reference}
    assert references_in(signed_in.get(list_url() + "?assigned=nobody")) == {nobodys.reference}


@pytest.fixture
def searchable():
    practice = PracticeFactory(ods_code="Y01234", name="Harrogate Family Practice")
    gp = MemberFactory(registration_number="0123456")
    claim = ClaimFactory(
        claimant_name="Ada Lovelace",
        claimant_nhs_number="9434765919",
        external_ref="MPS-778",
        practice=practice,
    )
    ClaimClinicianFactory(claim=claim, member=gp)
    other = ClaimFactory(claimant_name="Mary Seacole")
    return claim, other


@pytest.mark.parametrize(
    "query",
    [
        "9434765919",
        "943 476 5919",
        " 943 4765 919 ",
        "lovelace",
        "Ada Love",
        "Y01234",
        "y01234",
        "harrogate family",
        "0123456",
        "MPS-778",
    ],
)
def test_search_finds_the_claim_by_each_of_its_keys(signed_in, searchable, query):
    claim, _ = searchable
    found = references_in(signed_in.get(list_url(), {"q": query}))
    assert found == {claim.reference}


def test_search_by_reference_in_any_case(signed_in, searchable):
    claim, _ = searchable
    assert references_in(signed_in.get(list_url(), {"q": claim.reference.lower()})) == {
        claim.reference
    }


def test_ten_digits_find_a_senders_reference_too_as_in_the_api(signed_in, searchable, caseworker):
    digits_ref = ClaimFactory(external_ref="2024000117")
    found = references_in(signed_in.get(list_url(), {"q": "2024000117"}))
    assert found == {digits_ref.reference}
    api = client_for(caseworker).get("/api/v1/claims/", {"q": "2024000117"}).json()
    assert [row["reference"] for row in api["results"]] == [digits_ref.reference]


def test_search_finds_nothing_for_an_unknown_nhs_number(signed_in, searchable):
    assert references_in(signed_in.get(list_url(), {"q": "999 000 0019"})) == set()


def test_the_list_never_counts_past_its_cap(signed_in, monkeypatch):
    from claims.admin import CappedCountPaginator

    monkeypatch.setattr(CappedCountPaginator, "COUNT_CAP", 3)
    for _ in range(5):
        ClaimFactory()
    response = signed_in.get(list_url())
    page = response.content.decode()
    assert "More than 3 claims" in page
    assert response.context["cl"].result_count == 4  # counted up to the cap and one more
    monkeypatch.setattr(CappedCountPaginator, "COUNT_CAP", 10)
    assert "5 claims" in signed_in.get(list_url()).content.decode()


def test_the_count_is_a_bounded_query(signed_in, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    ClaimFactory()
    with CaptureQueriesContext(connection) as queries:
        signed_in.get(list_url())
    counts = [q["sql"] for q in queries if "COUNT(" in q["sql"].upper()]
    assert counts, "the list shows how many claims match"
    assert all("LIMIT 10001" in sql for sql in counts), counts


def test_pages_through_the_list(signed_in, monkeypatch):
    from claims.admin import ClaimAdmin

    monkeypatch.setattr(ClaimAdmin, "list_per_page", 2)
    claims = [ClaimFactory() for _ in range(5)]
    second = signed_in.get(list_url() + "?p=2")
    assert len(second.context["cl"].result_list) == 2
    seen = set()
    for page in (1, 2, 3):
        seen |= references_in(signed_in.get(f"{list_url()}?p={page}"))
    assert seen == {claim.reference for claim in claims}


def test_newest_claims_come_first(signed_in):
    older, newer = ClaimFactory(), ClaimFactory()
    Claim.objects.filter(pk=older.pk).update(created_at=timezone.now() - datetime.timedelta(days=3))
    order = [c.reference for c in signed_in.get(list_url()).context["cl"].result_list]
    assert order == [newer.reference, older.reference]
