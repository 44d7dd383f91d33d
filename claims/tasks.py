"""Celery tasks: thin, take ids, return quietly if the row is gone (design.md §4)."""

from celery import shared_task
from django.db import OperationalError
from django.utils import timezone

from claims.models import RoutingJob
from claims.routing_services import routing_job_run, routing_job_start


@shared_task(
    bind=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=3,
)
def routing_job_run_task(self, job_id: int) -> None:
    routing_job_run(job_id=job_id)


@shared_task
def handovers_reroute_task() -> int:
    """Daily: re-route open claims so that interim handling ends on the handover day, with the
    decision date today (domain.md §4, re-routing)."""
    job = routing_job_start(
        kind=RoutingJob.Kind.HANDOVER, actor=None, decision_date=timezone.localdate()
    )
    return job.pk
