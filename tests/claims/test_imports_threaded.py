"""A queued claims batch in a transaction of its own stores each slice on a thread of its own
while its own thread reads the next slice on a second connection (claims.import_services
._Storer). These tests commit for real, as a worker does, so that path is the one taken."""

import datetime

import pytest
from django.db import DEFAULT_DB_ALIAS, connections

from audit.models import AuditEvent
from claims import import_services
from claims.import_services import import_batch_run
from claims.models import Claim, Deadline, ImportBatch
from tests.claims.test_imports_api import (
    _as_stored,
    claim_record,
    fail_on_call,
    post_json,
    recorded_by_hand,
    records_on,
)
from tests.factories import ClaimFactory, valid_nhs_number

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def queued(settings, monkeypatch):
    """Slices of 2; every batch queued, its task run by hand below as a worker would; and a
    count of the store threads that took the batch's connection."""
    settings.IMPORT_SLICE_ROWS = 2
    settings.IMPORT_SYNC_MAX_ROWS = 1
    monkeypatch.setattr(import_services, "_queue", lambda batch_id: None)
    adopted = []
    adopt = import_services._adopt_connection

    def counted(batch_connection):
        adopted.append(batch_connection)
        adopt(batch_connection)

    monkeypatch.setattr(import_services, "_adopt_connection", counted)
    return adopted


def run_queued(api, rows) -> ImportBatch:
    response = post_json(api, "claims", rows)
    assert response.status_code == 202, response.json()
    batch_id = response.json()["batch"]
    own = connections[DEFAULT_DB_ALIAS]
    import_batch_run(batch_id=batch_id)
    # The batch's thread has its own connection back, the reading one closed.
    assert connections[DEFAULT_DB_ALIAS] is own
    return ImportBatch.objects.get(pk=batch_id)


def test_claims_stored_on_the_store_thread_are_stored_as_claims_recorded_by_hand(
    api, practice_and_gp, caseworker, queued
):
    dates = ["2018-11-12", "2019-04-01", "2016-02-29", None, "2020-03-25"]
    batch = run_queued(api, records_on("T", dates))
    assert (batch.status, batch.created, batch.rows_done) == ("done", 5, 5)
    assert len(queued) == 1  # the threaded path was taken
    for n, day in enumerate(dates):
        by_hand = recorded_by_hand(caseworker, practice_and_gp, day)
        assert _as_stored(Claim.objects.get(external_ref=f"T-{n}")) == _as_stored(by_hand), day


def test_repeats_in_slices_stored_but_not_committed_point_at_the_first(
    api, practice_and_gp, queued
):
    """The reading connection cannot see the batch's own stored claims: the repeats it misses
    are marked once the batch is stored (ClaimImporter.finish)."""
    claimant = {"name": "Ada Lovelace", "nhs_number": valid_nhs_number(11)}
    rows = [claim_record(f"R-{n}", claimant=claimant) for n in range(7)]
    batch = run_queued(api, rows)
    assert batch.created == 7 and len(queued) == 1
    first = Claim.objects.get(external_ref="R-0")
    assert set(
        Claim.objects.exclude(pk=first.pk).values_list("possible_duplicate_of", flat=True)
    ) == {first.pk}


def test_a_slice_changing_stored_claims_turns_the_batch_to_one_connection(
    api, practice_and_gp, queued
):
    """OLD's change, uncommitted, must count for NEW's duplicate check three slices later."""
    claimant = {"name": "Ada Lovelace", "nhs_number": valid_nhs_number(12)}
    other = {"name": "Alan Turing"}
    post_json(api, "claims", [claim_record("OLD", claimant=claimant)])
    import_batch_run(batch_id=ImportBatch.objects.latest("pk").pk)
    rows = [claim_record(f"X-{n}", claimant=other) for n in range(2)]
    rows += [claim_record("OLD", claimant=claimant, incident_date="2017-06-01")]
    rows += [claim_record(f"Y-{n}", claimant=other) for n in range(3)]
    rows += [claim_record("NEW", claimant=claimant, incident_date="2017-06-01")]
    batch = run_queued(api, rows)
    assert (batch.status, batch.created, batch.updated) == ("done", 6, 1)
    old = Claim.objects.get(external_ref="OLD")
    assert Claim.objects.get(external_ref="NEW").possible_duplicate_of == old


