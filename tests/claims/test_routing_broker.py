"""The re-routing task through the real Redis broker and a real Celery worker process."""

import datetime
import time
from pathlib import Path

import pytest

from claims.models import Claim, ClaimClinician, RoutingDecision, RoutingJob
from claims.routing_services import claims_route
from claims.tasks import routing_job_run_task
from members.models import DefenceOrganisation
from tests.factories import ClaimFactory, MemberFactory, MembershipFactory

ROOT = Path(__file__).resolve().parents[2]
D = datetime.date


def wait_for(job_id: int, timeout: float = 60) -> RoutingJob:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = RoutingJob.objects.get(pk=job_id)
        if job.status in (RoutingJob.JobStatus.DONE, RoutingJob.JobStatus.FAILED):
            return job
        time.sleep(0.2)
    raise AssertionError(f"routing job {job_id} did not finish in {timeout}s")


@pytest.mark.broker
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
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
        routing_job_run_task.apply_async(args=[job.pk], queue=celery_worker_process.queue)
        jobs.append(wait_for(job.pk))

    assert [(j.status, j.rows_done, j.moved) for j in jobs] == [("done", 5, 5), ("done", 5, 0)]
    assert set(Claim.objects.values_list("lead_handler", flat=True)) == {"NHSR"}
    assert RoutingDecision.objects.count() == decisions_before + 5


@pytest.mark.broker
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_deadline_sweep_through_redis_twice_sends_each_reminder_once(celery_worker_process):
    from claims.deadline_services import claims_deadlines_recompute
    from claims.models import ClaimHandling, Notification
    from claims.tasks import deadlines_sweep_task
    from handlers.models import HandlerOrganisation
    from tests.factories import HandlerFactory, UserFactory

    handler = UserFactory(username="sweep_handler")
    HandlerFactory(user=handler, role="handler")
    today = datetime.date.today()
    for _ in range(6):
        claim = ClaimFactory(
            lead_handler="MPS",
            handlers="MPS",
            assigned_to=handler,
            letter_of_claim_on=today,
            # Limitation two years off: only reminders are due.
            incident_date=today - datetime.timedelta(days=365),
        )
        ClaimHandling.objects.create(
            claim=claim, organisation=HandlerOrganisation.objects.get(code="MPS")
        )
    claims_deadlines_recompute(
        claim_ids=list(Claim.objects.values_list("pk", flat=True)), actor=None, reason="test"
    )
    # The 14-day acknowledgement is reminded today (14 days before it falls due). The worker runs
    # one task at a time in order, so once the routing job queued after both sweeps is done,
    # both sweeps are too.
    for _ in range(2):
        deadlines_sweep_task.apply_async(queue=celery_worker_process.queue)
    barrier = RoutingJob.objects.create(kind=RoutingJob.Kind.HANDOVER, decision_date=today)
    routing_job_run_task.apply_async(args=[barrier.pk], queue=celery_worker_process.queue)
    wait_for(barrier.pk)
    assert Notification.objects.filter(kind="deadline_reminder").count() == 6
    assert Notification.objects.values("dedupe_key").distinct().count() == 6


@pytest.mark.broker
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_worker_killed_mid_sweep_loses_no_reminder(celery_worker_process):
    from claims.deadline_services import claims_deadlines_recompute, deadlines_sweep
    from claims.models import ClaimHandling, Notification
    from claims.tasks import deadlines_sweep_task
    from handlers.models import HandlerOrganisation
    from tests.factories import HandlerFactory, UserFactory

    handler = UserFactory(username="killed_sweep_handler")
    HandlerFactory(user=handler, role="handler")
    today = datetime.date.today()
    mps = HandlerOrganisation.objects.get(code="MPS")
    claims = [
        ClaimFactory(
            lead_handler="MPS",
            handlers="MPS",
            assigned_to=handler,
            letter_of_claim_on=today,
            # Limitation two years off: only reminders are due.
            incident_date=today - datetime.timedelta(days=365),
        )
        for _ in range(120)
    ]
    ClaimHandling.objects.bulk_create(ClaimHandling(claim=c, organisation=mps) for c in claims)
    claims_deadlines_recompute(claim_ids=[c.pk for c in claims], actor=None, reason="test")

    # Small batches, so the kill lands between committed batches or inside one.
    deadlines_sweep_task.apply_async(kwargs={"batch_size": 2}, queue=celery_worker_process.queue)
    deadline = time.monotonic() + 60
    while not Notification.objects.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    celery_worker_process.kill()
    celery_worker_process.wait(timeout=20)
    sent_before_restart = Notification.objects.count()
    assert sent_before_restart > 0

    # The next sweep (a restarted worker, or tomorrow's beat) finishes the work.
    deadlines_sweep(today=today)
    assert Notification.objects.filter(kind="deadline_reminder").count() == 120
    assert Notification.objects.values("dedupe_key").distinct().count() == 120
