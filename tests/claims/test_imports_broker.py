"""Queued imports through the real Redis broker and a real worker process, and identical requests
racing each other on real database connections."""

import datetime
import json
import threading
import time

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from audit.models import AuditEvent
from claims import import_services
from claims.import_services import import_batch_run
from claims.models import ImportBatch, RoutingJob
from claims.tasks import import_batch_run_task, routing_job_run_task
from members.models import Practice
from tests.conftest import client_for


def practices(count: int) -> str:
    return json.dumps([{"ods_code": f"Y{n:05d}", "name": f"Practice {n}"} for n in range(count)])


def wait_for(batch_id: int, states, timeout: float = 60) -> ImportBatch:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        batch = ImportBatch.objects.get(pk=batch_id)
        if batch.status in states:
            return batch
        time.sleep(0.05)
    raise AssertionError(f"batch {batch_id} not in {states} after {timeout}s")


@pytest.fixture
def small_slices(monkeypatch, settings):
    """Slices of 50 rows, here and in the worker process, so a batch has many commits."""
    monkeypatch.setenv("IMPORT_SLICE_ROWS", "50")
    settings.IMPORT_SLICE_ROWS = 50
    settings.IMPORT_SYNC_MAX_ROWS = 100


@pytest.fixture
def on_worker(celery_worker_process, monkeypatch):
    """Queued batches go to the real worker process."""
    monkeypatch.setattr(
        import_services,
        "_queue",
        lambda batch_id: import_batch_run_task.apply_async(
            args=[batch_id], queue=celery_worker_process.queue
        ),
    )
    return celery_worker_process


def killed_once_started(worker, batch_id: int) -> ImportBatch:
    """Kill the worker as soon as the batch shows progress; the batch as it was left."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if ImportBatch.objects.values_list("rows_done", flat=True).get(pk=batch_id):
            break
        time.sleep(0.01)
    worker.kill()
    worker.wait(timeout=20)
    return ImportBatch.objects.get(pk=batch_id)


@pytest.mark.broker
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_queued_import_runs_on_the_worker_and_a_rerun_writes_nothing_twice(
    small_slices, on_worker, importer
):
    response = client_for(importer).post(
        "/api/v1/imports/practices/", practices(500), content_type="application/json"
    )
    assert response.status_code == 202
    batch = wait_for(response.json()["batch"], {"done", "failed"})
    assert (batch.status, batch.rows_done, batch.rows_total, batch.created) == (
        "done",
        500,
        500,
        500,
    )
    # A duplicate delivery of the same task finds the batch done and does nothing. The worker
    # runs one task at a time, in order: once a routing job queued behind it is done, so is it.
    import_batch_run_task.apply_async(args=[batch.pk], queue=on_worker.queue)
    barrier = RoutingJob.objects.create(kind="handover", decision_date=datetime.date.today())
    routing_job_run_task.apply_async(args=[barrier.pk], queue=on_worker.queue)
    deadline = time.monotonic() + 60
    while RoutingJob.objects.get(pk=barrier.pk).status != "done" and time.monotonic() < deadline:
        time.sleep(0.05)
    again = ImportBatch.objects.get(pk=batch.pk)
    assert (again.status, again.rows_done, again.created, again.finished_at) == (
        "done",
        500,
        500,
        batch.finished_at,
    )
    assert Practice.objects.count() == 500
    assert AuditEvent.objects.filter(action="practice.create").count() == 500


@pytest.mark.broker
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_worker_killed_mid_batch_leaves_it_resumable_and_the_rerun_completes_it_once(
    small_slices, on_worker, importer
):
    response = client_for(importer).post(
        "/api/v1/imports/practices/?mode=partial", practices(5000), content_type="application/json"
    )
    batch_id = response.json()["batch"]
    stopped = killed_once_started(on_worker, batch_id)
    # Killed part way: what it says it applied is exactly what is in the database.
    assert stopped.status == "running"
    assert 0 < stopped.rows_done < 5000
    assert Practice.objects.count() == stopped.rows_done == stopped.created

    # Celery redelivers the unacknowledged task (acks_late, reject_on_worker_lost); run it as
    # the redelivery would.
    import_batch_run(batch_id=batch_id)
    batch = ImportBatch.objects.get(pk=batch_id)
    assert (batch.status, batch.rows_done, batch.created) == ("done", 5000, 5000)
    assert Practice.objects.count() == 5000
    assert AuditEvent.objects.filter(action="practice.create").count() == 5000


@pytest.mark.broker
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_worker_killed_mid_atomic_batch_leaves_nothing_applied_and_the_rerun_applies_all(
    small_slices, on_worker, importer
):
    response = client_for(importer).post(
        "/api/v1/imports/practices/", practices(5000), content_type="application/json"
    )
    batch_id = response.json()["batch"]
    # Progress shows while the batch's transaction is still open.
    stopped = killed_once_started(on_worker, batch_id)
    assert stopped.status == "running" and 0 < stopped.rows_done < 5000
    assert not Practice.objects.exists()  # all or nothing: the transaction died with the worker
    assert not AuditEvent.objects.filter(action="practice.create").exists()

    import_batch_run(batch_id=batch_id)
    batch = ImportBatch.objects.get(pk=batch_id)
    assert (batch.status, batch.rows_done, batch.created) == ("done", 5000, 5000)
    assert Practice.objects.count() == 5000
    assert AuditEvent.objects.filter(action="practice.create").count() == 5000


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_identical_requests_racing_create_one_batch_and_get_one_answer(importer):
    body = practices(300)
    token = Token.objects.get_or_create(user=importer)[0].key
    start = threading.Barrier(2)
    answers = []

    def send():
        from django.db import connection

        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        start.wait()
        response = client.post(
            "/api/v1/imports/practices/",
            body,
            content_type="application/json",
            HTTP_IDEMPOTENCY_KEY="race-1",
        )
        answers.append((response.status_code, response.json()))
        connection.close()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert ImportBatch.objects.count() == 1
    assert [code for code, _ in answers] == [201, 201]
    assert answers[0][1] == answers[1][1]
    assert Practice.objects.count() == 300


@pytest.mark.broker
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_worker_killed_mid_claims_batch_leaves_nothing_and_the_rerun_routes_every_claim(
    small_slices, on_worker, importer, practice_and_gp
):
    """A queued claims batch on a real worker reads, prepares and stores on three threads and
    two connections (import_services._Storer); killed part way, its one transaction dies with
    it."""
    from claims.models import Claim, Deadline, RoutingDecision
    from tests.claims.test_imports_api import claim_record

    rows = [claim_record(f"K-{n}") for n in range(1500)]
    response = client_for(importer).post(
        "/api/v1/imports/claims/", json.dumps(rows), content_type="application/json"
    )
    batch_id = response.json()["batch"]
    stopped = killed_once_started(on_worker, batch_id)
    assert stopped.status == "running" and 0 < stopped.rows_done < 1500
    assert not Claim.objects.exists() and not Deadline.objects.exists()

    import_batch_run(batch_id=batch_id)
    batch = ImportBatch.objects.get(pk=batch_id)
    assert (batch.status, batch.rows_done, batch.created) == ("done", 1500, 1500)
    assert RoutingDecision.objects.count() == Claim.objects.count() == 1500
    assert set(Claim.objects.values_list("schemes", flat=True)) == {"ELSGP"}