@pytest.mark.parametrize(
    ("failing", "on_call"),
    # The store of the 2nd slice fails while the 4th is read; that of the last one, last.
    [("_claim_writes_store", 2), ("_claim_writes_store", 4), ("_claim_writes", 2)],
)
def test_a_failure_on_either_thread_fails_the_batch_and_writes_nothing(
    api, practice_and_gp, queued, monkeypatch, failing, on_call
):
    fail_on_call(monkeypatch, failing, on_call)
    response = post_json(api, "claims", [claim_record(f"F-{n}") for n in range(7)])
    own = connections[DEFAULT_DB_ALIAS]
    with pytest.raises(ValueError, match="failed"):
        import_batch_run(batch_id=response.json()["batch"])
    assert connections[DEFAULT_DB_ALIAS] is own
    batch = ImportBatch.objects.get(pk=response.json()["batch"])
    assert batch.status == "failed" and "no row was applied" in batch.failure
    assert not Claim.objects.exists() and not Deadline.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="claim").exists()


def test_a_rejected_batch_leaves_the_stored_claims_it_changed_as_they_were(
    api, practice_and_gp, queued
):
    post_json(api, "claims", [claim_record("OLD")])
    import_batch_run(batch_id=ImportBatch.objects.latest("pk").pk)
    rows = [claim_record(f"X-{n}") for n in range(3)]
    rows += [claim_record("OLD", incident_date="2017-06-01"), claim_record("X-3")]
    rows += [claim_record("BAD", practice="Y99999")]
    batch = run_queued(api, rows)
    assert batch.status == "rejected"
    assert [(e["row"], e["code"]) for e in batch.errors] == [(5, "unknown_practice")]
    assert Claim.objects.get(external_ref="OLD").incident_date == datetime.date(2018, 11, 12)
    assert list(Claim.objects.values_list("external_ref", flat=True)) == ["OLD"]


def test_repeats_read_apart_keep_pointing_at_an_earlier_stored_claim(api, practice_and_gp, queued):
    """The marking at the end corrects only flags that are missing or point at a later claim:
    a claim stored before the batch, earlier than all of it, stays the one pointed at."""
    claimant = {"name": "Ada Lovelace", "nhs_number": valid_nhs_number(13)}
    post_json(api, "claims", [claim_record("STORED", claimant=claimant)])
    import_batch_run(batch_id=ImportBatch.objects.latest("pk").pk)
    stored = Claim.objects.get(external_ref="STORED")
    batch = run_queued(api, [claim_record(f"S-{n}", claimant=claimant) for n in range(7)])
    assert batch.created == 7 and len(queued) == 1
    flagged = set(
        Claim.objects.filter(external_ref__startswith="S-").values_list(
            "possible_duplicate_of", flat=True
        )
    )
    assert flagged == {stored.pk}


def test_the_batch_forgets_the_duplicate_keys_of_stored_slices(
    api, practice_and_gp, queued, monkeypatch
):
    """Memory stays bounded: a slice's keys are kept only until it is stored, whatever the
    batch's length (20 claims, 10 slices, each key its own)."""
    held = []
    build = import_services._ClaimsSlice.__init__

    def counted(self, resolved, run):
        build(self, resolved, run)
        held.append(len(run.first_by_key))

    monkeypatch.setattr(import_services._ClaimsSlice, "__init__", counted)
    rows = [
        claim_record(f"K-{n}", claimant={"name": "Ada", "nhs_number": valid_nhs_number(100 + n)})
        for n in range(20)
    ]
    batch = run_queued(api, rows)
    assert batch.created == 20 and len(queued) == 1
    # At most the slices in flight: the one built and the two handed to the store thread.
    assert len(held) == 10 and max(held) <= 6


def test_repeats_among_claims_read_apart_are_marked_once_stored(practice_and_gp):
    """ClaimImporter.finish's statement: each repeat points at the earliest claim of its key,
    unless it points at an earlier one already; other claims are left as they are."""
    practice = practice_and_gp[0]
    day = datetime.date(2018, 11, 12)
    same = {"claimant_nhs_number": valid_nhs_number(14), "practice": practice}
    before = ClaimFactory(**same, incident_date=day)
    first = ClaimFactory(**same, incident_date=day)
    second = ClaimFactory(**same, incident_date=day, possible_duplicate_of=None)
    third = ClaimFactory(**same, incident_date=day, possible_duplicate_of=second)
    fourth = ClaimFactory(**same, incident_date=day, possible_duplicate_of=before)
    ranged = ClaimFactory(**same, incident_date=None, incident_date_from=day, incident_date_to=day)
    no_number = ClaimFactory(practice=practice, incident_date=day, claimant_nhs_number="")
    ids = [c.pk for c in (first, second, third, fourth, ranged, no_number)]
    assert import_services._repeats_among_marked(import_services.array("q", ids)) == 3
    flags = dict(Claim.objects.filter(pk__in=ids).values_list("pk", "possible_duplicate_of"))
    assert flags == {
        first.pk: None,  # the earliest of them; `before` is not among them
        second.pk: first.pk,
        third.pk: first.pk,
        fourth.pk: before.pk,
        ranged.pk: first.pk,  # a range's start counts as its incident date
        no_number.pk: None,
    }
