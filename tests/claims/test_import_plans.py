"""An import slice reads the stored claims it updates and the earliest claim of each duplicate
key. Both reads probe an index once per key, whatever PostgreSQL knows of the claims table. A
first large import, or one that outruns autovacuum, meets a planner with no statistics. For the
earlier forms of these reads, that planner read every claim of the sender, or every claim of the
slice's practices, for each slice."""

import datetime
import json

import pytest
from django.db import connection

from claims.models import Claim
from claims.selectors import claims_by_sender_reference, claims_earliest_by_duplicate_key
from handlers.models import HandlerOrganisation
from tests.factories import ClaimFactory, PracticeFactory, valid_nhs_number

pytestmark = pytest.mark.django_db

DAY = datetime.date(2019, 6, 3)
LATER = datetime.date(2019, 7, 3)


@pytest.fixture
def claims_without_statistics():
    """3,000 claims of one sender at three practices, every tenth with an incident range rather
    than a date, written in the reverse of their ids' order (so that an index's equal keys come
    back highest id first), and a planner that knows nothing of them: the statistics are
    dropped inside the test's transaction, which rolls that back. Dropping them takes the
    superuser the test suite connects as (README)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('is_superuser') = 'on'")
        if not cursor.fetchone()[0]:
            pytest.fail("these tests drop planner statistics, which needs a superuser")
    sender = HandlerOrganisation.objects.get(code="MPS")
    practices = PracticeFactory.create_batch(3)
    Claim.objects.bulk_create(
        ClaimFactory.build(
            id=9_000_000 - n,
            reference=f"CL-2099-{n:06d}",
            external_ref=f"PLAN-{n}",
            source_organisation=sender,
            practice=practices[n % 3],
            claimant_nhs_number=valid_nhs_number(n % 1000),
            **(
                {"incident_date": None, "incident_date_from": DAY, "incident_date_to": LATER}
                if n % 10 == 0
                else {"incident_date": DAY}
            ),
        )
        for n in range(3000)
    )
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM pg_statistic WHERE starelid = 'claims_claim'::regclass")
        cursor.execute(
            "UPDATE pg_class SET reltuples = -1, relpages = 0 WHERE oid = 'claims_claim'::regclass"
        )
    return sender, practices


def _scans_of_claims(call) -> list[tuple[str, str | None, str]]:
    """Run `call` and return how the plans of the statements it sends read claims_claim: node
    type, index name (None for none) and the index condition."""
    plans = []

    def explained(execute, sql, params, many, context):
        if "claims_claim" in sql:
            with context["connection"].connection.cursor() as cursor:
                cursor.execute("EXPLAIN (FORMAT JSON) " + sql, params)
                plan = cursor.fetchone()[0]
                plans.append(plan if isinstance(plan, list) else json.loads(plan))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(explained):
        call()
    assert plans, "no statement read claims_claim"
    scans = []

    def walk(node):
        if node.get("Relation Name") == "claims_claim":
            # A bitmap scan names its index on the child node that reads it.
            children = node.get("Plans", ())
            index = node.get("Index Name") or ",".join(c.get("Index Name", "") for c in children)
            condition = node.get("Index Cond") or ",".join(
                c.get("Index Cond", "") for c in children
            )
            scans.append((node["Node Type"], index or None, condition))
        for child in node.get("Plans", ()):
            walk(child)

    for plan in plans:
        walk(plan[0]["Plan"])
    return scans


def test_the_claims_a_slice_updates_are_probed_by_sender_and_reference(
    claims_without_statistics,
):
    sender, _ = claims_without_statistics
    references = [f"PLAN-{n}" for n in range(0, 3000, 3)] + ["NOT-SENT-BEFORE"]
    found = {}

    def read():
        found.update(claims_by_sender_reference(organisation_id=sender.pk, references=references))

    # One probe per reference sent: the condition takes each reference in turn.
    [(kind, index, condition)] = _scans_of_claims(read)
    assert (kind, index) == ("Index Scan", "claim_external_ref_per_sender")
    assert "given.reference" in condition
    assert len(found) == 1000 and found["PLAN-3"].external_ref == "PLAN-3"
    other = HandlerOrganisation.objects.get(code="MDU")
    assert claims_by_sender_reference(organisation_id=other.pk, references=references) == {}


def test_earlier_duplicates_are_probed_by_their_key(claims_without_statistics):
    _, practices = claims_without_statistics
    earliest = {}
    for pk, number, practice_id in Claim.objects.order_by("pk").values_list(
        "pk", "claimant_nhs_number", "practice_id"
    ):
        earliest.setdefault((number, practice_id, DAY), pk)
    asked = [*list(earliest)[::2], (valid_nhs_number(5000), practices[0].pk, DAY)]
    found = {}

    def read():
        found.update(claims_earliest_by_duplicate_key(asked))

    scans = _scans_of_claims(read)
    assert scans and {index for _, index, _ in scans} == {"claim_duplicate_key"}
    # One probe per key: the condition takes each key's number and practice in turn.
    assert all("key.number" in c and "key.practice_id" in c for _, _, c in scans)
    assert found == {key: earliest[key] for key in asked if key in earliest}
    assert len(found) == len(asked) - 1
