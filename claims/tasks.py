"""Celery tasks: thin, take ids, return quietly if the row is gone (design.md §4)."""

import logging
import smtplib
from collections.abc import Sequence

from celery import shared_task
from django.apps import apps
from django.db import OperationalError, connection, models
from django.utils import timezone

from claims.deadline_services import deadlines_sweep
from claims.import_services import import_batch_run
from claims.models import RoutingJob
from claims.notification_services import notification_email_send
from claims.routing_services import routing_job_run, routing_job_start
from config.postgres_copy import statistics_refresh

logger = logging.getLogger(__name__)


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


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def deadlines_sweep_task(batch_size: int = 5000) -> dict:
    """Daily: reminders due and deadlines missed (design.md §4)."""
    result = deadlines_sweep(batch_size=batch_size)
    return {"reminded": result.reminded, "missed": result.missed}


@shared_task(
    autoretry_for=(smtplib.SMTPException, ConnectionError, TimeoutError, OSError),
    retry_backoff=True,
    retry_backoff_max=600,
    max_retries=5,
)
def notifications_email_task(notification_ids: list[int]) -> None:
    """E-mail each notification; a transient failure retries the batch, and those already sent
    are skipped on the retry."""
    for notification_id in notification_ids:
        notification_email_send(notification_id=notification_id)


@shared_task(
    bind=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=3,
)
def import_batch_run_task(self, batch_id: int) -> None:
    """A large import (design.md §3.1); a rerun resumes after the rows already committed."""
    import_batch_run(batch_id=batch_id, last_attempt=self.request.retries >= self.max_retries)


@shared_task
def statistics_refresh_task(model_labels: list[str], changed: int) -> list[str]:
    """After a bulk write (a queued import, a re-routing job): ANALYZE the tables it wrote if it
    changed a tenth or more of the first one's rows."""
    return statistics_refresh([apps.get_model(label) for label in model_labels], changed=changed)


def statistics_refresh_later(
    models_written: Sequence[type[models.Model]], *, changed: int, after: str
) -> None:
    """Queue statistics_refresh_task: upkeep apart from the bulk write, which is done and
    committed whatever becomes of this (`after` names it in the log)."""
    if connection.vendor != "postgresql" or changed <= 0:
        return
    try:
        statistics_refresh_task.delay([model._meta.label for model in models_written], changed)
    except Exception:  # the broker gone: autovacuum will come round
        logger.warning("%s: statistics refresh not queued", after, exc_info=True)
