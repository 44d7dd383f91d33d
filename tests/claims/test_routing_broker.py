"""The re-routing task through the real Redis broker and a real Celery worker process."""

import datetime
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings

from claims.models import Claim, ClaimClinician, RoutingDecision, RoutingJob
from claims.routing_services import claims_route
from claims.tasks import routing_job_run_task
from members.models import DefenceOrganisation
from tests.factories import ClaimFactory, MemberFactory, MembershipFactory

ROOT = Path(__file__).resolve().parents[2]
D = datetime.date


@pytest.fixture
def celery_worker_process(transactional_db):
    """A worker process against the test database and the real broker. The test's own broker
    queue is private to this run, so nothing queued by another run is picked up."""
    queue = f"bulk-test-{os.getpid()}"
    database = settings.DATABASES["default"]
    env = {
        **os.environ,
        "DATABASE_URL": (
            f"postgres://{database['USER']}@{database['HOST'] or '127.0.0.1'}:"
            f"{database['PORT'] or 5432}/{database['NAME']}"
        ),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
    }
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "-Q",
            queue,
            "--concurrency=1",
            "--pool=solo",
            "--loglevel=warning",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    yield queue
    worker.send_signal(signal.SIGTERM)
    try:
        worker.wait(timeout=20)
    except subprocess.TimeoutExpired:
        worker.kill()


def wait_for(job_id: int, timeout: float = 60) -> RoutingJob:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = RoutingJob.objects.get(pk=job_id)
        if job.status in (RoutingJob.JobStatus.DONE, RoutingJob.JobStatus.FAILED):
            return job
        time.sleep(0.2)
    raise AssertionError(f"routing job {job_id} did not finish in {timeout}s")


@pytest.mark.broker
def test_handover_task_through_redis_moves_each_claim_once(celery_worker_process):
    gp = MemberFactory()
    MembershipFactory(
        member=gp,
        organisation=DefenceOrganisation.objects.get(code="MPS"),
        start_date=D(2005, 1, 1),
    )
    claims = [ClaimFactory(incident_date=D(2018, 11, 12)) for _ in range(5)]
    for claim in claims:
        ClaimClinician.objects.create(claim=claim, member=gp, position=0)
    claims_route(
        claim_ids=[c.pk for c in claims], actor=None, cause="test", decision_date=D(2021, 3, 31)
    )
    assert set(Claim.objects.values_list("lead_handler", flat=True)) == {"MPS"}
    decisions_before = RoutingDecision.objects.count()

    jobs = []
    for _ in range(2):
        job = RoutingJob.objects.create(kind=RoutingJob.Kind.HANDOVER, decision_date=D(2021, 4, 1))
        routing_job_run_task.apply_async(args=[job.pk], queue=celery_worker_process)
        jobs.append(wait_for(job.pk))

    assert [(j.status, j.rows_done, j.moved) for j in jobs] == [("done", 5, 5), ("done", 5, 0)]
    assert set(Claim.objects.values_list("lead_handler", flat=True)) == {"NHSR"}
    assert RoutingDecision.objects.count() == decisions_before + 5
